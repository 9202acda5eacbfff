/**
 * The KMS calls Terraform's aws_kms_key / aws_kms_alias and the AWS CLI's key management make beside
 * the basics (`src/kms/admin-ops.ts`, `src/kms/crypto-ops.ts`, docs/decisions/encryption.md §KMS
 * decision 12), with @aws-sdk/client-kms and the Debian AWS CLI.
 *
 * AWS's behaviour: the AWS KMS API Reference (https://docs.aws.amazon.com/kms/latest/APIReference/):
 * API_DeleteAlias.html and API_UpdateAlias.html (the alias must exist; kms:DeleteAlias /
 * kms:UpdateAlias on the alias in IAM and on the key(s) in their key policies; the alias and the key in
 * the same account and Region), API_UpdateKeyDescription.html, API_EnableKeyRotation.html
 * (RotationPeriodInDays 90 to 2560, default 365), API_DisableKeyRotation.html,
 * API_GetKeyRotationStatus.html, API_GenerateDataKeyWithoutPlaintext.html, API_ReEncrypt.html
 * (kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the destination key),
 * API_ListKeyPolicies.html (the only policy name is "default"), API_GenerateRandom.html
 * (NumberOfBytes 1 to 1024, kms:GenerateRandom in IAM).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms'
import { CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { type Creds, userWithPolicy } from '../helpers/iam-users.js'
import { kmsClient } from '../helpers/kms-keys.js'
import { ADMIN, failure, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`
let s: TestServer

before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

const kms = (creds: Creds = ADMIN) => kmsClient(s, creds)
const newUser = (name: string, policy: object): Promise<Creds> => userWithPolicy(s, name, policy)

async function newKey(creds: Creds = ADMIN, policy?: object): Promise<{ id: string; arn: string }> {
  const m = (await kms(creds).send(new CreateKeyCommand(policy ? { Policy: JSON.stringify(policy), BypassPolicyLockoutSafetyCheck: true } : {}))).KeyMetadata!
  return { id: m.KeyId!, arn: m.Arn! }
}

async function targetOf(alias: string): Promise<string | undefined> {
  return (await kms().send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === alias)?.TargetKeyId
}

/** A key policy: admin may do everything, nobody else (no statement delegates to the account's IAM). */
const adminOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ADMIN_ARN }, Action: 'kms:*', Resource: '*' }] }

describe('DeleteAlias and UpdateAlias', () => {
  test('UpdateAlias moves the alias to another key of the account; DeleteAlias removes it; a missing alias is NotFoundException', async () => {
    const a = await newKey()
    const b = await newKey()
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: a.id }))
    await kms().send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: b.arn }))
    assert.equal(await targetOf('alias/moving'), b.id)
    const enc = await kms().send(new EncryptCommand({ KeyId: 'alias/moving', Plaintext: Buffer.from('x') }))
    assert.equal(enc.KeyId, b.arn)
    await kms().send(new DeleteAliasCommand({ AliasName: 'alias/moving' }))
    assert.equal(await targetOf('alias/moving'), undefined)
    const again = await failure(() => kms().send(new DeleteAliasCommand({ AliasName: 'alias/moving' })))
    assert.equal(again.name, 'NotFoundException')
    assert.equal(again.$metadata.httpStatusCode, 400)
    const update = await failure(() => kms().send(new UpdateAliasCommand({ AliasName: 'alias/never-made', TargetKeyId: a.id })))
    assert.equal(update.name, 'NotFoundException')
  })

  test("UpdateAlias and CreateAlias to another account's key are refused, even when that key's policy lets this account use it", async () => {
    const mine = await newKey()
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/stay-home', TargetKeyId: mine.id }))
    const partnerRoot = `arn:aws:iam::${(await kms(PARTNER_ADMIN).send(new CreateKeyCommand({}))).KeyMetadata!.AWSAccountId}:root`
    const theirs = await newKey(PARTNER_ADMIN, {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: partnerRoot }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
      ],
    })
    const e = await failure(() => kms().send(new UpdateAliasCommand({ AliasName: 'alias/stay-home', TargetKeyId: theirs.arn })))
    assert.equal(e.name, 'NotFoundException')
    assert.equal(await targetOf('alias/stay-home'), mine.id)
    // CreateAlias holds to the same rule, so no alias of this account can name another account's key.
    const created = await failure(() => kms().send(new CreateAliasCommand({ AliasName: 'alias/abroad', TargetKeyId: theirs.arn })))
    assert.equal(created.name, 'NotFoundException')
    assert.equal(await targetOf('alias/abroad'), undefined)
  })

  test('kms:UpdateAlias and kms:DeleteAlias are needed on the key policies of the keys, and in IAM on the alias', async () => {
    const open = await newKey()
    const closed = await newKey(ADMIN, adminOnly)
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/guarded', TargetKeyId: open.id }))
    const user = await newUser('alias-editor', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['kms:UpdateAlias', 'kms:DeleteAlias'], Resource: '*' }],
    })
    // The new key's policy does not let the user in.
    const toClosed = await failure(() => kms(user).send(new UpdateAliasCommand({ AliasName: 'alias/guarded', TargetKeyId: closed.id })))
    assert.equal(toClosed.name, 'AccessDeniedException')
    assert.match(toClosed.message, /kms:UpdateAlias/)
    assert.equal(await targetOf('alias/guarded'), open.id)
    // An IAM policy that allows the keys but not this alias.
    const narrow = await newUser('alias-narrow', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:DeleteAlias', Resource: `arn:aws:kms:us-east-1:${OWNER}:key/*` }],
    })
    const del = await failure(() => kms(narrow).send(new DeleteAliasCommand({ AliasName: 'alias/guarded' })))
    assert.equal(del.name, 'AccessDeniedException')
    assert.match(del.message, /alias\/guarded/)
    await kms(user).send(new DeleteAliasCommand({ AliasName: 'alias/guarded' }))
    assert.equal(await targetOf('alias/guarded'), undefined)
  })

  test('UpdateAlias and CreateAlias to a key pending deletion are KMSInvalidStateException', async () => {
    const a = await newKey()
    const doomed = await newKey()
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/not-to-doomed', TargetKeyId: a.id }))
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: doomed.id, PendingWindowInDays: 7 }))
    const e = await failure(() => kms().send(new UpdateAliasCommand({ AliasName: 'alias/not-to-doomed', TargetKeyId: doomed.id })))
    assert.equal(e.name, 'KMSInvalidStateException')
    const created = await failure(() => kms().send(new CreateAliasCommand({ AliasName: 'alias/to-doomed', TargetKeyId: doomed.id })))
    assert.equal(created.name, 'KMSInvalidStateException')
  })
})

describe('UpdateKeyDescription', () => {
  test('the description changes; another principal without kms:UpdateKeyDescription is refused; 8193 characters are a ValidationException', async () => {
    const k = await newKey(ADMIN, adminOnly)
    await kms().send(new UpdateKeyDescriptionCommand({ KeyId: k.id, Description: 'new words' }))
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId: k.id }))).KeyMetadata!.Description, 'new words')
    const user = await newUser('describer', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] })
    const denied = await failure(() => kms(user).send(new UpdateKeyDescriptionCommand({ KeyId: k.id, Description: 'mine' })))
    assert.equal(denied.name, 'AccessDeniedException')
    const long = await failure(() => kms().send(new UpdateKeyDescriptionCommand({ KeyId: k.id, Description: 'x'.repeat(8193) })))
    assert.equal(long.name, 'ValidationException')
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId: k.id }))).KeyMetadata!.Description, 'new words')
  })
})

describe('key rotation: recorded and answered', () => {
  test('EnableKeyRotation with and without a period, GetKeyRotationStatus, DisableKeyRotation; no NextRotationDate', async () => {
    const k = await newKey()
    const off = await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))
    assert.equal(off.KeyRotationEnabled, false)
    assert.equal(off.KeyId, k.arn)
    await kms().send(new EnableKeyRotationCommand({ KeyId: k.id }))
    const on = await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.arn }))
    assert.equal(on.KeyRotationEnabled, true)
    assert.equal(on.RotationPeriodInDays, 365)
    // The material is not rotated here, so no date is claimed for a rotation that will not happen.
    assert.equal(on.NextRotationDate, undefined)
    await kms().send(new EnableKeyRotationCommand({ KeyId: k.id, RotationPeriodInDays: 90 }))
    assert.equal((await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))).RotationPeriodInDays, 90)
    for (const bad of [89, 2561]) {
      const e = await failure(() => kms().send(new EnableKeyRotationCommand({ KeyId: k.id, RotationPeriodInDays: bad })))
      assert.equal(e.name, 'ValidationException')
    }
    assert.equal((await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))).RotationPeriodInDays, 90)
    await kms().send(new DisableKeyRotationCommand({ KeyId: k.id }))
    const disabled = await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))
    assert.equal(disabled.KeyRotationEnabled, false)
    assert.equal(disabled.RotationPeriodInDays, undefined)
  })

  test('a disabled key cannot change its rotation (DisabledException); an alias is InvalidArnException; the key policy decides', async () => {
    const k = await newKey(ADMIN, adminOnly)
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/rot', TargetKeyId: k.id }))
    const alias = await failure(() => kms().send(new EnableKeyRotationCommand({ KeyId: 'alias/rot' })))
    assert.equal(alias.name, 'InvalidArnException')
    const user = await newUser('rotator', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] })
    const denied = await failure(() => kms(user).send(new EnableKeyRotationCommand({ KeyId: k.id })))
    assert.equal(denied.name, 'AccessDeniedException')
    assert.match(denied.message, /kms:EnableKeyRotation/)
    await kms().send(new DisableKeyCommand({ KeyId: k.id }))
    const off = await failure(() => kms().send(new EnableKeyRotationCommand({ KeyId: k.id })))
    assert.equal(off.name, 'DisabledException')
    assert.equal((await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))).KeyRotationEnabled, false)
  })

  test('kms:RotationPeriodInDays in the key policy limits the period', async () => {
    const k = await newKey(ADMIN, {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ADMIN_ARN }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: { AWS: ADMIN_ARN },
          Action: 'kms:EnableKeyRotation',
          Resource: '*',
          Condition: { NumericLessThan: { 'kms:RotationPeriodInDays': '180' } },
        },
      ],
    })
    const short = await failure(() => kms().send(new EnableKeyRotationCommand({ KeyId: k.id, RotationPeriodInDays: 90 })))
    assert.equal(short.name, 'AccessDeniedException')
    await kms().send(new EnableKeyRotationCommand({ KeyId: k.id, RotationPeriodInDays: 200 }))
    assert.equal((await kms().send(new GetKeyRotationStatusCommand({ KeyId: k.id }))).RotationPeriodInDays, 200)
  })
})

describe('GenerateDataKeyWithoutPlaintext, ReEncrypt, ListKeyPolicies, GenerateRandom', () => {
  test("GenerateDataKeyWithoutPlaintext's blob decrypts to a 32-byte key under its context, and carries no plaintext", async () => {
    const k = await newKey()
    const out = await kms().send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.id, KeySpec: 'AES_256', EncryptionContext: { app: 'x' } }))
    assert.equal((out as { Plaintext?: unknown }).Plaintext, undefined)
    assert.equal(out.KeyId, k.arn)
    const dec = await kms().send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: { app: 'x' } }))
    assert.equal(dec.Plaintext!.length, 32)
    const wrong = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob })))
    assert.equal(wrong.name, 'InvalidCiphertextException')
    const both = await failure(() => kms().send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.id, KeySpec: 'AES_256', NumberOfBytes: 16 })))
    assert.equal(both.name, 'ValidationException')
  })

  test('GenerateDataKeyWithoutPlaintext needs its own action: kms:GenerateDataKey alone is refused', async () => {
    const k = await newKey()
    const user = await newUser('gdk-only', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: '*' }] })
    const e = await failure(() => kms(user).send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.id, NumberOfBytes: 16 })))
    assert.equal(e.name, 'AccessDeniedException')
    assert.match(e.message, /kms:GenerateDataKeyWithoutPlaintext/)
  })

  test('ReEncrypt moves a ciphertext to another key and context; the new blob decrypts, the old context no longer opens it', async () => {
    const src = await newKey()
    const dst = await newKey()
    const enc = await kms().send(new EncryptCommand({ KeyId: src.id, Plaintext: Buffer.from('moved secret'), EncryptionContext: { v: '1' } }))
    const re = await kms().send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceEncryptionContext: { v: '1' },
        SourceKeyId: src.id,
        DestinationKeyId: dst.arn,
        DestinationEncryptionContext: { v: '2' },
      }),
    )
    assert.equal(re.SourceKeyId, src.arn)
    assert.equal(re.KeyId, dst.arn)
    assert.equal(re.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
    assert.equal(re.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
    const dec = await kms().send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { v: '2' } }))
    assert.equal(dec.KeyId, dst.arn)
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'moved secret')
    const old = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { v: '1' } })))
    assert.equal(old.name, 'InvalidCiphertextException')
    const wrongSource = await failure(() =>
      kms().send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { v: '1' }, SourceKeyId: dst.id, DestinationKeyId: dst.id })),
    )
    assert.equal(wrongSource.name, 'IncorrectKeyException')
    const wrongContext = await failure(() => kms().send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: dst.id })))
    assert.equal(wrongContext.name, 'InvalidCiphertextException')
  })

  test('ReEncrypt is refused when the caller lacks kms:ReEncryptTo on the destination key, and kms:ReEncryptFrom on the source', async () => {
    const src = await newKey()
    const open = await newKey()
    const closedTo = await newKey(ADMIN, {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${OWNER}:user/re-encrypter` }, Action: 'kms:ReEncryptTo', Resource: '*' },
      ],
    })
    const user = await newUser('re-encrypter', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] })
    const enc = await kms().send(new EncryptCommand({ KeyId: src.id, Plaintext: Buffer.from('s') }))
    const ok = await kms(user).send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: open.id }))
    assert.equal(ok.KeyId, open.arn)
    const to = await failure(() => kms(user).send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: closedTo.id })))
    assert.equal(to.name, 'AccessDeniedException')
    assert.match(to.message, /kms:ReEncryptTo/)
    assert.match(to.message, new RegExp(closedTo.id))
    // The source side: a user whose IAM allows ReEncryptTo only.
    const toOnly = await newUser('re-to-only', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ReEncryptTo', Resource: '*' }] })
    const from = await failure(() => kms(toOnly).send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: open.id })))
    assert.equal(from.name, 'AccessDeniedException')
    assert.match(from.message, /kms:ReEncryptFrom/)
  })

  test('ReEncrypt DryRun with IGNORE_CIPHERTEXT authorizes both keys only', async () => {
    const src = await newKey()
    const dst = await newKey()
    const e = await failure(() => kms().send(new ReEncryptCommand({ SourceKeyId: src.id, DestinationKeyId: dst.id, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))
    assert.equal(e.name, 'DryRunOperationException')
    assert.equal(e.$metadata.httpStatusCode, 412)
  })

  test('ListKeyPolicies answers ["default"]; GenerateRandom gives NumberOfBytes bytes, 1 to 1024; CustomKeyStoreId is refused', async () => {
    const k = await newKey()
    const p = await kms().send(new ListKeyPoliciesCommand({ KeyId: k.arn }))
    assert.deepEqual(p.PolicyNames, ['default'])
    assert.equal(p.Truncated, false)
    const missing = await failure(() => kms().send(new ListKeyPoliciesCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })))
    assert.equal(missing.name, 'NotFoundException')
    const r = await kms().send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))
    assert.equal(r.Plaintext!.length, 1024)
    for (const n of [0, 1025]) {
      const e = await failure(() => kms().send(new GenerateRandomCommand({ NumberOfBytes: n })))
      assert.equal(e.name, 'ValidationException')
    }
    const store = await failure(() => kms().send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' })))
    assert.equal(store.name, 'UnsupportedOperationException')
    const user = await newUser('no-random', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] })
    const denied = await failure(() => kms(user).send(new GenerateRandomCommand({ NumberOfBytes: 8 })))
    assert.equal(denied.name, 'AccessDeniedException')
  })
})

describe('with the Debian AWS CLI', () => {
  test('aws kms update-alias, delete-alias, update-key-description, enable/get/disable-key-rotation, re-encrypt, generate-random', async () => {
    const cli = new CliSandbox('mrap-kms-more-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = async (...args: string[]) => {
        const r = await runAws(['--endpoint-url', s.endpoint, ...args], { env })
        return r
      }
      const ok = async (...args: string[]) => {
        const r = await aws(...args)
        assert.equal(r.code, 0, r.stderr)
        return r.stdout.trim() === '' ? {} : cliJson(r.stdout)
      }
      const a = (await ok('kms', 'create-key')).KeyMetadata.KeyId as string
      const b = (await ok('kms', 'create-key')).KeyMetadata.KeyId as string
      await ok('kms', 'create-alias', '--alias-name', 'alias/cli-more', '--target-key-id', a)
      await ok('kms', 'update-alias', '--alias-name', 'alias/cli-more', '--target-key-id', b)
      assert.equal(await targetOf('alias/cli-more'), b)
      await ok('kms', 'update-key-description', '--key-id', b, '--description', 'from the cli')
      assert.equal((await ok('kms', 'describe-key', '--key-id', 'alias/cli-more')).KeyMetadata.Description, 'from the cli')
      await ok('kms', 'enable-key-rotation', '--key-id', b)
      const status = await ok('kms', 'get-key-rotation-status', '--key-id', b)
      assert.equal(status.KeyRotationEnabled, true)
      await ok('kms', 'disable-key-rotation', '--key-id', b)
      assert.equal((await ok('kms', 'get-key-rotation-status', '--key-id', b)).KeyRotationEnabled, false)
      const blobFile = cli.write('blob.bin', Buffer.from((await kms().send(new EncryptCommand({ KeyId: a, Plaintext: Buffer.from('cli re') }))).CiphertextBlob!))
      const re = await ok('kms', 're-encrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--destination-key-id', 'alias/cli-more')
      assert.match(re.KeyId as string, new RegExp(b))
      const dec = await kms().send(new DecryptCommand({ CiphertextBlob: Buffer.from(re.CiphertextBlob as string, 'base64') }))
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'cli re')
      const random = await ok('kms', 'generate-random', '--number-of-bytes', '48')
      assert.equal(Buffer.from(random.Plaintext as string, 'base64').length, 48)
      assert.deepEqual((await ok('kms', 'list-key-policies', '--key-id', b)).PolicyNames, ['default'])
      await ok('kms', 'delete-alias', '--alias-name', 'alias/cli-more')
      const missing = await aws('kms', 'delete-alias', '--alias-name', 'alias/cli-more')
      assert.notEqual(missing.code, 0)
      assert.match(missing.stderr, /NotFoundException/)
    } finally {
      cli.dispose()
    }
  })
})

/**
 * The KMS API with @aws-sdk/client-kms and the Debian AWS CLI (`aws kms …`): keys, aliases, key
 * states, key policies through the policy engine, and Encrypt/Decrypt/GenerateDataKey.
 *
 * AWS's behaviour (docs/decisions/encryption.md §KMS): the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/) for each operation's shapes and errors
 * (NotFoundException, DisabledException, KMSInvalidStateException, AccessDeniedException,
 * InvalidCiphertextException, AlreadyExistsException); "Default key policy"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html); "Key policies in
 * AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html: IAM policies
 * count only when the key policy allows the account); the condition keys kms:EncryptionContext:,
 * kms:CallerAccount ("AWS KMS condition keys",
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, failure, PARTNER_ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
let s: TestServer

before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

function kms(creds = ADMIN, region = 'us-east-1'): KMSClient {
  return new KMSClient({ endpoint: s.endpoint, region, credentials: creds, maxAttempts: 1 })
}

describe('KMS: keys, aliases, states', () => {
  test('CreateKey with the default key policy; DescribeKey, ListKeys, GetKeyPolicy', async () => {
    const created = await kms().send(new CreateKeyCommand({ Description: 'for tests' }))
    const md = created.KeyMetadata!
    assert.match(md.KeyId!, /^[0-9a-f-]{36}$/)
    assert.equal(md.Arn, `arn:aws:kms:us-east-1:${OWNER}:key/${md.KeyId}`)
    assert.equal(md.KeyState, 'Enabled')
    assert.equal(md.Enabled, true)
    assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT')
    assert.equal(md.AWSAccountId, OWNER)
    const described = await kms().send(new DescribeKeyCommand({ KeyId: md.Arn }))
    assert.equal(described.KeyMetadata!.Description, 'for tests')
    const listed = await kms().send(new ListKeysCommand({}))
    assert.ok(listed.Keys!.some((k) => k.KeyId === md.KeyId && k.KeyArn === md.Arn))
    const policy = JSON.parse((await kms().send(new GetKeyPolicyCommand({ KeyId: md.KeyId, PolicyName: 'default' }))).Policy!)
    assert.equal(policy.Statement[0].Sid, 'Enable IAM User Permissions')
    assert.equal(policy.Statement[0].Principal.AWS, `arn:aws:iam::${OWNER}:root`)
    // Keys are regional: another region does not know it.
    const elsewhere = await failure(() => kms(ADMIN, 'eu-west-1').send(new DescribeKeyCommand({ KeyId: md.KeyId })))
    assert.equal(elsewhere.name, 'NotFoundException')
  })

  test('an unknown key is NotFoundException; aliases resolve, are listed, and are unique', async () => {
    const missing = await failure(() => kms().send(new DescribeKeyCommand({ KeyId: '11111111-2222-3333-4444-555555555555' })))
    assert.equal(missing.name, 'NotFoundException')
    assert.equal(missing.$metadata.httpStatusCode, 400)
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/app-data', TargetKeyId: k.KeyId }))
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId: 'alias/app-data' }))).KeyMetadata!.KeyId, k.KeyId)
    const aliases = await kms().send(new ListAliasesCommand({}))
    assert.ok(aliases.Aliases!.some((a) => a.AliasName === 'alias/app-data' && a.TargetKeyId === k.KeyId && a.AliasArn === `arn:aws:kms:us-east-1:${OWNER}:alias/app-data`))
    const again = await failure(() => kms().send(new CreateAliasCommand({ AliasName: 'alias/app-data', TargetKeyId: k.KeyId })))
    assert.equal(again.name, 'AlreadyExistsException')
    const reserved = await failure(() => kms().send(new CreateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: k.KeyId })))
    assert.equal(reserved.name, 'InvalidAliasNameException')
  })

  test('Encrypt/Decrypt round trip with an encryption context; another context fails; GenerateDataKey', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const ctx = { purpose: 'test' }
    const enc = await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('hello kms'), EncryptionContext: ctx }))
    assert.equal(enc.KeyId, k.Arn)
    assert.equal(Buffer.from(enc.CiphertextBlob!).indexOf('hello kms'), -1)
    const dec = await kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }))
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'hello kms')
    assert.equal(dec.KeyId, k.Arn)
    const wrongCtx = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'other' } })))
    assert.equal(wrongCtx.name, 'InvalidCiphertextException')
    const noise = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a ciphertext blob at all, not at all') })))
    assert.equal(noise.name, 'InvalidCiphertextException')
    const dk = await kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256' }))
    assert.equal(dk.Plaintext!.length, 32)
    const back = await kms().send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))
    assert.deepEqual(Buffer.from(back.Plaintext!), Buffer.from(dk.Plaintext!))
  })

  test('DisableKey: DisabledException on use; EnableKey restores it; ScheduleKeyDeletion: KMSInvalidStateException', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!.KeyState, 'Disabled')
    const disabled = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))
    assert.equal(disabled.name, 'DisabledException')
    await kms().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }))
    const sched = await kms().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }))
    assert.equal(sched.KeyState, 'PendingDeletion')
    assert.equal(sched.PendingWindowInDays, 7)
    const pending = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))
    assert.equal(pending.name, 'KMSInvalidStateException')
    const badWindow = await failure(() => kms().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 3 })))
    assert.equal(badWindow.name, 'ValidationException')
  })
})

/**
 * CancelKeyDeletion puts a key pending deletion back to Disabled ("Cancel key deletion",
 * https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-cancelling-key-deletion.html);
 * once the waiting period ends, KMS deletes the key and the aliases that refer to it
 * (ScheduleKeyDeletion, https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html),
 * so it is NotFoundException from then on. The window is days: the server's clock is moved, and
 * the client's clock offset with it so that SigV4's skew check still passes.
 */
describe('KMS: CancelKeyDeletion and the end of the deletion window', () => {
  let offset = 0
  let t: TestServer
  before(async () => {
    t = await startTestServer({ clock: () => new Date(Date.now() + offset) })
  })
  after(async () => {
    await t.stop()
  })
  const client = () => new KMSClient({ endpoint: t.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1, systemClockOffset: offset })

  test('CancelKeyDeletion: PendingDeletion back to Disabled; on a key not pending deletion, KMSInvalidStateException', async () => {
    const k = (await client().send(new CreateKeyCommand({}))).KeyMetadata!
    const notPending = await failure(() => client().send(new CancelKeyDeletionCommand({ KeyId: k.KeyId })))
    assert.equal(notPending.name, 'KMSInvalidStateException')
    await client().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }))
    const cancelled = await client().send(new CancelKeyDeletionCommand({ KeyId: k.KeyId }))
    assert.equal(cancelled.KeyId, k.Arn)
    const md = (await client().send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!
    assert.equal(md.KeyState, 'Disabled')
    assert.equal(md.DeletionDate, undefined)
    assert.equal((await failure(() => client().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))).name, 'DisabledException')
    await client().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    await client().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }))
  })

  test('after the waiting period the key and its aliases are gone: NotFoundException, not listed, its ciphertexts undecryptable', async () => {
    const k = (await client().send(new CreateKeyCommand({}))).KeyMetadata!
    await client().send(new CreateAliasCommand({ AliasName: 'alias/expiring', TargetKeyId: k.KeyId }))
    const blob = (await client().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!
    await client().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }))
    offset += 6 * 86_400_000
    // Still inside the window: pending, and cancellable.
    assert.equal((await client().send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!.KeyState, 'PendingDeletion')
    offset += 2 * 86_400_000
    for (const id of [k.KeyId!, k.Arn!, 'alias/expiring']) {
      const gone = await failure(() => client().send(new DescribeKeyCommand({ KeyId: id })))
      assert.equal(gone.name, 'NotFoundException', id)
    }
    assert.equal((await failure(() => client().send(new CancelKeyDeletionCommand({ KeyId: k.KeyId })))).name, 'NotFoundException')
    assert.equal((await failure(() => client().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))).name, 'NotFoundException')
    assert.equal((await failure(() => client().send(new DecryptCommand({ CiphertextBlob: blob })))).name, 'InvalidCiphertextException')
    assert.ok(!(await client().send(new ListKeysCommand({}))).Keys!.some((x) => x.KeyId === k.KeyId))
    assert.ok(!(await client().send(new ListAliasesCommand({}))).Aliases!.some((a) => a.AliasName === 'alias/expiring'))
    // The alias name is free again.
    const next = (await client().send(new CreateKeyCommand({}))).KeyMetadata!
    await client().send(new CreateAliasCommand({ AliasName: 'alias/expiring', TargetKeyId: next.KeyId }))
    assert.equal((await client().send(new DescribeKeyCommand({ KeyId: 'alias/expiring' }))).KeyMetadata!.KeyId, next.KeyId)
  })
})

describe('KMS: key policies through the policy engine', () => {
  test('without the account statement, IAM policies grant nothing; a key policy Deny wins; kms:EncryptionContext conditions', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const admin = `arn:aws:iam::${OWNER}:user/admin`
    // The key policy names only the admin user for management, and allows Encrypt/Decrypt only with context app=a.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: admin }, Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'], Resource: '*' },
        {
          Sid: 'UseWithContext',
          Effect: 'Allow',
          Principal: { AWS: admin },
          Action: ['kms:Encrypt', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:app': 'a' } },
        },
        { Sid: 'NoDisable', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:DisableKey', Resource: '*' },
      ],
    }
    await kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) }))
    const ok = await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { app: 'a' } }))
    assert.ok(ok.CiphertextBlob)
    const wrongApp = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { app: 'b' } })))
    assert.equal(wrongApp.name, 'AccessDeniedException')
    assert.match(wrongApp.message, /not authorized to perform: kms:Encrypt/)
    // The admin's IAM policy allows everything, but the key policy no longer delegates to IAM.
    const gdk = await failure(() => kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256' })))
    assert.equal(gdk.name, 'AccessDeniedException')
    assert.match(gdk.message, /kms:GenerateDataKey/)
    const deny = await failure(() => kms().send(new DisableKeyCommand({ KeyId: k.KeyId })))
    assert.equal(deny.name, 'AccessDeniedException')
    assert.match(deny.message, /explicit deny/)
  })

  test('the default key policy delegates to IAM: a user whose policies do not allow kms:* is refused; another account is refused', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const reader = await failure(() => kms(READER).send(new EncryptCommand({ KeyId: k.Arn, Plaintext: Buffer.from('x') })))
    assert.equal(reader.name, 'AccessDeniedException')
    const partner = await failure(() => kms(PARTNER_ADMIN).send(new EncryptCommand({ KeyId: k.Arn, Plaintext: Buffer.from('x') })))
    assert.equal(partner.name, 'AccessDeniedException')
    const badPolicy = await failure(() => kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: '{"not":"a policy"}' })))
    assert.equal(badPolicy.name, 'MalformedPolicyDocumentException')
  })
})

describe('KMS with the Debian AWS CLI', () => {
  test('aws kms create-key, create-alias, encrypt, decrypt, describe-key', async () => {
    const cli = new CliSandbox('mrap-kms-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env })
      const created = await aws('kms', 'create-key', '--description', 'cli key')
      assert.equal(created.code, 0, created.stderr)
      const keyId = cliJson(created.stdout).KeyMetadata.KeyId as string
      const alias = await aws('kms', 'create-alias', '--alias-name', 'alias/cli-key', '--target-key-id', keyId)
      assert.equal(alias.code, 0, alias.stderr)
      const plainFile = cli.write('plain.txt', 'cli secret')
      const enc = await aws('kms', 'encrypt', '--key-id', 'alias/cli-key', '--plaintext', `fileb://${plainFile}`, '--output', 'text', '--query', 'CiphertextBlob')
      assert.equal(enc.code, 0, enc.stderr)
      const blobFile = cli.write('blob.bin', Buffer.from(enc.stdout.trim(), 'base64'))
      const dec = await aws('kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--output', 'text', '--query', 'Plaintext')
      assert.equal(dec.code, 0, dec.stderr)
      assert.equal(Buffer.from(dec.stdout.trim(), 'base64').toString(), 'cli secret')
      const missing = await aws('kms', 'describe-key', '--key-id', 'alias/nope')
      assert.notEqual(missing.code, 0)
      assert.match(missing.stderr, /NotFoundException/)
    } finally {
      cli.dispose()
    }
  })
})

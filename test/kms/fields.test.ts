/**
 * Every request member of the KMS operations is honoured or refused, never read past
 * (`src/kms/fields.ts`, docs/decisions/encryption.md §KMS decision 11), with @aws-sdk/client-kms.
 *
 * AWS's behaviour: the AWS KMS API Reference (https://docs.aws.amazon.com/kms/latest/APIReference/):
 * UnsupportedOperationException ("a specified parameter is not supported"); DryRun on Encrypt,
 * Decrypt, GenerateDataKey and DryRunOperationException, HTTP 412 ("Testing your permissions",
 * https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html), Decrypt's
 * DryRunModifiers IGNORE_CIPHERTEXT; ListKeys' Limit 1 to 1000 (default 100) and ListAliases' 1 to
 * 100 (default 50), Marker, NextMarker, Truncated, InvalidMarkerException; EncryptionAlgorithm and
 * InvalidKeyUsageException (Encrypt, Decrypt); Decrypt's KeyId and IncorrectKeyException;
 * GenerateDataKey's NumberOfBytes and KeySpec; CreateKey's and PutKeyPolicy's
 * BypassPolicyLockoutSafetyCheck and MalformedPolicyDocumentException.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms'
import { kmsClient } from '../helpers/kms-keys.js'
import { ADMIN, failure, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
let s: TestServer

before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

const kms = (creds = ADMIN): KMSClient => kmsClient(s, creds)

/** A client that adds `extra` to every JSON body before signing: a member the SDK's model lacks. */
function kmsWith(extra: Record<string, unknown>): KMSClient {
  const c = kms()
  c.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { body?: string; headers: Record<string, string> }
      req.body = JSON.stringify({ ...JSON.parse(req.body ?? '{}'), ...extra })
      req.headers['content-length'] = String(Buffer.byteLength(req.body))
      return next(args)
    },
    { step: 'build', name: 'extraMember' },
  )
  return c
}

async function keyCount(): Promise<number> {
  return (await kms().send(new ListKeysCommand({ Limit: 1000 }))).Keys!.length
}

describe('members mrap does not honour are refused, before anything happens', () => {
  test('CreateKey: CustomKeyStoreId, XksKeyId, MultiRegion true, Origin EXTERNAL; no key is made', async () => {
    const before = await keyCount()
    const cases: [string, CreateKeyCommandInput][] = [
      ['CustomKeyStoreId', { CustomKeyStoreId: 'cks-1234567890abcdef0' }],
      ['XksKeyId', { XksKeyId: 'ext-key-1' }],
      ['MultiRegion', { MultiRegion: true }],
      ['Origin', { Origin: 'EXTERNAL' }],
    ]
    for (const [field, input] of cases) {
      const e = await failure(() => kms().send(new CreateKeyCommand(input)))
      assert.equal(e.name, 'UnsupportedOperationException', field)
      assert.equal(e.$metadata.httpStatusCode, 400)
      assert.match(e.message, new RegExp(`^${field}\\b.*not supported on CreateKey`))
    }
    assert.equal(await keyCount(), before)
    // The values that ask for what mrap does are taken; a value outside Origin's enum is AWS's ValidationException.
    const ok = await kms().send(new CreateKeyCommand({ MultiRegion: false, Origin: 'AWS_KMS' }))
    assert.equal(ok.KeyMetadata!.MultiRegion, false)
    assert.equal(ok.KeyMetadata!.Origin, 'AWS_KMS')
    const bad = await failure(() => kms().send(new CreateKeyCommand({ Origin: 'NOPE' as 'AWS_KMS' })))
    assert.equal(bad.name, 'ValidationException')
  })

  test('Decrypt and GenerateDataKey: Recipient; ListKeys: ResourceOwners OTHER_ACCOUNTS_VIA_RAM; a member outside the model', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const blob = (await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!
    const recipient = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: Buffer.from('doc') }
    const dec = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient })))
    assert.equal(dec.name, 'UnsupportedOperationException')
    assert.match(dec.message, /^Recipient is not supported on Decrypt/)
    const gdk = await failure(() => kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256', Recipient: recipient })))
    assert.equal(gdk.name, 'UnsupportedOperationException')
    const ram = await failure(() => kms().send(new ListKeysCommand({ ResourceOwners: ['SELF', 'OTHER_ACCOUNTS_VIA_RAM'] })))
    assert.equal(ram.name, 'UnsupportedOperationException')
    assert.match(ram.message, /ResourceOwners "OTHER_ACCOUNTS_VIA_RAM"/)
    assert.ok((await kms().send(new ListKeysCommand({ ResourceOwners: ['SELF'] }))).Keys!.some((x) => x.KeyId === k.KeyId))
    const stray = await failure(() => kmsWith({ Frobnicate: true }).send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))
    assert.equal(stray.name, 'UnsupportedOperationException')
    assert.match(stray.message, /^Frobnicate is not supported on Encrypt/)
  })
})

describe('DryRun: authorized as the real call, then DryRunOperationException (412), nothing done', () => {
  test('Encrypt, GenerateDataKey, Decrypt: 412 for an allowed caller, AccessDeniedException for a refused one', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const blob = (await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('secret') }))).CiphertextBlob!
    const calls = [
      new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), DryRun: true }),
      new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256', DryRun: true }),
      new DecryptCommand({ CiphertextBlob: blob, DryRun: true }),
    ] as const
    for (const cmd of calls) {
      const ok = await failure(() => kms().send(cmd as EncryptCommand))
      assert.equal(ok.name, 'DryRunOperationException', cmd.constructor.name)
      assert.equal(ok.$metadata.httpStatusCode, 412)
      assert.equal(ok.message, 'The request would have succeeded, but the DryRun option is set.')
      const refused = await failure(() => kms(READER).send(cmd as EncryptCommand))
      assert.equal(refused.name, 'AccessDeniedException', cmd.constructor.name)
      assert.equal(refused.$metadata.httpStatusCode, 400)
    }
  })

  test('Decrypt checks the ciphertext unless DryRunModifiers IGNORE_CIPHERTEXT; a disabled key is refused as without DryRun', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const junk = Buffer.from('not a ciphertext of any key')
    const checked = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: junk, KeyId: k.KeyId, DryRun: true })))
    assert.equal(checked.name, 'InvalidCiphertextException')
    const ignored = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: junk, KeyId: k.KeyId, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))
    assert.equal(ignored.name, 'DryRunOperationException')
    const denied = await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: junk, KeyId: k.KeyId, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))
    assert.equal(denied.name, 'AccessDeniedException')
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    const disabled = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), DryRun: true })))
    assert.equal(disabled.name, 'DisabledException')
  })
})

describe('ListKeys and ListAliases page by Limit and Marker', () => {
  test('pages of Limit keys until Truncated is false: every key once; Limit out of range and a bad Marker refused', async () => {
    for (let i = 0; i < 5; i++) await kms().send(new CreateKeyCommand({ Description: `page ${i}` }))
    const all = (await kms().send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId!)
    assert.ok(all.length >= 5)
    const seen: string[] = []
    let marker: string | undefined
    let pages = 0
    do {
      const page = await kms().send(new ListKeysCommand({ Limit: 2, ...(marker ? { Marker: marker } : {}) }))
      assert.ok(page.Keys!.length <= 2)
      assert.equal(page.Truncated, page.NextMarker !== undefined)
      seen.push(...page.Keys!.map((k) => k.KeyId!))
      marker = page.NextMarker
      pages++
    } while (marker !== undefined && pages < 100)
    assert.deepEqual([...seen].sort(), [...all].sort())
    assert.equal(pages, Math.ceil(all.length / 2))
    for (const Limit of [0, 1001]) {
      const e = await failure(() => kms().send(new ListKeysCommand({ Limit })))
      assert.equal(e.name, 'ValidationException')
      assert.match(e.message, /between 1 and 1000/)
    }
    const bad = await failure(() => kms().send(new ListKeysCommand({ Marker: 'not-one-of-ours' })))
    assert.equal(bad.name, 'InvalidMarkerException')
  })

  test('aliases page the same way; ListAliases takes Limit 1 to 100', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    for (const n of ['pa', 'pb', 'pc']) await kms().send(new CreateAliasCommand({ AliasName: `alias/${n}`, TargetKeyId: k.KeyId }))
    const first = await kms().send(new ListAliasesCommand({ KeyId: k.KeyId, Limit: 2 }))
    assert.deepEqual(
      first.Aliases!.map((a) => a.AliasName),
      ['alias/pa', 'alias/pb'],
    )
    assert.equal(first.Truncated, true)
    const rest = await kms().send(new ListAliasesCommand({ KeyId: k.KeyId, Limit: 2, Marker: first.NextMarker! }))
    assert.deepEqual(
      rest.Aliases!.map((a) => a.AliasName),
      ['alias/pc'],
    )
    assert.equal(rest.Truncated, false)
    assert.equal(rest.NextMarker, undefined)
    const tooMany = await failure(() => kms().send(new ListAliasesCommand({ Limit: 101 })))
    assert.equal(tooMany.name, 'ValidationException')
  })
})

describe('EncryptionAlgorithm, Decrypt KeyId, GenerateDataKey NumberOfBytes and KeySpec', () => {
  test('SYMMETRIC_DEFAULT is taken; an asymmetric algorithm is InvalidKeyUsageException; a value outside the enum ValidationException', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const enc = await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }))
    const dec = await kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob!, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }))
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'x')
    const rsa = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))
    assert.equal(rsa.name, 'InvalidKeyUsageException')
    const rsaDec = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })))
    assert.equal(rsaDec.name, 'InvalidKeyUsageException')
    const nope = await failure(() => kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'AES_GCM' as 'SM2PKE' })))
    assert.equal(nope.name, 'ValidationException')
  })

  test("Decrypt's KeyId: the ciphertext's key by id, ARN or alias; another key is IncorrectKeyException", async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const other = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/decrypt-keyid', TargetKeyId: k.KeyId }))
    const blob = (await kms().send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!
    for (const KeyId of [k.KeyId!, k.Arn!, 'alias/decrypt-keyid', `arn:aws:kms:us-east-1:${OWNER}:alias/decrypt-keyid`])
      assert.equal((await kms().send(new DecryptCommand({ CiphertextBlob: blob, KeyId }))).KeyId, k.Arn)
    const wrong = await failure(() => kms().send(new DecryptCommand({ CiphertextBlob: blob, KeyId: other.KeyId })))
    assert.equal(wrong.name, 'IncorrectKeyException')
  })

  test('GenerateDataKey: NumberOfBytes or KeySpec sizes the key; both or neither is ValidationException', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    assert.equal((await kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, NumberOfBytes: 64 }))).Plaintext!.length, 64)
    assert.equal((await kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_128' }))).Plaintext!.length, 16)
    assert.equal((await kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256' }))).Plaintext!.length, 32)
    for (const input of [{ NumberOfBytes: 16, KeySpec: 'AES_128' as const }, {}, { NumberOfBytes: 1025 }]) {
      const e = await failure(() => kms().send(new GenerateDataKeyCommand({ KeyId: k.KeyId, ...input })))
      assert.equal(e.name, 'ValidationException', JSON.stringify(input))
    }
  })
})

describe('the key policy lockout safety check', () => {
  const onlyReader = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:user/reader` }, Action: 'kms:*', Resource: '*' }],
  }
  const lockout = 'The new key policy will not allow you to update the key policy in the future.'

  test('CreateKey with a policy that does not let the caller PutKeyPolicy: refused unless BypassPolicyLockoutSafetyCheck', async () => {
    const before = await keyCount()
    const e = await failure(() => kms().send(new CreateKeyCommand({ Policy: JSON.stringify(onlyReader) })))
    assert.equal(e.name, 'MalformedPolicyDocumentException')
    assert.equal(e.message, lockout)
    assert.equal(await keyCount(), before)
    const made = await kms().send(new CreateKeyCommand({ Policy: JSON.stringify(onlyReader), BypassPolicyLockoutSafetyCheck: true }))
    assert.equal(made.KeyMetadata!.KeyState, 'Enabled')
    // The policy does not let admin update it: the lockout the check was for.
    const locked = await failure(() => kms().send(new PutKeyPolicyCommand({ KeyId: made.KeyMetadata!.KeyId, PolicyName: 'default', Policy: JSON.stringify(onlyReader) })))
    assert.equal(locked.name, 'AccessDeniedException')
  })

  test('PutKeyPolicy: a policy that keeps the caller (through IAM) is taken; one that drops it is refused unless bypassed', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const viaIam = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' }],
    }
    await kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: JSON.stringify(viaIam) }))
    const denyPut = { ...viaIam, Statement: [...viaIam.Statement, { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:PutKeyPolicy', Resource: '*' }] }
    for (const p of [onlyReader, denyPut]) {
      const e = await failure(() => kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: JSON.stringify(p) })))
      assert.equal(e.name, 'MalformedPolicyDocumentException')
      assert.equal(e.message, lockout)
    }
    await kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: JSON.stringify(denyPut), BypassPolicyLockoutSafetyCheck: true }))
    const now = await failure(() => kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: JSON.stringify(viaIam) })))
    assert.equal(now.name, 'AccessDeniedException')
  })
})

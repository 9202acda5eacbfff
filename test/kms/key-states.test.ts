/**
 * Every KMS operation mrap serves on a key in every state a key here can be in, against AWS's "Key
 * states of AWS KMS keys" table (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html)
 * and each operation's Errors in the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_<Operation>.html), with @aws-sdk/client-kms;
 * then S3's SSE-KMS path on the same states with @aws-sdk/client-s3.
 *
 * The table's notes give the messages: [1] "DisabledException: <key ARN> is disabled.", [3]
 * "KMSInvalidStateException: <key ARN> is pending deletion.", [4] "KMSInvalidStateException: <key
 * ARN> is not pending deletion."; [10] UpdateAlias succeeds when the alias's current key is pending
 * deletion and fails [3] when the new one is. Where a cell says "[2] or [3]" mrap answers [3], and a
 * key past its waiting period is NotFoundException (the table has no row for it): the choices are
 * docs/decisions/encryption.md §KMS, "Key states". Every KMS error is HTTP 400 (decision 2's "What
 * AWS does": the API reference's "HTTP Status Code: 400"), S3's KMS.* errors too (decision 7).
 *
 * Each cell gets its own key (and alias, ciphertext and grant, made while the key is enabled), so
 * calls that change a key's state do not leak between cells. A deleted key is one whose 7-day
 * window the server's clock has passed: the clock moves 8 days for each such cell, and the
 * clients' clock offsets with it so that SigV4's skew check still passes.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms'
import { CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`
const READER_ARN = `arn:aws:iam::${OWNER}:user/reader`
const DAY = 86_400_000

type State = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'Deleted'
const STATES: State[] = ['Enabled', 'Disabled', 'PendingDeletion', 'Deleted']

/** What a cell expects: success, or an error's name and (where the table's notes give it) its message. */
type Want = 'ok' | { name: string; message?: (f: { arn: string; alias: string }) => string }
const DISABLED: Want = { name: 'DisabledException', message: (f) => `${f.arn} is disabled.` } // [1]
const PENDING: Want = { name: 'KMSInvalidStateException', message: (f) => `${f.arn} is pending deletion.` } // [3]
const NOT_PENDING: Want = { name: 'KMSInvalidStateException', message: (f) => `${f.arn} is not pending deletion.` } // [4]
/** KMS's words for a key id or ARN that names no key, as botocore users quote them (boto/botocore#2107). */
const NOT_FOUND: Want = { name: 'NotFoundException', message: (f) => `Key '${f.arn}' does not exist` }
/** A deleted key's aliases are deleted with it ("including all aliases that refer to it", API_ScheduleKeyDeletion.html). */
const ALIAS_GONE: Want = { name: 'NotFoundException', message: (f) => `Alias arn:aws:kms:us-east-1:${OWNER}:${f.alias} is not found.` }
/** Decision 2: a deleted key's ciphertexts are InvalidCiphertextException, as a changed blob is. */
const BAD_CIPHERTEXT: Want = { name: 'InvalidCiphertextException' }

/** A key made for one cell while enabled, with what the operations need of it. */
interface Fixture {
  id: string
  arn: string
  alias: string
  blob: Uint8Array
  grantId: string
  grantToken: string
  /** Another key, enabled, for the calls that take two (ReEncrypt, UpdateAlias). */
  other: { id: string; arn: string; alias: string; blob: Uint8Array }
}

interface Row {
  op: string
  /** The table's cells: Enabled, Disabled, PendingDeletion; then mrap's answer for a deleted key. */
  want: [Want, Want, Want, Want]
  call: (k: KMSClient, f: Fixture) => Promise<unknown>
  /** An extra check of a successful answer (that it is about this key). */
  check?: (out: unknown, f: Fixture, state: State) => void
}

const ROWS: Row[] = [
  { op: 'DescribeKey', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new DescribeKeyCommand({ KeyId: f.id })) },
  {
    op: 'DescribeKey by alias',
    want: ['ok', 'ok', 'ok', ALIAS_GONE],
    call: (k, f) => k.send(new DescribeKeyCommand({ KeyId: f.alias })),
  },
  {
    op: 'ListAliases (KeyId)',
    want: ['ok', 'ok', 'ok', NOT_FOUND],
    call: (k, f) => k.send(new ListAliasesCommand({ KeyId: f.id })),
    check: (out, f) =>
      assert.deepEqual(
        (out as { Aliases: { AliasName: string }[] }).Aliases.map((a) => a.AliasName),
        [f.alias],
      ),
  },
  {
    op: 'ListKeys',
    want: ['ok', 'ok', 'ok', 'ok'],
    call: (k) => k.send(new ListKeysCommand({ Limit: 1000 })),
    check: (out, f, state) =>
      assert.equal(
        (out as { Keys: { KeyId: string }[] }).Keys.some((x) => x.KeyId === f.id),
        state !== 'Deleted',
      ),
  },
  { op: 'CreateAlias', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new CreateAliasCommand({ AliasName: `${f.alias}-2`, TargetKeyId: f.id })) },
  { op: 'DeleteAlias', want: ['ok', 'ok', 'ok', ALIAS_GONE], call: (k, f) => k.send(new DeleteAliasCommand({ AliasName: f.alias })) },
  // [10]: "If the source KMS key is pending deletion, the command succeeds. If the destination KMS key
  // is pending deletion, the command fails with error: KMSInvalidStateException".
  { op: 'UpdateAlias (current key)', want: ['ok', 'ok', 'ok', ALIAS_GONE], call: (k, f) => k.send(new UpdateAliasCommand({ AliasName: f.alias, TargetKeyId: f.other.id })) },
  { op: 'UpdateAlias (new key)', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new UpdateAliasCommand({ AliasName: f.other.alias, TargetKeyId: f.id })) },
  { op: 'ScheduleKeyDeletion', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new ScheduleKeyDeletionCommand({ KeyId: f.id, PendingWindowInDays: 7 })) },
  { op: 'CancelKeyDeletion', want: [NOT_PENDING, NOT_PENDING, 'ok', NOT_FOUND], call: (k, f) => k.send(new CancelKeyDeletionCommand({ KeyId: f.id })) },
  { op: 'EnableKey', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new EnableKeyCommand({ KeyId: f.id })) },
  { op: 'DisableKey', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new DisableKeyCommand({ KeyId: f.id })) },
  { op: 'GetKeyPolicy', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new GetKeyPolicyCommand({ KeyId: f.id, PolicyName: 'default' })) },
  {
    op: 'PutKeyPolicy',
    want: ['ok', 'ok', 'ok', NOT_FOUND],
    call: (k, f) =>
      k.send(
        new PutKeyPolicyCommand({
          KeyId: f.id,
          PolicyName: 'default',
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' }] }),
        }),
      ),
  },
  { op: 'ListKeyPolicies', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new ListKeyPoliciesCommand({ KeyId: f.id })) },
  { op: 'UpdateKeyDescription', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new UpdateKeyDescriptionCommand({ KeyId: f.id, Description: 'changed' })) },
  // [7] is about imported material and custom key stores, neither of which mrap has: these succeed when enabled.
  { op: 'EnableKeyRotation', want: ['ok', DISABLED, PENDING, NOT_FOUND], call: (k, f) => k.send(new EnableKeyRotationCommand({ KeyId: f.id })) },
  { op: 'DisableKeyRotation', want: ['ok', DISABLED, PENDING, NOT_FOUND], call: (k, f) => k.send(new DisableKeyRotationCommand({ KeyId: f.id })) },
  { op: 'GetKeyRotationStatus', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new GetKeyRotationStatusCommand({ KeyId: f.id })) },
  { op: 'Encrypt', want: ['ok', DISABLED, PENDING, NOT_FOUND], call: (k, f) => k.send(new EncryptCommand({ KeyId: f.id, Plaintext: Buffer.from('x') })) },
  {
    op: 'Decrypt',
    want: ['ok', DISABLED, PENDING, BAD_CIPHERTEXT],
    call: (k, f) => k.send(new DecryptCommand({ CiphertextBlob: f.blob })),
    check: (out) => assert.equal(Buffer.from((out as { Plaintext: Uint8Array }).Plaintext).toString(), 'secret'),
  },
  { op: 'Decrypt (KeyId)', want: ['ok', DISABLED, PENDING, BAD_CIPHERTEXT], call: (k, f) => k.send(new DecryptCommand({ CiphertextBlob: f.blob, KeyId: f.id })) },
  { op: 'GenerateDataKey', want: ['ok', DISABLED, PENDING, NOT_FOUND], call: (k, f) => k.send(new GenerateDataKeyCommand({ KeyId: f.id, KeySpec: 'AES_256' })) },
  {
    op: 'GenerateDataKeyWithoutPlaintext',
    want: ['ok', DISABLED, PENDING, NOT_FOUND],
    call: (k, f) => k.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: f.id, KeySpec: 'AES_256' })),
  },
  {
    op: 'ReEncrypt (source key)',
    want: ['ok', DISABLED, PENDING, BAD_CIPHERTEXT],
    call: (k, f) => k.send(new ReEncryptCommand({ CiphertextBlob: f.blob, DestinationKeyId: f.other.id })),
  },
  {
    op: 'ReEncrypt (destination key)',
    want: ['ok', DISABLED, PENDING, NOT_FOUND],
    call: (k, f) => k.send(new ReEncryptCommand({ CiphertextBlob: f.other.blob, DestinationKeyId: f.id })),
  },
  {
    op: 'CreateGrant',
    want: ['ok', DISABLED, PENDING, NOT_FOUND],
    call: (k, f) => k.send(new CreateGrantCommand({ KeyId: f.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'] })),
  },
  {
    op: 'ListGrants',
    want: ['ok', 'ok', 'ok', NOT_FOUND],
    call: (k, f) => k.send(new ListGrantsCommand({ KeyId: f.id })),
    check: (out, f) =>
      assert.deepEqual(
        (out as { Grants: { GrantId: string }[] }).Grants.map((g) => g.GrantId),
        [f.grantId],
      ),
  },
  {
    op: 'ListRetirableGrants',
    want: ['ok', 'ok', 'ok', 'ok'],
    call: (k) => k.send(new ListRetirableGrantsCommand({ RetiringPrincipal: ADMIN_ARN, Limit: 100 })),
    check: (out, f, state) =>
      assert.equal(
        (out as { Grants: { GrantId: string }[] }).Grants.some((g) => g.GrantId === f.grantId),
        state !== 'Deleted',
      ),
  },
  { op: 'RetireGrant', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new RetireGrantCommand({ KeyId: f.id, GrantId: f.grantId })) },
  { op: 'RetireGrant (GrantToken)', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new RetireGrantCommand({ GrantToken: f.grantToken })) },
  { op: 'RevokeGrant', want: ['ok', 'ok', 'ok', NOT_FOUND], call: (k, f) => k.send(new RevokeGrantCommand({ KeyId: f.id, GrantId: f.grantId })) },
  { op: 'TagResource', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new TagResourceCommand({ KeyId: f.id, Tags: [{ TagKey: 'team', TagValue: 'b' }] })) },
  { op: 'UntagResource', want: ['ok', 'ok', PENDING, NOT_FOUND], call: (k, f) => k.send(new UntagResourceCommand({ KeyId: f.id, TagKeys: ['team'] })) },
  {
    op: 'ListResourceTags',
    want: ['ok', 'ok', 'ok', NOT_FOUND],
    call: (k, f) => k.send(new ListResourceTagsCommand({ KeyId: f.id })),
    check: (out) => assert.deepEqual((out as { Tags: unknown[] }).Tags, [{ TagKey: 'team', TagValue: 'a' }]),
  },
]

let offset = 0
let s: TestServer
let n = 0

before(async () => {
  s = await startTestServer({ clock: () => new Date(Date.now() + offset) })
})
after(async () => {
  await s.stop()
})

/** A client per call: the SDK corrects its clock offset from each answer's Date, which is not the server's moved clock. */
const kms = (): KMSClient => new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1, systemClockOffset: offset })

async function enabledKey(): Promise<{ id: string; arn: string; alias: string; blob: Uint8Array }> {
  n += 1
  const md = (await kms().send(new CreateKeyCommand({ Description: `key-states ${n}`, Tags: [{ TagKey: 'team', TagValue: 'a' }] }))).KeyMetadata!
  const alias = `alias/ks-${process.pid}-${n}`
  await kms().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: md.KeyId }))
  const blob = (await kms().send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from('secret') }))).CiphertextBlob!
  return { id: md.KeyId!, arn: md.Arn!, alias, blob }
}

/** A key in `state`, with its alias, a ciphertext and a grant (retirable by admin) made while it was enabled. */
async function fixture(state: State): Promise<Fixture> {
  const key = await enabledKey()
  const other = await enabledKey()
  const grant = await kms().send(new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: READER_ARN, RetiringPrincipal: ADMIN_ARN, Operations: ['Encrypt'] }))
  if (state === 'Disabled') await kms().send(new DisableKeyCommand({ KeyId: key.id }))
  if (state === 'PendingDeletion' || state === 'Deleted') await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }))
  if (state === 'Deleted') offset += 8 * DAY
  assert.equal(await stateOf(key.id), state === 'Deleted' ? undefined : state)
  return { ...key, grantId: grant.GrantId!, grantToken: grant.GrantToken!, other }
}

async function stateOf(id: string): Promise<string | undefined> {
  try {
    return (await kms().send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyState
  } catch (e) {
    if ((e as Error).name === 'NotFoundException') return undefined
    throw e
  }
}

describe('KMS key states: every served operation × Enabled, Disabled, PendingDeletion, deleted ("Key states of AWS KMS keys")', () => {
  for (const row of ROWS)
    test(row.op, async () => {
      for (const [i, state] of STATES.entries()) {
        const f = await fixture(state)
        const want = row.want[i]!
        const where = `${row.op} on a ${state} key`
        if (want === 'ok') {
          const out = await row.call(kms(), f).catch((e: Error) => assert.fail(`${where}: expected success, got ${e.name}: ${e.message}`))
          assert.equal((out as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode, 200, where)
          row.check?.(out, f, state)
          continue
        }
        const e = await failure(() => row.call(kms(), f))
        assert.equal(e.name, want.name, `${where}: ${e.message}`)
        assert.equal(e.$metadata.httpStatusCode, 400, where)
        if (want.message) assert.equal(e.message, want.message(f), where)
      }
    })
})

describe('S3 SSE-KMS on a key in each state: KMS.DisabledException, KMS.KMSInvalidStateException (decision 7)', () => {
  const s3 = () => s.client(ADMIN, 'us-east-1', { systemClockOffset: offset })
  // PutObject and CreateMultipartUpload ask kms:GenerateDataKey, GetObject, CopyObject's source and
  // UploadPart kms:Decrypt ("Multipart upload API and permissions": kms:Decrypt and
  // kms:GenerateDataKey on the key): the table's GenerateDataKey and Decrypt rows.
  const PUT: Record<State, Want> = {
    Enabled: 'ok',
    Disabled: { name: 'KMS.DisabledException', message: (f) => `${f.arn} is disabled.` },
    PendingDeletion: { name: 'KMS.KMSInvalidStateException', message: (f) => `${f.arn} is pending deletion.` },
    Deleted: { name: 'KMS.NotFoundException' },
  }
  const GET: Record<State, Want> = { ...PUT }

  for (const state of STATES)
    test(`PutObject, GetObject, CopyObject, CreateMultipartUpload, UploadPart under a ${state} key`, async () => {
      const bucket = bucketName('ks')
      await s3().send(new CreateBucketCommand({ Bucket: bucket }))
      const key = await enabledKey()
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'before', Body: 'stored while enabled', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.id }))
      const upload = (await s3().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.id }))).UploadId!
      if (state === 'Disabled') await kms().send(new DisableKeyCommand({ KeyId: key.id }))
      if (state === 'PendingDeletion' || state === 'Deleted') await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }))
      if (state === 'Deleted') offset += 8 * DAY
      const cases: [string, Want, () => Promise<unknown>][] = [
        ['PutObject', PUT[state], () => s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.arn }))],
        ['GetObject', GET[state], () => s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'before' }))],
        ['CopyObject', GET[state], () => s3().send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/before`, ServerSideEncryption: 'AES256' }))],
        [
          'CreateMultipartUpload',
          PUT[state],
          () => s3().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu2', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.arn })),
        ],
        ['UploadPart', GET[state], () => s3().send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu', UploadId: upload, PartNumber: 1, Body: 'part' }))],
      ]
      for (const [op, want, call] of cases) {
        if (want === 'ok') {
          await call()
          continue
        }
        const e = await failure(call)
        assert.equal(e.name, want.name, `${op} on a ${state} key: ${e.message}`)
        assert.equal(e.$metadata.httpStatusCode, 400, `${op} on a ${state} key`)
        if (want.message) assert.equal(e.message, want.message(key), `${op} on a ${state} key`)
      }
    })
})

/**
 * `mrap lint`'s route-inconsistent on a running server, where KMS is what refuses a route: the MRAP's
 * BUCKET1 encrypts by default under a key whose policy denies admin kms:Decrypt through S3 (set up as
 * test/explain/kms.test.ts does), then under a disabled key, then a key pending deletion. The finding
 * must name the key and its policy or state, with S3's status and code from explain's result, and
 * advise on the key, never on the bucket policy (which allows: KMS is asked after S3's layers).
 *
 * AWS: "Protecting data with server-side encryption with AWS KMS keys (SSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): reading needs
 * kms:Decrypt, writing kms:GenerateDataKey; a disabled key is KMS.DisabledException and one pending
 * deletion KMS.KMSInvalidStateException (docs/decisions/encryption.md §SSE-KMS); "Cancel key
 * deletion" (https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-cancelling-key-deletion.html):
 * a cancelled deletion leaves the key Disabled.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { DisableKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { modelFromServices } from '../../src/explain/from-services.js'
import { type Finding, runLint } from '../../src/lint/index.js'
import { loadCatalog } from '../../src/policy/index.js'
import { createKey, ensureSeedMrap, kmsClient, kmsDefaultEncryption, noDecryptThroughS3 } from '../helpers/kms-keys.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, failure, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ALIAS = 'mfzwi23gnjvgw.mrap'
const BUCKET1 = 'DOC-EXAMPLE-BUCKET1'
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`
const ROOT = resolve(import.meta.dirname, '..', '..')

let s: TestServer
const kms = () => kmsClient(s)
const keyWith = (policy?: object) => createKey(s, 'lint kms', policy)
const defaultEncryption = (keyArn: string) => kmsDefaultEncryption(s, BUCKET1, keyArn)

/**
 * route-inconsistent findings on BUCKET1's route that list admin, whom S3's layers allow there (the
 * seed's finding for reader and partner, whom BUCKET1's bucket policy refuses, is another matter).
 */
async function adminFindings(): Promise<Finding[]> {
  const model = modelFromServices(s.services, 'test')
  return runLint({ model, catalog: (await loadCatalog())!, timeMs: 0 }).filter(
    (f) => f.rule === 'route-inconsistent' && f.message.includes(`routed to ${BUCKET1}`) && f.message.includes(`${OWNER}/admin from`),
  )
}

before(async () => {
  s = await startTestServer()
  await ensureSeedMrap(s)
})
after(async () => {
  await s.stop()
})

test('a key policy that denies admin kms:Decrypt through S3: the finding names the key, kms:Decrypt and the key policy, not the bucket policy', async () => {
  const key = await keyWith(noDecryptThroughS3(ADMIN_ARN, BUCKET1))
  await defaultEncryption(key.arn)
  await s.client().send(new PutObjectCommand({ Bucket: BUCKET1, Key: 'k', Body: 'one' }))
  // The server refuses the read for this reason: what the finding reports must be this.
  const e = await failure(() => s.client().send(new GetObjectCommand({ Bucket: BUCKET1, Key: 'k' })))
  assert.deepEqual([e.name, e.$metadata.httpStatusCode], ['AccessDenied', 403])

  const found = await adminFindings()
  const get = found.filter((f) => f.message.startsWith('s3:GetObject '))
  assert.equal(get.length, 1, JSON.stringify(found, null, 2))
  const f = get[0]!
  assert.deepEqual(f.policy, { kind: 'kms-key', owner: `KMS key ${key.arn}`, name: 'key policy' })
  assert.match(
    f.message,
    new RegExp(`refused \\(403 AccessDenied\\) when routed to ${BUCKET1} \\(us-east-1\\) by the KMS key ${key.arn} of the bucket's default encryption \\(SSE-KMS\\)`),
  )
  assert.match(f.message, /the key policy \(or IAM\) does not grant the caller kms:Decrypt \(via S3\): an explicit Deny in the key policy/)
  assert.match(f.message, /Affected: 123456789012\/admin from the internet/)
  assert.doesNotMatch(f.message + f.fix, /bucket policy of|sibling buckets|s3:DataAccessPointArn/)
  assert.match(f.fix, new RegExp(`narrow the Deny of kms:Decrypt in the key policy of ${key.arn}`))
  assert.match(f.fix, /kms:ViaService s3\.us-east-1\.amazonaws\.com/)
  // kms:GenerateDataKey is allowed: PutObject is not refused by the key.
  assert.equal(
    found.some((x) => x.message.startsWith('s3:PutObject ')),
    false,
  )

  // The mrap command on the same server prints the finding as written above.
  const out = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'mrap.mjs'), 'lint', '--data-dir', s.dataDir, '--no-color'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 16 << 20,
  }).then(
    () => assert.fail('exit status 0 with an error-level finding'),
    (x: { code: number; stdout: string }) => x,
  )
  assert.equal(out.code, 1)
  const lines = out.stdout.split('\n')
  const at = lines.findIndex((l) => l.includes(`[route-inconsistent] KMS key ${key.arn}: key policy`))
  assert.ok(at >= 0, out.stdout)
  assert.match(lines[at + 1]!, /^ {2}s3:GetObject through MRAP .* refused \(403 AccessDenied\) when routed to DOC-EXAMPLE-BUCKET1 .*kms:Decrypt \(via S3\)/)
  assert.match(lines[at + 2]!, /^ {2}fix: narrow the Deny of kms:Decrypt in the key policy of arn:aws:kms:us-east-1:123456789012:key\//)
})

test('a disabled key: the finding says 400 KMS.DisabledException and advises enabling the key', async () => {
  const key = await keyWith()
  await defaultEncryption(key.arn)
  await kms().send(new DisableKeyCommand({ KeyId: key.id }))
  const e = await failure(() => s.client().send(new PutObjectCommand({ Bucket: BUCKET1, Key: 'k2', Body: 'x' })))
  assert.deepEqual([e.name, e.$metadata.httpStatusCode], ['KMS.DisabledException', 400])
  // Through the MRAP as well, when it routes to BUCKET1 (the nearest route from the internet's us-east-1).
  const m = await failure(() => proxiedS3Client(s, { creds: ADMIN }).send(new PutObjectCommand({ Bucket: mrapArnOf(OWNER, ALIAS), Key: 'k2', Body: 'x' })))
  assert.deepEqual([m.name, m.$metadata.httpStatusCode], ['KMS.DisabledException', 400])

  const found = await adminFindings()
  for (const action of ['s3:GetObject', 's3:PutObject']) {
    const f = found.find((x) => x.message.startsWith(`${action} `))
    assert.ok(f, `${action}: ${JSON.stringify(found, null, 2)}`)
    assert.deepEqual(f.policy, { kind: 'kms-key', owner: `KMS key ${key.arn}`, name: 'key state (Disabled)' })
    assert.match(
      f.message,
      new RegExp(
        `refused \\(400 KMS\\.DisabledException\\) when routed to ${BUCKET1} \\(us-east-1\\) by the KMS key ${key.arn} of the bucket's default encryption \\(SSE-KMS\\): the key is disabled;`,
      ),
    )
    assert.doesNotMatch(f.message, /\(403\)/)
    assert.match(f.fix, new RegExp(`^enable the key \\(EnableKey ${key.arn}\\)`))
    assert.doesNotMatch(f.fix, /bucket policy|sibling buckets/)
  }
})

test('a key pending deletion: 400 KMS.KMSInvalidStateException, and the fix cancels the deletion', async () => {
  const key = await keyWith()
  await defaultEncryption(key.arn)
  await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }))
  const e = await failure(() => s.client().send(new PutObjectCommand({ Bucket: BUCKET1, Key: 'k3', Body: 'x' })))
  assert.deepEqual([e.name, e.$metadata.httpStatusCode], ['KMS.KMSInvalidStateException', 400])

  const f = (await adminFindings()).find((x) => x.message.startsWith('s3:PutObject '))
  assert.ok(f)
  assert.deepEqual(f.policy, { kind: 'kms-key', owner: `KMS key ${key.arn}`, name: 'key state (PendingDeletion)' })
  assert.match(f.message, /refused \(400 KMS\.KMSInvalidStateException\) .*: the key is pending deletion;/)
  assert.match(f.fix, /^cancel the key's deletion \(CancelKeyDeletion .*\) and enable it \(EnableKey\)/)
})

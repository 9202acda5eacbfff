/**
 * `mrap explain` and the Object Lock permissions: the policy engine's catalogue knows them, explain
 * names for each the operation the server classifies its request as (so the request facts are the
 * server's), and explain's answer agrees with the server's on a real Object Lock bucket.
 *
 * AWS: "Actions, resources, and condition keys for Amazon S3" (the permissions and their resource
 * types), "Locking objects with Object Lock" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html)
 * and "Configuring S3 Object Lock" (s3:PutObjectRetention, s3:PutObjectLegalHold,
 * s3:BypassGovernanceRetention, s3:PutBucketObjectLockConfiguration).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  CreateBucketCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3'
import { runExplain } from '../../src/cli/explain.js'
import { operationFor } from '../../src/explain/evaluate.js'
import { type Catalog, findAction, loadCatalog } from '../../src/policy/index.js'
import { actionsFor, classify } from '../../src/s3/classify.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

/** The requests of Object Lock as the server sees them: method, subresource, on an object or the bucket. */
const REQUESTS = [
  { method: 'GET', sub: 'retention', object: true },
  { method: 'PUT', sub: 'retention', object: true },
  { method: 'GET', sub: 'legal-hold', object: true },
  { method: 'PUT', sub: 'legal-hold', object: true },
  { method: 'GET', sub: 'object-lock', object: false },
  { method: 'PUT', sub: 'object-lock', object: false },
] as const

const LOCK_ACTIONS = [
  's3:PutObjectRetention',
  's3:GetObjectRetention',
  's3:PutObjectLegalHold',
  's3:GetObjectLegalHold',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
  's3:GetBucketObjectLockConfiguration',
]

let catalog: Catalog
let s: TestServer
let bucket: string

before(async () => {
  catalog = await loadCatalog()
  s = await startTestServer()
  bucket = bucketName('explain-lock')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }))
  await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'locked' }))
  await s.client().send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'NoLegalHolds',
            Effect: 'Deny',
            Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' },
            Action: 's3:PutObjectLegalHold',
            Resource: `arn:aws:s3:::${bucket}/*`,
          },
        ],
      }),
    }),
  )
})
after(async () => {
  await s.stop()
})

test('the catalogue has every Object Lock permission, on objects or on the bucket', () => {
  for (const a of LOCK_ACTIONS) {
    const found = findAction(catalog, a)
    assert.ok(found, `${a} is in the catalogue`)
    assert.deepEqual(found.resourceTypes.includes('object'), !a.includes('Bucket'), `${a}: ${found.resourceTypes.join(', ')}`)
  }
})

test("explain names the operation the server classifies each Object Lock request as, at the server's level", () => {
  for (const r of REQUESTS) {
    const q = new URLSearchParams({ [r.sub]: '' })
    const server = classify(r.method, 'b', r.object ? 'k' : undefined, q, {})
    const [permission] = actionsFor(server.name, q)
    const explained = operationFor(permission!, catalog, r.object)
    assert.deepEqual({ name: explained.name, level: explained.level }, { name: server.name, level: server.level }, `${r.method} ?${r.sub} (${permission})`)
  }
  assert.equal(operationFor('s3:BypassGovernanceRetention', catalog, true).level, 'object')
})

test('explain agrees with the server on an Object Lock bucket: a bucket policy Deny of s3:PutObjectLegalHold, the others allowed', async () => {
  const verdict: Record<string, string> = {}
  for (const action of LOCK_ACTIONS) {
    const out = await runExplain({ dataDir: s.dataDir, as: 'admin', bucket, action, key: 'k', json: true }, false)
    const r = out.results[0]!.routes[0]!
    verdict[action] = r.effect
    if (action === 's3:PutObjectLegalHold') assert.equal(r.cells.bucket.statement, 'NoLegalHolds')
  }
  assert.deepEqual(verdict, Object.fromEntries(LOCK_ACTIONS.map((a) => [a, a === 's3:PutObjectLegalHold' ? 'ExplicitDeny' : 'Allow'])))
  const c = s.client()
  const denied = await failure(() => c.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: 'k', LegalHold: { Status: 'ON' } })))
  assert.deepEqual([denied.name, denied.$metadata.httpStatusCode], ['AccessDenied', 403])
  await c.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) } }))
  assert.equal((await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'k' }))).Retention?.Mode, 'GOVERNANCE')
  assert.equal((await c.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled')
  // No legal hold was ever set: whatever S3 answers about it, authorization let the read through.
  const hold = await c.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: 'k' })).then(
    () => 'answered',
    (e: { name: string }) => e.name,
  )
  assert.notEqual(hold, 'AccessDenied')
})

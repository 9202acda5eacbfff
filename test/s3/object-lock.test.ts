/**
 * S3 Object Lock with the JS SDK v3 and the AWS CLI: lock-enabled buckets, default retention,
 * GOVERNANCE and COMPLIANCE retention, legal holds, protected deletes, condition keys, the MRAP.
 * AWS behaviour copied: "Locking objects with Object Lock" and "Object Lock considerations"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html), and the API
 * reference pages PutObjectLockConfiguration, PutObjectRetention, PutObjectLegalHold,
 * GetObjectRetention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html ...).
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import type { MrapRecord } from '../../src/mrap/registry.js'
import { applyWorld } from '../../src/world/apply.js'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ROLE_ARN, replicationWorld, waitFor } from '../replication/helpers.js'

const DAY = 86_400_000
const OWNER = '123456789012'
const md5 = (s: string): string => createHash('md5').update(s).digest('base64')

describe('S3 Object Lock', () => {
  let s: TestServer
  // The server's clock runs `offset` ahead of the real one; clients sign with the same offset.
  let offset = 0
  const client = (extra: Record<string, unknown> = {}): S3Client => s.client(ADMIN, 'us-east-1', { systemClockOffset: offset, ...extra })
  // The seed world plus a replication role (a superset of testWorld()).
  before(async () => {
    s = await startTestServer({ world: replicationWorld(), clock: () => new Date(Date.now() + offset) })
  })
  after(async () => {
    await s.stop()
  })

  async function lockedBucket(rule?: { Mode: 'GOVERNANCE' | 'COMPLIANCE'; Days?: number; Years?: number }): Promise<string> {
    const b = bucketName('lock')
    await client().send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }))
    if (rule) await client().send(new PutObjectLockConfigurationCommand({ Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: rule } } }))
    return b
  }

  test('CreateBucket with Object Lock turns versioning on for good; the configuration reads back', async () => {
    const c = client()
    const b = await lockedBucket()
    assert.equal((await c.send(new GetBucketVersioningCommand({ Bucket: b }))).Status, 'Enabled')
    assert.deepEqual((await c.send(new GetObjectLockConfigurationCommand({ Bucket: b }))).ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' })
    // "After you enable Object Lock on a bucket, you can't disable Object Lock or suspend versioning."
    const susp = await failure(() => c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } })))
    assert.equal(susp.name, 'InvalidBucketState')
    assert.equal(susp.$metadata.httpStatusCode, 409)
    const plain = bucketName('plain')
    await c.send(new CreateBucketCommand({ Bucket: plain }))
    const none = await failure(() => c.send(new GetObjectLockConfigurationCommand({ Bucket: plain })))
    assert.equal(none.name, 'ObjectLockConfigurationNotFoundError')
    assert.equal(none.$metadata.httpStatusCode, 404)
  })

  test('PutObjectLockConfiguration: AWS validation, and enabling lock on an existing versioned bucket', async () => {
    const c = client()
    const b = await lockedBucket()
    const put = (DefaultRetention: Record<string, unknown>, Bucket = b) =>
      c.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention } } }))
    assert.equal((await failure(() => put({ Mode: 'GOVERNANCE', Days: 1, Years: 1 }))).name, 'MalformedXML')
    assert.equal((await failure(() => put({ Mode: 'GOVERNANCE' }))).name, 'MalformedXML')
    assert.equal((await failure(() => put({ Mode: 'SOMETIMES', Days: 1 }))).name, 'MalformedXML')
    assert.equal((await failure(() => put({ Mode: 'GOVERNANCE', Days: 0 }))).name, 'InvalidArgument')
    assert.equal((await failure(() => put({ Mode: 'GOVERNANCE', Years: -1 }))).name, 'InvalidArgument')
    await put({ Mode: 'COMPLIANCE', Years: 1 })
    assert.deepEqual((await c.send(new GetObjectLockConfigurationCommand({ Bucket: b }))).ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: 'COMPLIANCE', Years: 1 })
    // An unversioned bucket cannot take it; a versioned one can ("Enable Object Lock on an existing S3 bucket").
    const other = bucketName('later')
    await c.send(new CreateBucketCommand({ Bucket: other }))
    const unversioned = await failure(() => put({ Mode: 'GOVERNANCE', Days: 1 }, other))
    assert.equal(unversioned.name, 'InvalidBucketState')
    await c.send(new PutBucketVersioningCommand({ Bucket: other, VersioningConfiguration: { Status: 'Enabled' } }))
    await put({ Mode: 'GOVERNANCE', Days: 1 }, other)
    assert.equal((await c.send(new GetObjectLockConfigurationCommand({ Bucket: other }))).ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled')
  })

  test('default retention is applied to new versions (PutObject, CopyObject, multipart), dated by the server clock', async () => {
    const b = await lockedBucket({ Mode: 'GOVERNANCE', Days: 2 })
    offset = 10 * DAY
    try {
      // A client per call: the SDK resets its clock offset from the Date of each answer.
      const before = Date.now() + offset
      await client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'data' }))
      const head = await client().send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))
      assert.equal(head.ObjectLockMode, 'GOVERNANCE')
      const until = head.ObjectLockRetainUntilDate!.getTime()
      assert.ok(until >= before + 2 * DAY - 1000 && until <= Date.now() + offset + 2 * DAY + 1000, `retain-until ${head.ObjectLockRetainUntilDate!.toISOString()}`)
      const plain = bucketName('src')
      await client().send(new CreateBucketCommand({ Bucket: plain }))
      await client().send(new PutObjectCommand({ Bucket: plain, Key: 'src', Body: 'copied' }))
      await client().send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${plain}/src` }))
      assert.equal((await client().send(new HeadObjectCommand({ Bucket: b, Key: 'copy' }))).ObjectLockMode, 'GOVERNANCE')
      // The copy of a locked object into a bucket without lock carries no lock.
      await client().send(new CopyObjectCommand({ Bucket: plain, Key: 'back', CopySource: `${b}/k` }))
      assert.equal((await client().send(new HeadObjectCommand({ Bucket: plain, Key: 'back' }))).ObjectLockMode, undefined)
      const up = await client().send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mpu' }))
      const part = await client().send(new UploadPartCommand({ Bucket: b, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'part one', ContentMD5: md5('part one') }))
      await client().send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mpu', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
      assert.equal((await client().send(new HeadObjectCommand({ Bucket: b, Key: 'mpu' }))).ObjectLockMode, 'GOVERNANCE')
    } finally {
      offset = 0
    }
  })

  test('a write that will be locked needs Content-MD5 or a checksum; lock headers need a lock bucket', async () => {
    const b = await lockedBucket({ Mode: 'GOVERNANCE', Days: 1 })
    // WHEN_REQUIRED: the SDK then sends no checksum for PutObject, as older clients did.
    const bare = client({ requestChecksumCalculation: 'WHEN_REQUIRED' })
    const e = await failure(() => bare.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'data' })))
    assert.equal(e.name, 'InvalidRequest')
    assert.match(e.message, /Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters/)
    await bare.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'data', ContentMD5: md5('data') }))
    const up = await bare.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mpu' }))
    const part = await failure(() => bare.send(new UploadPartCommand({ Bucket: b, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'p' })))
    assert.equal(part.name, 'InvalidRequest')
    const plain = bucketName('nolock')
    await client().send(new CreateBucketCommand({ Bucket: plain }))
    const noLock = await failure(() => client().send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })))
    assert.equal(noLock.name, 'InvalidRequest')
    assert.match(noLock.message, /Bucket is missing Object Lock Configuration/)
    const half = await failure(() => client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE' })))
    assert.equal(half.name, 'InvalidArgument')
    const past = await failure(() =>
      client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() - DAY) })),
    )
    assert.equal(past.name, 'InvalidArgument')
  })

  test('GOVERNANCE: shortened or removed only with the bypass header AND s3:BypassGovernanceRetention', async () => {
    const c = client()
    const b = await lockedBucket()
    const v = await c.send(new PutObjectCommand({ Bucket: b, Key: 'g', Body: 'gov', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 30 * DAY) }))
    const shorter = { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(Date.now() + 5 * DAY) }
    const noHeader = await failure(() => c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'g', Retention: shorter })))
    assert.equal(noHeader.name, 'AccessDenied')
    assert.match(noHeader.message, /protected by object lock/)
    assert.equal((await failure(() => c.send(new DeleteObjectCommand({ Bucket: b, Key: 'g', VersionId: v.VersionId })))).name, 'AccessDenied')
    // The header without the permission: a bucket policy denies s3:BypassGovernanceRetention.
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:BypassGovernanceRetention', Resource: `arn:aws:s3:::${b}/*` }] }),
      }),
    )
    assert.equal((await failure(() => c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'g', Retention: shorter, BypassGovernanceRetention: true })))).name, 'AccessDenied')
    assert.equal((await failure(() => c.send(new DeleteObjectCommand({ Bucket: b, Key: 'g', VersionId: v.VersionId, BypassGovernanceRetention: true })))).name, 'AccessDenied')
    await c.send(new DeleteBucketPolicyCommand({ Bucket: b }))
    await c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'g', Retention: shorter, BypassGovernanceRetention: true }))
    const got = await c.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'g' }))
    assert.equal(got.Retention?.RetainUntilDate?.getTime(), shorter.RetainUntilDate.getTime())
    // Lengthening needs nothing; deleting the version needs the bypass.
    await c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'g', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 6 * DAY) } }))
    await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'g', VersionId: v.VersionId, BypassGovernanceRetention: true }))
    assert.equal((await c.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions, undefined)
  })

  test('COMPLIANCE is never shortened or removed, even with the bypass; it ends by the server clock', async () => {
    const c = client()
    const b = await lockedBucket()
    const until = new Date(Date.now() + 3 * DAY)
    const v = await c.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: 'comp', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }))
    for (const Retention of [
      { Mode: 'COMPLIANCE' as const, RetainUntilDate: new Date(Date.now() + DAY) },
      { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date(Date.now() + 9 * DAY) },
    ]) {
      const e = await failure(() => c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'c', Retention, BypassGovernanceRetention: true })))
      assert.equal(e.name, 'AccessDenied')
    }
    const del = await failure(() => c.send(new DeleteObjectCommand({ Bucket: b, Key: 'c', VersionId: v.VersionId, BypassGovernanceRetention: true })))
    assert.equal(del.name, 'AccessDenied')
    assert.equal(del.$metadata.httpStatusCode, 403)
    const longer = new Date(Date.now() + 4 * DAY)
    await c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'c', Retention: { Mode: 'COMPLIANCE', RetainUntilDate: longer } }))
    assert.equal((await c.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'c', VersionId: v.VersionId }))).Retention?.RetainUntilDate?.getTime(), longer.getTime())
    // A delete without a version id still adds a delete marker ("Managing delete markers with Object Lock").
    const marker = await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'c' }))
    assert.equal(marker.DeleteMarker, true)
    offset = 5 * DAY
    try {
      await client().send(new DeleteObjectCommand({ Bucket: b, Key: 'c', VersionId: v.VersionId }))
    } finally {
      offset = 0
    }
  })

  test('a legal hold blocks a versioned delete (DeleteObject and DeleteObjects) until it is removed', async () => {
    const c = client()
    const b = await lockedBucket()
    const v = await c.send(new PutObjectCommand({ Bucket: b, Key: 'h', Body: 'held' }))
    await c.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'h', LegalHold: { Status: 'ON' } }))
    assert.equal((await c.send(new GetObjectLegalHoldCommand({ Bucket: b, Key: 'h' }))).LegalHold?.Status, 'ON')
    assert.equal((await c.send(new HeadObjectCommand({ Bucket: b, Key: 'h' }))).ObjectLockLegalHoldStatus, 'ON')
    const one = await failure(() => c.send(new DeleteObjectCommand({ Bucket: b, Key: 'h', VersionId: v.VersionId, BypassGovernanceRetention: true })))
    assert.equal(one.name, 'AccessDenied')
    const many = await c.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'h', VersionId: v.VersionId }] } }))
    assert.deepEqual(
      many.Errors?.map((e) => [e.Key, e.Code]),
      [['h', 'AccessDenied']],
    )
    assert.equal(many.Deleted, undefined)
    const invalid = await failure(() => c.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'h', LegalHold: { Status: 'MAYBE' as 'ON' } })))
    assert.equal(invalid.name, 'MalformedXML')
    await c.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'h', LegalHold: { Status: 'OFF' } }))
    const ok = await c.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'h', VersionId: v.VersionId }] } }))
    assert.deepEqual(
      ok.Deleted?.map((d) => d.VersionId),
      [v.VersionId],
    )
  })

  test('retention and legal hold of a bucket without Object Lock, or a version without them', async () => {
    const c = client()
    const plain = bucketName('plain')
    await c.send(new CreateBucketCommand({ Bucket: plain }))
    await c.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x' }))
    assert.equal((await failure(() => c.send(new GetObjectRetentionCommand({ Bucket: plain, Key: 'k' })))).name, 'InvalidRequest')
    assert.equal((await failure(() => c.send(new PutObjectLegalHoldCommand({ Bucket: plain, Key: 'k', LegalHold: { Status: 'ON' } })))).name, 'InvalidRequest')
    const b = await lockedBucket()
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    const none = await failure(() => c.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k' })))
    assert.equal(none.name, 'NoSuchObjectLockConfiguration')
    assert.equal(
      (await failure(() => c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() - DAY) } })))).name,
      'InvalidArgument',
    )
  })

  test('condition keys: s3:object-lock-remaining-retention-days and s3:object-lock-mode in a bucket policy', async () => {
    const c = client()
    const b = await lockedBucket()
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    // The retention-limits example of "Object Lock considerations" ("Setting retention limits").
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObjectRetention',
              Resource: `arn:aws:s3:::${b}/*`,
              Condition: { NumericGreaterThan: { 's3:object-lock-remaining-retention-days': '10' } },
            },
            { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' } } },
          ],
        }),
      }),
    )
    const far = await failure(() =>
      c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 30 * DAY) } })),
    )
    assert.equal(far.name, 'AccessDenied')
    await c.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 5 * DAY) } }))
    const comp = await failure(() =>
      c.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) })),
    )
    assert.equal(comp.name, 'AccessDenied')
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) }))
  })

  test('a world file cannot suspend the versioning of a bucket with Object Lock', async () => {
    const b = await lockedBucket()
    const world = replicationWorld()
    world.buckets.push({ name: b, region: 'us-east-1', owner: OWNER, versioning: 'Suspended' })
    const r = await applyWorld(s.services, world)
    assert.ok(
      r.warnings.some((w) => w.includes(b) && /Object Lock/.test(w)),
      r.warnings.join('; '),
    )
    assert.equal((await client().send(new GetBucketVersioningCommand({ Bucket: b }))).Status, 'Enabled')
  })

  test('replication: the replica carries the retention and legal hold, and a later retention change follows', async () => {
    const east = await lockedBucket()
    const west = bucketName('lockrepl')
    const w = s.client(ADMIN, 'eu-west-1')
    await w.send(new CreateBucketCommand({ Bucket: west, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    await client().send(
      new PutBucketReplicationCommand({
        Bucket: east,
        ReplicationConfiguration: {
          Role: ROLE_ARN,
          Rules: [
            { ID: 'all', Priority: 1, Status: 'Enabled', Filter: { Prefix: '' }, DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: `arn:aws:s3:::${west}` } },
          ],
        },
      }),
    )
    const until = new Date(Date.now() + 3 * DAY)
    const v = await client().send(
      new PutObjectCommand({ Bucket: east, Key: 'r', Body: 'replicated', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON' }),
    )
    const replica = await waitFor('the replica', async () => {
      const h = await w.send(new HeadObjectCommand({ Bucket: west, Key: 'r' })).catch(() => undefined)
      return h?.ReplicationStatus === 'REPLICA' ? h : undefined
    })
    assert.equal(replica.ObjectLockMode, 'COMPLIANCE')
    assert.equal(replica.ObjectLockRetainUntilDate?.getTime(), until.getTime())
    assert.equal(replica.ObjectLockLegalHoldStatus, 'ON')
    assert.equal((await failure(() => w.send(new DeleteObjectCommand({ Bucket: west, Key: 'r', VersionId: v.VersionId })))).name, 'AccessDenied')
    const later = new Date(Date.now() + 4 * DAY)
    await client().send(new PutObjectRetentionCommand({ Bucket: east, Key: 'r', Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later } }))
    await waitFor("the replica's new date", async () => (await w.send(new HeadObjectCommand({ Bucket: west, Key: 'r' }))).ObjectLockRetainUntilDate?.getTime() === later.getTime())
  })

  test('GET and HEAD show lock headers only to a caller allowed s3:GetObjectRetention / s3:GetObjectLegalHold', async () => {
    const c = client()
    const b = await lockedBucket({ Mode: 'GOVERNANCE', Days: 1 })
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))
    const seen = await c.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))
    assert.equal(seen.ObjectLockMode, 'GOVERNANCE')
    assert.equal(seen.ObjectLockLegalHoldStatus, 'ON')
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:GetObjectRetention', 's3:GetObjectLegalHold'], Resource: `arn:aws:s3:::${b}/*` }],
        }),
      }),
    )
    const hidden = await c.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))
    assert.equal(hidden.ObjectLockMode, undefined)
    assert.equal(hidden.ObjectLockRetainUntilDate, undefined)
    assert.equal(hidden.ObjectLockLegalHoldStatus, undefined)
    await c.send(new DeleteBucketPolicyCommand({ Bucket: b }))
  })

  test('the AWS CLI: create-bucket --object-lock-enabled-for-bucket, configuration, retention, legal hold, refused delete', async () => {
    const box = new CliSandbox('lock-cli')
    try {
      const env = box.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', ...args], { env })
      const b = bucketName('cli')
      assert.equal((await aws(['create-bucket', '--bucket', b, '--object-lock-enabled-for-bucket'])).code, 0)
      const cfg = await aws([
        'put-object-lock-configuration',
        '--bucket',
        b,
        '--object-lock-configuration',
        '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}',
      ])
      assert.equal(cfg.code, 0, cfg.stderr)
      assert.equal(cliJson((await aws(['get-object-lock-configuration', '--bucket', b])).stdout).ObjectLockConfiguration.Rule.DefaultRetention.Days, 1)
      const file = box.write('body.txt', 'cli body')
      // The CLI sends Content-MD5 with put-object by itself, so the lock bucket takes it.
      const put = await aws(['put-object', '--bucket', b, '--key', 'k', '--body', file])
      assert.equal(put.code, 0, put.stderr)
      const vid = cliJson(put.stdout).VersionId as string
      assert.equal(cliJson((await aws(['head-object', '--bucket', b, '--key', 'k'])).stdout).ObjectLockMode, 'GOVERNANCE')
      const until = new Date(Date.now() + 2 * DAY).toISOString()
      // The default GOVERNANCE retention is running: turning it into COMPLIANCE is a change that needs the bypass.
      const noBypass = await aws(['put-object-retention', '--bucket', b, '--key', 'k', '--retention', `Mode=COMPLIANCE,RetainUntilDate=${until}`])
      assert.equal(cliErrorCode(noBypass), 'AccessDenied')
      const ret = await aws(['put-object-retention', '--bucket', b, '--key', 'k', '--bypass-governance-retention', '--retention', `Mode=COMPLIANCE,RetainUntilDate=${until}`])
      assert.equal(ret.code, 0, ret.stderr)
      assert.equal(cliJson((await aws(['get-object-retention', '--bucket', b, '--key', 'k'])).stdout).Retention.Mode, 'COMPLIANCE')
      assert.equal((await aws(['put-object-legal-hold', '--bucket', b, '--key', 'k', '--legal-hold', 'Status=ON'])).code, 0)
      assert.equal(cliJson((await aws(['get-object-legal-hold', '--bucket', b, '--key', 'k'])).stdout).LegalHold.Status, 'ON')
      const del = await aws(['delete-object', '--bucket', b, '--key', 'k', '--version-id', vid, '--bypass-governance-retention'])
      assert.equal(cliErrorCode(del), 'AccessDenied')
      const shorten = await aws([
        'put-object-retention',
        '--bucket',
        b,
        '--key',
        'k',
        '--bypass-governance-retention',
        '--retention',
        `Mode=COMPLIANCE,RetainUntilDate=${new Date(Date.now() + DAY).toISOString()}`,
      ])
      assert.equal(cliErrorCode(shorten), 'AccessDenied')
    } finally {
      box.dispose()
    }
  })

  test('through a Multi-Region Access Point: retention and legal hold on the routed bucket', async () => {
    const east = await lockedBucket()
    const west = bucketName('lockwest')
    await s
      .client(ADMIN, 'eu-west-1')
      .send(new CreateBucketCommand({ Bucket: west, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const alias = s.services.mraps.newAlias()
    const mrap: MrapRecord = {
      name: 'lock-mrap',
      alias,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [
        { bucket: east, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 },
        { bucket: west, bucketAccountId: OWNER, region: 'eu-west-1', trafficDialPercentage: 100 },
      ],
    }
    s.services.mraps.put(mrap)
    const arn = mrapArnOf(OWNER, alias)
    const m = proxiedS3Client(s)
    const v = await m.send(new PutObjectCommand({ Bucket: arn, Key: 'k', Body: 'via mrap', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + DAY) }))
    await m.send(new PutObjectLegalHoldCommand({ Bucket: arn, Key: 'k', LegalHold: { Status: 'ON' } }))
    assert.equal((await m.send(new GetObjectLegalHoldCommand({ Bucket: arn, Key: 'k' }))).LegalHold?.Status, 'ON')
    const later = new Date(Date.now() + 2 * DAY)
    await m.send(new PutObjectRetentionCommand({ Bucket: arn, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: later } }))
    assert.equal((await m.send(new GetObjectRetentionCommand({ Bucket: arn, Key: 'k' }))).Retention?.RetainUntilDate?.getTime(), later.getTime())
    // The east bucket served it (nearest to the front door), and the version is protected there.
    assert.equal((await client().send(new HeadObjectCommand({ Bucket: east, Key: 'k' }))).ObjectLockLegalHoldStatus, 'ON')
    const del = await failure(() => m.send(new DeleteObjectCommand({ Bucket: arn, Key: 'k', VersionId: v.VersionId })))
    assert.equal(del.name, 'AccessDenied')
  })
})

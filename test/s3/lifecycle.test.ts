/**
 * Bucket lifecycle with the JS SDK v3, the AWS CLI and hand-built requests: the configuration as S3
 * validates it, x-amz-expiration, and the worker applying each action under an injected clock.
 * AWS behaviour copied: PutBucketLifecycleConfiguration, LifecycleExpiration, Transition,
 * NoncurrentVersionExpiration (S3 API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html),
 * "Lifecycle configuration elements" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html),
 * "Examples of S3 Lifecycle configuration" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html),
 * "Object Lock considerations" (lifecycle never deletes a protected version).
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type LifecycleRule,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { LEASE_NS, PROGRESS_NS } from '../../src/lifecycle/worker.js'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ROLE_ARN, replicationWorld, waitFor } from '../replication/helpers.js'

const DAY = 86_400_000
const md5 = (s: string): string => createHash('md5').update(s).digest('base64')

describe('S3 lifecycle', () => {
  let s: TestServer
  // The server's clock runs `offset` ahead of the real one; clients sign with the same offset.
  let offset = 0
  const client = (): S3Client => s.client(ADMIN, 'us-east-1', { systemClockOffset: offset })
  before(async () => {
    s = await startTestServer({ world: replicationWorld(), clock: () => new Date(Date.now() + offset) })
  })
  after(async () => {
    await s.stop()
  })

  async function bucket(versioned: boolean, extra: Record<string, unknown> = {}): Promise<string> {
    const b = bucketName('lc')
    await client().send(new CreateBucketCommand({ Bucket: b, ...extra }))
    if (versioned) await client().send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
    return b
  }
  const putRules = (Bucket: string, Rules: LifecycleRule[]) => client().send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }))
  /** Moves the server's clock `days` ahead, runs a pass, and puts the clock back. */
  async function passAfter(days: number, b: string) {
    offset = days * DAY
    try {
      const reports = await s.app.lifecycle.runNow()
      return reports.find((r) => r.bucket === b)!
    } finally {
      offset = 0
    }
  }
  const versionsOf = async (Bucket: string) => {
    const l = await client().send(new ListObjectVersionsCommand({ Bucket }))
    return { versions: l.Versions ?? [], markers: l.DeleteMarkers ?? [] }
  }

  test('Put, Get and Delete round-trip; Get without one is NoSuchLifecycleConfiguration', async () => {
    const c = client()
    const b = await bucket(false)
    const none = await failure(() => c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })))
    assert.equal(none.name, 'NoSuchLifecycleConfiguration')
    assert.equal(none.$metadata.httpStatusCode, 404)
    const rules: LifecycleRule[] = [
      { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
      {
        ID: 'tagged',
        Status: 'Disabled',
        Filter: { And: { Prefix: 'a/', Tags: [{ Key: 'k', Value: 'v' }], ObjectSizeGreaterThan: 10 } },
        Transitions: [
          { Days: 30, StorageClass: 'STANDARD_IA' },
          { Days: 90, StorageClass: 'GLACIER' },
        ],
      },
      {
        ID: 'old',
        Status: 'Enabled',
        Filter: { ObjectSizeLessThan: 1000 },
        NoncurrentVersionExpiration: { NoncurrentDays: 5, NewerNoncurrentVersions: 2 },
        NoncurrentVersionTransitions: [{ NoncurrentDays: 30, StorageClass: 'ONEZONE_IA' }],
      },
      { ID: 'markers', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { ExpiredObjectDeleteMarker: true } },
      { ID: 'dated', Status: 'Enabled', Filter: { Tag: { Key: 'x', Value: 'y' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
    ]
    const put = await putRules(b, rules)
    assert.equal(put.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K')
    const got = await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }))
    assert.equal(got.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K')
    assert.deepEqual(got.Rules, rules)
    await c.send(new DeleteBucketLifecycleCommand({ Bucket: b }))
    assert.equal((await failure(() => c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })))).name, 'NoSuchLifecycleConfiguration')
    // The minimum-size header is recorded and answered back.
    const vsc = await c.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: b, TransitionDefaultMinimumObjectSize: 'varies_by_storage_class', LifecycleConfiguration: { Rules: [rules[0]!] } }),
    )
    assert.equal(vsc.TransitionDefaultMinimumObjectSize, 'varies_by_storage_class')
    assert.equal((await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }))).TransitionDefaultMinimumObjectSize, 'varies_by_storage_class')
  })

  test('authorized by s3:PutLifecycleConfiguration (Delete too) and s3:GetLifecycleConfiguration', async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'r', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])
    // "Actions, resources, and condition keys for Amazon S3": DeleteBucketLifecycle needs s3:PutLifecycleConfiguration.
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:PutLifecycleConfiguration', Resource: `arn:aws:s3:::${b}` }] }),
      }),
    )
    assert.equal((await failure(() => putRules(b, [{ ID: 'r', Status: 'Disabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }]))).name, 'AccessDenied')
    assert.equal((await failure(() => c.send(new DeleteBucketLifecycleCommand({ Bucket: b })))).name, 'AccessDenied')
    assert.equal((await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }))).Rules?.[0]?.Status, 'Enabled')
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetLifecycleConfiguration', Resource: `arn:aws:s3:::${b}` }] }),
      }),
    )
    assert.equal((await failure(() => c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })))).name, 'AccessDenied')
    await c.send(new DeleteBucketLifecycleCommand({ Bucket: b }))
  })

  test("validation: S3's codes for each malformed configuration", async () => {
    const b = await bucket(false)
    const code = async (Rules: LifecycleRule[]) => {
      const e = await failure(() => putRules(b, Rules))
      return { name: e.name, message: e.message, status: e.$metadata.httpStatusCode }
    }
    const dup = await code([
      { ID: 'same', Status: 'Enabled', Filter: { Prefix: 'a' }, Expiration: { Days: 1 } },
      { ID: 'same', Status: 'Enabled', Filter: { Prefix: 'b' }, Expiration: { Days: 1 } },
    ])
    assert.deepEqual([dup.name, dup.status], ['InvalidArgument', 400])
    assert.match(dup.message, /Rule ID must be unique/)
    assert.equal((await code([{ ID: 'x'.repeat(256), Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])).name, 'InvalidArgument')
    // Transition: STANDARD_IA / ONEZONE_IA need at least 30 days (Transition, S3 API reference).
    const ia = await code([{ ID: 'ia', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 10, StorageClass: 'STANDARD_IA' }] }])
    assert.equal(ia.name, 'InvalidArgument')
    assert.equal(ia.message, "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'")
    assert.equal(
      (await code([{ ID: 'ia', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionTransitions: [{ NoncurrentDays: 10, StorageClass: 'ONEZONE_IA' }] }])).name,
      'InvalidArgument',
    )
    // "ExpiredObjectDeleteMarker ... cannot be specified with Days or Date" (LifecycleExpiration).
    assert.equal((await code([{ ID: 'm', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 3, ExpiredObjectDeleteMarker: true } }])).name, 'MalformedXML')
    assert.equal(
      (await code([{ ID: 'a', Status: 'Enabled', Filter: { Tag: { Key: 'k', Value: 'v' } }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }])).name,
      'InvalidArgument',
    )
    assert.equal((await code([{ ID: 's', Status: 'Maybe' as 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])).name, 'MalformedXML')
    assert.equal((await code([{ ID: 'z', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 0 } }])).name, 'InvalidArgument')
    assert.equal((await code([{ ID: 'd', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Date: new Date('2030-01-01T12:00:00Z') } }])).name, 'InvalidArgument')
    const many = Array.from({ length: 1001 }, (_, i): LifecycleRule => ({ ID: `r${i}`, Status: 'Enabled', Filter: { Prefix: `p${i}/` }, Expiration: { Days: 1 } }))
    assert.equal((await code(many)).name, 'InvalidArgument')
    // Content-MD5 (or a checksum) is required, and must match.
    const xml =
      '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'
    const bare = await rawRequest(s.endpoint, { method: 'PUT', path: `/${b}`, query: { lifecycle: '' }, body: xml })
    assert.equal(bare.status, 400)
    assert.equal(codeOf(bare.body), 'InvalidRequest')
    const wrong = await rawRequest(s.endpoint, { method: 'PUT', path: `/${b}`, query: { lifecycle: '' }, body: xml, headers: { 'content-md5': md5('other') } })
    assert.equal(codeOf(wrong.body), 'BadDigest')
    const ok = await rawRequest(s.endpoint, { method: 'PUT', path: `/${b}`, query: { lifecycle: '' }, body: xml, headers: { 'content-md5': md5(xml) } })
    assert.equal(ok.status, 200, ok.body)
    assert.equal(ok.headers['x-amz-transition-default-minimum-object-size'], 'all_storage_classes_128K')
  })

  test('x-amz-expiration on PUT, GET and HEAD of an object an Expiration rule matches', async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'tmp rule', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 2 } }])
    const put = await c.send(new PutObjectCommand({ Bucket: b, Key: 'tmp/a', Body: 'x' }))
    const head = await c.send(new HeadObjectCommand({ Bucket: b, Key: 'tmp/a' }))
    const created = head.LastModified!.getTime()
    // Creation time plus the days, rounded up to the next midnight UTC (Lifecycle configuration elements).
    const due = new Date(Math.ceil((created + 2 * DAY) / DAY) * DAY)
    const want = `expiry-date="${due.toUTCString()}", rule-id="tmp%20rule"`
    assert.equal(head.Expiration, want)
    assert.equal(put.Expiration, want)
    assert.equal((await c.send(new GetObjectCommand({ Bucket: b, Key: 'tmp/a' }))).Expiration, want)
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'keep', Body: 'x' }))
    assert.equal((await c.send(new HeadObjectCommand({ Bucket: b, Key: 'keep' }))).Expiration, undefined)
  })

  test('worker, unversioned: an object is deleted at the midnight after its days, not before', async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }])
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'tmp/a', Body: 'x' }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'other', Body: 'x' }))
    const early = await passAfter(0, b)
    assert.equal(early.deletedObjects, 0)
    const r = await passAfter(2, b)
    assert.equal(r.deletedObjects, 1)
    assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: b, Key: 'tmp/a' })))).$metadata.httpStatusCode, 404)
    await c.send(new HeadObjectCommand({ Bucket: b, Key: 'other' }))
  })

  test('worker: eligible at the midnight UTC after the day count, not at creation time plus the days', async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    const created = (await c.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))).LastModified!.getTime()
    const midnight = Math.ceil((created + DAY) / DAY) * DAY
    // "rounding the resulting time to the next day midnight UTC" (Lifecycle configuration elements).
    offset = midnight - 60_000 - Date.now()
    try {
      assert.equal((await s.app.lifecycle.runNow()).find((r) => r.bucket === b)!.deletedObjects, 0)
    } finally {
      offset = 0
    }
    offset = midnight + 60_000 - Date.now()
    try {
      assert.equal((await s.app.lifecycle.runNow()).find((r) => r.bucket === b)!.deletedObjects, 1)
    } finally {
      offset = 0
    }
  })

  test('worker, versioned: expiration adds a delete marker; noncurrent versions go after NoncurrentDays beyond NewerNoncurrentVersions; then the lone marker', async () => {
    const c = client()
    const b = await bucket(true)
    for (const body of ['v1', 'v2', 'v3', 'v4']) await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: body }))
    await putRules(b, [
      { ID: 'cur', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 3 } },
      { ID: 'nc', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
    ])
    // Day 2: the current version (v4) is not due; of the noncurrent v3, v2, v1 the newest (v3) is kept.
    const r1 = await passAfter(2, b)
    assert.equal(r1.deleteMarkers, 0)
    assert.equal(r1.deletedVersions, 2)
    let l = await versionsOf(b)
    assert.equal(l.versions.length, 2)
    // Day 4: v4 is expired: a delete marker on top. In the same pass v4 is the newest noncurrent
    // version (kept, and noncurrent only since now) and v3 goes.
    const r2 = await passAfter(4, b)
    assert.equal(r2.deleteMarkers, 1)
    assert.equal(r2.deletedVersions, 1)
    l = await versionsOf(b)
    assert.equal(l.markers.length, 1)
    assert.deepEqual(
      l.versions.map((v) => v.IsLatest),
      [false],
    )
    assert.equal((await failure(() => c.send(new GetObjectCommand({ Bucket: b, Key: 'k' })))).$metadata.httpStatusCode, 404)
    // Without NewerNoncurrentVersions, v4 goes (a day has passed since the marker made it
    // noncurrent); that leaves the marker alone, and ExpiredObjectDeleteMarker removes it in the same pass.
    await putRules(b, [
      { ID: 'nc', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
      { ID: 'dm', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { ExpiredObjectDeleteMarker: true } },
    ])
    const r3 = await passAfter(6, b)
    assert.equal(r3.deletedVersions, 1)
    assert.equal(r3.removedMarkers, 1)
    l = await versionsOf(b)
    assert.deepEqual([l.versions.length, l.markers.length], [0, 0])
  })

  test('worker: incomplete uploads are aborted after DaysAfterInitiation', async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'mpu', Status: 'Enabled', Filter: { Prefix: 'up/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }])
    await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'up/x' }))
    await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'keep/x' }))
    assert.equal((await passAfter(1, b)).abortedUploads, 0)
    assert.equal((await passAfter(3, b)).abortedUploads, 1)
    const left = await client().send(new ListMultipartUploadsCommand({ Bucket: b }))
    assert.deepEqual(
      (left.Uploads ?? []).map((u) => u.Key),
      ['keep/x'],
    )
  })

  test('worker: Object Lock protected versions are skipped', async () => {
    const c = client()
    const b = await bucket(false, { ObjectLockEnabledForBucket: true })
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'old', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 30 * DAY) }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'held', ObjectLockLegalHoldStatus: 'ON' }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'new' }))
    await putRules(b, [{ ID: 'nc', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }])
    const r = await passAfter(5, b)
    assert.equal(r.deletedVersions, 0)
    assert.equal(r.protectedSkipped, 2)
    assert.equal((await versionsOf(b)).versions.length, 3)
  })

  test("worker: a lifecycle delete marker is replicated like a client's", async () => {
    const east = await bucket(true)
    const west = bucketName('lcrepl')
    const w = s.client(ADMIN, 'eu-west-1')
    await w.send(new CreateBucketCommand({ Bucket: west, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    await w.send(new PutBucketVersioningCommand({ Bucket: west, VersioningConfiguration: { Status: 'Enabled' } }))
    await client().send(
      new PutBucketReplicationCommand({
        Bucket: east,
        ReplicationConfiguration: {
          Role: ROLE_ARN,
          Rules: [
            { ID: 'all', Priority: 1, Status: 'Enabled', Filter: { Prefix: '' }, DeleteMarkerReplication: { Status: 'Enabled' }, Destination: { Bucket: `arn:aws:s3:::${west}` } },
          ],
        },
      }),
    )
    await client().send(new PutObjectCommand({ Bucket: east, Key: 'r', Body: 'x' }))
    await waitFor('the replica', async () => (await w.send(new HeadObjectCommand({ Bucket: west, Key: 'r' })).catch(() => undefined))?.ReplicationStatus === 'REPLICA' || undefined)
    await putRules(east, [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])
    assert.equal((await passAfter(3, east)).deleteMarkers, 1)
    await waitFor('the replicated marker', async () => {
      const l = await w.send(new ListObjectVersionsCommand({ Bucket: west }))
      return (l.DeleteMarkers ?? []).length === 1 || undefined
    })
  })

  test("worker: another node's live lease keeps this node off the bucket; progress is kept in the state", async () => {
    const c = client()
    const b = await bucket(false)
    await putRules(b, [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }])
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    const state = s.app.core.state
    await state.put(LEASE_NS, b, JSON.stringify({ owner: 'other-node', token: 't', until: Date.now() + 10 * DAY }))
    const held = await passAfter(2, b)
    assert.equal(held.skipped, 'leased')
    await c.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))
    // An expired lease is taken over (the other node died).
    await state.put(LEASE_NS, b, JSON.stringify({ owner: 'other-node', token: 't', until: Date.now() - 1 }))
    assert.equal((await passAfter(2, b)).deletedObjects, 1)
    assert.equal(state.get(LEASE_NS, b), undefined)
    assert.equal(JSON.parse(state.get('lifecycle.progress', b)!).done, true)
  })

  test('worker: a bucket whose store is down is reported and retried; the other buckets still pass', async () => {
    const c = client()
    const down = bucketName('ladown') // sorts before the other bucket: its failure comes first
    const west = s.client(ADMIN, 'eu-west-1')
    await west.send(new CreateBucketCommand({ Bucket: down, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const Rules: LifecycleRule[] = [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }]
    await west.send(new PutBucketLifecycleConfigurationCommand({ Bucket: down, LifecycleConfiguration: { Rules } }))
    const up = await bucket(false)
    await putRules(up, Rules)
    await c.send(new PutObjectCommand({ Bucket: up, Key: 'k', Body: 'x' }))
    const store = s.app.core.stores.get('eu-west-1')!
    store.setAvailable!(false)
    try {
      offset = 3 * DAY
      const reports = await s.app.lifecycle.runNow()
      assert.ok(reports.find((r) => r.bucket === down)!.error)
      assert.equal(reports.find((r) => r.bucket === up)!.deletedObjects, 1)
    } finally {
      offset = 0
      store.setAvailable!(true)
    }
  })

  test('the AWS CLI: put/get/delete-bucket-lifecycle-configuration and a refused one', async () => {
    const box = new CliSandbox('lifecycle-cli')
    try {
      const env = box.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', ...args], { env })
      const b = bucketName('cli')
      assert.equal((await aws(['create-bucket', '--bucket', b])).code, 0)
      const cfg = { Rules: [{ ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 10 } }] }
      const put = await aws(['put-bucket-lifecycle-configuration', '--bucket', b, '--lifecycle-configuration', JSON.stringify(cfg)])
      assert.equal(put.code, 0, put.stderr)
      const got = cliJson((await aws(['get-bucket-lifecycle-configuration', '--bucket', b])).stdout)
      assert.deepEqual(got.Rules, cfg.Rules)
      const bad = { Rules: [{ ID: 'ia', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 1, StorageClass: 'ONEZONE_IA' }] }] }
      assert.equal(cliErrorCode(await aws(['put-bucket-lifecycle-configuration', '--bucket', b, '--lifecycle-configuration', JSON.stringify(bad)])), 'InvalidArgument')
      assert.equal((await aws(['delete-bucket-lifecycle', '--bucket', b])).code, 0)
      assert.equal(cliErrorCode(await aws(['get-bucket-lifecycle-configuration', '--bucket', b])), 'NoSuchLifecycleConfiguration')
    } finally {
      box.dispose()
    }
  })
})

describe('S3 lifecycle: a pass cut short resumes after a restart', () => {
  test('the persisted marker survives the restart; the next pass starts over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-lc-'))
    let offset = 0
    const start = () => startTestServer({ dataDir, world: replicationWorld(), clock: () => new Date(Date.now() + offset) })
    let s = await start()
    try {
      const c = s.client(ADMIN)
      const b = bucketName('lcrestart')
      await c.send(new CreateBucketCommand({ Bucket: b }))
      await c.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: b,
          LifecycleConfiguration: { Rules: [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] },
        }),
      )
      for (const Key of ['a', 'b', 'c']) await c.send(new PutObjectCommand({ Bucket: b, Key, Body: 'x' }))
      // A pass that finished key 'b' when the process died.
      await s.app.core.state.put(PROGRESS_NS, b, JSON.stringify({ day: '2000-01-01', done: false, keyMarker: 'b' }))
      await s.stop()
      s = await start()
      offset = 3 * DAY
      const first = (await s.app.lifecycle.runNow()).find((r) => r.bucket === b)!
      assert.equal(first.deletedObjects, 1)
      const left = async () => {
        offset = 0
        const l = await s.client(ADMIN).send(new ListObjectVersionsCommand({ Bucket: b }))
        offset = 3 * DAY
        return (l.Versions ?? []).map((v) => v.Key)
      }
      assert.deepEqual(await left(), ['a', 'b'])
      assert.equal(JSON.parse(s.app.core.state.get(PROGRESS_NS, b)!).done, true)
      const second = (await s.app.lifecycle.runNow()).find((r) => r.bucket === b)!
      assert.equal(second.deletedObjects, 2)
      assert.deepEqual(await left(), [])
    } finally {
      await s.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

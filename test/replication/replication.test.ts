/**
 * Bucket replication through the S3 API (JS SDK v3, in-process server): configuration round trip and
 * refusals, statuses PENDING → COMPLETED / REPLICA, what a replica preserves, delete markers and
 * version deletes, tag sync both ways, no loops, the role's permissions, outages and metrics.
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  DeleteBucketReplicationCommand,
  DeleteObjectCommand,
  GetBucketReplicationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { PARTNER_ACCOUNT, ROLE_ARN, replicationWorld, replicationXml, WEAK_ROLE_ARN, waitFor } from './helpers.js'

let s: TestServer

const clients = new Map<string, S3Client>()
function clientIn(region: string, creds = ADMIN): S3Client {
  const k = `${region} ${creds.accessKeyId}`
  let cl = clients.get(k)
  if (!cl) {
    cl = s.client(creds, region)
    clients.set(k, cl)
  }
  return cl
}
/** A client signing for the bucket's region (S3 refuses another region in the credential scope). */
function on(bucket: string, creds = ADMIN): S3Client {
  return clientIn(s.services.state.getBucket(bucket)?.region ?? 'us-east-1', creds)
}

async function versionedBucket(region: string, creds = ADMIN, prefix = 'r'): Promise<string> {
  const client = clientIn(region, creds)
  const b = bucketName(prefix)
  await client.send(new CreateBucketCommand({ Bucket: b, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }))
  await client.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  return b
}

/** PutBucketReplication with a literal XML body (signed by hand: the SDK would build its own XML). */
async function rawPutReplication(bucket: string, xml: string): Promise<void> {
  const region = s.services.state.getBucket(bucket)?.region ?? 'us-east-1'
  const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}`, query: { replication: '' }, body: xml, region, headers: { 'content-type': 'application/xml' } })
  if (r.status >= 300)
    throw Object.assign(new Error(/<Message>([^<]*)<\/Message>/.exec(r.body)?.[1] ?? r.body), { name: codeOf(r.body) ?? String(r.status), $metadata: { httpStatusCode: r.status } })
}

const head = (bucket: string, key: string, versionId?: string) =>
  on(bucket).send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
const completed = (bucket: string, key: string, versionId?: string) =>
  waitFor(`${bucket}/${key} COMPLETED`, async () => (await head(bucket, key, versionId)).ReplicationStatus === 'COMPLETED')

before(async () => {
  s = await startTestServer({ world: replicationWorld() })
})
after(async () => {
  await s.stop()
})

describe('configuration', () => {
  test('Put / Get / Delete round trip; the SDK shapes are accepted', async () => {
    const src = await versionedBucket('us-east-1'),
      dst = await versionedBucket('eu-west-1')
    await on(src).send(
      new PutBucketReplicationCommand({
        Bucket: src,
        ReplicationConfiguration: {
          Role: ROLE_ARN,
          Rules: [
            {
              ID: 'all',
              Priority: 1,
              Status: 'Enabled',
              Filter: { Prefix: '' },
              DeleteMarkerReplication: { Status: 'Enabled' },
              SourceSelectionCriteria: { ReplicaModifications: { Status: 'Enabled' } },
              Destination: {
                Bucket: `arn:aws:s3:::${dst}`,
                ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
                Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
              },
            },
          ],
        },
      }),
    )
    const got = await on(src).send(new GetBucketReplicationCommand({ Bucket: src }))
    assert.equal(got.ReplicationConfiguration?.Role, ROLE_ARN)
    assert.equal(got.ReplicationConfiguration?.Rules?.[0]?.ID, 'all')
    assert.equal(got.ReplicationConfiguration?.Rules?.[0]?.Destination?.Bucket, `arn:aws:s3:::${dst}`)
    await on(src).send(new DeleteBucketReplicationCommand({ Bucket: src }))
    const e = await failure(() => on(src).send(new GetBucketReplicationCommand({ Bucket: src })))
    assert.equal(e.name, 'ReplicationConfigurationNotFoundError')
  })

  test('refusals: unversioned source or destination, missing destination, same bucket, tag filter with delete markers, duplicate priorities, RTC without metrics', async () => {
    const src = await versionedBucket('us-east-1'),
      dst = await versionedBucket('eu-west-1')
    const plain = bucketName('plain')
    await on(plain).send(new CreateBucketCommand({ Bucket: plain }))
    const code = async (bucket: string, xml: string) => {
      const e = await failure(() => rawPutReplication(bucket, xml))
      return `${e.name}: ${e.message}`
    }
    assert.match(await code(plain, replicationXml(ROLE_ARN, [{ dest: dst }])), /InvalidRequest: Versioning must be ('|&apos;)Enabled/)
    assert.match(await code(src, replicationXml(ROLE_ARN, [{ dest: plain }])), /InvalidRequest: Destination bucket must have versioning enabled/)
    assert.match(await code(src, replicationXml(ROLE_ARN, [{ dest: 'no-such-bucket-here-xyz' }])), /InvalidRequest: Destination bucket must exist/)
    assert.match(await code(src, replicationXml(ROLE_ARN, [{ dest: src }])), /InvalidRequest: Destination bucket cannot be the same/)
    assert.match(await code(src, replicationXml(ROLE_ARN, [{ dest: dst, tags: { a: 'b' }, deleteMarkers: true }])), /InvalidRequest: Delete marker replication is not supported/)
    assert.match(
      await code(
        src,
        replicationXml(ROLE_ARN, [
          { dest: dst, priority: 1, prefix: 'a' },
          { dest: dst, priority: 1, prefix: 'b', id: 'two' },
        ]),
      ),
      /InvalidRequest: .*priority/,
    )
    assert.match(await code(src, replicationXml('not-an-arn', [{ dest: dst }])), /InvalidArgument/)
    const noMetrics = replicationXml(ROLE_ARN, [{ dest: dst }]).replace(
      '</Destination>',
      '<ReplicationTime><Status>Enabled</Status><Time><Minutes>15</Minutes></Time></ReplicationTime></Destination>',
    )
    assert.match(await code(src, noMetrics), /InvalidRequest: Replication Time Control requires Metrics/)
    const noPriority = replicationXml(ROLE_ARN, [{ dest: dst }]).replace(/<Priority>\d+<\/Priority>/, '')
    assert.match(await code(src, noPriority), /InvalidRequest: Priority must be specified/)
    assert.match(await code(src, '<ReplicationConfiguration><Role>x</Role></ReplicationConfiguration>'), /MalformedXML/)
  })
})

describe('replicating', () => {
  let east: string, west: string
  before(async () => {
    east = await versionedBucket('us-east-1')
    west = await versionedBucket('eu-west-1')
    await rawPutReplication(east, replicationXml(ROLE_ARN, [{ dest: west, deleteMarkers: true, replicaModifications: true }]))
    await rawPutReplication(west, replicationXml(ROLE_ARN, [{ dest: east, deleteMarkers: false, replicaModifications: true, prefix: '' }]))
  })

  test('a PUT is PENDING at once, then COMPLETED; the replica is REPLICA with the same version id, bytes, ETag, metadata, tags and checksums', async () => {
    const body = randomBytes(150_000)
    const put = await on(east).send(
      new PutObjectCommand({
        Bucket: east,
        Key: 'docs/a.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { color: 'blue' },
        Tagging: 'team=core&tier=1',
        ChecksumAlgorithm: 'SHA256',
      }),
    )
    const first = await head(east, 'docs/a.bin')
    assert.ok(first.ReplicationStatus === 'PENDING' || first.ReplicationStatus === 'COMPLETED')
    await completed(east, 'docs/a.bin')
    const r = await on(west).send(new GetObjectCommand({ Bucket: west, Key: 'docs/a.bin', ChecksumMode: 'ENABLED' }))
    const got = Buffer.from(await r.Body!.transformToByteArray())
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(body).digest('hex'))
    assert.equal(r.ReplicationStatus, 'REPLICA')
    assert.equal(r.VersionId, put.VersionId)
    assert.equal(r.ETag, put.ETag)
    assert.equal(r.ContentType, 'application/x-test')
    assert.deepEqual(r.Metadata, { color: 'blue' })
    assert.equal(r.ChecksumSHA256, put.ChecksumSHA256)
    const src = await head(east, 'docs/a.bin')
    assert.equal(r.LastModified?.getTime(), src.LastModified?.getTime())
    const tags = await on(west).send(new GetObjectTaggingCommand({ Bucket: west, Key: 'docs/a.bin' }))
    assert.deepEqual(tags.TagSet?.map((t) => `${t.Key}=${t.Value}`).sort(), ['team=core', 'tier=1'])
  })

  test('two-way: the replica is not replicated back (no loop), and a write on the other side replicates the other way', async () => {
    await on(east).send(new PutObjectCommand({ Bucket: east, Key: 'loop', Body: 'once' }))
    await completed(east, 'loop')
    await s.replication.idle()
    const ve = await on(east).send(new ListObjectVersionsCommand({ Bucket: east, Prefix: 'loop' }))
    const vw = await on(west).send(new ListObjectVersionsCommand({ Bucket: west, Prefix: 'loop' }))
    assert.equal(ve.Versions?.length, 1)
    assert.equal(vw.Versions?.length, 1)
    const put = await on(west).send(new PutObjectCommand({ Bucket: west, Key: 'from-west', Body: 'hello east' }))
    await completed(west, 'from-west')
    const r = await on(east).send(new GetObjectCommand({ Bucket: east, Key: 'from-west' }))
    assert.equal(await r.Body!.transformToString(), 'hello east')
    assert.equal(r.VersionId, put.VersionId)
    assert.equal(r.ReplicationStatus, 'REPLICA')
  })

  test('tags: a source change follows; a replica change comes back (replica modification sync)', async () => {
    await on(east).send(new PutObjectCommand({ Bucket: east, Key: 'tagged', Body: 'x' }))
    await completed(east, 'tagged')
    await on(east).send(new PutObjectTaggingCommand({ Bucket: east, Key: 'tagged', Tagging: { TagSet: [{ Key: 'from', Value: 'source' }] } }))
    await waitFor('tags on the replica', async () => (await on(west).send(new GetObjectTaggingCommand({ Bucket: west, Key: 'tagged' }))).TagSet?.[0]?.Value === 'source')
    await on(west).send(new PutObjectTaggingCommand({ Bucket: west, Key: 'tagged', Tagging: { TagSet: [{ Key: 'from', Value: 'replica' }] } }))
    await waitFor('tags back on the source', async () => (await on(east).send(new GetObjectTaggingCommand({ Bucket: east, Key: 'tagged' }))).TagSet?.[0]?.Value === 'replica')
    assert.equal((await head(east, 'tagged')).ReplicationStatus, 'COMPLETED')
    assert.equal((await head(west, 'tagged')).ReplicationStatus, 'REPLICA')
  })

  test('delete markers replicate only when the rule says so; version deletes never replicate', async () => {
    const v = await on(east).send(new PutObjectCommand({ Bucket: east, Key: 'gone', Body: 'x' }))
    await completed(east, 'gone')
    const del = await on(east).send(new DeleteObjectCommand({ Bucket: east, Key: 'gone' }))
    assert.equal(del.DeleteMarker, true)
    await waitFor('the marker on the replica side', async () => {
      const vs = await on(west).send(new ListObjectVersionsCommand({ Bucket: west, Prefix: 'gone' }))
      return vs.DeleteMarkers?.some((m) => m.VersionId === del.VersionId && m.IsLatest)
    })
    // west → east has DeleteMarkerReplication Disabled.
    await on(west).send(new PutObjectCommand({ Bucket: west, Key: 'kept', Body: 'y' }))
    await completed(west, 'kept')
    await on(west).send(new DeleteObjectCommand({ Bucket: west, Key: 'kept' }))
    await s.replication.idle()
    assert.equal(await (await on(east).send(new GetObjectCommand({ Bucket: east, Key: 'kept' }))).Body!.transformToString(), 'y')
    // A version delete on the source stays there.
    await on(east).send(new DeleteObjectCommand({ Bucket: east, Key: 'gone', VersionId: v.VersionId }))
    await s.replication.idle()
    assert.equal((await head(west, 'gone', v.VersionId)).VersionId, v.VersionId)
  })

  test('a role that may not replicate: status FAILED, counted in the metrics', async () => {
    const src = await versionedBucket('us-east-1'),
      dst = await versionedBucket('eu-west-1')
    await rawPutReplication(src, replicationXml(WEAK_ROLE_ARN, [{ dest: dst, id: 'weak' }]))
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'k', Body: 'x' }))
    await waitFor('FAILED', async () => (await head(src, 'k')).ReplicationStatus === 'FAILED')
    assert.equal((await failure(() => head(dst, 'k'))).$metadata.httpStatusCode, 404)
    const rule = s.replication.snapshot().rules.find((r) => r.sourceBucket === src && r.ruleId === 'weak')
    assert.equal(rule?.failedOperations, 1)
  })

  test('filters: prefix and tags choose what replicates', async () => {
    const src = await versionedBucket('us-east-1'),
      dst = await versionedBucket('eu-west-1')
    await rawPutReplication(src, replicationXml(ROLE_ARN, [{ dest: dst, prefix: 'logs/', tags: { keep: 'yes' } }]))
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'logs/a', Body: 'x', Tagging: 'keep=yes' }))
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'logs/b', Body: 'x', Tagging: 'keep=no' }))
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'other', Body: 'x', Tagging: 'keep=yes' }))
    await completed(src, 'logs/a')
    assert.equal((await head(src, 'logs/b')).ReplicationStatus, undefined)
    assert.equal((await head(src, 'other')).ReplicationStatus, undefined)
    await s.replication.idle()
    assert.equal((await failure(() => head(dst, 'logs/b'))).$metadata.httpStatusCode, 404)
  })

  test('cross-account: the destination bucket policy must allow the role', async () => {
    const src = await versionedBucket('us-east-1')
    const dst = await versionedBucket('eu-west-1', PARTNER_ADMIN, 'partner')
    const partner = on(dst, PARTNER_ADMIN)
    await rawPutReplication(src, replicationXml(ROLE_ARN, [{ dest: dst, account: PARTNER_ACCOUNT, id: 'cross' }]))
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'denied', Body: 'x' }))
    await waitFor('FAILED without a bucket policy', async () => (await head(src, 'denied')).ReplicationStatus === 'FAILED')
    await partner.send(
      new PutBucketPolicyCommand({
        Bucket: dst,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], Resource: `arn:aws:s3:::${dst}/*` },
          ],
        }),
      }),
    )
    await on(src).send(new PutObjectCommand({ Bucket: src, Key: 'allowed', Body: 'cross' }))
    await completed(src, 'allowed')
    assert.equal(await (await partner.send(new GetObjectCommand({ Bucket: dst, Key: 'allowed' }))).Body!.transformToString(), 'cross')
  })

  test('a destination region outage: writes stay PENDING, the backlog grows, then drains in order when it returns', async () => {
    const westStore = s.services.stores.get('eu-west-1')!
    westStore.setAvailable!(false)
    s.services.health.markDown('eu-west-1')
    try {
      for (let i = 0; i < 5; i++) await on(east).send(new PutObjectCommand({ Bucket: east, Key: 'outage', Body: `v${i}` }))
      await new Promise((r) => setTimeout(r, 300))
      assert.equal((await head(east, 'outage')).ReplicationStatus, 'PENDING')
      const snap = s.replication.snapshot()
      assert.ok(snap.backlogOperations >= 5, JSON.stringify(snap))
      assert.ok(snap.backlogBytes >= 10)
    } finally {
      westStore.setAvailable!(true)
    }
    await s.services.health.probe()
    await completed(east, 'outage')
    await s.replication.idle()
    assert.equal(await (await on(west).send(new GetObjectCommand({ Bucket: west, Key: 'outage' }))).Body!.transformToString(), 'v4')
    const ve = (await on(east).send(new ListObjectVersionsCommand({ Bucket: east, Prefix: 'outage' }))).Versions!.map((v) => v.VersionId)
    const vw = (await on(west).send(new ListObjectVersionsCommand({ Bucket: west, Prefix: 'outage' }))).Versions!.map((v) => v.VersionId)
    assert.deepEqual(vw, ve)
    const snap = s.replication.snapshot()
    assert.equal(snap.backlogOperations, 0)
    const rule = snap.rules.find((r) => r.sourceBucket === east)!
    assert.ok(rule.completedOperations >= 5 && rule.retries > 0 && rule.lagMs.max > 0, JSON.stringify(rule))
  })
})

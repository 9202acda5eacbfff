/**
 * The lifecycle worker on PostgreSQL state, two nodes: a bucket's pass runs on one node at a time.
 * The lease lives in the state seam and is taken by a guarded write (compare-and-set), so the same
 * code holds it on SQLite and on PostgreSQL; here a lease written through node B keeps node A off
 * the bucket until B lets go, and of two nodes taking a free lease at once exactly one wins.
 * Lifecycle behaviour: "Lifecycle configuration elements"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, HeadObjectCommand, PutBucketLifecycleConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { pino } from 'pino'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { LEASE_NS } from '../../src/lifecycle/worker.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { listClaims, releaseClaim } from '../../src/state/fleet.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN, bucketName, failure, testWorld } from '../helpers/server.js'

const DAY = 86_400_000

async function within(ms: number, what: string, probe: () => boolean): Promise<void> {
  const t0 = Date.now()
  while (!probe()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('lifecycle on PostgreSQL state, two nodes', () => {
  let cluster: PgCluster
  let dir: string
  let a: RunningServer
  let b: RunningServer
  let offset = 0
  const s3 = (n: RunningServer): S3Client =>
    new S3Client({ endpoint: n.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1, systemClockOffset: offset })

  const node = (name: string): Promise<RunningServer> =>
    startServer({
      dataDir: join(dir, name),
      port: 0,
      tlsPort: 0,
      proxyPort: 0,
      world: testWorld(),
      logger: pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' }),
      state: cluster.url,
      sealingKeyFile: join(dir, 'sealing.key'),
      clock: () => new Date(Date.now() + offset),
    })

  before(async () => {
    cluster = await startPostgres('lifecycle')
    dir = mkdtempSync(join(tmpdir(), 'mrap-lc-pg-'))
    writeSealingKeyFile(join(dir, 'sealing.key'))
    a = await node('a')
    // Both nodes serve embedded regions here (the objects live on node A): A's claims go.
    for (const c of listClaims(a.services.state)) await releaseClaim(a.services.state, c.region)
    b = await node('b')
  })
  after(async () => {
    await b?.close().catch(() => undefined)
    await a?.close().catch(() => undefined)
    await cluster?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it("a lease held through node B keeps node A's pass off the bucket until B lets it go", async () => {
    assert.equal(a.services.state.backend, 'postgres')
    const bucket = bucketName('lcpg')
    await s3(a).send(new CreateBucketCommand({ Bucket: bucket }))
    await s3(a).send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }))
    await s3(a).send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: { Rules: [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] },
      }),
    )
    await b.services.state.put(LEASE_NS, bucket, JSON.stringify({ owner: 'node-b', token: 't', until: Date.now() + 30 * DAY }))
    await within(1000, "A sees B's lease", () => a.services.state.get(LEASE_NS, bucket) !== undefined)
    offset = 3 * DAY
    const held = (await a.app.lifecycle.runNow()).find((r) => r.bucket === bucket)!
    assert.equal(held.skipped, 'leased')
    await s3(a).send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))
    await b.services.state.delete(LEASE_NS, bucket)
    await within(1000, 'A sees the lease gone', () => a.services.state.get(LEASE_NS, bucket) === undefined)
    const ran = (await a.app.lifecycle.runNow()).find((r) => r.bucket === bucket)!
    assert.equal(ran.deletedObjects, 1)
    assert.equal((await failure(() => s3(a).send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' })))).$metadata.httpStatusCode, 404)
    offset = 0
  })

  it('of two nodes taking a free lease at once, exactly one wins (the guarded write the worker uses)', async () => {
    const key = bucketName('lcrace')
    const take = (n: RunningServer, owner: string) =>
      n.services.state.write([
        { op: 'expect', ns: LEASE_NS, key, value: undefined },
        { op: 'put', ns: LEASE_NS, key, value: JSON.stringify({ owner, token: owner, until: Date.now() + DAY }) },
      ])
    const won = await Promise.all([take(a, 'a'), take(b, 'b')])
    assert.equal(won.filter(Boolean).length, 1)
  })
})

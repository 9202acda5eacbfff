/**
 * Replication on PostgreSQL leases (docs/decisions/replication.md §Fleet): two nodes' workers share
 * one queue in a real PostgreSQL (test/helpers/postgres.ts). Node A is a real server started with
 * `state: postgres://…` (JS SDK v3 over HTTP); node B is a second core on the same PostgreSQL with
 * its own state store, pool and worker, sharing A's region stores the way fleet nodes share an S3
 * engine (a second server cannot serve embedded regions: the fleet refuses it).
 *
 * Node A's replication is restarted with test options (short poll, two slots) after checking that
 * the server picked the fleet queue by itself.
 *
 * A write refused because PostgreSQL is down answers 503 ServiceUnavailable, which clients retry
 * ("Amazon S3 error best practices", https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html).
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import pg from 'pg'
import { pino } from 'pino'
import { type Core, NO_REPLICATION } from '../../src/core/core.js'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { type ReplicationService, startReplication } from '../../src/replication/index.js'
import { PgTaskQueue } from '../../src/replication/pg-queue.js'
import { LeaseQueue } from '../../src/state/postgres/lease-queue.js'
import { PgStateStore } from '../../src/state/postgres/pg-state.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN, failure } from '../helpers/server.js'
import { OWNER, ROLE_ARN, replicationWorld, waitFor } from './helpers.js'

const SRC = 'fleet-src',
  DST = 'fleet-dst',
  PLAIN = 'fleet-plain'
/** Short enough for a test to wait out a dead node's lease, long enough for heartbeats under load. */
const NODE = { leaseMs: 1500, pollMs: 100, concurrency: 2 }

let cluster: PgCluster
let s: RunningServer
let dir: string
let east: S3Client, west: S3Client
let stateB: PgStateStore
let nodeA: ReplicationService, nodeB: ReplicationService
const pools: pg.Pool[] = []
/** Node B's warnings, as JSON lines (what its worker says about leases). */
const logB: string[] = []

function world(): ReturnType<typeof replicationWorld> {
  const w = replicationWorld()
  w.buckets.push(
    { name: DST, region: 'eu-west-1', owner: OWNER, versioning: 'Enabled' },
    {
      name: SRC,
      region: 'us-east-1',
      owner: OWNER,
      versioning: 'Enabled',
      replication: { role: ROLE_ARN, rules: [{ id: 'to-west', destination: DST, priority: 1, deleteMarkerReplication: true }] },
    },
    { name: PLAIN, region: 'us-east-1', owner: OWNER, versioning: 'Enabled' },
  )
  return w
}

const completed = (r: ReplicationService): number => r.metrics.snapshot([], Date.now()).completedOperations
const fleetDone = async (): Promise<number> => (await nodeA.snapshotNow()).fleet!.completedOperations
const headDst = (key: string, versionId: string) => west.send(new HeadObjectCommand({ Bucket: DST, Key: key, VersionId: versionId }))
const put = async (client: S3Client, bucket: string, key: string, body: string): Promise<string> =>
  (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId!

before(async () => {
  cluster = await startPostgres('repl')
  dir = mkdtempSync(join(tmpdir(), 'mrap-repl-fleet-'))
  writeSealingKeyFile(join(dir, 'sealing.key'))
  s = await startServer({
    dataDir: join(dir, 'a'),
    port: 0,
    tlsPort: 0,
    proxyPort: 0,
    world: world(),
    logger: pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' }),
    state: cluster.url,
    sealingKeyFile: join(dir, 'sealing.key'),
  })
  const client = (region: string): S3Client => new S3Client({ endpoint: s.endpoint, region, credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
  east = client('us-east-1')
  west = client('eu-west-1')
  assert.equal(s.services.state.backend, 'postgres')
  assert.equal(s.replication.queue.shared, true, 'a server on PostgreSQL state replicates through the shared queue')
  await s.replication.stop()
  nodeA = startReplication(s.services, NODE)
  s.services.replication = nodeA.hooks
  // Node B: its own state store and pool on the same database, the same region stores.
  stateB = await PgStateStore.open({ connection: cluster.config, backstopMs: 500 })
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        logB.push(line)
      },
    },
  )
  const coreB: Core = { ...s.services, state: stateB, replication: NO_REPLICATION, log: logger }
  nodeB = startReplication(coreB, NODE)
  coreB.replication = nodeB.hooks
})

after(async () => {
  await nodeB?.stop()
  await nodeA?.stop()
  for (const p of pools) await p.end().catch(() => undefined)
  await stateB?.close()
  await s?.close()
  await cluster?.destroy()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('replication on PostgreSQL leases, two nodes', () => {
  test('N writes replicate exactly once each across two workers, in order per key', async () => {
    await nodeA.pause()
    await nodeB.pause()
    try {
      await exactlyOnce()
    } finally {
      nodeA.resume()
      nodeB.resume()
    }
  })

  async function exactlyOnce(): Promise<void> {
    const doneBefore = await fleetDone()
    const aBefore = completed(nodeA),
      bBefore = completed(nodeB)
    const versions = new Map<string, string>()
    const N = 24
    for (let i = 0; i < N; i++) versions.set(`obj-${i}`, await put(east, SRC, `obj-${i}`, `body ${i}`))
    // One key, two versions then a delete marker: the destination must end with the marker on top.
    const v1 = await put(east, SRC, 'ordered', 'first')
    const v2 = await put(east, SRC, 'ordered', 'second')
    const marker = (await east.send(new DeleteObjectCommand({ Bucket: SRC, Key: 'ordered' }))).VersionId!
    const tasks = N + 3
    assert.equal((await nodeA.snapshotNow()).fleet?.queuedOperations, tasks, 'every acknowledged write has its task in the database')

    nodeA.resume()
    nodeB.resume()
    await Promise.race([
      nodeA.idle(),
      sleep(30_000).then(() => {
        throw new Error('the queue did not drain in 30 s')
      }),
    ])

    for (const [key, versionId] of versions) {
      assert.equal((await headDst(key, versionId)).ReplicationStatus, 'REPLICA', key)
      await waitFor(`${key} COMPLETED`, async () => (await east.send(new HeadObjectCommand({ Bucket: SRC, Key: key, VersionId: versionId }))).ReplicationStatus === 'COMPLETED')
    }
    const history = await west.send(new ListObjectVersionsCommand({ Bucket: DST, Prefix: 'ordered' }))
    assert.deepEqual(history.Versions?.map((v) => v.VersionId).sort(), [v1, v2].sort())
    assert.equal(history.DeleteMarkers?.[0]?.VersionId, marker)
    assert.equal(history.DeleteMarkers?.[0]?.IsLatest, true, 'the marker, enqueued last, is the latest at the destination')
    const gone = await failure(() => west.send(new GetObjectCommand({ Bucket: DST, Key: 'ordered' })))
    assert.equal(gone.name, 'NoSuchKey')

    // Exactly once: the database counted one completion per task, and so did the nodes between them.
    assert.equal((await fleetDone()) - doneBefore, tasks)
    const byA = completed(nodeA) - aBefore,
      byB = completed(nodeB) - bBefore
    assert.equal(byA + byB, tasks, `node A ${byA} + node B ${byB}`)
    assert.ok(byA > 0 && byB > 0, `both nodes worked (A ${byA}, B ${byB})`)
    assert.equal((await nodeB.snapshotNow()).fleet?.queuedOperations, 0)
  }

  test('a node that claims a task and dies leaves it to another node when its lease expires', async () => {
    await nodeA.pause()
    await nodeB.pause()
    try {
      await deadNode()
    } finally {
      nodeA.resume()
      nodeB.resume()
    }
  })

  async function deadNode(): Promise<void> {
    const doneBefore = await fleetDone(),
      bBefore = completed(nodeB)
    const versionId = await put(east, SRC, 'orphan', 'left by a dead node')
    // The dying node: a claim as a worker makes it, then its process is gone (its pool ends).
    const deadPool = new pg.Pool({ ...cluster.config, max: 1 })
    const dying = new LeaseQueue(deadPool, { queue: 'replication', owner: 'dying', leaseMs: 2000 })
    const [lease] = await dying.claim(10)
    assert.ok(lease)
    assert.equal(JSON.parse(lease.payload).key, 'orphan')
    await deadPool.end()
    const claimedAt = Date.now()

    nodeB.resume()
    await sleep(700)
    assert.equal(completed(nodeB), bBefore, 'the lease still holds: nobody else runs the task')
    assert.equal((await failure(() => headDst('orphan', versionId))).$metadata.httpStatusCode, 404)

    await waitFor('the replica written by node B', async () => (await headDst('orphan', versionId).catch(() => undefined))?.ReplicationStatus === 'REPLICA', 10_000)
    assert.ok(Date.now() - claimedAt >= 2000, 'not before the lease expired')
    await nodeB.idle()
    assert.equal(completed(nodeB) - bBefore, 1)
    assert.equal((await fleetDone()) - doneBefore, 1)
    // The dead node's lease is fenced: had it come back late, its result would not count.
    const late = new LeaseQueue(pool(), { queue: 'replication', owner: 'dying', leaseMs: 1000 })
    assert.equal(await late.complete(lease), false)
    assert.equal((await east.send(new HeadObjectCommand({ Bucket: SRC, Key: 'orphan', VersionId: versionId }))).ReplicationStatus, 'COMPLETED')
  }

  test('a worker whose lease is taken over mid-task drops its result: counted once, by the holder that completes', async () => {
    await nodeA.pause()
    const spy = new pg.Client(cluster.config)
    await spy.connect()
    try {
      const owner = (nodeB.queue as PgTaskQueue).owner
      const body = Buffer.alloc(16 << 20, 7).toString()
      let stolen: { key: string; versionId: string } | undefined
      for (let round = 0; round < 5 && !stolen; round++) {
        await nodeB.pause()
        const doneBefore = await fleetDone(),
          bBefore = completed(nodeB)
        const key = `taken-over-${round}`
        const versionId = await put(east, SRC, key, body)
        nodeB.resume()
        // Another holder takes the lease as soon as node B holds it (as if B's lease had run out),
        // with a short expiry so that the task comes back.
        const until = Date.now() + 5000
        while (Date.now() < until) {
          const r = await spy.query(
            `UPDATE mrap_task SET lease_token = gen_random_uuid(), lease_expires_at = now() + interval '300 milliseconds'
            WHERE queue = 'replication' AND lease_owner = $1 AND payload::jsonb->>'key' = $2 RETURNING id`,
            [owner, key],
          )
          if (r.rowCount === 1) break
          if ((await spy.query("SELECT 1 FROM mrap_task WHERE queue = 'replication' AND payload::jsonb->>'key' = $1", [key])).rowCount === 0) break
        }
        await nodeB.idle()
        assert.equal(completed(nodeB) - bBefore, 1, 'one completion, whatever happened to the first attempt')
        assert.equal((await fleetDone()) - doneBefore, 1)
        assert.equal((await headDst(key, versionId)).ReplicationStatus, 'REPLICA')
        if (logB.some((l) => l.includes('lost its lease') || l.includes('after its lease was taken over'))) stolen = { key, versionId }
        // Node B may claim the task again once the thief's short lease runs out, while its first
        // attempt still runs (CI saw it under load): each attempt keeps its own lease, so the first
        // is fenced off instead of completing with the second's token and leaving the second unbooked.
        assert.ok(!logB.some((l) => l.includes("could not record the replication task's result")), logB.join(''))
      }
      assert.ok(stolen, `the lease was taken over mid-task in one of five rounds; node B said: ${logB.slice(-5).join('') || 'nothing'}`)
      await waitFor(
        'COMPLETED',
        async () => (await east.send(new HeadObjectCommand({ Bucket: SRC, Key: stolen!.key, VersionId: stolen!.versionId }))).ReplicationStatus === 'COMPLETED',
      )
    } finally {
      await spy.end()
      nodeA.resume()
      nodeB.resume()
    }
  })

  test('a node that claims a task again after losing its lease runs each attempt on its own lease', async () => {
    await nodeA.pause()
    await nodeB.pause()
    const spy = new pg.Client(cluster.config)
    await spy.connect()
    try {
      // A queue of its own (not a worker), so the two attempts and the thief run in a fixed order.
      const q = new PgTaskQueue(pool(), { leaseMs: 5000, maxAttempts: 3 })
      await q.enqueue([{ kind: 'object', srcBucket: SRC, key: 'claimed-twice', versionId: 'v-claimed-twice', destBucket: DST, ruleId: 'to-west', size: 0, enqueuedMs: Date.now() }])
      const [first] = await q.claim(10)
      assert.equal(first?.key, 'claimed-twice')
      // Another holder takes the lease over and lets it run out at once; this node claims it again.
      const stolen = await spy.query(
        "UPDATE mrap_task SET lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second' WHERE queue = 'replication' AND payload::jsonb->>'key' = 'claimed-twice' RETURNING id",
      )
      assert.equal(stolen.rowCount, 1)
      const [second] = await q.claim(10)
      assert.equal(second?.seq, first!.seq, 'the same task, claimed a second time by the same node')
      // The first attempt is fenced off: neither its beat nor its completion uses the second's lease.
      assert.equal(await q.heartbeat(first!), false, "the first attempt's heartbeat finds its lease gone")
      assert.equal(await q.complete(first!), false, "the first attempt's completion is refused")
      assert.equal(await q.heartbeat(second!), true)
      assert.equal(await q.complete(second!), true, 'the second attempt, holding the lease, completes')
      const left = await cluster.sql("SELECT id FROM mrap_task WHERE queue = 'replication' AND payload::jsonb->>'key' = 'claimed-twice'")
      assert.equal(left.length, 0)
    } finally {
      await spy.end()
      nodeA.resume()
      nodeB.resume()
    }
  })

  test('every node start enqueues a PENDING version that lost its task, once however many nodes start', async () => {
    await nodeA.pause()
    await nodeB.pause()
    const extra: ReplicationService[] = []
    try {
      const versionId = await put(east, SRC, 'lost-task', 'its task vanished')
      // As if the node died between the store's commit and the enqueue.
      const removed = await cluster.sql("DELETE FROM mrap_task WHERE queue = 'replication' AND payload::jsonb->>'key' = 'lost-task' RETURNING id")
      assert.equal(removed.length, 1)
      for (let i = 0; i < 2; i++) {
        // Nodes that only start (no worker slots), each on the same database.
        const core: Core = { ...s.services, state: stateB, replication: NO_REPLICATION }
        const node = startReplication(core, { ...NODE, concurrency: 0 })
        extra.push(node)
        await node.recovery()
      }
      const queued = await cluster.sql<{ n: string }>("SELECT count(*) AS n FROM mrap_task WHERE queue = 'replication' AND payload::jsonb->>'key' = 'lost-task'")
      assert.equal(Number(queued[0]?.n), 1, 'enqueued by the first start, a no-op for the second (dedupe id)')
      nodeA.resume()
      nodeB.resume()
      await waitFor('the re-enqueued version replicated', async () => (await headDst('lost-task', versionId).catch(() => undefined))?.ReplicationStatus === 'REPLICA')
    } finally {
      for (const n of extra) await n.stop()
      nodeA.resume()
      nodeB.resume()
    }
  })

  test('a key with NUL and other control characters replicates (PostgreSQL text holds no NUL)', async () => {
    let seed = 7
    const key =
      'nul\u0000' +
      Array.from({ length: 1000 }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        return String.fromCharCode(seed % 32)
      }).join('')
    const versionId = await put(east, SRC, key, 'odd key')
    await waitFor('the odd key replicated', async () => (await headDst(key, versionId).catch(() => undefined))?.ReplicationStatus === 'REPLICA')
  })

  // Last: it stops the database.
  test('PostgreSQL down: a write to a replicated bucket gets 503, an unreplicated one succeeds; the refused version replicates once it is back', async () => {
    // Node A, which refused the write, does not run tasks here: what it kept is enqueued for node B.
    await nodeA.pause()
    await cluster.stop()
    try {
      const e = await failure(() => east.send(new PutObjectCommand({ Bucket: SRC, Key: 'while-down', Body: 'refused' })))
      assert.equal(e.$metadata.httpStatusCode, 503)
      assert.equal(e.name, 'ServiceUnavailable')
      const ok = await east.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'while-down', Body: 'accepted' }))
      assert.ok(ok.VersionId)
    } finally {
      await cluster.start()
    }
    // The refused write's version exists, PENDING; the node enqueues it again once the database answers.
    const listed = await east.send(new ListObjectVersionsCommand({ Bucket: SRC, Prefix: 'while-down' }))
    const versionId = listed.Versions?.[0]?.VersionId
    assert.ok(versionId)
    try {
      await waitFor('the refused version replicated', async () => (await headDst('while-down', versionId).catch(() => undefined))?.ReplicationStatus === 'REPLICA', 20_000)
    } finally {
      nodeA.resume()
    }
  })
})

function pool(): pg.Pool {
  const p = new pg.Pool({ ...cluster.config, max: 2 })
  pools.push(p)
  return p
}

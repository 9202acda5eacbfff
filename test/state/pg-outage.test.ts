/**
 * PostgreSQL stops under two nodes: reads keep coming from memory, state changes are refused with
 * 503 ServiceUnavailable (a status S3 clients retry: "Retry behavior" in the AWS SDKs and Tools
 * Reference Guide, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
 * and when it is back the nodes recover without anyone restarting them.
 */
import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import pg from 'pg'
import { isS3Error } from '../../src/shared/errors.js'
import { LeaseQueue } from '../../src/state/postgres/lease-queue.js'
import { PgStateStore } from '../../src/state/postgres/pg-state.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { bucket } from './contract.js'

let cluster: PgCluster
let a: PgStateStore | undefined
let b: PgStateStore | undefined
let pool: pg.Pool | undefined

before(async () => {
  cluster = await startPostgres('outage')
})
after(async () => {
  await a?.close()
  await b?.close()
  await pool?.end().catch(() => undefined)
  await cluster?.destroy()
})

const unavailable = (err: unknown): boolean => {
  assert.ok(isS3Error(err), `not an S3Error: ${String(err)} ${(err as { code?: string }).code ?? ''}`)
  assert.equal(err.code, 'ServiceUnavailable')
  assert.equal(err.status, 503)
  return true
}

it('serves reads from memory and refuses writes with 503 while PostgreSQL is down, then recovers by itself', async () => {
  const opts = { connection: cluster.url, timeoutMs: 1000, pingMs: 300, backstopMs: 1000, onError: () => undefined }
  a = await PgStateStore.open(opts)
  b = await PgStateStore.open(opts)
  pool = new pg.Pool({ ...cluster.config, connectionTimeoutMillis: 1000 })
  pool.on('error', () => undefined)
  const queue = new LeaseQueue(pool, { queue: 'outage', owner: 'a', leaseMs: 5000 })
  await a.putBucket(bucket('outage-bucket', { policy: 'cached' }))
  await a.put('iam.key', 'AKIAOUTAGE', 'sealed')
  const deadline = Date.now() + 1000
  while (b.get('iam.key', 'AKIAOUTAGE') !== 'sealed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))

  await cluster.stop()

  for (const s of [a, b]) {
    assert.equal(s.getBucket('outage-bucket')?.policy, 'cached')
    assert.equal(s.get('iam.key', 'AKIAOUTAGE'), 'sealed')
    await assert.rejects(s.put('iam.key', 'AKIANEW', 'x'), unavailable)
    await assert.rejects(s.updateBucket('outage-bucket', { policy: 'changed' }), unavailable)
    await assert.rejects(s.write([{ op: 'deleteBucket', name: 'outage-bucket' }]), unavailable)
  }
  await assert.rejects(queue.enqueue('k', 'p'), unavailable)
  await assert.rejects(queue.claim(), unavailable)
  // A refused write left nothing behind in memory either.
  assert.equal(a.get('iam.key', 'AKIANEW'), undefined)
  assert.equal(a.getBucket('outage-bucket')?.policy, 'cached')
  await new Promise((r) => setTimeout(r, 500))
  assert.equal(a.listening, false)

  await cluster.start()

  // Nobody reopens the stores: the pool reconnects on the next write, the listener on its own.
  const t0 = Date.now()
  for (;;) {
    try {
      await a.put('iam.key', 'AKIANEW', 'after')
      break
    } catch (err) {
      unavailable(err)
      if (Date.now() - t0 > 10_000) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const t1 = Date.now()
  while (!(b.listening && b.get('iam.key', 'AKIANEW') === 'after')) {
    if (Date.now() - t1 > 5000) assert.fail('B did not recover within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.ok(await queue.enqueue('k', 'p'))
  // And it is live again, not only caught up: the next change reaches B within a second.
  await a.put('iam.key', 'AKIANEW', 'live')
  const t2 = Date.now()
  while (b.get('iam.key', 'AKIANEW') !== 'live') {
    if (Date.now() - t2 > 1000) assert.fail('B not live within 1 s after recovery')
    await new Promise((r) => setTimeout(r, 10))
  }
})

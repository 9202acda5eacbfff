/**
 * The PostgreSQL lease queue with two consumers, each on its own pool (two "nodes"). Claims use
 * FOR UPDATE SKIP LOCKED ("The Locking Clause" in the SELECT page of the PostgreSQL manual,
 * https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { type Lease, LeaseQueue } from '../../src/state/postgres/lease-queue.js'
import { migrate } from '../../src/state/postgres/schema.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'

let cluster: PgCluster
const pools: pg.Pool[] = []
const pool = (): pg.Pool => {
  const p = new pg.Pool({ ...cluster.config, max: 3 })
  pools.push(p)
  return p
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

before(async () => {
  cluster = await startPostgres('lease')
  await migrate(pool())
})
after(async () => {
  for (const p of pools) await p.end().catch(() => undefined)
  await cluster?.destroy()
})

describe('PostgreSQL lease queue', () => {
  it('does every task exactly once with two consumers, one key at a time, in order per key', async () => {
    const opts = { queue: 'once', leaseMs: 10_000 }
    const producer = new LeaseQueue(pool(), { ...opts, owner: 'producer' })
    const ids: number[] = []
    for (let i = 0; i < 48; i++) ids.push((await producer.enqueue(`key-${i % 6}`, `task-${i}`))!)
    const done: { id: number; key: string; by: string }[] = []
    const holding = new Map<string, string>()
    const consume = async (name: string): Promise<void> => {
      const q = new LeaseQueue(pool(), { ...opts, owner: name })
      let idle = 0
      while (idle < 5) {
        const leases = await q.claim(3)
        if (leases.length === 0) {
          idle++
          await sleep(20)
          continue
        }
        idle = 0
        for (const l of leases) {
          // Per-key exclusivity: nobody else may hold this key while we do.
          assert.equal(holding.get(l.key), undefined, `${l.key} held twice`)
          holding.set(l.key, name)
          await sleep(1)
          done.push({ id: l.id, key: l.key, by: name })
          holding.delete(l.key)
          assert.equal(await q.complete(l), true)
        }
      }
    }
    await Promise.all([consume('node-a'), consume('node-b')])
    assert.deepEqual(
      done.map((d) => d.id).sort((a, b) => a - b),
      ids,
    )
    for (let k = 0; k < 6; k++) {
      const order = done.filter((d) => d.key === `key-${k}`).map((d) => d.id)
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `key-${k} out of order`,
      )
    }
    assert.ok(new Set(done.map((d) => d.by)).size === 2, 'both consumers worked')
    assert.equal(await producer.depth(), 0)
  })

  it('gives a task whose holder stopped heartbeating to the other consumer, and fences the first', async () => {
    const a = new LeaseQueue(pool(), { queue: 'expiry', owner: 'a', leaseMs: 400 })
    const b = new LeaseQueue(pool(), { queue: 'expiry', owner: 'b', leaseMs: 400 })
    await a.enqueue('k', 'payload')
    const [la] = await a.claim()
    assert.ok(la)
    assert.deepEqual(await b.claim(), [], 'leased: not claimable')
    await sleep(550)
    const [lb] = await b.claim()
    assert.equal(lb?.id, la.id)
    assert.equal(lb?.attempts, 2)
    assert.equal(await a.heartbeat(la), false, 'the lost lease cannot be renewed')
    assert.equal(await a.complete(la), false, 'nor completed')
    assert.equal(await a.fail(la, 'late', { retryMs: 0, maxAttempts: 5 }), 'lost')
    assert.equal(await b.complete(lb!), true)
    assert.equal(await a.depth(), 0)
  })

  it('keeps a lease while the holder heartbeats past the lease time', async () => {
    const a = new LeaseQueue(pool(), { queue: 'beat', owner: 'a', leaseMs: 300 })
    const b = new LeaseQueue(pool(), { queue: 'beat', owner: 'b', leaseMs: 300 })
    await a.enqueue('k', 'p')
    const [l] = await a.claim()
    for (let i = 0; i < 6; i++) {
      await sleep(120)
      assert.equal(await a.heartbeat(l!), true)
      assert.deepEqual(await b.claim(), [])
    }
    assert.equal(await a.complete(l!), true)
  })

  it('blocks only the failing key: its next task waits for the retry, other keys run; a dead task unblocks it', async () => {
    const q = new LeaseQueue(pool(), { queue: 'fail', owner: 'a', leaseMs: 5000 })
    const first = await q.enqueue('k', 'first')
    const second = await q.enqueue('k', 'second')
    const other = await q.enqueue('j', 'other')
    const claimed = await q.claim(10)
    assert.deepEqual(
      claimed.map((l) => l.id),
      [first, other],
      'only the head of each key',
    )
    const head = claimed.find((l) => l.id === first)!
    assert.equal(await q.complete(claimed.find((l) => l.id === other)!), true)
    assert.equal(await q.fail(head, 'boom', { retryMs: 200, maxAttempts: 2 }), 'retry')
    assert.deepEqual(await q.claim(10), [], 'the retry waits and the key behind it with it')
    await sleep(250)
    const [again] = await q.claim(10)
    assert.equal(again?.id, first)
    assert.equal(await q.fail(again!, 'boom again', { retryMs: 0, maxAttempts: 2 }), 'dead')
    const [next] = await q.claim(10)
    assert.equal(next?.id, second)
    assert.deepEqual(
      (await q.dead()).map((d) => [d.id, d.lastError]),
      [[first, 'boom again']],
    )
    assert.equal(await q.complete(next!), true)
  })

  it('ignores a duplicate enqueue with the same dedupe id while the first is queued', async () => {
    const q = new LeaseQueue(pool(), { queue: 'dedupe', owner: 'a', leaseMs: 5000 })
    const id = await q.enqueue('op', 'create', { dedupe: 'token-1' })
    assert.ok(id)
    assert.equal(await q.enqueue('op', 'create again', { dedupe: 'token-1' }), undefined)
    assert.equal(await q.depth(), 1)
    const [l] = await q.claim()
    assert.equal(l?.payload, 'create')
    await q.complete(l!)
    assert.ok(await q.enqueue('op', 'later', { dedupe: 'token-1' }), 'a finished id may be reused')
  })

  it('keeps per-key order when two nodes enqueue the same key at once', async () => {
    const a = new LeaseQueue(pool(), { queue: 'race', owner: 'a', leaseMs: 5000 })
    const b = new LeaseQueue(pool(), { queue: 'race', owner: 'b', leaseMs: 5000 })
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).enqueue('same', String(i))))
    const seen: Lease[] = []
    for (;;) {
      const ls = await (seen.length % 2 ? a : b).claim(5)
      if (ls.length === 0) break
      assert.equal(ls.length, 1, 'one task of a key at a time')
      seen.push(ls[0]!)
      await (seen.length % 2 ? b : a).complete(ls[0]!)
    }
    assert.equal(seen.length, 6)
    assert.deepEqual(
      seen.map((l) => l.id),
      [...seen.map((l) => l.id)].sort((x, y) => x - y),
    )
  })
})

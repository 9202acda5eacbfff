/**
 * The state contract on PostgreSQL, then what only a fleet has: two store instances ("nodes") on
 * one database, LISTEN/NOTIFY with a backstop, a killed listener, migrations under the lock.
 * PostgreSQL's documented NOTIFY limits (delivered at commit, lost while not listening):
 * "NOTIFY" in the PostgreSQL manual, https://www.postgresql.org/docs/current/sql-notify.html
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { type PgStateOptions, PgStateStore } from '../../src/state/postgres/pg-state.js'
import { MIGRATIONS, migrate } from '../../src/state/postgres/schema.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { bucket, runStateContract } from './contract.js'

let cluster: PgCluster
const stores: PgStateStore[] = []
const node = async (o: Partial<PgStateOptions> = {}): Promise<PgStateStore> => {
  const s = await PgStateStore.open({ connection: cluster.url, backstopMs: 60_000, pingMs: 1000, ...o })
  stores.push(s)
  return s
}

/** Polls `probe` until true; returns the milliseconds it took, or fails after `withinMs`. */
async function within(withinMs: number, probe: () => boolean, what: string): Promise<number> {
  const t0 = Date.now()
  while (!probe()) {
    if (Date.now() - t0 > withinMs) assert.fail(`${what}: not within ${withinMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return Date.now() - t0
}

before(async () => {
  cluster = await startPostgres('state')
})
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined)
  await cluster?.destroy()
})

runStateContract('postgres', async () => PgStateStore.open({ connection: cluster.url }))

describe('PostgreSQL state across nodes', () => {
  it('shows a write made on one node to the other within 1 s, both ways, as remote events', async () => {
    const a = await node()
    const b = await node()
    const onB: string[] = []
    b.onChange((c) => {
      if (c.kind === 'record' && c.ns === 'fleet') onB.push(`${c.key}=${c.value}:${c.local}`)
    })
    for (let i = 0; i < 5; i++) {
      await a.put('fleet', 'route', `flip-${i}`)
      await within(1000, () => b.get('fleet', 'route') === `flip-${i}`, `flip ${i} on B`)
    }
    await b.putBucket(bucket('fleet-bucket', { versioning: 'Enabled' }))
    await within(1000, () => a.getBucket('fleet-bucket')?.versioning === 'Enabled', 'bucket on A')
    await a.delete('fleet', 'route')
    await within(1000, () => b.get('fleet', 'route') === undefined, 'delete on B')
    assert.deepEqual(onB, [0, 1, 2, 3, 4].map((i) => `route=flip-${i}:false`).concat(['route=undefined:false']))
  })

  it('patches a bucket from two nodes without losing either field', async () => {
    const a = await node()
    const b = await node()
    await a.putBucket(bucket('fleet-patch'))
    await within(1000, () => b.getBucket('fleet-patch') !== undefined, 'bucket on B')
    await Promise.all([a.updateBucket('fleet-patch', { policy: 'from-a' }), b.updateBucket('fleet-patch', { versioning: 'Enabled' })])
    for (const s of [a, b]) {
      await within(1000, () => s.getBucket('fleet-patch')?.policy === 'from-a' && s.getBucket('fleet-patch')?.versioning === 'Enabled', 'both patches')
    }
  })

  it('lets exactly one of two nodes take an alias with a guarded write', async () => {
    const a = await node()
    const b = await node()
    const take = (s: PgStateStore, who: string): Promise<boolean> =>
      s.write([
        { op: 'expect', ns: 'fleet.alias', key: 'mfzwi23gnjvgw.mrap', value: undefined },
        { op: 'put', ns: 'fleet.alias', key: 'mfzwi23gnjvgw.mrap', value: who },
      ])
    const [ra, rb] = await Promise.all([take(a, 'a'), take(b, 'b')])
    assert.equal(Number(ra) + Number(rb), 1)
    const winner = ra ? 'a' : 'b'
    await within(1000, () => a.get('fleet.alias', 'mfzwi23gnjvgw.mrap') === winner && b.get('fleet.alias', 'mfzwi23gnjvgw.mrap') === winner, 'one winner')
  })

  it('recovers a killed LISTEN connection and catches up on what changed meanwhile', async () => {
    const a = await node()
    const b = await node()
    const before = a.listenerPid
    assert.ok(before)
    const connects = (a as unknown as { listener: { connects: number } }).listener.connects
    await cluster.sql('SELECT pg_terminate_backend($1)', [before])
    // Written while A is not listening: its notification is never delivered to A.
    await b.put('fleet', 'while-down', 'seen')
    await within(1000, () => a.get('fleet', 'while-down') === 'seen', 'catch-up after reconnect')
    assert.notEqual(a.listenerPid, before)
    assert.ok((a as unknown as { listener: { connects: number } }).listener.connects > connects)
    await b.put('fleet', 'after-reconnect', 'live')
    await within(1000, () => a.get('fleet', 'after-reconnect') === 'live', 'notifications after reconnect')
  })

  it('lives through a pooled connection killed between two queries of a checked-out client', async () => {
    const a = await node()
    const c = await a.pool.connect()
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    await cluster.sql('SELECT pg_terminate_backend($1)', [pid])
    // pg emits 'error' on the idle-but-checked-out client now; unheard, it would kill the process.
    await new Promise((r) => setTimeout(r, 200))
    await assert.rejects(c.query('SELECT 1'))
    c.release(true)
    await a.put('fleet', 'after-kill', 'ok')
    assert.equal(a.get('fleet', 'after-kill'), 'ok')
  })

  it('picks up a change whose notification was lost through the periodic backstop', async () => {
    const a = await node({ backstopMs: 300 })
    // A writer that commits rows and a change-log entry but no NOTIFY is a lost notification.
    await cluster.sql(`WITH w AS (INSERT INTO mrap_record (ns, k, v) VALUES ('fleet', 'silent', 'found') RETURNING 1)
      INSERT INTO mrap_change (entity, ns, k) SELECT 'record', 'fleet', 'silent' FROM w`)
    const ms = await within(1500, () => a.get('fleet', 'silent') === 'found', 'backstop')
    assert.ok(ms >= 0)
  })

  it('reloads in full when the change log was pruned past what a node saw', async () => {
    const a = await node()
    const b = await node()
    // A stops hearing notifications (and its backstop is a minute away), so it falls behind.
    await (a as unknown as { listener: { close(): Promise<void> } }).listener.close()
    await b.put('fleet', 'pruned', 'v')
    await cluster.sql(`UPDATE mrap_change SET at = now() - interval '1 hour'`)
    assert.ok((await b.pruneChanges(60_000)) > 0)
    const reloads: number[] = []
    a.onChange((c) => {
      if (c.kind === 'reload') reloads.push(1)
    })
    await a.sync()
    assert.equal(a.get('fleet', 'pruned'), 'v')
    assert.equal(reloads.length, 1)
  })

  it('each node prunes the change log on a timer: rows past keepChangesMs go, newer ones stay', async () => {
    const b = await node()
    await b.put('fleet', 'old-change', '1')
    await cluster.sql(`UPDATE mrap_change SET at = now() - interval '2 hours' WHERE k = 'old-change'`)
    const a = await node({ keepChangesMs: 3_600_000, pruneEveryMs: 100 })
    await a.put('fleet', 'new-change', '2')
    const count = async (k: string): Promise<number> => Number((await cluster.sql<{ n: string }>('SELECT count(*) AS n FROM mrap_change WHERE k = $1', [k]))[0]!.n)
    const t0 = Date.now()
    while ((await count('old-change')) !== 0) {
      if (Date.now() - t0 > 3000) assert.fail('the old change was not pruned within 3 s')
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(await count('new-change'), 1, 'a change younger than keepChangesMs stays')
    // The records themselves are untouched: only the log of changes to them goes.
    assert.equal(a.get('fleet', 'old-change'), '1')
  })

  it('migrates once when several nodes start together, and refuses a schema newer than it knows', async () => {
    await cluster.sql('CREATE DATABASE fresh')
    const pools = [0, 1, 2].map(() => new pg.Pool({ ...cluster.config, database: 'fresh', max: 1 }))
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)))
      // One node applied every migration; the others waited on the lock and found nothing to do.
      assert.deepEqual(
        results.flat(),
        MIGRATIONS.map((m) => m.version),
      )
      assert.equal(results.filter((r) => r.length > 0).length, 1)
      const q = async (text: string): Promise<pg.QueryResult> => pools[0]!.query(text)
      assert.deepEqual(
        (await q('SELECT version FROM mrap_schema ORDER BY version')).rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      )
      await q(`INSERT INTO mrap_schema (version, name) VALUES (999, 'from the future')`)
      await assert.rejects(migrate(pools[0]!), /newer than this build knows/)
    } finally {
      for (const p of pools) await p.end()
    }
  })
})

/**
 * @module Control state shared by a fleet of nodes through PostgreSQL (docs/decisions/shared-state.md).
 *
 * Every node keeps the whole control state in memory (it is small) and serves reads from there.
 * A write runs in one transaction that takes the write lock, changes the rows, appends one
 * `mrap_change` row per changed entity and NOTIFYs; it resolves after COMMIT, with this node's
 * cache already updated. Other nodes learn of it from the notification (a hint) or from the
 * periodic backstop, and in both cases catch up by reading the change log past the last seq
 * they saw, re-reading the changed entities in the same snapshot.
 *
 * The write lock makes seq order equal commit order: without it a reader could see seq 11
 * committed while seq 10 is still in flight, move past 10 and never see it. Control writes are
 * rare (a human or `mrap world apply`), so serialising them costs nothing that matters.
 */
import pg from 'pg'
import type { BucketRecord } from '../control-store.js'
import { type BucketPatch, ChangeFeed, patchBucket, type StateChange, type StateOp, type StateStore } from '../state-store.js'
import { guardPool, unavailable } from './errors.js'
import { CHANNEL, ChangeListener } from './listener.js'
import { migrate, WRITE_LOCK } from './schema.js'

export interface PgStateOptions {
  /** A connection string (`postgres://…`) or a pg client config. */
  connection: string | pg.ClientConfig
  /** How often to catch up without a notification (the backstop for lost notifications). */
  backstopMs?: number
  /** Listener liveness check interval (half-open sockets raise no error). */
  pingMs?: number
  /** Connect and query timeout: past it the database counts as down and writes get 503. */
  timeoutMs?: number
  poolSize?: number
  /**
   * How long change-log rows are kept (default a day), and how often each node drops older ones
   * (default hourly). A node that was away longer than that reloads everything on return, so the
   * log only has to cover short absences; without pruning it grows with every change, forever.
   */
  keepChangesMs?: number
  pruneEveryMs?: number
  /** Background failures (catch-up while the database is down); the store keeps serving. */
  onError?: (err: unknown) => void
}

type Entry<T> = { value: T | undefined; seq: number }
type Changed = { entity: 'bucket' | 'record'; ns: string; k: string }

const recKey = (ns: string, k: string): string => `${ns}\u0000${k}`

export class PgStateStore implements StateStore {
  readonly backend = 'postgres' as const
  readonly pool: pg.Pool
  private readonly feed = new ChangeFeed()
  private readonly buckets = new Map<string, Entry<BucketRecord>>()
  private readonly records = new Map<string, Map<string, Entry<string>>>()
  private readonly listener: ChangeListener
  private readonly opts: Required<Omit<PgStateOptions, 'onError' | 'connection'>> & Pick<PgStateOptions, 'onError'>
  /** The highest change seq this cache reflects. */
  private seenSeq = 0
  /**
   * Change-log seqs of this node's writes between their INSERT and the cache update after COMMIT.
   * The NOTIFY of a write can reach this node's listener, and its catch-up can read the committed
   * row, before the writer sees its own COMMIT answer; the catch-up leaves those entities to the
   * writer, so its own change is reported once, as local.
   */
  private readonly ownSeqs = new Set<number>()
  private catching: Promise<void> | undefined
  private again = false
  private backstop: NodeJS.Timeout | undefined
  private pruner: NodeJS.Timeout | undefined
  private closed = false
  /** Catch-ups done (tests wait on it). */
  catchUps = 0

  private constructor(options: PgStateOptions) {
    this.opts = { backstopMs: 5000, pingMs: 5000, timeoutMs: 3000, poolSize: 5, keepChangesMs: 86_400_000, pruneEveryMs: 3_600_000, ...options }
    const base: pg.ClientConfig = typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection
    const config: pg.PoolConfig = {
      ...base,
      max: this.opts.poolSize,
      keepAlive: true,
      connectionTimeoutMillis: this.opts.timeoutMs,
      query_timeout: this.opts.timeoutMs,
    }
    this.pool = new pg.Pool(config)
    guardPool(this.pool, (err) => this.opts.onError?.(err))
    this.listener = new ChangeListener({ config: base, hint: () => this.requestCatchUp(), pingMs: this.opts.pingMs, maxBackoffMs: 2000 })
  }

  /** Migrates, loads everything, then starts listening. Fails (no partial node) if the database is down. */
  static async open(options: PgStateOptions): Promise<PgStateStore> {
    const store = new PgStateStore(options)
    try {
      await migrate(store.pool)
      await store.reload()
    } catch (err) {
      await store.pool.end().catch(() => undefined)
      throw err
    }
    await store.listener.start()
    store.backstop = setInterval(() => store.requestCatchUp(), store.opts.backstopMs)
    store.backstop.unref()
    // Every node prunes (no leader to lose); the deletes are idempotent and the watermark only rises.
    store.pruner = setInterval(() => {
      store.pruneChanges(store.opts.keepChangesMs).catch((err: unknown) => store.opts.onError?.(err))
    }, store.opts.pruneEveryMs)
    store.pruner.unref()
    return store
  }

  /** Whether the LISTEN connection is up (false while the database is unreachable). */
  get listening(): boolean {
    return this.listener.listening
  }
  get listenerPid(): number | undefined {
    return this.listener.pid
  }

  getBucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name)?.value
  }
  listBuckets(): BucketRecord[] {
    const out: BucketRecord[] = []
    for (const e of this.buckets.values()) if (e.value) out.push(e.value)
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  get(ns: string, key: string): string | undefined {
    return this.records.get(ns)?.get(key)?.value
  }
  list(ns: string): { key: string; value: string }[] {
    const out: { key: string; value: string }[] = []
    for (const [key, e] of this.records.get(ns) ?? []) if (e.value !== undefined) out.push({ key, value: e.value })
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async put(ns: string, key: string, value: string): Promise<void> {
    await this.write([{ op: 'put', ns, key, value }])
  }
  async delete(ns: string, key: string): Promise<void> {
    await this.write([{ op: 'delete', ns, key }])
  }
  async putBucket(bucket: BucketRecord): Promise<void> {
    await this.write([{ op: 'putBucket', bucket }])
  }
  async deleteBucket(name: string): Promise<void> {
    await this.write([{ op: 'deleteBucket', name }])
  }

  async updateBucket(name: string, patch: BucketPatch): Promise<BucketRecord | undefined> {
    let next: BucketRecord | undefined
    await this.transact(
      async (c) => {
        const r = await c.query<{ doc: unknown }>('SELECT doc FROM mrap_bucket WHERE name = $1', [name])
        if (!r.rows[0]) return undefined
        next = patchBucket(bucketFromDoc(r.rows[0].doc), patch)
        await c.query('UPDATE mrap_bucket SET doc = $2 WHERE name = $1', [name, JSON.stringify(bucketToDoc(next))])
        return [{ entity: 'bucket', ns: '', k: name }]
      },
      (seq) => {
        if (next) this.setBucket(name, next, seq, true)
      },
    )
    return next
  }

  async write(ops: StateOp[]): Promise<boolean> {
    let ok = false
    await this.transact(
      async (c) => {
        for (const o of ops) {
          if (o.op === 'expect') {
            const r = await c.query<{ v: string }>('SELECT v FROM mrap_record WHERE ns = $1 AND k = $2', [o.ns, o.key])
            if (r.rows[0]?.v !== o.value) return undefined
          } else if (o.op === 'expectBucket') {
            const r = await c.query('SELECT 1 FROM mrap_bucket WHERE name = $1', [o.name])
            if ((r.rowCount === 1) !== o.exists) return undefined
          }
        }
        const changed: Changed[] = []
        for (const o of ops) {
          if (o.op === 'put') {
            await c.query(`INSERT INTO mrap_record (ns, k, v) VALUES ($1, $2, $3) ON CONFLICT (ns, k) DO UPDATE SET v = EXCLUDED.v`, [o.ns, o.key, o.value])
            changed.push({ entity: 'record', ns: o.ns, k: o.key })
          } else if (o.op === 'delete') {
            await c.query('DELETE FROM mrap_record WHERE ns = $1 AND k = $2', [o.ns, o.key])
            changed.push({ entity: 'record', ns: o.ns, k: o.key })
          } else if (o.op === 'putBucket') {
            await c.query(`INSERT INTO mrap_bucket (name, doc) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc`, [
              o.bucket.name,
              JSON.stringify(bucketToDoc(o.bucket)),
            ])
            changed.push({ entity: 'bucket', ns: '', k: o.bucket.name })
          } else if (o.op === 'deleteBucket') {
            await c.query('DELETE FROM mrap_bucket WHERE name = $1', [o.name])
            changed.push({ entity: 'bucket', ns: '', k: o.name })
          }
        }
        ok = true
        return changed
      },
      (seq) => {
        for (const o of ops) {
          if (o.op === 'put') this.setRecord(o.ns, o.key, o.value, seq, true)
          else if (o.op === 'delete') this.setRecord(o.ns, o.key, undefined, seq, true)
          else if (o.op === 'putBucket') this.setBucket(o.bucket.name, o.bucket, seq, true)
          else if (o.op === 'deleteBucket') this.setBucket(o.name, undefined, seq, true)
        }
      },
    )
    return ok
  }

  /**
   * One write transaction. `body` returns the changed entities, or undefined to roll back (a
   * guard failed). `applied` updates this node's cache after COMMIT with the write's seq, so the
   * caller reads its own write as soon as the promise resolves.
   */
  private async transact(body: (c: pg.PoolClient) => Promise<Changed[] | undefined>, applied: (seq: number) => void): Promise<void> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw unavailable(err)
    }
    let broken: Error | undefined
    const mine: number[] = []
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK.toString()])
      const changed = await body(client)
      if (!changed) {
        await client.query('ROLLBACK')
        return
      }
      let seq = 0
      if (changed.length > 0) {
        const r = await client.query<{ seq: string }>(`INSERT INTO mrap_change (entity, ns, k) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) RETURNING seq`, [
          changed.map((c) => c.entity),
          changed.map((c) => c.ns),
          changed.map((c) => c.k),
        ])
        for (const x of r.rows) {
          const n = Number(x.seq)
          mine.push(n)
          this.ownSeqs.add(n)
        }
        seq = Math.max(...mine)
        // The payload is only a hint; readers go to the change log for the truth.
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(seq)])
      }
      await client.query('COMMIT')
      applied(seq)
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err))
      await client.query('ROLLBACK').catch(() => undefined)
      // A commit whose answer was lost may have happened: the caller gets 503 and retries, and
      // the writes are idempotent puts. The catch-up will show this node whatever did commit,
      // reading again from before this write (a catch-up meanwhile skipped it as the writer's own).
      if (mine.length > 0) this.seenSeq = Math.min(this.seenSeq, Math.min(...mine) - 1)
      this.requestCatchUp()
      throw unavailable(err)
    } finally {
      for (const n of mine) this.ownSeqs.delete(n)
      client.release(broken)
    }
  }

  private setRecord(ns: string, key: string, value: string | undefined, seq: number, local: boolean): void {
    let m = this.records.get(ns)
    if (!m) {
      m = new Map()
      this.records.set(ns, m)
    }
    const cur = m.get(key)
    // A catch-up whose snapshot is older than this node's own write must not undo it.
    if (cur && cur.seq > seq) return
    m.set(key, { value, seq })
    if (cur?.value !== value) this.feed.emit({ kind: 'record', ns, key, value, local })
  }

  private setBucket(name: string, bucket: BucketRecord | undefined, seq: number, local: boolean): void {
    const cur = this.buckets.get(name)
    if (cur && cur.seq > seq) return
    this.buckets.set(name, { value: bucket, seq })
    if (canonical(cur?.value) !== canonical(bucket)) this.feed.emit({ kind: 'bucket', name, bucket, local })
  }

  /** Coalesces hints: one catch-up at a time, and one more if hinted while it ran. */
  requestCatchUp(): void {
    if (this.closed) return
    if (this.catching) {
      this.again = true
      return
    }
    this.catching = this.catchUp()
      .catch((err: unknown) => this.opts.onError?.(err))
      .finally(() => {
        this.catching = undefined
        if (this.again) {
          this.again = false
          this.requestCatchUp()
        }
      })
  }

  /** Resolves once a catch-up that started after this call has finished (tests, admin). */
  async sync(): Promise<void> {
    if (this.catching) await this.catching
    await this.catchUp()
  }

  private async catchUp(): Promise<void> {
    await this.snapshot(async (c) => {
      const { top, pruned } = await topSeq(c)
      if (top <= this.seenSeq) return
      if (pruned > this.seenSeq) {
        await this.load(c)
        return
      }
      const r = await c.query<{ entity: string; ns: string; k: string; seq: string; v: string | null; doc: unknown }>(
        `SELECT c.entity, c.ns, c.k, c.seq, r.v, b.doc
         FROM (SELECT entity, ns, k, max(seq) AS seq FROM mrap_change WHERE seq > $1 GROUP BY entity, ns, k) c
         LEFT JOIN mrap_record r ON c.entity = 'record' AND r.ns = c.ns AND r.k = c.k
         LEFT JOIN mrap_bucket b ON c.entity = 'bucket' AND b.name = c.k`,
        [this.seenSeq],
      )
      for (const row of r.rows) {
        if (this.ownSeqs.has(Number(row.seq))) continue // this node's write, applied by its writer
        if (row.entity === 'record') this.setRecord(row.ns, row.k, row.v ?? undefined, top, false)
        else this.setBucket(row.k, row.doc == null ? undefined : bucketFromDoc(row.doc), top, false)
      }
      this.seenSeq = Math.max(this.seenSeq, top)
    })
    this.catchUps++
  }

  private async reload(): Promise<void> {
    await this.snapshot((c) => this.load(c))
  }

  /** Replaces the cache with a snapshot, keeping what this node wrote after the snapshot's seq. */
  private async load(c: pg.PoolClient): Promise<void> {
    const { top } = await topSeq(c)
    const bs = await c.query<{ name: string; doc: unknown }>('SELECT name, doc FROM mrap_bucket')
    const rs = await c.query<{ ns: string; k: string; v: string }>('SELECT ns, k, v FROM mrap_record')
    const seenB = new Set<string>()
    const seenR = new Set<string>()
    for (const b of bs.rows) {
      seenB.add(b.name)
      this.setBucket(b.name, bucketFromDoc(b.doc), top, false)
    }
    for (const r of rs.rows) {
      seenR.add(recKey(r.ns, r.k))
      this.setRecord(r.ns, r.k, r.v, top, false)
    }
    for (const name of [...this.buckets.keys()]) if (!seenB.has(name)) this.setBucket(name, undefined, top, false)
    for (const [ns, m] of this.records) for (const k of [...m.keys()]) if (!seenR.has(recKey(ns, k))) this.setRecord(ns, k, undefined, top, false)
    this.seenSeq = Math.max(this.seenSeq, top)
    this.feed.emit({ kind: 'reload' })
  }

  /** A read-only REPEATABLE READ transaction: the change log and the rows from one snapshot. */
  private async snapshot(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect()
    let broken: Error | undefined
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      await fn(client)
      await client.query('COMMIT')
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err))
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release(broken)
    }
  }

  /** Drops change rows older than `olderThanMs`; nodes that were behind them reload in full. */
  async pruneChanges(olderThanMs: number): Promise<number> {
    let n = 0
    await this.transact(
      async (c) => {
        const r = await c.query<{ top: string | null; n: string }>(
          `WITH d AS (DELETE FROM mrap_change WHERE at < now() - $1 * interval '1 millisecond' RETURNING seq)
         SELECT max(seq) AS top, count(*) AS n FROM d`,
          [olderThanMs],
        )
        n = Number(r.rows[0]?.n ?? 0)
        if (r.rows[0]?.top) await c.query(`UPDATE mrap_meta SET v = $1 WHERE k = 'pruned_seq' AND v::bigint < $1::bigint`, [r.rows[0].top])
        return []
      },
      () => undefined,
    )
    return n
  }

  onChange(listener: (change: StateChange) => void): () => void {
    return this.feed.on(listener)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.backstop)
    clearInterval(this.pruner)
    await this.listener.close()
    await this.catching
    await this.pool.end().catch(() => undefined)
  }
}

/**
 * The newest seq the database has seen, and the seq below which the log was pruned. A log pruned
 * empty has no max(seq), so the watermark stands in for it (else a node would think itself current).
 */
async function topSeq(c: pg.PoolClient): Promise<{ top: number; pruned: number }> {
  const r = await c.query<{ top: string | null; pruned: string }>(`SELECT (SELECT max(seq) FROM mrap_change) AS top, (SELECT v FROM mrap_meta WHERE k = 'pruned_seq') AS pruned`)
  const pruned = Number(r.rows[0]?.pruned ?? 0)
  return { top: Math.max(Number(r.rows[0]?.top ?? 0), pruned), pruned }
}

/** JSON with sorted keys: jsonb reorders keys, so plain JSON.stringify would see changes that are not. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  )
}

/** Dates become ISO strings in JSON; everything else in a BucketRecord is plain data. */
function bucketToDoc(b: BucketRecord): Record<string, unknown> {
  return { ...b, createdAt: b.createdAt.toISOString() }
}
function bucketFromDoc(doc: unknown): BucketRecord {
  const d = doc as Record<string, unknown>
  return { ...(d as unknown as BucketRecord), createdAt: new Date(d.createdAt as string) }
}

/**
 * @module A lease queue in PostgreSQL, shared by every node: async S3 Control operations and
 * replication tasks (docs/decisions/shared-state.md). Written in-house because the libraries with
 * per-key FIFO and heartbeats need Node 22 (pg-boss 12, graphile-worker 0.18).
 *
 * - Claim: a short transaction picks ready rows with FOR UPDATE SKIP LOCKED and writes a lease
 *   (owner, random token, expiry); the work happens outside any transaction.
 * - A claimable task is the head of its key (no older task with the same key exists), so one
 *   key's tasks run one at a time, in enqueue order, whichever node holds them; a failing head
 *   blocks only its own key.
 * - A lease not renewed by `heartbeat` expires and the task becomes claimable again, so a node
 *   that died mid-task leaves it to another. Finishing is fenced by the token: a worker whose
 *   lease expired cannot complete or fail a task someone else now holds.
 * - Times are the database's (`now()`), so node clocks may disagree without breaking leases.
 */
import type pg from 'pg'
import { guardPool, unavailable } from './errors.js'

export interface Lease {
  id: number
  key: string
  payload: string
  token: string
  /** 1 on the first claim. */
  attempts: number
}

export interface LeaseQueueOptions {
  queue: string
  /** Names this node in `lease_owner` (diagnostics only; the token does the fencing). */
  owner: string
  leaseMs: number
}

export type FailOutcome = 'retry' | 'dead' | 'lost'

export class LeaseQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: LeaseQueueOptions,
  ) {
    guardPool(pool)
  }

  /**
   * Appends a task for `key`. With `dedupe`, a task with the same dedupe id still queued makes
   * this a no-op (an async operation retried by its client); resolves to the id, or undefined.
   */
  async enqueue(key: string, payload: string, o: { dedupe?: string; delayMs?: number } = {}): Promise<number | undefined> {
    return this.tx(async (c) => {
      // Two nodes enqueueing one key at once: the per-key lock makes id order equal commit
      // order, so a task never becomes visible behind a younger task of its key.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [this.opts.queue, key])
      const r = await c.query<{ id: string }>(
        `INSERT INTO mrap_task (queue, key, dedupe, payload, run_after) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
         ON CONFLICT (queue, dedupe) WHERE dedupe IS NOT NULL DO NOTHING RETURNING id`,
        [this.opts.queue, key, o.dedupe ?? null, payload, o.delayMs ?? 0],
      )
      return r.rows[0] ? Number(r.rows[0].id) : undefined
    })
  }

  /** Leases up to `limit` ready head-of-key tasks to this node. */
  async claim(limit = 1): Promise<Lease[]> {
    const r = await this.query<{ id: string; key: string; payload: string; lease_token: string; attempts: number }>(
      `WITH c AS (
         SELECT t.id FROM mrap_task t
         WHERE t.queue = $1 AND t.run_after <= now() AND (t.lease_expires_at IS NULL OR t.lease_expires_at < now())
           AND NOT EXISTS (SELECT 1 FROM mrap_task p WHERE p.queue = t.queue AND p.key = t.key AND p.id < t.id)
         ORDER BY t.id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE mrap_task t SET lease_owner = $3, lease_token = gen_random_uuid(),
         lease_expires_at = now() + $4 * interval '1 millisecond', attempts = t.attempts + 1
       FROM c WHERE t.id = c.id RETURNING t.id, t.key, t.payload, t.lease_token, t.attempts`,
      [this.opts.queue, limit, this.opts.owner, this.opts.leaseMs],
    )
    return r.rows.map((x) => ({ id: Number(x.id), key: x.key, payload: x.payload, token: x.lease_token, attempts: x.attempts })).sort((a, b) => a.id - b.id)
  }

  /** Extends the lease; false when it was lost (expired and taken, or finished elsewhere): stop working. */
  async heartbeat(lease: Lease): Promise<boolean> {
    const r = await this.query(
      `UPDATE mrap_task SET lease_expires_at = now() + $3 * interval '1 millisecond'
       WHERE id = $1 AND lease_token = $2 AND lease_expires_at >= now()`,
      [lease.id, lease.token, this.opts.leaseMs],
    )
    return r.rowCount === 1
  }

  /** Removes the finished task; false when the lease was lost (another holder's result counts). */
  async complete(lease: Lease): Promise<boolean> {
    const r = await this.query('DELETE FROM mrap_task WHERE id = $1 AND lease_token = $2', [lease.id, lease.token])
    return r.rowCount === 1
  }

  /**
   * Gives the task back to run again after `retryMs`, or, past `maxAttempts`, moves it to
   * `mrap_task_dead` so its key's next task can run.
   */
  async fail(lease: Lease, error: string, o: { retryMs: number; maxAttempts: number }): Promise<FailOutcome> {
    return this.tx(async (c) => {
      const cur = await c.query<{ attempts: number }>('SELECT attempts FROM mrap_task WHERE id = $1 AND lease_token = $2 FOR UPDATE', [lease.id, lease.token])
      const row = cur.rows[0]
      if (!row) return 'lost'
      if (row.attempts >= o.maxAttempts) {
        await c.query(
          `INSERT INTO mrap_task_dead (id, queue, key, payload, attempts, last_error, created_at)
          SELECT id, queue, key, payload, attempts, $2, created_at FROM mrap_task WHERE id = $1`,
          [lease.id, error],
        )
        await c.query('DELETE FROM mrap_task WHERE id = $1', [lease.id])
        return 'dead'
      }
      await c.query(
        `UPDATE mrap_task SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, last_error = $2,
        run_after = now() + $3 * interval '1 millisecond' WHERE id = $1`,
        [lease.id, error, o.retryMs],
      )
      return 'retry'
    })
  }

  /** Tasks queued (leased or not), for metrics and drain checks. */
  async depth(): Promise<number> {
    const r = await this.query<{ n: string }>('SELECT count(*) AS n FROM mrap_task WHERE queue = $1', [this.opts.queue])
    return Number(r.rows[0]?.n ?? 0)
  }

  async dead(): Promise<{ id: number; key: string; payload: string; lastError: string | null }[]> {
    const r = await this.query<{ id: string; key: string; payload: string; last_error: string | null }>(
      'SELECT id, key, payload, last_error FROM mrap_task_dead WHERE queue = $1 ORDER BY id',
      [this.opts.queue],
    )
    return r.rows.map((x) => ({ id: Number(x.id), key: x.key, payload: x.payload, lastError: x.last_error }))
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params)
    } catch (err) {
      throw unavailable(err)
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw unavailable(err)
    }
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const out = await fn(client)
      await client.query('COMMIT')
      return out
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err))
      await client.query('ROLLBACK').catch(() => undefined)
      throw unavailable(err)
    } finally {
      client.release(broken)
    }
  }
}

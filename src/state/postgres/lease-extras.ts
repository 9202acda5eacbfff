/**
 * @module What the replication worker needs from the lease queue's tables beyond `LeaseQueue`
 * (docs/decisions/replication.md §Fleet): a completion that counts itself, the fleet-wide counts,
 * whether given tasks are still queued, and waking tasks that wait out a backoff.
 */
import type pg from 'pg'
import { unavailable } from './errors.js'
import type { Lease } from './lease-queue.js'

async function query<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql, params)
  } catch (err) {
    throw unavailable(err)
  }
}

/**
 * Removes the finished task and counts it, in one statement: the counter moves exactly when a
 * fenced completion happened, so it can prove that no task was completed twice. False when the
 * lease was lost (another holder's result counts).
 */
export async function completeCounted(pool: pg.Pool, lease: Lease): Promise<boolean> {
  const r = await query(
    pool,
    `WITH d AS (DELETE FROM mrap_task WHERE id = $1 AND lease_token = $2 RETURNING queue)
    INSERT INTO mrap_task_done (queue, n) SELECT queue, 1 FROM d
    ON CONFLICT (queue) DO UPDATE SET n = mrap_task_done.n + 1`,
    [lease.id, lease.token],
  )
  return r.rowCount === 1
}

export interface FleetCounts {
  /** Tasks completed by any node since the database was created. */
  completed: number
  /** Tasks moved to the dead-letter table. */
  dead: number
  /** Tasks queued (leased or not). */
  queued: number
}

export async function fleetCounts(pool: pg.Pool, queue: string): Promise<FleetCounts> {
  const r = await query<{ done: string | null; dead: string; queued: string }>(
    pool,
    `SELECT
      (SELECT n FROM mrap_task_done WHERE queue = $1) AS done,
      (SELECT count(*) FROM mrap_task_dead WHERE queue = $1) AS dead,
      (SELECT count(*) FROM mrap_task WHERE queue = $1) AS queued`,
    [queue],
  )
  const row = r.rows[0]
  return { completed: Number(row?.done ?? 0), dead: Number(row?.dead ?? 0), queued: Number(row?.queued ?? 0) }
}

/** Whether any of these dedupe ids is still queued (leased or not); uses the dedupe index. */
export async function anyQueued(pool: pg.Pool, queue: string, dedupes: string[]): Promise<boolean> {
  if (dedupes.length === 0) return false
  const r = await query(pool, 'SELECT 1 FROM mrap_task WHERE queue = $1 AND dedupe = ANY($2::text[]) LIMIT 1', [queue, dedupes])
  return r.rowCount === 1
}

/** Makes every unleased task waiting out a backoff due now (a region came back). */
export async function wakeWaiting(pool: pg.Pool, queue: string): Promise<number> {
  const r = await query(pool, 'UPDATE mrap_task SET run_after = now() WHERE queue = $1 AND lease_token IS NULL AND run_after > now()', [queue])
  return r.rowCount ?? 0
}

export interface BacklogGroup {
  srcBucket: string
  ruleId: string
  destBucket: string
  ops: number
  bytes: number
  oldestMs: number
}

/**
 * The replication backlog per rule, aggregated by the database (metrics read it on demand, not per
 * request). Reads the fields `srcBucket`, `ruleId`, `destBucket`, `size`, `enqueuedMs` of the
 * payload JSON the replication queue writes.
 */
export async function replicationBacklog(pool: pg.Pool, queue: string): Promise<BacklogGroup[]> {
  const r = await query<{ src: string; rule: string; dest: string; ops: string; bytes: string | null; oldest: string | null }>(
    pool,
    `
    SELECT p->>'srcBucket' AS src, p->>'ruleId' AS rule, p->>'destBucket' AS dest, count(*) AS ops,
      sum((p->>'size')::bigint) AS bytes, min((p->>'enqueuedMs')::bigint) AS oldest
    FROM (SELECT payload::jsonb AS p FROM mrap_task WHERE queue = $1) t GROUP BY 1, 2, 3`,
    [queue],
  )
  return r.rows.map((x) => ({ srcBucket: x.src, ruleId: x.rule, destBucket: x.dest, ops: Number(x.ops), bytes: Number(x.bytes ?? 0), oldestMs: Number(x.oldest ?? 0) }))
}

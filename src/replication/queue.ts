/**
 * @module The replication queue: the interface the worker runs on, and the embedded (one node)
 * implementation, `<data-dir>/replication.db` (SQLite, WAL). The fleet implementation, on
 * PostgreSQL leases, is `pg-queue.ts`; `index.ts` picks one by the state backend.
 *
 * Embedded: a task is inserted synchronously by the write hooks, after the store committed the
 * version and before the response is sent, so an acknowledged write always has its task on disk (a
 * SIGKILL cannot lose a committed WAL frame; only power loss with synchronous=NORMAL could, which
 * the PENDING scan after an unclean stop covers for objects; see docs/decisions/replication.md).
 * In memory the queue is a FIFO per (source bucket, destination bucket, key): only the head of a
 * group runs, so the operations on one key reach the destination in the order they happened.
 */

import { join } from 'node:path'
import Database from 'better-sqlite3'

export type TaskKind = 'object' | 'marker' | 'metadata'

/** Another destination of the same object write (the source is COMPLETED when all are written). */
export interface TaskPeer {
  destBucket: string
  ruleId: string
}

export interface Task {
  seq: number
  kind: TaskKind
  srcBucket: string
  key: string
  versionId: string
  destBucket: string
  ruleId: string
  /** Bytes to copy (0 for markers and metadata). */
  size: number
  enqueuedMs: number
  /** Failed attempts before this one. */
  attempts: number
  nextMs: number
  lastError?: string
  /** Object tasks: every destination the write was enqueued for, this one included. */
  peers?: TaskPeer[]
}

export type NewTask = Omit<Task, 'seq' | 'attempts' | 'nextMs' | 'lastError'>

/** What became of a failed attempt: run again later, given up (dead-lettered), or not ours any more. */
export type RetryOutcome = 'retry' | 'dead' | 'lost'

/** Queued tasks of one rule (OperationsPendingReplication, BytesPendingReplication). */
export interface BacklogGroup {
  srcBucket: string
  ruleId: string
  destBucket: string
  ops: number
  bytes: number
  oldestMs: number
}

/** Counts kept in the shared database, the same whichever node reads them. */
export interface FleetFigures {
  completedOperations: number
  deadOperations: number
  queuedOperations: number
}

/**
 * The queue the worker runs on. A claimed task is this node's until `complete`, `retry` or
 * `drop`; with leases (`leaseMs` defined) it stays so only while `heartbeat` says true, and the
 * calls that finish it return false / 'lost' when another node took it over.
 */
export interface TaskQueue {
  /** Tasks are shared by several nodes: the startup scan runs at every start and relies on dedupe. */
  readonly shared: boolean
  /** Embedded: the previous run closed the queue cleanly (else the startup scan runs). */
  readonly wasClean: boolean
  /** How long a claim holds without a heartbeat; undefined when a claim cannot expire. */
  readonly leaseMs: number | undefined
  /** Persists the tasks before resolving (the write hooks await it before acknowledging). */
  enqueue(tasks: NewTask[]): Promise<void>
  /** Up to `limit` due tasks, each the head of its key, now held by this node. */
  claim(limit: number): Promise<Task[]>
  heartbeat(t: Task): Promise<boolean>
  /** Removes a finished task; `counted` false for one that had nothing to do. False: lease lost. */
  complete(t: Task, counted?: boolean): Promise<boolean>
  retry(t: Task, delayMs: number, error: string): Promise<RetryOutcome>
  /** Gives up on a task no retry can fix. */
  drop(t: Task, error: string): Promise<void>
  /** Whether an object task of t's version to another destination is still queued. */
  othersQueued(t: Task): Promise<boolean>
  /** Whether any object task of this version is queued (the embedded scan skips such versions). */
  hasObjectTask(srcBucket: string, key: string, versionId: string): boolean
  /** Tasks waiting out a backoff that `touches` a region that came back become due now. */
  wake(touches: (t: Task) => boolean): Promise<void>
  /** Tasks queued (by any node), running ones included. */
  depth(): Promise<number>
  /** Backlog per rule for metrics, synchronous (the fleet queue answers from its last refresh). */
  backlog(): BacklogGroup[]
  /** Fleet-wide counts, when the queue is shared (from the last refresh). */
  fleet(): FleetFigures | undefined
  /** Re-reads what `backlog` and `fleet` answer from. */
  refresh(): Promise<void>
  close(): Promise<void>
}

type Row = {
  seq: number
  kind: string
  src_bucket: string
  key: string
  version_id: string
  dest_bucket: string
  rule_id: string
  size: number
  enqueued_ms: number
  attempts: number
  next_ms: number
  last_error: string | null
}

const groupOf = (t: Pick<Task, 'srcBucket' | 'destBucket' | 'key'>): string => `${t.srcBucket}\u0000${t.destBucket}\u0000${t.key}`

export class SqliteTaskQueue implements TaskQueue {
  readonly shared = false
  readonly leaseMs = undefined
  /** Heads handed to the worker and not yet finished or postponed. */
  private readonly claimed = new Set<number>()
  private closed = false
  private readonly db: Database.Database
  private readonly groups = new Map<string, Task[]>()
  private readonly insert: Database.Statement
  private readonly remove: Database.Statement
  private readonly postponeRow: Database.Statement
  /** Whether the previous run closed the queue cleanly (else the startup scan runs). */
  readonly wasClean: boolean
  private count = 0
  private bytes = 0
  /** Queued object tasks per source version (a version is COMPLETED when its last one finishes). */
  private readonly objectTasks = new Map<string, number>()

  constructor(dataDir: string) {
    this.db = new Database(join(dataDir, 'replication.db'))
    this.db.pragma('journal_mode = WAL')
    // NORMAL in WAL mode: a commit survives a process kill (the WAL is written before the call
    // returns); only an OS crash can lose the last commits, and the startup scan repairs that.
    this.db.pragma('synchronous = NORMAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, src_bucket TEXT NOT NULL, key TEXT NOT NULL,
        version_id TEXT NOT NULL, dest_bucket TEXT NOT NULL, rule_id TEXT NOT NULL, size INTEGER NOT NULL,
        enqueued_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT
      );
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `)
    const clean = this.db.prepare("SELECT v FROM meta WHERE k = 'clean'").get() as { v: string } | undefined
    this.wasClean = clean?.v === '1'
    this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('clean', '0')").run()
    this.insert = this.db.prepare(`INSERT INTO tasks (kind, src_bucket, key, version_id, dest_bucket, rule_id, size, enqueued_ms, next_ms)
      VALUES (@kind, @srcBucket, @key, @versionId, @destBucket, @ruleId, @size, @enqueuedMs, @nextMs)`)
    this.remove = this.db.prepare('DELETE FROM tasks WHERE seq = ?')
    this.postponeRow = this.db.prepare('UPDATE tasks SET attempts = ?, next_ms = ?, last_error = ? WHERE seq = ?')
    for (const r of this.db.prepare('SELECT * FROM tasks ORDER BY seq').all() as Row[]) this.remember(fromRow(r))
  }

  /** Marks a clean stop: the next start skips the recovery scan. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('clean', '1')").run()
    this.db.close()
  }

  /** Synchronous underneath: the rows are committed before the returned promise exists. */
  enqueue(tasks: NewTask[]): Promise<void> {
    this.enqueueNow(tasks)
    return Promise.resolve()
  }

  /** Persists tasks in one transaction and returns them with their sequence numbers. */
  enqueueNow(tasks: NewTask[]): Task[] {
    if (tasks.length === 0) return []
    const out = this.db.transaction(() =>
      tasks.map((t) => {
        const { peers: _peers, ...rest } = t
        const full: Task = { ...rest, seq: 0, attempts: 0, nextMs: 0 }
        full.seq = Number(this.insert.run(full).lastInsertRowid)
        return full
      }),
    )()
    for (const t of out) this.remember(t)
    return out
  }

  async claim(limit: number): Promise<Task[]> {
    const now = Date.now()
    const out: Task[] = []
    for (const t of this.heads()) {
      if (out.length >= limit) break
      if (t.nextMs > now || this.claimed.has(t.seq)) continue
      this.claimed.add(t.seq)
      out.push(t)
    }
    return out
  }

  async heartbeat(): Promise<boolean> {
    return true
  }

  async complete(t: Task): Promise<boolean> {
    this.claimed.delete(t.seq)
    this.finish(t)
    return true
  }

  async retry(t: Task, delayMs: number, error: string): Promise<RetryOutcome> {
    this.claimed.delete(t.seq)
    this.postpone(t, Date.now() + delayMs, error)
    return 'retry'
  }

  /** Dropped, as S3 does: it needs Batch Replication to try again. */
  async drop(t: Task): Promise<void> {
    this.claimed.delete(t.seq)
    this.finish(t)
  }

  /** Asked before and after t's own removal: t itself is discounted only while still queued. */
  async othersQueued(t: Task): Promise<boolean> {
    const n = this.objectTasks.get(`${t.srcBucket}\u0000${t.key}\u0000${t.versionId}`) ?? 0
    const self = t.kind === 'object' && (this.groups.get(groupOf(t))?.some((x) => x.seq === t.seq) ?? false)
    return n - (self ? 1 : 0) > 0
  }

  async wake(touches: (t: Task) => boolean): Promise<void> {
    for (const t of this.heads()) if (!this.claimed.has(t.seq) && touches(t)) t.nextMs = 0
  }

  async depth(): Promise<number> {
    return this.count
  }

  backlog(): BacklogGroup[] {
    const groups = new Map<string, BacklogGroup>()
    for (const g of this.groups.values()) {
      for (const t of g) {
        const k = `${t.srcBucket}\u0000${t.ruleId}\u0000${t.destBucket}`
        let b = groups.get(k)
        if (!b) {
          b = { srcBucket: t.srcBucket, ruleId: t.ruleId, destBucket: t.destBucket, ops: 0, bytes: 0, oldestMs: t.enqueuedMs }
          groups.set(k, b)
        }
        b.ops++
        b.bytes += t.size
        b.oldestMs = Math.min(b.oldestMs, t.enqueuedMs)
      }
    }
    return [...groups.values()]
  }

  fleet(): undefined {
    return undefined
  }
  async refresh(): Promise<void> {}

  /** Removes a finished (or abandoned) task; returns the group's new head, if any. */
  finish(t: Task): Task | undefined {
    this.remove.run(t.seq)
    const g = this.groups.get(groupOf(t))
    if (!g) return undefined
    const i = g.findIndex((x) => x.seq === t.seq)
    if (i >= 0) {
      g.splice(i, 1)
      this.count--
      this.bytes -= t.size
      this.countObject(t, -1)
    }
    if (g.length === 0) {
      this.groups.delete(groupOf(t))
      return undefined
    }
    return g[0]
  }

  /** Records a failed attempt and when to try again. */
  postpone(t: Task, nextMs: number, error: string): void {
    t.attempts++
    t.nextMs = nextMs
    t.lastError = error
    this.postponeRow.run(t.attempts, nextMs, error.slice(0, 500), t.seq)
  }

  /** The first task of every group (only heads may run). */
  heads(): Task[] {
    const out: Task[] = []
    for (const g of this.groups.values()) if (g[0]) out.push(g[0])
    return out
  }

  /** Every queued task (metrics, tests). */
  all(): Task[] {
    return [...this.groups.values()].flat().sort((a, b) => a.seq - b.seq)
  }

  /** Whether an object task for this source version is still queued (to any destination). */
  hasObjectTask(srcBucket: string, key: string, versionId: string): boolean {
    return (this.objectTasks.get(`${srcBucket}\u0000${key}\u0000${versionId}`) ?? 0) > 0
  }

  get length(): number {
    return this.count
  }
  get backlogBytes(): number {
    return this.bytes
  }

  private remember(t: Task): void {
    const k = groupOf(t)
    let g = this.groups.get(k)
    if (!g) {
      g = []
      this.groups.set(k, g)
    }
    g.push(t)
    this.count++
    this.bytes += t.size
    this.countObject(t, 1)
  }

  private countObject(t: Task, d: number): void {
    if (t.kind !== 'object') return
    const k = `${t.srcBucket}\u0000${t.key}\u0000${t.versionId}`
    const n = (this.objectTasks.get(k) ?? 0) + d
    if (n > 0) this.objectTasks.set(k, n)
    else this.objectTasks.delete(k)
  }
}

function fromRow(r: Row): Task {
  const t: Task = {
    seq: r.seq,
    kind: r.kind as Task['kind'],
    srcBucket: r.src_bucket,
    key: r.key,
    versionId: r.version_id,
    destBucket: r.dest_bucket,
    ruleId: r.rule_id,
    size: r.size,
    enqueuedMs: r.enqueued_ms,
    attempts: r.attempts,
    nextMs: r.next_ms,
  }
  if (r.last_error !== null) t.lastError = r.last_error
  return t
}

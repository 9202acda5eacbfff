/**
 * @module The persisted replication queue: `<data-dir>/replication.db` (SQLite, WAL). A task is
 * inserted synchronously by the write hooks, after the store committed the version and before the
 * response is sent, so an acknowledged write always has its task on disk (a SIGKILL cannot lose a
 * committed WAL frame; only power loss with synchronous=NORMAL could, which the PENDING scan after
 * an unclean stop covers for objects; see docs/decisions/replication.md).
 *
 * In memory the queue is a FIFO per (source bucket, destination bucket, key): only the head of a
 * group runs, so the operations on one key reach the destination in the order they happened.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'

export type TaskKind = 'object' | 'marker' | 'metadata'

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
  attempts: number
  nextMs: number
  lastError?: string
}

type Row = {
  seq: number; kind: string; src_bucket: string; key: string; version_id: string; dest_bucket: string; rule_id: string
  size: number; enqueued_ms: number; attempts: number; next_ms: number; last_error: string | null
}

const groupOf = (t: Pick<Task, 'srcBucket' | 'destBucket' | 'key'>): string => `${t.srcBucket}\u0000${t.destBucket}\u0000${t.key}`

export class ReplicationQueue {
  private readonly db: Database.Database
  private readonly groups = new Map<string, Task[]>()
  private readonly insert: Database.Statement
  private readonly remove: Database.Statement
  private readonly retry: Database.Statement
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
    this.retry = this.db.prepare('UPDATE tasks SET attempts = ?, next_ms = ?, last_error = ? WHERE seq = ?')
    for (const r of this.db.prepare('SELECT * FROM tasks ORDER BY seq').all() as Row[]) this.remember(fromRow(r))
  }

  /** Marks a clean stop: the next start skips the recovery scan. */
  close(): void {
    this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('clean', '1')").run()
    this.db.close()
  }

  /** Persists tasks in one transaction (synchronously) and returns them with their sequence numbers. */
  enqueue(tasks: Omit<Task, 'seq' | 'attempts' | 'nextMs'>[]): Task[] {
    if (tasks.length === 0) return []
    const out = this.db.transaction(() => tasks.map((t) => {
      const full: Task = { ...t, seq: 0, attempts: 0, nextMs: 0 }
      full.seq = Number(this.insert.run(full).lastInsertRowid)
      return full
    }))()
    for (const t of out) this.remember(t)
    return out
  }

  /** Removes a finished (or abandoned) task; returns the group's new head, if any. */
  finish(t: Task): Task | undefined {
    this.remove.run(t.seq)
    const g = this.groups.get(groupOf(t))
    if (!g) return undefined
    const i = g.findIndex((x) => x.seq === t.seq)
    if (i >= 0) { g.splice(i, 1); this.count--; this.bytes -= t.size; this.countObject(t, -1) }
    if (g.length === 0) { this.groups.delete(groupOf(t)); return undefined }
    return g[0]
  }

  /** Records a failed attempt and when to try again. */
  postpone(t: Task, nextMs: number, error: string): void {
    t.attempts++
    t.nextMs = nextMs
    t.lastError = error
    this.retry.run(t.attempts, nextMs, error.slice(0, 500), t.seq)
  }

  /** The first task of every group (only heads may run). */
  heads(): Task[] {
    const out: Task[] = []
    for (const g of this.groups.values()) if (g[0]) out.push(g[0])
    return out
  }

  /** Every queued task (metrics, tests). */
  all(): Task[] { return [...this.groups.values()].flat().sort((a, b) => a.seq - b.seq) }

  /** Whether an object task for this source version is still queued (to any destination). */
  hasObjectTask(srcBucket: string, key: string, versionId: string): boolean {
    return (this.objectTasks.get(`${srcBucket}\u0000${key}\u0000${versionId}`) ?? 0) > 0
  }

  /** Whether another object task than `t` is queued for t's source version. */
  hasObjectTaskBesides(t: Task): boolean {
    return (this.objectTasks.get(`${t.srcBucket}\u0000${t.key}\u0000${t.versionId}`) ?? 0) > (t.kind === 'object' ? 1 : 0)
  }

  get length(): number { return this.count }
  get backlogBytes(): number { return this.bytes }

  private remember(t: Task): void {
    const k = groupOf(t)
    let g = this.groups.get(k)
    if (!g) { g = []; this.groups.set(k, g) }
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
    seq: r.seq, kind: r.kind as Task['kind'], srcBucket: r.src_bucket, key: r.key, versionId: r.version_id, destBucket: r.dest_bucket,
    ruleId: r.rule_id, size: r.size, enqueuedMs: r.enqueued_ms, attempts: r.attempts, nextMs: r.next_ms,
  }
  if (r.last_error !== null) t.lastError = r.last_error
  return t
}

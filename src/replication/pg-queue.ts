/**
 * @module The replication queue of a fleet: tasks in PostgreSQL's lease queue (queue
 * 'replication'), shared by every node (docs/decisions/replication.md §Fleet). Any node enqueues,
 * any node runs a task; one key's tasks run one at a time in enqueue order whichever node holds
 * them (the lease queue claims only the head of a key); a node that dies mid-task leaves it to
 * another when its lease expires.
 *
 * - The group key is (source, destination, key) as JSON: PostgreSQL text cannot hold the NUL the
 *   embedded queue separates them with, and object keys may contain any character, NUL included
 *   (JSON escapes it). Index entries are compressed, so even a 1024-byte key of escapes fits.
 * - Object and delete-marker tasks carry a dedupe id (kind, source, destination, rule, version,
 *   key): enqueueing one again while it is queued is a no-op, which makes the startup scan safe to
 *   run on every node start. Tag-sync tasks have none: the task reads the tags when it runs, so a
 *   change arriving while one runs must queue another.
 * - An enqueue that fails (the database unreachable) is refused to the client (503) and kept here
 *   to be enqueued again once the database answers, so the version does not wait for the next
 *   node start's scan; the scan still covers a node that dies first.
 */

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type pg from 'pg'
import { anyQueued, completeCounted, fleetCounts, replicationBacklog, wakeWaiting } from '../state/postgres/lease-extras.js'
import { type Lease, LeaseQueue } from '../state/postgres/lease-queue.js'
import type { BacklogGroup, FleetFigures, NewTask, RetryOutcome, Task, TaskQueue } from './queue.js'

export const REPLICATION_QUEUE = 'replication'

export interface PgQueueOptions {
  /** How long a claim holds without a heartbeat (a dead node's task waits this long). */
  leaseMs: number
  /** Failed attempts after which a task is dead-lettered (Infinity: transient errors retry forever, as embedded). */
  maxAttempts: number
  /** Names this node in the lease rows (diagnostics). */
  owner?: string
}

/** At most this many refused enqueues are kept for later; beyond, the startup scan is the net. */
const MAX_DEFERRED = 10_000

export const groupKey = (t: Pick<Task, 'srcBucket' | 'destBucket' | 'key'>): string => JSON.stringify([t.srcBucket, t.destBucket, t.key])
export const dedupeOf = (t: Pick<Task, 'kind' | 'srcBucket' | 'destBucket' | 'ruleId' | 'versionId' | 'key'>): string | undefined =>
  t.kind === 'metadata' ? undefined : JSON.stringify([t.kind, t.srcBucket, t.destBucket, t.ruleId, t.versionId, t.key])

export class PgTaskQueue implements TaskQueue {
  readonly shared = true
  readonly wasClean = false
  readonly leaseMs: number
  readonly owner: string
  private readonly q: LeaseQueue
  /**
   * Keyed by the claimed task object, not its id: a task whose lease was taken over and then expired
   * can be claimed again by this same node while the first attempt still runs, and each attempt must
   * heartbeat and complete with its own lease (the first one's complete is then refused, as fencing
   * intends, instead of completing with the second's token).
   */
  private readonly leases = new WeakMap<Task, Lease>()
  private deferred: NewTask[] = []
  private lastBacklog: BacklogGroup[] = []
  private lastFleet: FleetFigures | undefined

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgQueueOptions,
  ) {
    this.leaseMs = opts.leaseMs
    this.owner = opts.owner ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`
    this.q = new LeaseQueue(pool, { queue: REPLICATION_QUEUE, owner: this.owner, leaseMs: opts.leaseMs })
  }

  async enqueue(tasks: NewTask[]): Promise<void> {
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i]!
      try {
        const dedupe = dedupeOf(t)
        await this.q.enqueue(groupKey(t), JSON.stringify(t satisfies NewTask), dedupe === undefined ? {} : { dedupe })
      } catch (err) {
        this.defer(tasks.slice(i))
        throw err
      }
    }
  }

  /** Tasks refused while the database was unreachable, waiting to be enqueued. */
  get deferredCount(): number {
    return this.deferred.length
  }

  /** Enqueues what was refused earlier; stops at the first failure (the database is still away). */
  async flushDeferred(): Promise<void> {
    while (this.deferred.length > 0) {
      const t = this.deferred[0]!
      const dedupe = dedupeOf(t)
      await this.q.enqueue(groupKey(t), JSON.stringify(t), dedupe === undefined ? {} : { dedupe })
      this.deferred.shift()
    }
  }

  private defer(tasks: NewTask[]): void {
    this.deferred.push(...tasks)
    if (this.deferred.length > MAX_DEFERRED) this.deferred.splice(0, this.deferred.length - MAX_DEFERRED)
  }

  async claim(limit: number): Promise<Task[]> {
    const out: Task[] = []
    for (const l of await this.q.claim(limit)) {
      const p = JSON.parse(l.payload) as NewTask
      const t: Task = { ...p, seq: l.id, attempts: l.attempts - 1, nextMs: 0 }
      this.leases.set(t, l)
      out.push(t)
    }
    return out
  }

  /** A beat racing the task's own completion finds no lease: nothing to renew, nothing lost. */
  async heartbeat(t: Task): Promise<boolean> {
    const l = this.leases.get(t)
    return l ? this.q.heartbeat(l) : true
  }

  async complete(t: Task, counted = true): Promise<boolean> {
    const l = this.lease(t)
    const ok = counted ? await completeCounted(this.pool, l) : await this.q.complete(l)
    this.leases.delete(t)
    return ok
  }

  async retry(t: Task, delayMs: number, error: string): Promise<RetryOutcome> {
    const out = await this.q.fail(this.lease(t), error.slice(0, 500), { retryMs: delayMs, maxAttempts: this.opts.maxAttempts })
    this.leases.delete(t)
    return out
  }

  /** Kept in the dead-letter table with its reason (the embedded queue forgets it). */
  async drop(t: Task, error: string): Promise<void> {
    await this.q.fail(this.lease(t), error.slice(0, 500), { retryMs: 0, maxAttempts: 0 })
    this.leases.delete(t)
  }

  async othersQueued(t: Task): Promise<boolean> {
    const others = (t.peers ?? []).filter((p) => p.destBucket !== t.destBucket || p.ruleId !== t.ruleId).map((p) => dedupeOf({ ...t, destBucket: p.destBucket, ruleId: p.ruleId })!)
    return anyQueued(this.pool, REPLICATION_QUEUE, others)
  }

  /** The fleet relies on dedupe ids instead (a task may be queued by another node). */
  hasObjectTask(): boolean {
    return false
  }

  async wake(): Promise<void> {
    await wakeWaiting(this.pool, REPLICATION_QUEUE)
  }

  async depth(): Promise<number> {
    return (await this.q.depth()) + this.deferred.length
  }

  backlog(): BacklogGroup[] {
    return this.lastBacklog
  }
  fleet(): FleetFigures | undefined {
    return this.lastFleet
  }

  async refresh(): Promise<void> {
    const [backlog, counts] = await Promise.all([replicationBacklog(this.pool, REPLICATION_QUEUE), fleetCounts(this.pool, REPLICATION_QUEUE)])
    this.lastBacklog = backlog
    this.lastFleet = { completedOperations: counts.completed, deadOperations: counts.dead, queuedOperations: counts.queued }
  }

  /** The pool belongs to the state store, which closes it. */
  async close(): Promise<void> {}

  private lease(t: Task): Lease {
    const l = this.leases.get(t)
    if (!l) throw new Error(`replication task ${t.seq} is not held by this node`)
    return l
  }
}

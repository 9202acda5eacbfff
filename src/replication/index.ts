/**
 * @module Bucket replication (S3 CRR/SRR) for a running mrap: the hooks the S3 operations call, the
 * persisted queue, the worker and the metrics. `startReplication` installs the hooks on Core.
 *
 * Crash safety: a new version's PENDING status is decided before the store writes it and commits
 * with it (Core.replicationStatusOf), and the hooks resolve only once its task is persisted, before
 * the response: in SQLite synchronously, in PostgreSQL (a fleet) after the enqueue committed, and
 * an enqueue that fails refuses the write with 503. If the process dies between the two, the
 * version is PENDING with no task: the startup scan finds such versions and enqueues them again
 * (embedded: after an unclean stop; fleet: at every node start, made idempotent by dedupe ids).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html
 */
import type { Core, ReplicationHooks } from '../core/core.js'
import type { S3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import type { PgStateStore } from '../state/postgres/pg-state.js'
import type { DeleteResult, ObjectVersion, Tag } from '../storage/types.js'
import { markerRules, matchingRules, parseReplication, type ReplicationConfig, type ReplicationRule } from './config.js'
import { watchFaultFiles } from './faults.js'
import { ReplicationMetrics, type ReplicationSnapshot } from './metrics.js'
import { PgTaskQueue } from './pg-queue.js'
import { type NewTask, SqliteTaskQueue, type TaskKind, type TaskQueue } from './queue.js'
import { validateReplication } from './validate.js'
import { DEFAULT_WORKER_OPTIONS, ReplicationWorker, versionIn, type WorkerOptions } from './worker.js'

export type { ReplicationSnapshot } from './metrics.js'

export interface ReplicationOptions extends WorkerOptions {
  /** Fleet queue: how long a claim holds without a heartbeat (a dead node's task waits this long). */
  leaseMs: number
  /** Fleet queue: failed attempts before a task is dead-lettered; Infinity retries transient errors forever, as embedded. */
  maxAttempts: number
  /** Fleet queue: how often the database is polled for tasks other nodes enqueued. */
  pollMs: number
}

export const DEFAULT_REPLICATION_OPTIONS: ReplicationOptions = { ...DEFAULT_WORKER_OPTIONS, leaseMs: 30_000, maxAttempts: Infinity, pollMs: 200 }

/** The fleet's snapshot is re-read from the database at most this often (metrics scrapes, not requests). */
const FLEET_REFRESH_MS = 1000

export class ReplicationService {
  readonly queue: TaskQueue
  readonly metrics = new ReplicationMetrics()
  private readonly worker: ReplicationWorker
  /** Parsed configurations by their XML text (a bucket's text changes only on Put/Delete). */
  private readonly parsed = new Map<string, ReplicationConfig | null>()
  private stopFaults: () => void = () => {}
  private scan: Promise<void> = Promise.resolve()

  private refreshing: Promise<void> | undefined
  private refreshedAt = 0
  /** Fleet queue: re-enqueues writes refused while the database was away (paused worker or not). */
  private flushTimer: NodeJS.Timeout | undefined
  private flushEveryMs = 0
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly s: Core,
    opts: Partial<ReplicationOptions> = {},
  ) {
    const o = { ...DEFAULT_REPLICATION_OPTIONS, ...opts }
    if (s.state.backend === 'postgres') {
      const q = new PgTaskQueue((s.state as PgStateStore).pool, { leaseMs: o.leaseMs, maxAttempts: o.maxAttempts })
      this.queue = q
      this.worker = new ReplicationWorker(s, q, this.metrics, (b) => this.configOf(b), { ...o, tickMs: opts.tickMs ?? o.pollMs })
      this.flushEveryMs = o.pollMs
    } else {
      this.queue = new SqliteTaskQueue(s.config.dataDir)
      this.worker = new ReplicationWorker(s, this.queue, this.metrics, (b) => this.configOf(b), o)
    }
  }

  configOf(b: BucketRecord): ReplicationConfig | undefined {
    const xml = b.replication
    if (xml === undefined) return undefined
    let c = this.parsed.get(xml)
    if (c === undefined) {
      // Stored before validation existed: it cannot be honoured, and the operator must hear so.
      try {
        c = parseReplication(xml)
      } catch (e) {
        c = null
        this.s.log.warn({ bucket: b.name, err: e }, 'the stored replication configuration does not parse; the bucket does not replicate')
      }
      if (this.parsed.size > 1000) this.parsed.clear()
      this.parsed.set(xml, c)
    }
    return c ?? undefined
  }

  /** PENDING when a new version of `key` with `tags` in `bucket` will be replicated (stored with the version). */
  /** What the S3 operations call around every acknowledged write (installed on the core). */
  readonly hooks: ReplicationHooks = {
    statusFor: (b, key, tags, sseKms) => this.statusFor(b, key, tags, sseKms),
    written: (b, v) => this.onWritten(b, v),
    deleted: (b, key, res, requested) => this.onDeleted(b, key, res, requested),
    updated: (b, v) => this.onUpdated(b, v),
    validate: (b, doc) => this.validate(b, doc),
  }

  statusFor(b: BucketRecord, key: string, tags: readonly Tag[], sseKms = false): 'PENDING' | undefined {
    const cfg = this.configOf(b)
    return cfg && matchingRules(cfg, key, tags, sseKms).length > 0 ? 'PENDING' : undefined
  }

  async onWritten(b: BucketRecord, v: ObjectVersion): Promise<void> {
    if (v.replicationStatus !== 'PENDING') return
    const cfg = this.configOf(b)
    const rules = cfg ? matchingRules(cfg, v.key, v.tags, v.sseKmsKeyId !== undefined) : []
    if (rules.length === 0) {
      // The configuration changed between CreateMultipartUpload and Complete: nothing will replicate it.
      void this.s.stores
        .get(b.region)
        ?.updateObject(b.name, v.key, v.versionId, { replicationStatus: undefined })
        .catch((err: unknown) => this.s.log.warn({ err, bucket: b.name, key: v.key }, 'could not clear the replication status of a version no rule replicates'))
      return
    }
    await this.enqueue('object', b, v.key, v.versionId, rules, v.size)
  }

  /**
   * Delete markers replicate when the rule says so; deletes of a version id never do ("If you
   * specify an object version ID to delete in a DELETE request, Amazon S3 deletes that object
   * version in the source bucket. But it doesn't replicate the deletion in the destination").
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
   */
  async onDeleted(b: BucketRecord, key: string, r: DeleteResult, requestedVersionId?: string): Promise<void> {
    if (requestedVersionId !== undefined || !r.deleteMarker || r.versionId === undefined || r.versionId === 'null') return
    const cfg = this.configOf(b)
    if (cfg) await this.enqueue('marker', b, key, r.versionId, markerRules(cfg, key), 0)
  }

  /**
   * Tags changed on a version: a source version's change follows it to its replicas; a replica's
   * change goes back only under rules with ReplicaModifications (replica modification sync).
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-for-metadata-changes.html
   */
  async onUpdated(b: BucketRecord, v: ObjectVersion): Promise<void> {
    const cfg = this.configOf(b)
    if (!cfg || v.isDeleteMarker || v.versionId === 'null') return
    let rules: ReplicationRule[]
    if (v.replicationStatus === 'REPLICA') rules = matchingRules(cfg, v.key, v.tags, v.sseKmsKeyId !== undefined).filter((r) => r.replicaModifications)
    else if (v.replicationStatus === 'COMPLETED' || v.replicationStatus === 'PENDING') rules = matchingRules(cfg, v.key, v.tags, v.sseKmsKeyId !== undefined)
    else return
    await this.enqueue('metadata', b, v.key, v.versionId, rules, 0)
  }

  validate(b: BucketRecord, doc: Record<string, unknown>): S3Error | undefined {
    return validateReplication((n) => this.s.state.getBucket(n), b, doc)
  }

  /**
   * This node's counters with the backlog; with a fleet queue also the database's counts, as of
   * the last refresh (at most FLEET_REFRESH_MS old when read regularly; `snapshotNow` for fresh).
   */
  snapshot(): ReplicationSnapshot {
    if (this.queue.shared && Date.now() - this.refreshedAt > FLEET_REFRESH_MS) void this.refresh().catch(() => undefined)
    return this.metrics.snapshot(this.queue.backlog(), Date.now(), this.queue.fleet())
  }

  /** The snapshot with the fleet's figures read now (throws 503 when the database is unreachable). */
  async snapshotNow(): Promise<ReplicationSnapshot> {
    await this.refresh()
    return this.metrics.snapshot(this.queue.backlog(), Date.now(), this.queue.fleet())
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.queue
      .refresh()
      .then(() => {
        this.refreshedAt = Date.now()
      })
      .finally(() => {
        this.refreshing = undefined
      })
    return this.refreshing
  }

  /** Resolves when the startup scan for PENDING versions without a task has run. */
  recovery(): Promise<void> {
    return this.scan
  }

  /** Resolves when the backlog is empty (every node's, with a fleet queue) (tests and benchmarks). */
  async idle(): Promise<void> {
    await this.scan
    await this.worker.idle()
  }

  start(): void {
    this.stopFaults = watchFaultFiles(this.s)
    if (this.queue.shared || !this.queue.wasClean)
      this.scan = this.recover().catch((e: unknown) => {
        this.s.log.error({ err: e }, 'replication recovery scan failed')
      })
    const q = this.queue
    if (q instanceof PgTaskQueue) {
      this.flushTimer = setInterval(() => {
        if (q.deferredCount === 0) return
        this.flushing = this.flushing.then(() =>
          q.flushDeferred().then(
            () => this.worker.kick(),
            () => undefined,
          ),
        )
      }, this.flushEveryMs)
      this.flushTimer.unref()
    }
    this.worker.start()
  }

  /** Stops taking tasks (the running ones finish) while the hooks keep enqueueing; `resume` undoes it. */
  async pause(): Promise<void> {
    await this.worker.stop()
  }
  resume(): void {
    this.worker.start()
  }

  async stop(): Promise<void> {
    this.stopFaults()
    clearInterval(this.flushTimer)
    await this.flushing
    // A last try; what is still refused is found by the next node start's scan.
    if (this.queue instanceof PgTaskQueue) await this.queue.flushDeferred().catch(() => undefined)
    await this.worker.stop()
    await this.scan
    await this.queue.close()
  }

  private async enqueue(kind: TaskKind, b: BucketRecord, key: string, versionId: string, rules: ReplicationRule[], size: number): Promise<void> {
    if (rules.length === 0) return
    const now = Date.now()
    const peers = kind === 'object' ? rules.map((r) => ({ destBucket: r.destBucket, ruleId: r.id })) : undefined
    const tasks: NewTask[] = rules.map((r) => ({
      kind,
      srcBucket: b.name,
      key,
      versionId,
      destBucket: r.destBucket,
      ruleId: r.id,
      size,
      enqueuedMs: now,
      ...(peers ? { peers } : {}),
    }))
    await this.queue.enqueue(tasks)
    this.worker.kick()
  }

  /**
   * Every PENDING version without a queued task is enqueued again (its task may have been lost
   * with a process). Embedded: after an unclean stop, skipping versions with a task in memory.
   * Fleet: at every start; another node may hold the task, so the dedupe id makes a queued one a
   * no-op, and a destination that already has the version is skipped (its task completed while
   * the source's status was still being set). Replicas already written are not copied twice
   * either way (the worker skips a version id the destination has).
   */
  private async recover(): Promise<void> {
    let found = 0
    for (const b of this.s.state.listBuckets()) {
      const cfg = this.configOf(b)
      const store = this.s.stores.get(b.region)
      if (!cfg || !store) continue
      let keyMarker: string | undefined, versionIdMarker: string | undefined
      try {
        for (;;) {
          const page = await store.listVersions(b.name, {
            maxKeys: 1000,
            ...(keyMarker !== undefined ? { keyMarker } : {}),
            ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
          })
          for (const listed of page.versions) {
            // An engine's listing does not say which versions are PENDING: read those it leaves open.
            const v =
              listed.replicationStatus === undefined && !listed.isDeleteMarker && store.listsAttributes === false
                ? ((await versionIn(store, b.name, listed.key, listed.versionId).catch(() => undefined)) ?? listed)
                : listed
            if (v.replicationStatus !== 'PENDING' || this.queue.hasObjectTask(b.name, v.key, v.versionId)) continue
            let rules = matchingRules(cfg, v.key, v.tags, v.sseKmsKeyId !== undefined)
            if (this.queue.shared) rules = await this.notReplicated(rules, v)
            if (rules.length > 0) {
              await this.enqueue('object', b, v.key, v.versionId, rules, v.size)
              found++
            }
          }
          if (!page.isTruncated) break
          keyMarker = page.nextKeyMarker
          versionIdMarker = page.nextVersionIdMarker
        }
      } catch (e) {
        this.s.log.warn({ bucket: b.name, err: e }, 'replication recovery scan could not read the bucket; its PENDING versions are picked up at the next start that scans')
      }
    }
    if (found > 0) this.s.log.warn({ found }, 'replication: enqueued PENDING versions that had no task')
  }

  /** The rules whose destination does not have this version yet (or cannot be asked). */
  private async notReplicated(rules: ReplicationRule[], v: ObjectVersion): Promise<ReplicationRule[]> {
    const out: ReplicationRule[] = []
    for (const r of rules) {
      const dest = this.s.state.getBucket(r.destBucket)
      const store = dest && this.s.stores.get(dest.region)
      const there = store ? await versionIn(store, r.destBucket, v.key, v.versionId).catch(() => undefined) : undefined
      if (there?.etag !== v.etag) out.push(r)
    }
    return out
  }
}

/** Builds the replication service and starts it; the caller installs `hooks` on the core. */
export function startReplication(s: Core, opts: Partial<ReplicationOptions> = {}): ReplicationService {
  const r = new ReplicationService(s, opts)
  r.start()
  return r
}

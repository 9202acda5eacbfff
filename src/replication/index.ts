/**
 * @module Bucket replication (S3 CRR/SRR) for a running mrap: the hooks the S3 operations call, the
 * persisted queue, the worker and the metrics. `startReplication` installs the hooks on Core.
 *
 * Crash safety: a new version's PENDING status is decided before the store writes it and commits
 * with it (Core.replicationStatusOf), and the task is enqueued synchronously right after the
 * commit, before the response. If the process dies between the two, the version is PENDING with no
 * task: after an unclean stop the startup scan finds such versions and enqueues them again.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html
 */
import type { Core, ReplicationHooks } from '../core/core.js'
import type { BucketRecord } from '../state/control-store.js'
import type { DeleteResult, ObjectVersion, Tag } from '../storage/types.js'
import { S3Error } from '../shared/errors.js'
import { markerRules, matchingRules, parseReplication, type ReplicationConfig, type ReplicationRule } from './config.js'
import { watchFaultFiles } from './faults.js'
import { ReplicationMetrics, type ReplicationSnapshot } from './metrics.js'
import { ReplicationQueue, type Task, type TaskKind } from './queue.js'
import { validateReplication } from './validate.js'
import { DEFAULT_WORKER_OPTIONS, ReplicationWorker, type WorkerOptions } from './worker.js'

export type { ReplicationSnapshot } from './metrics.js'

export class ReplicationService {
  readonly queue: ReplicationQueue
  readonly metrics = new ReplicationMetrics()
  private readonly worker: ReplicationWorker
  /** Parsed configurations by their XML text (a bucket's text changes only on Put/Delete). */
  private readonly parsed = new Map<string, ReplicationConfig | null>()
  private stopFaults: () => void = () => {}
  private scan: Promise<void> = Promise.resolve()

  constructor(private readonly s: Core, opts: Partial<WorkerOptions> = {}) {
    this.queue = new ReplicationQueue(s.config.dataDir)
    this.worker = new ReplicationWorker(s, this.queue, this.metrics, (b) => this.configOf(b), { ...DEFAULT_WORKER_OPTIONS, ...opts })
  }

  configOf(b: BucketRecord): ReplicationConfig | undefined {
    const xml = b.replication
    if (xml === undefined) return undefined
    let c = this.parsed.get(xml)
    if (c === undefined) {
      // Stored before validation existed: it cannot be honoured, and the operator must hear so.
      try { c = parseReplication(xml) } catch (e) { c = null; this.s.log.warn({ bucket: b.name, err: e }, 'the stored replication configuration does not parse; the bucket does not replicate') }
      if (this.parsed.size > 1000) this.parsed.clear()
      this.parsed.set(xml, c)
    }
    return c ?? undefined
  }

  /** PENDING when a new version of `key` with `tags` in `bucket` will be replicated (stored with the version). */
  /** What the S3 operations call around every acknowledged write (installed on the core). */
  readonly hooks: ReplicationHooks = {
    statusFor: (b, key, tags) => this.statusFor(b, key, tags),
    written: (b, v) => this.onWritten(b, v),
    deleted: (b, key, res, requested) => this.onDeleted(b, key, res, requested),
    updated: (b, v) => this.onUpdated(b, v),
    validate: (b, doc) => this.validate(b, doc),
  }

  statusFor(b: BucketRecord, key: string, tags: readonly Tag[]): 'PENDING' | undefined {
    const cfg = this.configOf(b)
    return cfg && matchingRules(cfg, key, tags).length > 0 ? 'PENDING' : undefined
  }

  onWritten(b: BucketRecord, v: ObjectVersion): void {
    if (v.replicationStatus !== 'PENDING') return
    const cfg = this.configOf(b)
    const rules = cfg ? matchingRules(cfg, v.key, v.tags) : []
    if (rules.length === 0) {
      // The configuration changed between CreateMultipartUpload and Complete: nothing will replicate it.
      void this.s.stores.get(b.region)?.updateObject(b.name, v.key, v.versionId, { replicationStatus: undefined })
        .catch((err: unknown) => this.s.log.warn({ err, bucket: b.name, key: v.key }, 'could not clear the replication status of a version no rule replicates'))
      return
    }
    this.enqueue('object', b, v.key, v.versionId, rules, v.size)
  }

  /**
   * Delete markers replicate when the rule says so; deletes of a version id never do ("If you
   * specify an object version ID to delete in a DELETE request, Amazon S3 deletes that object
   * version in the source bucket. But it doesn't replicate the deletion in the destination").
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
   */
  onDeleted(b: BucketRecord, key: string, r: DeleteResult, requestedVersionId?: string): void {
    if (requestedVersionId !== undefined || !r.deleteMarker || r.versionId === undefined || r.versionId === 'null') return
    const cfg = this.configOf(b)
    if (cfg) this.enqueue('marker', b, key, r.versionId, markerRules(cfg, key), 0)
  }

  /**
   * Tags changed on a version: a source version's change follows it to its replicas; a replica's
   * change goes back only under rules with ReplicaModifications (replica modification sync).
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-for-metadata-changes.html
   */
  onUpdated(b: BucketRecord, v: ObjectVersion): void {
    const cfg = this.configOf(b)
    if (!cfg || v.isDeleteMarker || v.versionId === 'null') return
    let rules: ReplicationRule[]
    if (v.replicationStatus === 'REPLICA') rules = matchingRules(cfg, v.key, v.tags).filter((r) => r.replicaModifications)
    else if (v.replicationStatus === 'COMPLETED' || v.replicationStatus === 'PENDING') rules = matchingRules(cfg, v.key, v.tags)
    else return
    this.enqueue('metadata', b, v.key, v.versionId, rules, 0)
  }

  validate(b: BucketRecord, doc: Record<string, unknown>): S3Error | undefined {
    return validateReplication((n) => this.s.control.getBucket(n), b, doc)
  }

  snapshot(): ReplicationSnapshot { return this.metrics.snapshot(this.queue.all(), Date.now()) }

  /** Resolves when the backlog is empty (tests and benchmarks). */
  async idle(): Promise<void> { await this.scan; await this.worker.idle() }

  start(): void {
    this.stopFaults = watchFaultFiles(this.s)
    if (!this.queue.wasClean) this.scan = this.recover().catch((e: unknown) => { this.s.log.error({ err: e }, 'replication recovery scan failed') })
    this.worker.start()
  }

  async stop(): Promise<void> {
    this.stopFaults()
    await this.worker.stop()
    await this.scan
    this.queue.close()
  }

  private enqueue(kind: TaskKind, b: BucketRecord, key: string, versionId: string, rules: ReplicationRule[], size: number): Task[] {
    const now = Date.now()
    const out = this.queue.enqueue(rules.map((r) => ({ kind, srcBucket: b.name, key, versionId, destBucket: r.destBucket, ruleId: r.id, size, enqueuedMs: now })))
    if (out.length > 0) this.worker.kick()
    return out
  }

  /**
   * After an unclean stop: every PENDING version without a queued task is enqueued again (its
   * task may have been lost with the process). Replicas already written are not copied twice
   * (the worker skips a version id the destination has).
   */
  private async recover(): Promise<void> {
    let found = 0
    for (const b of this.s.control.listBuckets()) {
      const cfg = this.configOf(b)
      const store = this.s.stores.get(b.region)
      if (!cfg || !store) continue
      let keyMarker: string | undefined, versionIdMarker: string | undefined
      try {
        for (;;) {
          const page = await store.listVersions(b.name, { maxKeys: 1000, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}) })
          for (const v of page.versions) {
            if (v.replicationStatus !== 'PENDING' || this.queue.hasObjectTask(b.name, v.key, v.versionId)) continue
            const rules = matchingRules(cfg, v.key, v.tags)
            if (rules.length > 0) { this.enqueue('object', b, v.key, v.versionId, rules, v.size); found++ }
          }
          if (!page.isTruncated) break
          keyMarker = page.nextKeyMarker; versionIdMarker = page.nextVersionIdMarker
        }
      } catch (e) {
        this.s.log.warn({ bucket: b.name, err: e }, 'replication recovery scan could not read the bucket; its PENDING versions are picked up at the next unclean start')
      }
    }
    if (found > 0) this.s.log.warn({ found }, 'replication: re-enqueued PENDING versions after an unclean stop')
  }
}

/** Builds the replication service and starts it; the caller installs `hooks` on the core. */
export function startReplication(s: Core, opts: Partial<WorkerOptions> = {}): ReplicationService {
  const r = new ReplicationService(s, opts)
  r.start()
  return r
}

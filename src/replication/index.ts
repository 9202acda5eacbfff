/**
 * @module Bucket replication (S3 CRR/SRR) for a running mrap: the hooks the S3 operations call, the
 * persisted queue, the worker and the metrics. `startReplication` installs the hooks on Services.
 *
 * Crash safety: a new version's PENDING status is decided before the store writes it and commits
 * with it (Services.replicationStatusOf), and the task is enqueued synchronously right after the
 * commit, before the response. If the process dies between the two, the version is PENDING with no
 * task: after an unclean stop the startup scan finds such versions and enqueues them again.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html
 */
import type { Services } from '../services.js'
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

  constructor(private readonly s: Services, opts: Partial<WorkerOptions> = {}) {
    this.queue = new ReplicationQueue(s.config.dataDir)
    this.worker = new ReplicationWorker(s, this.queue, this.metrics, (b) => this.configOf(b), { ...DEFAULT_WORKER_OPTIONS, ...opts })
  }

  configOf(b: BucketRecord): ReplicationConfig | undefined {
    const xml = b.replication
    if (xml === undefined) return undefined
    let c = this.parsed.get(xml)
    if (c === undefined) {
      try { c = parseReplication(xml) } catch { c = null } // stored before validation existed: ignored
      if (this.parsed.size > 1000) this.parsed.clear()
      this.parsed.set(xml, c)
    }
    return c ?? undefined
  }

  /** PENDING when a new version of `key` with `tags` in `bucket` will be replicated (stored with the version). */
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
      void this.s.stores.get(b.region)?.updateObject(b.name, v.key, v.versionId, { replicationStatus: undefined }).catch(() => {})
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

/** Builds the replication service, installs its hooks on `s` and starts it. */
export function startReplication(s: Services, opts: Partial<WorkerOptions> = {}): ReplicationService {
  const r = new ReplicationService(s, opts)
  s.replicationStatusOf = (b, key, tags) => r.statusFor(b, key, tags)
  s.onObjectWritten = (b, v) => r.onWritten(b, v)
  s.onObjectDeleted = (b, key, res, requested) => r.onDeleted(b, key, res, requested)
  s.onObjectUpdated = (b, v) => r.onUpdated(b, v)
  s.validateReplication = (b, doc) => r.validate(b, doc)
  r.start()
  return r
}

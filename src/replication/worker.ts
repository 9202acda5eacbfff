/**
 * @module The replication worker: runs queued tasks with bounded concurrency, only the head of each
 * (source, destination, key) group so operations on a key arrive in order; retries with exponential
 * backoff while a region is unavailable (the task and the source's PENDING status stay); gives up
 * (status FAILED) only on errors a retry cannot fix: a missing destination, a role that may not.
 * Replica writes go straight to the destination store, never through the S3 operations, so they
 * fire no hooks: that is what keeps two-way replication from looping.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html
 */
import { createHash } from 'node:crypto'
import { PassThrough, pipeline } from 'node:stream'
import { S3Error } from '../shared/errors.js'
import type { Core } from '../core/core.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectAttributes, ObjectStore, ObjectVersion } from '../storage/types.js'
import type { ReplicationConfig } from './config.js'
import { actionsFor, roleMay, roleSession } from './permissions.js'
import type { ReplicationMetrics } from './metrics.js'
import type { ReplicationQueue, Task } from './queue.js'

/** An error no retry can fix: the version's status becomes FAILED. */
export class PermanentFailure extends Error {}
/** The version is gone from the source: nothing to replicate, no status to set. */
class Vanished extends Error {}

export interface WorkerOptions {
  concurrency: number
  baseBackoffMs: number
  maxBackoffMs: number
  tickMs: number
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = { concurrency: 16, baseBackoffMs: 100, maxBackoffMs: 5000, tickMs: 100 }

const gone = (e: unknown): boolean => e instanceof S3Error && (e.code === 'NoSuchVersion' || e.code === 'NoSuchKey' || e.code === 'MethodNotAllowed' || e.code === 'NoSuchBucket')

export class ReplicationWorker {
  private readonly running = new Map<number, Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private scheduled = false
  private stopped = true
  private readonly wasUp = new Map<string, boolean>()
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly s: Core,
    private readonly queue: ReplicationQueue,
    private readonly metrics: ReplicationMetrics,
    private readonly configOf: (b: BucketRecord) => ReplicationConfig | undefined,
    private readonly opts: WorkerOptions,
  ) {}

  start(): void {
    this.stopped = false
    this.timer = setInterval(() => this.tick(), this.opts.tickMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops taking tasks and waits for the ones running (they finish or stay queued). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.running.values()])
  }

  /** Schedules a pass over the queue on the next turn (coalesced). */
  kick(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => { this.scheduled = false; this.pump() })
  }

  /** Resolves when the queue is empty and nothing runs (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve()
    return new Promise((res) => this.idleWaiters.push(res))
  }

  private tick(): void {
    // A region that came back: its waiting tasks are due now, not at the end of their backoff.
    const back = new Set<string>()
    for (const region of this.s.stores.keys()) {
      const up = this.s.health.isUp(region)
      if (up && this.wasUp.get(region) === false) back.add(region)
      this.wasUp.set(region, up)
    }
    if (back.size > 0) {
      for (const t of this.queue.heads()) {
        const regions = [this.s.control.getBucket(t.srcBucket)?.region, this.s.control.getBucket(t.destBucket)?.region]
        if (regions.some((r) => r !== undefined && back.has(r))) t.nextMs = 0
      }
    }
    this.pump()
  }

  private pump(): void {
    if (this.stopped) return
    const now = Date.now()
    for (const t of this.queue.heads()) {
      if (this.running.size >= this.opts.concurrency) break
      if (t.nextMs > now || this.running.has(t.seq)) continue
      const p = this.run(t).finally(() => {
        this.running.delete(t.seq)
        if (this.queue.length === 0 && this.running.size === 0) { const w = this.idleWaiters; this.idleWaiters = []; for (const f of w) f() }
        this.kick()
      })
      this.running.set(t.seq, p)
    }
  }

  private async run(t: Task): Promise<void> {
    try {
      await this.process(t)
      this.metrics.completed(t, Date.now())
      this.queue.finish(t)
    } catch (e) {
      if (e instanceof Vanished) { this.queue.finish(t); return }
      if (e instanceof PermanentFailure) {
        this.s.log.warn({ task: t, reason: e.message }, 'replication failed')
        this.metrics.failed(t)
        if (t.kind === 'object') await this.setSourceStatus(t, 'FAILED').catch((err: unknown) => this.s.log.warn({ err, task: t }, 'could not mark the source version FAILED'))
        this.queue.finish(t)
        return
      }
      const wait = Math.min(this.opts.maxBackoffMs, this.opts.baseBackoffMs * 2 ** Math.min(t.attempts, 20))
      this.metrics.retried(t)
      this.queue.postpone(t, Date.now() + Math.round(wait * (0.5 + Math.random() / 2)), (e as Error).message || String(e))
    }
  }

  private async process(t: Task): Promise<void> {
    const src = this.s.control.getBucket(t.srcBucket)
    if (!src) throw new Vanished()
    const cfg = this.configOf(src)
    if (!cfg) throw new PermanentFailure('the source bucket has no replication configuration any more')
    const dest = this.s.control.getBucket(t.destBucket)
    if (!dest) throw new PermanentFailure(`destination bucket ${t.destBucket} does not exist`)
    if (dest.versioning !== 'Enabled') throw new PermanentFailure(`destination bucket ${t.destBucket} does not have versioning enabled`)
    const rule = cfg.rules.find((r) => r.id === t.ruleId)
    if (rule?.destAccount !== undefined && rule.destAccount !== dest.owner) throw new PermanentFailure(`destination bucket ${dest.name} is not owned by ${rule.destAccount}`)
    const session = roleSession(this.s, cfg.role)
    if (!('principal' in session)) throw new PermanentFailure(session.problem)
    const need = actionsFor(t.kind)
    for (const a of need.source) if (!roleMay(this.s, session.principal, a, src, t.key)) throw new PermanentFailure(`${cfg.role} may not ${a} on ${src.name}/${t.key}`)
    for (const a of need.destination) if (!roleMay(this.s, session.principal, a, dest, t.key)) throw new PermanentFailure(`${cfg.role} may not ${a} on ${dest.name}/${t.key}`)
    const from = this.storeOf(src), to = this.storeOf(dest)
    if (!this.s.health.isUp(dest.region)) throw new Error(`destination region ${dest.region} is down`)
    if (t.kind === 'object') return this.copyObject(t, from, to, rule?.storageClass)
    if (t.kind === 'marker') return this.copyMarker(t, from, to)
    return this.syncMetadata(t, from, to)
  }

  private storeOf(b: BucketRecord): ObjectStore {
    const st = this.s.stores.get(b.region)
    if (!st) throw new PermanentFailure(`no store for region ${b.region}`)
    return st
  }

  private async copyObject(t: Task, from: ObjectStore, to: ObjectStore, storageClass: string | undefined): Promise<void> {
    let got
    try { got = await from.getObject(t.srcBucket, t.key, t.versionId) } catch (e) { if (gone(e)) throw new Vanished(); throw e }
    const v = got.version
    // Idempotent: a replica written before a crash (or a retry) is not written again, which would
    // also move it to the top of the key's history.
    const existing = await versionIn(to, t.destBucket, t.key, t.versionId)
    if (!existing || existing.etag !== v.etag) {
      const md5 = createHash('md5')
      const multipart = v.etag.includes('-')
      const tap = new PassThrough({ transform(chunk: Buffer, _enc, cb) { if (!multipart) md5.update(chunk); cb(null, chunk) } })
      const body = pipeline(got.open(v.size > 0 ? { start: 0, end: v.size - 1 } : undefined), tap, () => {})
      await to.putObject({
        bucket: t.destBucket, key: t.key, versioning: 'Enabled', versionId: v.versionId, lastModified: v.lastModified,
        // The size is known: an engine-backed store streams the replica instead of spooling it.
        attributes: replicaAttributes(v, storageClass), body, size: v.size,
        finalize: (staged) => {
          if (staged.size !== v.size || (!multipart && md5.digest('hex') !== v.etag)) throw new Error('replica bytes differ from the source version')
          return { etag: v.etag, checksums: v.checksums, ...(v.checksumType ? { checksumType: v.checksumType } : {}) }
        },
      })
    }
    // The source says COMPLETED once every destination has its replica (and none failed).
    if (!this.queue.hasObjectTaskBesides(t) && v.replicationStatus === 'PENDING') await this.setSourceStatus(t, 'COMPLETED')
  }

  private async copyMarker(t: Task, from: ObjectStore, to: ObjectStore): Promise<void> {
    if (!to.putDeleteMarker) throw new PermanentFailure('the destination store cannot hold replicated delete markers')
    const marker = await findVersion(from, t.srcBucket, t.key, t.versionId)
    if (!marker || !marker.isDeleteMarker) throw new Vanished()
    try {
      await to.getObject(t.destBucket, t.key, t.versionId)
      return // a version with this id is there already
    } catch (e) {
      if (e instanceof S3Error && e.code === 'MethodNotAllowed') return // the marker is there already
      if (!(e instanceof S3Error) || e.code !== 'NoSuchVersion') throw e
    }
    await to.putDeleteMarker({ bucket: t.destBucket, key: t.key, versionId: t.versionId, lastModified: marker.lastModified, attributes: { userMetadata: {}, tags: [], replicationStatus: 'REPLICA' } })
  }

  private async syncMetadata(t: Task, from: ObjectStore, to: ObjectStore): Promise<void> {
    let v: ObjectVersion
    try { v = (await from.getObject(t.srcBucket, t.key, t.versionId)).version } catch (e) { if (gone(e)) throw new Vanished(); throw e }
    try {
      await to.updateObject(t.destBucket, t.key, t.versionId, { tags: v.tags })
    } catch (e) {
      if (gone(e)) throw new Vanished() // the destination never had (or no longer has) this version
      throw e
    }
  }

  private async setSourceStatus(t: Task, status: 'COMPLETED' | 'FAILED'): Promise<void> {
    const src = this.s.control.getBucket(t.srcBucket)
    if (!src) return
    try {
      await this.storeOf(src).updateObject(t.srcBucket, t.key, t.versionId, { replicationStatus: status })
    } catch (e) {
      if (!gone(e)) throw e
    }
  }
}

/** The replica's stored attributes: the source's, marked REPLICA (the replication status S3 shows on replicas). */
export function replicaAttributes(v: ObjectVersion, storageClass: string | undefined): ObjectAttributes {
  const a: ObjectAttributes = { userMetadata: { ...v.userMetadata }, tags: v.tags.map((t) => ({ ...t })), replicationStatus: 'REPLICA' }
  for (const k of ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'expires', 'websiteRedirectLocation', 'storageClass'] as const) {
    if (v[k] !== undefined) a[k] = v[k]
  }
  if (storageClass !== undefined) a.storageClass = storageClass
  return a
}

async function versionIn(store: ObjectStore, bucket: string, key: string, versionId: string): Promise<ObjectVersion | undefined> {
  try { return (await store.getObject(bucket, key, versionId)).version } catch (e) {
    if (e instanceof S3Error && e.code === 'NoSuchVersion') return undefined
    throw e
  }
}

/** A version (delete markers included) by id, from the key's history. */
export async function findVersion(store: ObjectStore, bucket: string, key: string, versionId: string): Promise<ObjectVersion | undefined> {
  let keyMarker: string | undefined, versionIdMarker: string | undefined
  for (;;) {
    const page = await store.listVersions(bucket, { prefix: key, maxKeys: 1000, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}) })
    for (const v of page.versions) {
      if (v.key !== key) return undefined // past this key's history (keys ascend)
      if (v.versionId === versionId) return v
    }
    if (!page.isTruncated) return undefined
    keyMarker = page.nextKeyMarker; versionIdMarker = page.nextVersionIdMarker
  }
}

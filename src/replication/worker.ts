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
import { PassThrough } from 'node:stream'
import type { Core } from '../core/core.js'
import type { Principal } from '../iam/identities.js'
import { digestThenSeal, dsseOpener } from '../s3/sse-kms.js'
import { S3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectAttributes, ObjectStore, ObjectVersion } from '../storage/types.js'
import type { ReplicationConfig, ReplicationRule } from './config.js'
import { KmsReplicationRefused, replicaDataKey, sourceDataKey } from './kms.js'
import type { ReplicationMetrics } from './metrics.js'
import { actionsFor, roleMay, roleSession } from './permissions.js'
import type { Task, TaskQueue } from './queue.js'

/** An error no retry can fix: the version's status becomes FAILED. */
export class PermanentFailure extends Error {}
/** The version is gone from the source: nothing to replicate, no status to set. */
class Vanished extends Error {}

export interface WorkerOptions {
  concurrency: number
  baseBackoffMs: number
  maxBackoffMs: number
  /** How often the queue is looked at without being told (the fleet queue: a poll of the database). */
  tickMs: number
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = { concurrency: 16, baseBackoffMs: 100, maxBackoffMs: 5000, tickMs: 100 }

const gone = (e: unknown): boolean => e instanceof S3Error && (e.code === 'NoSuchVersion' || e.code === 'NoSuchKey' || e.code === 'MethodNotAllowed' || e.code === 'NoSuchBucket')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

type Outcome = { done: true; settle: boolean } | { vanished: true } | { permanent: string } | { transient: string }

export class ReplicationWorker {
  /** By task object: the same task id can run twice here, once on a lease taken over (pg-queue.ts). */
  private readonly running = new Map<Task, Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private scheduled = false
  private pumping: Promise<void> | undefined
  private again = false
  private stopped = true
  private readonly wasUp = new Map<string, boolean>()
  /** Rate-limits the warning for a queue that cannot be read (the database down). */
  private lastQueueWarning = 0

  constructor(
    private readonly s: Core,
    private readonly queue: TaskQueue,
    private readonly metrics: ReplicationMetrics,
    private readonly configOf: (b: BucketRecord) => ReplicationConfig | undefined,
    private readonly opts: WorkerOptions,
  ) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.timer = setInterval(() => {
      void this.tick()
    }, this.opts.tickMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops taking tasks and waits for the ones running (they finish or stay queued). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    // A claim in flight still launches what it got: wait for it, then for everything running.
    await this.pumping
    await Promise.allSettled([...this.running.values()])
  }

  /** Schedules a pass over the queue on the next turn (coalesced). */
  kick(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.pump()
    })
  }

  /** Resolves when the queue (every node's, when shared) is empty and nothing runs here. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running.size === 0) {
        const n = await this.queue.depth().catch(() => -1)
        if (n === 0 && this.running.size === 0) return
      }
      await sleep(this.queue.shared ? 50 : 10)
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return
    try {
      // A region that came back: its waiting tasks are due now, not at the end of their backoff.
      const back = new Set<string>()
      for (const region of this.s.stores.keys()) {
        const up = this.s.health.isUp(region)
        if (up && this.wasUp.get(region) === false) back.add(region)
        this.wasUp.set(region, up)
      }
      if (back.size > 0) {
        await this.queue.wake((t) => [this.s.state.getBucket(t.srcBucket)?.region, this.s.state.getBucket(t.destBucket)?.region].some((r) => r !== undefined && back.has(r)))
      }
    } catch (err) {
      this.queueTrouble(err)
    }
    await this.pump()
  }

  private queueTrouble(err: unknown): void {
    if (Date.now() - this.lastQueueWarning < 10_000) return
    this.lastQueueWarning = Date.now()
    this.s.log.warn({ err }, 'the replication queue cannot be reached; retrying')
  }

  private pump(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    if (this.pumping) {
      this.again = true
      return this.pumping
    }
    this.pumping = this.claimAndLaunch().finally(() => {
      this.pumping = undefined
    })
    return this.pumping
  }

  private async claimAndLaunch(): Promise<void> {
    do {
      this.again = false
      const room = this.opts.concurrency - this.running.size
      if (room <= 0) break
      let got: Task[]
      try {
        got = await this.queue.claim(room)
      } catch (err) {
        this.queueTrouble(err)
        break
      }
      for (const t of got) this.launch(t)
    } while (this.again && !this.stopped)
  }

  private launch(t: Task): void {
    const abort = new AbortController()
    let beat: NodeJS.Timeout | undefined
    const leaseMs = this.queue.leaseMs
    if (leaseMs !== undefined) {
      // Well inside the lease, so one slow round trip does not lose it; a lease we could not
      // renew for a whole lease time is presumed taken over, and the work stops.
      let lastOk = Date.now()
      beat = setInterval(
        () => {
          this.queue.heartbeat(t).then(
            (ok) => {
              if (ok) lastOk = Date.now()
              else abort.abort(new Error('lease lost'))
            },
            () => {
              if (Date.now() - lastOk > leaseMs) abort.abort(new Error('lease not renewed'))
            },
          )
        },
        Math.max(20, Math.floor(leaseMs / 3)),
      )
      beat.unref()
    }
    const p = this.run(t, abort.signal).finally(() => {
      clearInterval(beat)
      this.running.delete(t)
      this.kick()
    })
    this.running.set(t, p)
  }

  private async run(t: Task, signal: AbortSignal): Promise<void> {
    let out: Outcome
    try {
      out = { done: true, settle: await this.process(t, signal) }
    } catch (e) {
      if (e instanceof Vanished) out = { vanished: true }
      else if (e instanceof PermanentFailure) out = { permanent: e.message }
      else out = { transient: (e as Error).message || String(e) }
    }
    if (signal.aborted) {
      // Another node holds the task now; its result is the one that counts.
      this.s.log.warn({ task: t, reason: String(signal.reason) }, 'replication task lost its lease; result dropped')
      return
    }
    try {
      await this.book(t, out)
    } catch (err) {
      // The database went away between the work and its record: the lease runs out and the task
      // runs again (a replica already written is not written twice).
      this.s.log.warn({ err, task: t }, "could not record the replication task's result; it will run again")
    }
  }

  private async book(t: Task, out: Outcome): Promise<void> {
    if ('done' in out) {
      if (!(await this.queue.complete(t))) return this.late(t)
      this.metrics.completed(t, Date.now())
      if (out.settle) await this.settle(t)
      return
    }
    if ('vanished' in out) {
      if (!(await this.queue.complete(t, false))) this.late(t)
      return
    }
    if ('permanent' in out) {
      this.s.log.warn({ task: t, reason: out.permanent }, 'replication failed')
      if (t.kind === 'object') await this.setSourceStatus(t, 'FAILED').catch((err: unknown) => this.s.log.warn({ err, task: t }, 'could not mark the source version FAILED'))
      await this.queue.drop(t, out.permanent)
      this.metrics.failed(t)
      return
    }
    const wait = Math.min(this.opts.maxBackoffMs, this.opts.baseBackoffMs * 2 ** Math.min(t.attempts, 20))
    const r = await this.queue.retry(t, Math.round(wait * (0.5 + Math.random() / 2)), out.transient)
    if (r === 'lost') return this.late(t)
    if (r === 'retry') {
      this.metrics.retried(t)
      return
    }
    this.s.log.warn({ task: t, reason: out.transient }, 'replication given up after too many attempts')
    this.metrics.failed(t)
    if (t.kind === 'object') await this.setSourceStatus(t, 'FAILED').catch((err: unknown) => this.s.log.warn({ err, task: t }, 'could not mark the source version FAILED'))
  }

  private late(t: Task): void {
    this.s.log.warn({ task: t }, 'replication task finished after its lease was taken over; result dropped')
  }

  /**
   * The last destination of a version to finish marks it COMPLETED. Each finishing task checks
   * after its own removal, so of two finishing at once on two nodes at least the later sees none
   * left (the earlier may also mark it: the same value).
   */
  private async settle(t: Task): Promise<void> {
    if (await this.queue.othersQueued(t)) return
    const src = this.s.state.getBucket(t.srcBucket)
    if (!src) return
    const v = await versionIn(this.storeOf(src), t.srcBucket, t.key, t.versionId).catch(() => undefined)
    if (v?.replicationStatus === 'PENDING') await this.setSourceStatus(t, 'COMPLETED')
  }

  /** Does the task; true when an object's status is left for `settle` (another destination was queued). */
  private async process(t: Task, signal: AbortSignal): Promise<boolean> {
    const src = this.s.state.getBucket(t.srcBucket)
    if (!src) throw new Vanished()
    const cfg = this.configOf(src)
    if (!cfg) throw new PermanentFailure('the source bucket has no replication configuration any more')
    const dest = this.s.state.getBucket(t.destBucket)
    if (!dest) throw new PermanentFailure(`destination bucket ${t.destBucket} does not exist`)
    if (dest.versioning !== 'Enabled') throw new PermanentFailure(`destination bucket ${t.destBucket} does not have versioning enabled`)
    const rule = cfg.rules.find((r) => r.id === t.ruleId)
    if (rule?.destAccount !== undefined && rule.destAccount !== dest.owner) throw new PermanentFailure(`destination bucket ${dest.name} is not owned by ${rule.destAccount}`)
    const session = roleSession(this.s, cfg.role)
    if (!('principal' in session)) throw new PermanentFailure(session.problem)
    const need = actionsFor(t.kind)
    for (const a of need.source) if (!roleMay(this.s, session.principal, a, src, t.key)) throw new PermanentFailure(`${cfg.role} may not ${a} on ${src.name}/${t.key}`)
    for (const a of need.destination) if (!roleMay(this.s, session.principal, a, dest, t.key)) throw new PermanentFailure(`${cfg.role} may not ${a} on ${dest.name}/${t.key}`)
    const from = this.storeOf(src),
      to = this.storeOf(dest)
    if (!this.s.health.isUp(dest.region)) throw new Error(`destination region ${dest.region} is down`)
    const ownerOverride = rule?.ownerOverride === true
    if (t.kind === 'object') return this.copyObject(t, from, to, rule?.storageClass, signal, ownerOverride, { role: session.principal, src, dest, rule })
    if (t.kind === 'marker') await this.copyMarker(t, from, to)
    else await this.syncMetadata(t, from, to, ownerOverride)
    return false
  }

  private storeOf(b: BucketRecord): ObjectStore {
    const st = this.s.stores.get(b.region)
    if (!st) throw new PermanentFailure(`no store for region ${b.region}`)
    return st
  }

  private async copyObject(
    t: Task,
    from: ObjectStore,
    to: ObjectStore,
    storageClass: string | undefined,
    signal: AbortSignal,
    ownerOverride: boolean,
    on: { role: Principal; src: BucketRecord; dest: BucketRecord; rule: ReplicationRule | undefined },
  ): Promise<boolean> {
    let got: Awaited<ReturnType<ObjectStore['getObject']>>
    let kms: ReturnType<typeof replicaDataKey> | undefined
    let sourceDsse: Buffer | undefined
    try {
      got = await from.getObject(t.srcBucket, t.key, t.versionId)
      if (got.version.sseKmsKeyId !== undefined) {
        // The rule may have changed since the version was queued: only one that opts in, with a replica key.
        if (!on.rule?.sseKmsObjects || on.rule.replicaKmsKeyId === undefined) throw new PermanentFailure(`rule ${t.ruleId} does not replicate SSE-KMS objects`)
        if (to.customerKeys !== true) throw new PermanentFailure(`the store of ${on.dest.region} cannot hold SSE-KMS replicas`)
        const sourceKey = sourceDataKey(this.s, on.role, on.src, got.version)
        kms = replicaDataKey(this.s, on.role, on.dest, got.version, on.rule.replicaKmsKeyId)
        sourceDsse = sourceKey.dsseKey
        got = await from.getObject(t.srcBucket, t.key, t.versionId, { customerKey: sourceKey.dataKey })
      }
    } catch (e) {
      if (gone(e)) throw new Vanished()
      if (e instanceof KmsReplicationRefused) throw new PermanentFailure(e.message)
      throw e
    }
    const v = got.version
    // Idempotent: a replica written before a crash (or a retry) is not written again, which would
    // also move it to the top of the key's history.
    const existing = await versionIn(to, t.destBucket, t.key, t.versionId)
    if (!existing || existing.etag !== v.etag) {
      signal.throwIfAborted()
      const md5 = createHash('md5')
      const multipart = v.etag.includes('-')
      const tap = new PassThrough({
        transform(chunk: Buffer, _enc, cb) {
          if (!multipart) md5.update(chunk)
          cb(null, chunk)
        },
      })
      const whole = v.size > 0 ? { start: 0, end: v.size - 1 } : undefined
      // DSSE-KMS: the source's second layer comes off (the MD5 check is of the plaintext) and the
      // replica's goes on under its own new key.
      const plain = sourceDsse ? dsseOpener(v, sourceDsse, got.open)(whole) : got.open(whole)
      const body = digestThenSeal(plain, tap, kms?.dsseKey)
      // A lost lease stops the copy: the node that holds the task now writes the replica.
      const stop = (): void => {
        tap.destroy(new Error('replication lease lost'))
      }
      signal.addEventListener('abort', stop, { once: true })
      try {
        await to.putObject({
          bucket: t.destBucket,
          key: t.key,
          versioning: 'Enabled',
          versionId: v.versionId,
          lastModified: v.lastModified,
          // The size is known: an engine-backed store streams the replica instead of spooling it.
          attributes: kms ? { ...replicaAttributes(v, storageClass, ownerOverride), ...kms.attrs } : replicaAttributes(v, storageClass, ownerOverride),
          body,
          size: v.size,
          ...(kms ? { customerKey: kms.dataKey } : {}),
          finalize: (staged) => {
            if (staged.size !== v.size || (!multipart && md5.digest('hex') !== v.etag)) throw new Error('replica bytes differ from the source version')
            return { etag: v.etag, checksums: v.checksums, ...(v.checksumType ? { checksumType: v.checksumType } : {}) }
          },
        })
      } finally {
        signal.removeEventListener('abort', stop)
      }
    }
    if (v.replicationStatus !== 'PENDING') return false
    // The source says COMPLETED once every destination has its replica (and none failed); when
    // another is still queued, the last to finish marks it (`settle`).
    if (await this.queue.othersQueued(t)) return true
    signal.throwIfAborted()
    await this.setSourceStatus(t, 'COMPLETED')
    return false
  }

  private async copyMarker(t: Task, from: ObjectStore, to: ObjectStore): Promise<void> {
    if (!to.putDeleteMarker) throw new PermanentFailure('the destination store cannot hold replicated delete markers')
    const marker = await findVersion(from, t.srcBucket, t.key, t.versionId)
    if (!marker?.isDeleteMarker) throw new Vanished()
    try {
      await to.getObject(t.destBucket, t.key, t.versionId)
      return // a version with this id is there already
    } catch (e) {
      if (e instanceof S3Error && e.code === 'MethodNotAllowed') return // the marker is there already
      if (!(e instanceof S3Error) || e.code !== 'NoSuchVersion') throw e
    }
    await to.putDeleteMarker({
      bucket: t.destBucket,
      key: t.key,
      versionId: t.versionId,
      lastModified: marker.lastModified,
      attributes: { userMetadata: {}, tags: [], replicationStatus: 'REPLICA' },
    })
  }

  private async syncMetadata(t: Task, from: ObjectStore, to: ObjectStore, ownerOverride: boolean): Promise<void> {
    let v: ObjectVersion
    try {
      v = (await from.getObject(t.srcBucket, t.key, t.versionId)).version
    } catch (e) {
      if (gone(e)) throw new Vanished()
      throw e
    }
    try {
      await to.updateObject(t.destBucket, t.key, t.versionId, {
        tags: v.tags,
        objectLockMode: v.objectLockMode,
        objectLockRetainUntilDate: v.objectLockRetainUntilDate,
        objectLockLegalHold: v.objectLockLegalHold,
        // A PutObjectAcl on the source reaches the replica, unless the destination owns its replicas.
        ...(ownerOverride ? {} : { acl: v.acl }),
      })
    } catch (e) {
      if (gone(e)) throw new Vanished() // the destination never had (or no longer has) this version
      throw e
    }
  }

  private async setSourceStatus(t: Task, status: 'COMPLETED' | 'FAILED'): Promise<void> {
    const src = this.s.state.getBucket(t.srcBucket)
    if (!src) return
    try {
      await this.storeOf(src).updateObject(t.srcBucket, t.key, t.versionId, { replicationStatus: status })
    } catch (e) {
      if (!gone(e)) throw e
    }
  }
}

/** The replica's stored attributes: the source's, marked REPLICA (the replication status S3 shows on replicas). */
export function replicaAttributes(v: ObjectVersion, storageClass: string | undefined, ownerOverride = false): ObjectAttributes {
  const a: ObjectAttributes = { userMetadata: { ...v.userMetadata }, tags: v.tags.map((t) => ({ ...t })), replicationStatus: 'REPLICA' }
  for (const k of ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'expires', 'websiteRedirectLocation', 'storageClass'] as const) {
    if (v[k] !== undefined) a[k] = v[k]
  }
  // S3 replicates "Object Lock retention information, if there is any" with the object.
  if (v.objectLockMode !== undefined) a.objectLockMode = v.objectLockMode
  if (v.objectLockRetainUntilDate !== undefined) a.objectLockRetainUntilDate = v.objectLockRetainUntilDate
  if (v.objectLockLegalHold !== undefined) a.objectLockLegalHold = v.objectLockLegalHold
  if (storageClass !== undefined) a.storageClass = storageClass
  // The replica keeps the source's owner and ACL ("What is replicated with replication
  // configurations": object ACL updates too), unless the rule's AccessControlTranslation makes the
  // destination bucket's owner own it (then it has the default, owner-only ACL).
  if (v.acl !== undefined && !ownerOverride) a.acl = { owner: v.acl.owner, grants: v.acl.grants.map((g) => ({ ...g })) }
  return a
}

export async function versionIn(store: ObjectStore, bucket: string, key: string, versionId: string): Promise<ObjectVersion | undefined> {
  try {
    return (await store.getObject(bucket, key, versionId)).version
  } catch (e) {
    if (e instanceof S3Error && e.code === 'NoSuchVersion') return undefined
    throw e
  }
}

/** A version (delete markers included) by id, from the key's history. */
export async function findVersion(store: ObjectStore, bucket: string, key: string, versionId: string): Promise<ObjectVersion | undefined> {
  let keyMarker: string | undefined, versionIdMarker: string | undefined
  for (;;) {
    const page = await store.listVersions(bucket, {
      prefix: key,
      maxKeys: 1000,
      ...(keyMarker !== undefined ? { keyMarker } : {}),
      ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
    })
    for (const v of page.versions) {
      if (v.key !== key) return undefined // past this key's history (keys ascend)
      if (v.versionId === versionId) return v
    }
    if (!page.isTruncated) return undefined
    keyMarker = page.nextKeyMarker
    versionIdMarker = page.nextVersionIdMarker
  }
}

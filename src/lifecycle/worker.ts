/**
 * @module The lifecycle worker: applies each bucket's lifecycle rules (src/s3/lifecycle.ts) to its
 * versions and open uploads. Behaviour copied from "Lifecycle configuration elements" and
 * "Expiring objects" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html):
 *
 * - unversioned bucket: an expired object is deleted;
 * - versioned (or suspended) bucket: an expired current version gets a delete marker on top;
 *   a noncurrent version is deleted once NoncurrentDays have passed since it became noncurrent
 *   (the time of the next newer version) and NewerNoncurrentVersions newer ones are kept;
 *   a delete marker that is the key's only version is removed under ExpiredObjectDeleteMarker;
 * - an upload open for DaysAfterInitiation is aborted;
 * - a version Object Lock protects is never deleted (protection(), src/s3/ops/object-lock.ts);
 * - transitions are recorded only: there are no other tiers here.
 *
 * Every deletion goes through the replication hooks as a client's would, so a lifecycle delete
 * marker replicates like any other and a permanent delete never does.
 *
 * One pass per bucket at a time across a fleet: a lease held in the state seam and taken by a
 * guarded write (compare-and-set on the lease's value), so it works on SQLite and PostgreSQL alike.
 * Progress (the last key a pass finished) is written after every page, so a pass cut short by a
 * crash resumes where it stopped; every action is decided from dates, so redoing a key is harmless.
 */
import { randomUUID } from 'node:crypto'
import type { Core } from '../core/core.js'
import { dueAt, type LifecycleConfig, lifecycleOf, matches } from '../s3/lifecycle.js'
import { protection, serialized } from '../s3/ops/object-lock.js'
import { S3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectStore, ObjectVersion } from '../storage/types.js'

export const LEASE_NS = 'lifecycle.lease'
export const PROGRESS_NS = 'lifecycle.progress'
const PAGE = 1000

export interface LifecycleOptions {
  /** How often the timer looks for buckets whose daily pass is due. */
  intervalMs: number
  /** A node that dies mid-pass holds its buckets this long. */
  leaseMs: number
  owner: string
}

export const DEFAULT_LIFECYCLE_OPTIONS: Omit<LifecycleOptions, 'owner'> = { intervalMs: 10 * 60_000, leaseMs: 10 * 60_000 }

interface Progress {
  day: string
  done: boolean
  keyMarker?: string
  uploadsDone?: boolean
}
interface Lease {
  owner: string
  token: string
  until: number
}

export interface PassReport {
  bucket: string
  skipped?: 'leased' | 'not-due' | 'region-not-served'
  /** The pass failed (a store down, say); the next pass retries from the persisted marker. */
  error?: string
  deleteMarkers: number
  deletedVersions: number
  deletedObjects: number
  removedMarkers: number
  abortedUploads: number
  protectedSkipped: number
}

const dayOf = (d: Date) => d.toISOString().slice(0, 10)
const emptyReport = (bucket: string): PassReport => ({ bucket, deleteMarkers: 0, deletedVersions: 0, deletedObjects: 0, removedMarkers: 0, abortedUploads: 0, protectedSkipped: 0 })

export class LifecycleWorker {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<PassReport[]> | undefined
  private readonly o: LifecycleOptions

  constructor(
    private readonly core: Core,
    opts: Partial<LifecycleOptions> = {},
  ) {
    this.o = { ...DEFAULT_LIFECYCLE_OPTIONS, owner: randomUUID(), ...opts }
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.run(false).catch((e: unknown) => this.core.log.warn({ err: e }, 'lifecycle pass failed'))
    }, this.o.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.running?.catch(() => undefined)
  }

  /** Runs a pass over every bucket with rules now, whether or not today's pass already ran. */
  runNow(): Promise<PassReport[]> {
    return this.run(true)
  }

  private run(force: boolean): Promise<PassReport[]> {
    // One pass at a time on this node: a timer tick during a triggered run waits for it.
    const prev = this.running ?? Promise.resolve([])
    const next = prev.catch(() => []).then(() => this.passAll(force))
    this.running = next
    return next
  }

  private async passAll(force: boolean): Promise<PassReport[]> {
    const out: PassReport[] = []
    for (const b of this.core.state.listBuckets()) {
      const cfg = lifecycleOf(b.configs)
      if (!cfg?.rules.some((r) => r.enabled)) continue
      // One bucket's failure must not starve the others: it is reported and retried next pass.
      try {
        out.push(await this.passBucket(b, cfg, force))
      } catch (e) {
        this.core.log.warn({ bucket: b.name, err: e }, 'lifecycle pass of a bucket failed')
        out.push({ ...emptyReport(b.name), error: e instanceof Error ? e.message : String(e) })
      }
    }
    return out
  }

  private async passBucket(b: BucketRecord, cfg: LifecycleConfig, force: boolean): Promise<PassReport> {
    const report = emptyReport(b.name)
    // A fleet node that does not serve the bucket's region leaves it to one that does.
    const store = this.core.stores.get(b.region)
    if (!store) return { ...report, skipped: 'region-not-served' }
    const now = this.core.clock()
    const today = dayOf(now)
    const raw = this.core.state.get(PROGRESS_NS, b.name)
    let progress: Progress | undefined = raw ? (JSON.parse(raw) as Progress) : undefined
    // S3 runs lifecycle once a day; a finished pass of today is not redone unless asked.
    if (!force && progress?.day === today && progress.done) return { ...report, skipped: 'not-due' }
    const lease = await this.acquire(b.name, now.getTime())
    if (!lease) return { ...report, skipped: 'leased' }
    try {
      // An unfinished pass (a crash, a lost lease) resumes from its marker; anything else starts over.
      if (!progress || progress.done) progress = { day: today, done: false }
      await this.versions(b, cfg, store, progress, report, now)
      if (!progress.uploadsDone) {
        await this.uploads(b, cfg, store, report, now)
        progress.uploadsDone = true
      }
      progress = { day: today, done: true }
      await this.core.state.put(PROGRESS_NS, b.name, JSON.stringify(progress))
    } finally {
      await this.release(b.name, lease)
    }
    return report
  }

  /** Takes the bucket's lease unless another node holds a live one (a guarded write: compare-and-set). */
  private async acquire(bucket: string, nowMs: number): Promise<string | undefined> {
    const cur = this.core.state.get(LEASE_NS, bucket)
    if (cur !== undefined) {
      const l = JSON.parse(cur) as Lease
      if (l.owner !== this.o.owner && l.until > nowMs) return undefined
    }
    const mine = JSON.stringify({ owner: this.o.owner, token: randomUUID(), until: nowMs + this.o.leaseMs } satisfies Lease)
    const ok = await this.core.state.write([
      { op: 'expect', ns: LEASE_NS, key: bucket, value: cur },
      { op: 'put', ns: LEASE_NS, key: bucket, value: mine },
    ])
    return ok ? mine : undefined
  }

  private async release(bucket: string, mine: string): Promise<void> {
    await this.core.state
      .write([
        { op: 'expect', ns: LEASE_NS, key: bucket, value: mine },
        { op: 'delete', ns: LEASE_NS, key: bucket },
      ])
      .catch(() => false)
  }

  private async versions(b: BucketRecord, cfg: LifecycleConfig, store: ObjectStore, p: Progress, r: PassReport, now: Date): Promise<void> {
    let keyMarker = p.keyMarker
    let versionIdMarker: string | undefined
    let pending: ObjectVersion[] = []
    for (;;) {
      const page = await store.listVersions(b.name, {
        maxKeys: PAGE,
        ...(keyMarker !== undefined ? { keyMarker } : {}),
        ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
      })
      let lastDone: string | undefined
      for (const v of page.versions) {
        if (pending.length > 0 && pending[0]!.key !== v.key) {
          await this.key(b, cfg, store, pending, r, now)
          lastDone = pending[0]!.key
          pending = []
        }
        pending.push(v)
      }
      if (!page.isTruncated) break
      keyMarker = page.nextKeyMarker
      versionIdMarker = page.nextVersionIdMarker
      if (lastDone !== undefined) {
        p.keyMarker = lastDone
        await this.core.state.put(PROGRESS_NS, b.name, JSON.stringify(p))
      }
    }
    if (pending.length > 0) await this.key(b, cfg, store, pending, r, now)
  }

  /** One key's versions, newest first. */
  private async key(b: BucketRecord, cfg: LifecycleConfig, store: ObjectStore, listed: ObjectVersion[], r: PassReport, now: Date): Promise<void> {
    let versions = listed
    const key = versions[0]!.key
    const nowMs = now.getTime()
    const rules = cfg.rules.filter((x) => x.enabled && key.startsWith(x.filter.prefix))
    if (rules.length === 0) return
    const needsTags = rules.some((x) => x.filter.tags.length > 0) && store.listsAttributes === false
    const withTags = async (v: ObjectVersion): Promise<ObjectVersion> => (needsTags && !v.isDeleteMarker ? (await store.getObject(b.name, key, v.versionId)).version : v)
    const current = versions[0]!
    if (b.versioning === 'Unversioned') {
      if (current.isDeleteMarker) return
      const v = await withTags(current)
      if (!this.expired(rules, v, nowMs)) return
      const res = await store.deleteObject(b.name, key, { versioning: 'Unversioned' })
      await this.core.replication.deleted(b, key, res)
      r.deletedObjects++
      return
    }
    if (current.isLatest && !current.isDeleteMarker && this.expired(rules, await withTags(current), nowMs)) {
      // Without a version id: a marker on top, which Object Lock never prevents (as DeleteObject).
      const res = await store.deleteObject(b.name, key, { versioning: b.versioning })
      await this.core.replication.deleted(b, key, res)
      r.deleteMarkers++
      // Suspended: the marker replaced a null current version; the listing no longer says what is left.
      if (current.versionId === 'null' || res.versionId === undefined) return
      // The older noncurrent versions are judged in the same pass, under the new marker.
      versions = [{ ...current, versionId: res.versionId, isDeleteMarker: true, lastModified: now }, ...versions]
    }
    const remaining = [...versions]
    // Noncurrent versions: versions[i] became noncurrent when versions[i-1] was written.
    let newerNoncurrent = 0
    for (let i = 1; i < versions.length; i++) {
      const v = versions[i]!
      const since = versions[i - 1]!.lastModified
      const tagged = await withTags(v)
      const rule = rules.find(
        (x) =>
          x.noncurrentExpiration &&
          matches(x.filter, key, tagged.tags, v.isDeleteMarker ? undefined : v.size) &&
          dueAt(since, x.noncurrentExpiration.noncurrentDays ?? 0).getTime() <= nowMs &&
          newerNoncurrent >= (x.noncurrentExpiration.newerNoncurrentVersions ?? 0),
      )
      newerNoncurrent++
      if (!rule) continue
      if (await this.deleteVersion(b, store, v, r, nowMs)) {
        r.deletedVersions++
        remaining.splice(remaining.indexOf(v), 1)
      }
    }
    if (remaining.length === 1 && remaining[0]!.isDeleteMarker && rules.some((x) => x.expiration?.expiredObjectDeleteMarker === true && matches(x.filter, key, [], undefined))) {
      const m = remaining[0]!
      const res = await store.deleteObject(b.name, key, { versionId: m.versionId, versioning: b.versioning })
      await this.core.replication.deleted(b, key, res, m.versionId)
      r.removedMarkers++
    }
  }

  private expired(rules: LifecycleConfig['rules'], v: ObjectVersion, nowMs: number): boolean {
    return rules.some((x) => {
      const e = x.expiration
      if (!e || e.expiredObjectDeleteMarker !== undefined || !matches(x.filter, v.key, v.tags, v.size)) return false
      const at = e.days !== undefined ? dueAt(v.lastModified, e.days) : new Date(e.date!)
      return at.getTime() <= nowMs
    })
  }

  /** Deletes a version permanently unless Object Lock protects it (read afresh: a listing may omit lock fields). */
  private deleteVersion(b: BucketRecord, store: ObjectStore, v: ObjectVersion, r: PassReport, nowMs: number): Promise<boolean> {
    // In line with PutObjectRetention/LegalHold on this key, so a hold set while we look is not missed.
    return serialized(b, v.key, () => this.deleteUnprotected(b, store, v, r, nowMs))
  }

  private async deleteUnprotected(b: BucketRecord, store: ObjectStore, v: ObjectVersion, r: PassReport, nowMs: number): Promise<boolean> {
    let fresh: ObjectVersion
    try {
      fresh = (await store.getObject(b.name, v.key, v.versionId)).version
    } catch (e) {
      if (e instanceof S3Error && e.code === 'MethodNotAllowed')
        fresh = v // a delete marker, never protected
      else if (e instanceof S3Error && (e.code === 'NoSuchVersion' || e.code === 'NoSuchKey')) return false
      else throw e
    }
    if (protection(fresh, nowMs) !== undefined) {
      r.protectedSkipped++
      return false
    }
    const res = await store.deleteObject(b.name, v.key, { versionId: v.versionId, versioning: b.versioning })
    await this.core.replication.deleted(b, v.key, res, v.versionId)
    return true
  }

  private async uploads(b: BucketRecord, cfg: LifecycleConfig, store: ObjectStore, r: PassReport, now: Date): Promise<void> {
    const rules = cfg.rules.filter((x) => x.enabled && x.abortIncompleteDays !== undefined)
    if (rules.length === 0) return
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await store.listUploads(b.name, {
        maxUploads: PAGE,
        ...(keyMarker !== undefined ? { keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
      })
      for (const u of page.uploads) {
        const due = rules.some((x) => u.key.startsWith(x.filter.prefix) && dueAt(u.initiated, x.abortIncompleteDays!).getTime() <= now.getTime())
        if (!due) continue
        try {
          await store.abortUpload(b.name, u.uploadId)
          r.abortedUploads++
        } catch (e) {
          if (!(e instanceof S3Error && e.code === 'NoSuchUpload')) throw e
        }
      }
      if (!page.isTruncated) return
      keyMarker = page.nextKeyMarker
      uploadIdMarker = page.nextUploadIdMarker
    }
  }
}

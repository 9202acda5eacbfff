/**
 * @module The metadata database of one region: typed, synchronous queries over better-sqlite3.
 * Synchronous on purpose: a statement costs microseconds, and a transaction that runs without
 * an await in the middle cannot interleave with another request, so "last commit wins" needs no
 * lock. WAL with synchronous=FULL makes every commit durable before it returns.
 */
import Database from 'better-sqlite3'
import { type CachedLatest, LatestCache, type LatestCacheLimits } from './latest-cache.js'
import type { Position } from './listing.js'
import { type PartRow, toVersion, type UploadRow, type VersionRow } from './rows.js'
import { migrate } from './schema.js'

export type NewVersion = Omit<VersionRow, 'seq' | 'is_latest'>

/** Listings never read inline bytes: a page of 1000 small objects must not pull 64 MB. */
const LIST_COLUMNS = `seq, bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified_ms, attrs, checksums,
  checksum_type, NULL AS inline, blob, manifest`

export class MetaDb {
  readonly db: Database.Database
  private readonly s
  private readonly queue: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = []
  private scheduled = false
  private readonly cache: LatestCache

  constructor(path: string, cacheLimits?: LatestCacheLimits) {
    this.cache = new LatestCache(cacheLimits)
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = OFF')
    // Another connection (a second process by mistake) waits instead of failing at once.
    this.db.pragma('busy_timeout = 5000')
    migrate(this.db)
    const db = this.db
    this.s = {
      latest: db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1'),
      byId: db.prepare<[string, string, string], VersionRow>('SELECT * FROM versions WHERE bucket = ? AND key = ? AND version_id = ?'),
      insert: db.prepare<NewVersion>(`INSERT INTO versions (bucket, key, version_id, is_delete_marker, size, etag, last_modified_ms,
        attrs, checksums, checksum_type, inline, blob, manifest) VALUES (@bucket, @key, @version_id, @is_delete_marker, @size, @etag,
        @last_modified_ms, @attrs, @checksums, @checksum_type, @inline, @blob, @manifest)`),
      deleteSeq: db.prepare<[number]>('DELETE FROM versions WHERE seq = ?'),
      clearLatest: db.prepare<[string, string]>('UPDATE versions SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1'),
      setLatest: db.prepare<[string, string]>(`UPDATE versions SET is_latest = 1 WHERE seq =
        (SELECT seq FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1)`),
      setAttrs: db.prepare<[string, number]>('UPDATE versions SET attrs = ? WHERE seq = ?'),
      anyVersion: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM versions WHERE bucket = ? LIMIT 1'),
      currentGt: db.prepare<[string, string, string, number], VersionRow>(`SELECT ${LIST_COLUMNS} FROM versions WHERE bucket = ? AND key > ?
        AND key < ? AND is_latest = 1 AND is_delete_marker = 0 ORDER BY key LIMIT ?`),
      currentGe: db.prepare<[string, string, string, number], VersionRow>(`SELECT ${LIST_COLUMNS} FROM versions WHERE bucket = ? AND key >= ?
        AND key < ? AND is_latest = 1 AND is_delete_marker = 0 ORDER BY key LIMIT ?`),
      versionsGt: db.prepare<[string, string, string, number], VersionRow>(`SELECT ${LIST_COLUMNS} FROM versions WHERE bucket = ? AND key > ?
        AND key < ? ORDER BY key, seq DESC LIMIT ?`),
      versionsGe: db.prepare<[string, string, string, number], VersionRow>(`SELECT ${LIST_COLUMNS} FROM versions WHERE bucket = ? AND key >= ?
        AND key < ? ORDER BY key, seq DESC LIMIT ?`),
      versionsInKey: db.prepare<[string, string, number, number], VersionRow>(`SELECT ${LIST_COLUMNS} FROM versions WHERE bucket = ? AND key = ?
        AND seq < ? ORDER BY seq DESC LIMIT ?`),
      upload: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE upload_id = ?'),
      uploadsOfBucket: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE bucket = ?'),
      nextUploadSeq: db.prepare<[], { value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'upload_seq' RETURNING value"),
      insertUpload: db.prepare<UploadRow>(`INSERT INTO uploads VALUES (@upload_id, @seq, @bucket, @key, @initiated_ms, @attrs,
        @checksum_algorithm, @checksum_type)`),
      deleteUpload: db.prepare<[string]>('DELETE FROM uploads WHERE upload_id = ?'),
      uploadsGt: db.prepare<[string, string, string, number], UploadRow>(`SELECT * FROM uploads WHERE bucket = ? AND key > ? AND key < ?
        ORDER BY key, seq LIMIT ?`),
      uploadsGe: db.prepare<[string, string, string, number], UploadRow>(`SELECT * FROM uploads WHERE bucket = ? AND key >= ?
        AND key < ? ORDER BY key, seq LIMIT ?`),
      uploadsInKey: db.prepare<[string, string, number, number], UploadRow>(`SELECT * FROM uploads WHERE bucket = ? AND key = ?
        AND seq > ? ORDER BY seq LIMIT ?`),
      part: db.prepare<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
      parts: db.prepare<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
      partsAfter: db.prepare<[string, number, number], PartRow>(`SELECT * FROM parts WHERE upload_id = ? AND part_number > ?
        ORDER BY part_number LIMIT ?`),
      upsertPart: db.prepare<PartRow>(`INSERT OR REPLACE INTO parts VALUES (@upload_id, @part_number, @size, @etag, @checksums,
        @last_modified_ms, @blob)`),
      deleteParts: db.prepare<[string]>('DELETE FROM parts WHERE upload_id = ?'),
      insertCompleted: db.prepare<[string, string, string, string, number]>('INSERT OR REPLACE INTO completed_uploads VALUES (?, ?, ?, ?, ?)'),
      completed: db.prepare<[string], { bucket: string; key: string; version_id: string; completed_ms: number }>(
        'SELECT bucket, key, version_id, completed_ms FROM completed_uploads WHERE upload_id = ?',
      ),
      pruneCompleted: db.prepare<[number]>('DELETE FROM completed_uploads WHERE completed_ms < ?'),
      deleteCompletedOfBucket: db.prepare<[string]>('DELETE FROM completed_uploads WHERE bucket = ?'),
      insertBucket: db.prepare<[string, number]>('INSERT OR IGNORE INTO buckets VALUES (?, ?)'),
      deleteBucket: db.prepare<[string]>('DELETE FROM buckets WHERE name = ?'),
      blobRefs: db.prepare<[], { blob: string }>(`SELECT blob FROM versions WHERE blob IS NOT NULL
        UNION ALL SELECT json_extract(j.value, '$.blob') FROM versions, json_each(versions.manifest) AS j WHERE manifest IS NOT NULL
        UNION ALL SELECT blob FROM parts`),
    }
  }

  close(): void {
    if (this.queue.length > 0) this.flush()
    this.db.close()
  }

  /**
   * Group commit: runs `fn` in a transaction shared with every other write queued in this turn
   * of the event loop, so N concurrent writes cost one WAL fsync instead of N (a FULL commit
   * blocks the loop for that fsync, ~1-3 ms). Each `fn` runs in its own savepoint: a throw
   * rolls back and rejects only that write. Writes apply in the order they were queued.
   */
  commit<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batch = this.queue.splice(0)
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
    try {
      this.db
        .transaction(() => {
          for (const item of batch) {
            try {
              outcomes.push({ ok: true, value: this.db.transaction(item.fn)() })
            } catch (error) {
              outcomes.push({ ok: false, error })
            }
          }
        })
        .immediate()
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!
      if (o.ok) item.resolve(o.value)
      else item.reject(o.error)
    })
  }

  latest(bucket: string, key: string): VersionRow | undefined {
    return this.s.latest.get(bucket, key)
  }

  /** The latest row and its decoded version, from the cache when possible (reads outside writes only). */
  latestDecoded(bucket: string, key: string): CachedLatest | undefined {
    const hit = this.cache.get(bucket, key)
    if (hit) return hit
    const row = this.s.latest.get(bucket, key)
    if (!row) return undefined
    const entry = { row, version: toVersion(row) }
    if (!this.db.inTransaction) this.cache.set(bucket, key, entry)
    return entry
  }

  version(bucket: string, key: string, versionId: string): VersionRow | undefined {
    return this.s.byId.get(bucket, key, versionId)
  }

  insertVersion(row: NewVersion): void {
    this.cache.invalidateKey(row.bucket, row.key)
    this.s.insert.run(row)
  }

  deleteVersion(seq: number): void {
    this.cache.invalidateSeq(seq)
    this.s.deleteSeq.run(seq)
  }

  /** Re-derives is_latest for a key; every transaction that changes a key's versions calls it. */
  refreshLatest(bucket: string, key: string): void {
    this.cache.invalidateKey(bucket, key)
    this.s.clearLatest.run(bucket, key)
    this.s.setLatest.run(bucket, key)
  }

  setAttrs(seq: number, attrs: string): void {
    this.cache.invalidateSeq(seq)
    this.s.setAttrs.run(attrs, seq)
  }

  bucketHasVersions(bucket: string): boolean {
    return this.s.anyVersion.get(bucket) !== undefined
  }

  /** Latest non-marker versions (ListObjects). `end` undefined means no upper bound. */
  currentFrom(bucket: string, from: Position, end: string | undefined, limit: number): VersionRow[] {
    const stmt = from.inclusive ? this.s.currentGe : this.s.currentGt
    return stmt.all(bucket, from.key, end ?? MAX_KEY, limit)
  }

  /** All versions, key ascending then newest first; `tie` resumes inside `from.key` below that seq. */
  versionsFrom(bucket: string, from: Position, end: string | undefined, limit: number): VersionRow[] {
    return pageFrom({ ge: this.s.versionsGe, gt: this.s.versionsGt, inKey: this.s.versionsInKey }, bucket, from, end, limit)
  }

  upload(uploadId: string): UploadRow | undefined {
    return this.s.upload.get(uploadId)
  }

  uploadsOfBucket(bucket: string): UploadRow[] {
    return this.s.uploadsOfBucket.all(bucket)
  }

  nextUploadSeq(): number {
    return this.s.nextUploadSeq.get()!.value
  }

  insertUpload(row: UploadRow): void {
    this.s.insertUpload.run(row)
  }

  /** Removes an upload and its part rows; returns the part blobs to unlink after commit. */
  deleteUpload(uploadId: string): string[] {
    const blobs = this.s.parts.all(uploadId).map((p) => p.blob)
    this.s.deleteParts.run(uploadId)
    this.s.deleteUpload.run(uploadId)
    return blobs
  }

  /** Uploads by key then initiation; `tie` resumes inside `from.key` after that upload seq. */
  uploadsFrom(bucket: string, from: Position, end: string | undefined, limit: number): UploadRow[] {
    return pageFrom({ ge: this.s.uploadsGe, gt: this.s.uploadsGt, inKey: this.s.uploadsInKey }, bucket, from, end, limit)
  }

  part(uploadId: string, partNumber: number): PartRow | undefined {
    return this.s.part.get(uploadId, partNumber)
  }

  parts(uploadId: string): PartRow[] {
    return this.s.parts.all(uploadId)
  }

  partsAfter(uploadId: string, marker: number, limit: number): PartRow[] {
    return this.s.partsAfter.all(uploadId, marker, limit)
  }

  upsertPart(row: PartRow): void {
    this.s.upsertPart.run(row)
  }

  insertBucket(name: string): void {
    this.s.insertBucket.run(name, Date.now())
  }

  /** Records a completed upload's version and drops the records completed before `pruneBeforeMs`. */
  recordCompleted(uploadId: string, bucket: string, key: string, versionId: string, nowMs: number, pruneBeforeMs: number): void {
    this.s.pruneCompleted.run(pruneBeforeMs)
    this.s.insertCompleted.run(uploadId, bucket, key, versionId, nowMs)
  }

  completedUpload(uploadId: string): { bucket: string; key: string; version_id: string; completed_ms: number } | undefined {
    return this.s.completed.get(uploadId)
  }

  deleteBucket(name: string): void {
    this.s.deleteCompletedOfBucket.run(name)
    this.cache.clear()
    this.s.deleteBucket.run(name)
  }

  /** Every blob id a row points at: what the open-time sweep must keep. */
  referencedBlobs(): Set<string> {
    return new Set(this.s.blobRefs.all().map((r) => r.blob))
  }
}

interface PageStatements<R> {
  ge: Database.Statement<[string, string, string, number], R>
  gt: Database.Statement<[string, string, string, number], R>
  inKey: Database.Statement<[string, string, number, number], R>
}

/**
 * Rows by key from `from` (versions or uploads): a `tie` first finishes `from.key` after that
 * sequence number (the statement's own order), then continues with the keys after it.
 */
function pageFrom<R>(st: PageStatements<R>, bucket: string, from: Position, end: string | undefined, limit: number): R[] {
  if (from.tie === undefined) return (from.inclusive ? st.ge : st.gt).all(bucket, from.key, end ?? MAX_KEY, limit)
  const head = st.inKey.all(bucket, from.key, from.tie, limit)
  if (head.length >= limit) return head
  return head.concat(st.gt.all(bucket, from.key, end ?? MAX_KEY, limit - head.length))
}

/**
 * An upper bound above every valid key: UTF-8 never contains byte 0xFF, and U+10FFFF encodes as
 * F4 8F BF BF, so a string of U+10FFFF characters longer than any key (S3 keys are at most 1024
 * bytes) sorts after all of them.
 */
const MAX_KEY = '\u{10FFFF}'.repeat(1100)

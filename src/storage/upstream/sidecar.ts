/**
 * @module What mrap knows about upstream objects that cannot be written into them (see
 * docs/decisions/upstream-storage.md): digests learned after the engine's headers left (streamed
 * and multipart writes), attribute changes (tags, replication status) that would otherwise need a
 * copy, version ids and times preserved for replicas, and open uploads' attributes and part
 * checksums. Rows are keyed by the engine's own version id and carry the engine's ETag: a row
 * whose ETag no longer matches describes an object replaced behind mrap's back and is ignored.
 *
 * Two homes, one interface: a SQLite file in the region's state dir for a node alone, and
 * PostgreSQL tables (pg-sidecar.ts) for a fleet, so every node sees what another wrote.
 */
import Database from 'better-sqlite3'
import type { Position } from '../embedded/listing.js'
import type { Checksums, ObjectAttributes, PartInfo } from '../types.js'

export interface StoredDigests {
  etag: string
  checksums: Checksums
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  parts?: { partNumber: number; size: number; etag: string; checksums: Checksums }[]
}

export interface VersionRow {
  bucket: string
  key: string
  engineVid: string
  engineEtag: string
  mrapVid: string | null
  lastModifiedMs: number | null
  isMarker: boolean
  attrs: ObjectAttributes | null
  digests: StoredDigests | null
}

export interface UploadRow {
  uploadId: string
  bucket: string
  key: string
  initiatedMs: number
  attrs: ObjectAttributes
  checksumAlgorithm: string | null
  checksumType: string | null
}

export interface RawVersion {
  bucket: string
  key: string
  engine_vid: string
  engine_etag: string
  mrap_vid: string | null
  last_modified_ms: number | null
  is_marker: number
  attrs: string | null
  digests: string | null
}
/** An open upload in listing order: `seq` (the rowid, creation order) breaks ties within a key. */
export type ListedUpload = UploadRow & { seq: number }

/**
 * Above every valid key: UTF-8 never holds byte 0xFF and U+10FFFF is F4 8F BF BF, so 1100 of them
 * (S3 keys are at most 1024 bytes) sort after every key under SQLite's BINARY collation.
 */
const MAX_KEY = '\u{10FFFF}'.repeat(1100)

export interface RawUpload {
  upload_id: string
  bucket: string
  key: string
  initiated_ms: number
  attrs: string
  checksum_algorithm: string | null
  checksum_type: string | null
}

/** Row shapes shared with pg-sidecar.ts, which stores the same columns. */
export const toRaw = (v: VersionRow): RawVersion => ({
  bucket: v.bucket,
  key: v.key,
  engine_vid: v.engineVid,
  engine_etag: v.engineEtag,
  mrap_vid: v.mrapVid,
  last_modified_ms: v.lastModifiedMs,
  is_marker: v.isMarker ? 1 : 0,
  attrs: v.attrs ? JSON.stringify(v.attrs) : null,
  digests: v.digests ? JSON.stringify(v.digests) : null,
})

export const fromRaw = (r: RawVersion): VersionRow => ({
  bucket: r.bucket,
  key: r.key,
  engineVid: r.engine_vid,
  engineEtag: r.engine_etag,
  mrapVid: r.mrap_vid,
  lastModifiedMs: r.last_modified_ms,
  isMarker: r.is_marker === 1,
  attrs: r.attrs === null ? null : (JSON.parse(r.attrs) as ObjectAttributes),
  digests: r.digests === null ? null : (JSON.parse(r.digests) as StoredDigests),
})

export const uploadFromRaw = (r: RawUpload): UploadRow => ({
  uploadId: r.upload_id,
  bucket: r.bucket,
  key: r.key,
  initiatedMs: r.initiated_ms,
  attrs: JSON.parse(r.attrs) as ObjectAttributes,
  checksumAlgorithm: r.checksum_algorithm,
  checksumType: r.checksum_type,
})

/** Methods are async for PostgreSQL; SQLite answers at once. Failures of a shared one are 503. */
export interface Sidecar {
  close(): Promise<void>
  version(bucket: string, key: string, engineVid: string): Promise<VersionRow | undefined>
  /** A row of the key written with this engine ETag (listings of current objects carry no version id). */
  byEtag(bucket: string, key: string, engineEtag: string): Promise<VersionRow | undefined>
  /** The row whose preserved (replica) version id is `mrapVid`. */
  byMrapVid(bucket: string, key: string, mrapVid: string): Promise<VersionRow | undefined>
  /** `version` of each (key, engine version id) of a listing page, in its order, at once. */
  versions(bucket: string, ids: [key: string, engineVid: string][]): Promise<(VersionRow | undefined)[]>
  /**
   * Every row of each (key, engine ETag) of a listing page, in its order, at once: more than one
   * when the same bytes were written more than once under a key of a versioned bucket (current-row.ts).
   */
  byEtags(bucket: string, ids: [key: string, engineEtag: string][]): Promise<VersionRow[][]>
  putVersion(v: VersionRow): Promise<void>
  setAttrs(bucket: string, key: string, engineVid: string, attrs: ObjectAttributes): Promise<void>
  dropVersion(bucket: string, key: string, engineVid: string): Promise<void>
  dropBucket(bucket: string): Promise<void>
  /** An open upload with its listing position (creation order). */
  upload(uploadId: string): Promise<ListedUpload | undefined>
  /**
   * Open uploads of a bucket from `from` in S3's order, keys below `end`: key (UTF-8 bytes), then
   * initiation. A `tie` first finishes `from.key` after that seq, then goes on with later keys.
   */
  uploadsFrom(bucket: string, from: Position, end: string | undefined, limit: number): Promise<ListedUpload[]>
  putUpload(u: UploadRow): Promise<void>
  /** The upload and its parts, together. */
  dropUpload(uploadId: string): Promise<void>
  /** Every open upload of a bucket and their parts (the bucket is going). */
  dropUploads(bucket: string): Promise<void>
  /** The completed object's row and the end of its upload, together. */
  completeUpload(v: VersionRow, uploadId: string): Promise<void>
  putPart(uploadId: string, partNumber: number, etag: string, engineEtag: string, checksums: Checksums): Promise<void>
  /** mrap's ETag and checksums of each part, by number, with the engine ETag they belong to. */
  parts(uploadId: string): Promise<Map<number, { etag: string; engineEtag: string; checksums: PartInfo['checksums'] }>>
}

/** The sidecar of one node: `<stateDir>/upstream.db`. */
export class SqliteSidecar implements Sidecar {
  private readonly db: Database.Database
  private readonly st: Record<string, Database.Statement>

  constructor(file: string) {
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS versions (
        bucket TEXT NOT NULL, key TEXT NOT NULL, engine_vid TEXT NOT NULL, engine_etag TEXT NOT NULL,
        mrap_vid TEXT, last_modified_ms INTEGER, is_marker INTEGER NOT NULL DEFAULT 0, attrs TEXT, digests TEXT,
        PRIMARY KEY (bucket, key, engine_vid)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS versions_by_mrap_vid ON versions (bucket, key, mrap_vid);
      CREATE TABLE IF NOT EXISTS uploads (
        upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated_ms INTEGER NOT NULL,
        attrs TEXT NOT NULL, checksum_algorithm TEXT, checksum_type TEXT);
      CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key);
      CREATE TABLE IF NOT EXISTS parts (
        upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, etag TEXT NOT NULL, engine_etag TEXT NOT NULL,
        checksums TEXT NOT NULL, PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
    `)
    this.st = {
      version: this.db.prepare('SELECT * FROM versions WHERE bucket = ? AND key = ? AND engine_vid = ?'),
      byEtag: this.db.prepare('SELECT * FROM versions WHERE bucket = ? AND key = ? AND engine_etag = ? LIMIT 1'),
      byEtagAll: this.db.prepare('SELECT * FROM versions WHERE bucket = ? AND key = ? AND engine_etag = ?'),
      byMrapVid: this.db.prepare('SELECT * FROM versions WHERE bucket = ? AND key = ? AND mrap_vid = ?'),
      putVersion: this.db.prepare(`INSERT OR REPLACE INTO versions VALUES (@bucket, @key, @engine_vid, @engine_etag, @mrap_vid, @last_modified_ms, @is_marker, @attrs, @digests)`),
      setAttrs: this.db.prepare('UPDATE versions SET attrs = ? WHERE bucket = ? AND key = ? AND engine_vid = ?'),
      dropVersion: this.db.prepare('DELETE FROM versions WHERE bucket = ? AND key = ? AND engine_vid = ?'),
      dropBucket: this.db.prepare('DELETE FROM versions WHERE bucket = ?'),
      upload: this.db.prepare('SELECT rowid AS seq, * FROM uploads WHERE upload_id = ?'),
      putUpload: this.db.prepare('INSERT OR REPLACE INTO uploads VALUES (@upload_id, @bucket, @key, @initiated_ms, @attrs, @checksum_algorithm, @checksum_type)'),
      dropUpload: this.db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
      dropUploads: this.db.prepare('DELETE FROM uploads WHERE bucket = ?'),
      dropBucketParts: this.db.prepare('DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)'),
      uploadsGe: this.db.prepare('SELECT rowid AS seq, * FROM uploads WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key, rowid LIMIT ?'),
      uploadsGt: this.db.prepare('SELECT rowid AS seq, * FROM uploads WHERE bucket = ? AND key > ? AND key < ? ORDER BY key, rowid LIMIT ?'),
      uploadsInKey: this.db.prepare('SELECT rowid AS seq, * FROM uploads WHERE bucket = ? AND key = ? AND rowid > ? ORDER BY rowid LIMIT ?'),
      dropParts: this.db.prepare('DELETE FROM parts WHERE upload_id = ?'),
      putPart: this.db.prepare('INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?)'),
      partsOf: this.db.prepare('SELECT part_number, etag, engine_etag, checksums FROM parts WHERE upload_id = ?'),
    }
  }

  async close(): Promise<void> {
    this.db.close()
  }

  async version(bucket: string, key: string, engineVid: string): Promise<VersionRow | undefined> {
    const r = this.st.version!.get(bucket, key, engineVid) as RawVersion | undefined
    return r && fromRaw(r)
  }

  async byEtag(bucket: string, key: string, engineEtag: string): Promise<VersionRow | undefined> {
    const r = this.st.byEtag!.get(bucket, key, engineEtag) as RawVersion | undefined
    return r && fromRaw(r)
  }

  async byMrapVid(bucket: string, key: string, mrapVid: string): Promise<VersionRow | undefined> {
    const r = this.st.byMrapVid!.get(bucket, key, mrapVid) as RawVersion | undefined
    return r && fromRaw(r)
  }

  async versions(bucket: string, ids: [string, string][]): Promise<(VersionRow | undefined)[]> {
    return ids.map(([key, vid]) => {
      const r = this.st.version!.get(bucket, key, vid) as RawVersion | undefined
      return r && fromRaw(r)
    })
  }

  async byEtags(bucket: string, ids: [string, string][]): Promise<VersionRow[][]> {
    return ids.map(([key, etag]) => (this.st.byEtagAll!.all(bucket, key, etag) as RawVersion[]).map(fromRaw))
  }

  async putVersion(v: VersionRow): Promise<void> {
    this.st.putVersion!.run(toRaw(v))
  }

  async setAttrs(bucket: string, key: string, engineVid: string, attrs: ObjectAttributes): Promise<void> {
    this.st.setAttrs!.run(JSON.stringify(attrs), bucket, key, engineVid)
  }

  async dropVersion(bucket: string, key: string, engineVid: string): Promise<void> {
    this.st.dropVersion!.run(bucket, key, engineVid)
  }
  async dropBucket(bucket: string): Promise<void> {
    this.st.dropBucket!.run(bucket)
  }

  async upload(uploadId: string): Promise<ListedUpload | undefined> {
    const r = this.st.upload!.get(uploadId) as (RawUpload & { seq: number }) | undefined
    return r && { ...uploadFromRaw(r), seq: r.seq }
  }

  async uploadsFrom(bucket: string, from: Position, end: string | undefined, limit: number): Promise<ListedUpload[]> {
    const page = (st: Database.Statement, ...args: unknown[]): ListedUpload[] =>
      (st.all(...args) as (RawUpload & { seq: number })[]).map((r) => ({ ...uploadFromRaw(r), seq: r.seq }))
    if (from.tie === undefined) return page(from.inclusive ? this.st.uploadsGe! : this.st.uploadsGt!, bucket, from.key, end ?? MAX_KEY, limit)
    const head = page(this.st.uploadsInKey!, bucket, from.key, from.tie, limit)
    if (head.length >= limit) return head
    return head.concat(page(this.st.uploadsGt!, bucket, from.key, end ?? MAX_KEY, limit - head.length))
  }

  async putUpload(u: UploadRow): Promise<void> {
    this.st.putUpload!.run({
      upload_id: u.uploadId,
      bucket: u.bucket,
      key: u.key,
      initiated_ms: u.initiatedMs,
      attrs: JSON.stringify(u.attrs),
      checksum_algorithm: u.checksumAlgorithm,
      checksum_type: u.checksumType,
    })
  }

  async dropUpload(uploadId: string): Promise<void> {
    this.db.transaction(() => {
      this.st.dropUpload!.run(uploadId)
      this.st.dropParts!.run(uploadId)
    })()
  }

  async dropUploads(bucket: string): Promise<void> {
    this.db.transaction(() => {
      this.st.dropBucketParts!.run(bucket)
      this.st.dropUploads!.run(bucket)
    })()
  }

  async completeUpload(v: VersionRow, uploadId: string): Promise<void> {
    this.db.transaction(() => {
      this.st.putVersion!.run(toRaw(v))
      this.st.dropUpload!.run(uploadId)
      this.st.dropParts!.run(uploadId)
    })()
  }

  async putPart(uploadId: string, partNumber: number, etag: string, engineEtag: string, checksums: Checksums): Promise<void> {
    this.st.putPart!.run(uploadId, partNumber, etag, engineEtag, JSON.stringify(checksums))
  }

  async parts(uploadId: string): Promise<Map<number, { etag: string; engineEtag: string; checksums: PartInfo['checksums'] }>> {
    const out = new Map<number, { etag: string; engineEtag: string; checksums: Checksums }>()
    for (const r of this.st.partsOf!.all(uploadId) as { part_number: number; etag: string; engine_etag: string; checksums: string }[]) {
      out.set(r.part_number, { etag: r.etag, engineEtag: r.engine_etag, checksums: JSON.parse(r.checksums) as Checksums })
    }
    return out
  }
}

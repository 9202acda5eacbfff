/**
 * @module The upstream sidecar of a fleet: the rows of sidecar.ts in PostgreSQL (migration 3 of
 * src/state/postgres/schema.ts), keyed also by region, on the control state's pool. Nodes serving
 * the same engine then agree on replication status, open uploads, digests and preserved version
 * ids (docs/decisions/upstream-storage.md). Each method is one statement, so one round trip; what
 * SQLite does in a transaction of several statements is one statement of data-modifying CTEs,
 * atomic on its own. The database out of reach is 503 ServiceUnavailable (clients retry), never
 * 500, and the next request after it returns simply works (the pool reconnects).
 */
import type pg from 'pg'
import { s3Error } from '../../shared/errors.js'
import { isUnavailable } from '../../state/postgres/errors.js'
import type { Position } from '../embedded/listing.js'
import type { Checksums, ObjectAttributes, PartInfo } from '../types.js'
import { fromRaw, type ListedUpload, type RawUpload, type RawVersion, type Sidecar, toRaw, type UploadRow, uploadFromRaw, type VersionRow } from './sidecar.js'

// bigint columns come back from pg as strings; the casts keep them numbers (milliseconds and
// sequence numbers stay far below 2^53).
const V = 'bucket, key, engine_vid, engine_etag, mrap_vid, last_modified_ms::float8 AS last_modified_ms, is_marker, attrs, digests'
const U = 'seq::float8 AS seq, upload_id, bucket, key, initiated_ms::float8 AS initiated_ms, attrs, checksum_algorithm, checksum_type'

const PUT_VERSION = `INSERT INTO mrap_upstream_version VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (region, bucket, key, engine_vid) DO UPDATE SET engine_etag = EXCLUDED.engine_etag, mrap_vid = EXCLUDED.mrap_vid,
  last_modified_ms = EXCLUDED.last_modified_ms, is_marker = EXCLUDED.is_marker, attrs = EXCLUDED.attrs, digests = EXCLUDED.digests`

/** Named statements: parsed once per pooled connection. */
const SQL = {
  version: `SELECT ${V} FROM mrap_upstream_version WHERE region = $1 AND bucket = $2 AND key = $3 AND engine_vid = $4`,
  byEtag: `SELECT ${V} FROM mrap_upstream_version WHERE region = $1 AND bucket = $2 AND key = $3 AND engine_etag = $4 LIMIT 1`,
  byMrapVid: `SELECT ${V} FROM mrap_upstream_version WHERE region = $1 AND bucket = $2 AND key = $3 AND mrap_vid = $4 LIMIT 1`,
  // One query for a listing page: the pairs travel as two arrays.
  versions: `SELECT ${V} FROM mrap_upstream_version WHERE region = $1 AND bucket = $2
    AND (key, engine_vid) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
  byEtags: `SELECT ${V} FROM mrap_upstream_version WHERE region = $1 AND bucket = $2
    AND (key, engine_etag) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
  putVersion: PUT_VERSION,
  setAttrs: 'UPDATE mrap_upstream_version SET attrs = $5 WHERE region = $1 AND bucket = $2 AND key = $3 AND engine_vid = $4',
  dropVersion: 'DELETE FROM mrap_upstream_version WHERE region = $1 AND bucket = $2 AND key = $3 AND engine_vid = $4',
  dropBucket: 'DELETE FROM mrap_upstream_version WHERE region = $1 AND bucket = $2',
  upload: `SELECT ${U} FROM mrap_upstream_upload WHERE region = $1 AND upload_id = $2`,
  // $4: the end key, NULL for none.
  uploadsGe: `SELECT ${U} FROM mrap_upstream_upload WHERE region = $1 AND bucket = $2 AND key >= $3 AND ($4::text IS NULL OR key < $4) ORDER BY key, seq LIMIT $5`,
  uploadsGt: `SELECT ${U} FROM mrap_upstream_upload WHERE region = $1 AND bucket = $2 AND key > $3 AND ($4::text IS NULL OR key < $4) ORDER BY key, seq LIMIT $5`,
  uploadsInKey: `SELECT ${U} FROM mrap_upstream_upload WHERE region = $1 AND bucket = $2 AND key = $3 AND seq > $4 ORDER BY seq LIMIT $5`,
  putUpload: `INSERT INTO mrap_upstream_upload (region, upload_id, bucket, key, initiated_ms, attrs, checksum_algorithm, checksum_type)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (region, upload_id) DO UPDATE SET bucket = EXCLUDED.bucket, key = EXCLUDED.key,
    initiated_ms = EXCLUDED.initiated_ms, attrs = EXCLUDED.attrs, checksum_algorithm = EXCLUDED.checksum_algorithm, checksum_type = EXCLUDED.checksum_type`,
  dropUpload: `WITH p AS (DELETE FROM mrap_upstream_part WHERE region = $1 AND upload_id = $2)
    DELETE FROM mrap_upstream_upload WHERE region = $1 AND upload_id = $2`,
  dropUploads: `WITH u AS (DELETE FROM mrap_upstream_upload WHERE region = $1 AND bucket = $2 RETURNING upload_id)
    DELETE FROM mrap_upstream_part WHERE region = $1 AND upload_id IN (SELECT upload_id FROM u)`,
  completeUpload: `WITH p AS (DELETE FROM mrap_upstream_part WHERE region = $1 AND upload_id = $11),
    u AS (DELETE FROM mrap_upstream_upload WHERE region = $1 AND upload_id = $11)
    ${PUT_VERSION}`,
  putPart: `INSERT INTO mrap_upstream_part VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (region, upload_id, part_number) DO UPDATE SET etag = EXCLUDED.etag, engine_etag = EXCLUDED.engine_etag, checksums = EXCLUDED.checksums`,
  partsOf: 'SELECT part_number, etag, engine_etag, checksums FROM mrap_upstream_part WHERE region = $1 AND upload_id = $2',
} as const

type Raw = Record<string, unknown>

export class PgSidecar implements Sidecar {
  constructor(
    private readonly pool: pg.Pool,
    private readonly region: string,
  ) {}

  /** The pool belongs to the control state, which closes it. */
  async close(): Promise<void> {}

  private async q<R extends Raw>(name: keyof typeof SQL, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ name: `mrap_sidecar_${name}`, text: SQL[name], values: [this.region, ...values] })).rows
    } catch (err) {
      if (isUnavailable(err)) throw s3Error('ServiceUnavailable', { fields: { Region: this.region } })
      throw err
    }
  }

  private async one(name: 'version' | 'byEtag' | 'byMrapVid', values: unknown[]): Promise<VersionRow | undefined> {
    const r = (await this.q<RawVersion & Raw>(name, values))[0]
    return r && fromRaw(r)
  }

  version(bucket: string, key: string, engineVid: string): Promise<VersionRow | undefined> {
    return this.one('version', [bucket, key, engineVid])
  }
  byEtag(bucket: string, key: string, engineEtag: string): Promise<VersionRow | undefined> {
    return this.one('byEtag', [bucket, key, engineEtag])
  }
  byMrapVid(bucket: string, key: string, mrapVid: string): Promise<VersionRow | undefined> {
    return this.one('byMrapVid', [bucket, key, mrapVid])
  }

  async versions(bucket: string, ids: [string, string][]): Promise<(VersionRow | undefined)[]> {
    const found = await this.many('versions', 'engine_vid', bucket, ids)
    return ids.map(([key, id]) => {
      const r = found.get(`${key}\0${id}`)?.[0]
      return r && fromRaw(r)
    })
  }
  async byEtags(bucket: string, ids: [string, string][]): Promise<VersionRow[][]> {
    const found = await this.many('byEtags', 'engine_etag', bucket, ids)
    return ids.map(([key, id]) => (found.get(`${key}\0${id}`) ?? []).map(fromRaw))
  }

  /** The rows of a page's (key, id) pairs in one query, grouped by pair (`key\0id`). */
  private async many(name: 'versions' | 'byEtags', by: 'engine_vid' | 'engine_etag', bucket: string, ids: [string, string][]): Promise<Map<string, RawVersion[]>> {
    const found = new Map<string, RawVersion[]>()
    if (ids.length === 0) return found
    for (const r of await this.q<RawVersion & Raw>(name, [bucket, ids.map((i) => i[0]), ids.map((i) => i[1])])) {
      const k = `${r.key}\0${r[by]}`
      const list = found.get(k)
      if (list) list.push(r)
      else found.set(k, [r])
    }
    return found
  }

  async putVersion(v: VersionRow): Promise<void> {
    await this.q('putVersion', versionValues(v))
  }

  async setAttrs(bucket: string, key: string, engineVid: string, attrs: ObjectAttributes): Promise<void> {
    await this.q('setAttrs', [bucket, key, engineVid, JSON.stringify(attrs)])
  }

  async dropVersion(bucket: string, key: string, engineVid: string): Promise<void> {
    await this.q('dropVersion', [bucket, key, engineVid])
  }
  async dropBucket(bucket: string): Promise<void> {
    await this.q('dropBucket', [bucket])
  }

  async upload(uploadId: string): Promise<ListedUpload | undefined> {
    const r = (await this.q<RawUpload & { seq: number } & Raw>('upload', [uploadId]))[0]
    return r && { ...uploadFromRaw(r), seq: r.seq }
  }

  async uploadsFrom(bucket: string, from: Position, end: string | undefined, limit: number): Promise<ListedUpload[]> {
    const page = async (name: 'uploadsGe' | 'uploadsGt' | 'uploadsInKey', values: unknown[]): Promise<ListedUpload[]> =>
      (await this.q<RawUpload & { seq: number } & Raw>(name, values)).map((r) => ({ ...uploadFromRaw(r), seq: r.seq }))
    if (from.tie === undefined) return page(from.inclusive ? 'uploadsGe' : 'uploadsGt', [bucket, from.key, end ?? null, limit])
    const head = await page('uploadsInKey', [bucket, from.key, from.tie, limit])
    if (head.length >= limit) return head
    return head.concat(await page('uploadsGt', [bucket, from.key, end ?? null, limit - head.length]))
  }

  async putUpload(u: UploadRow): Promise<void> {
    await this.q('putUpload', [u.uploadId, u.bucket, u.key, u.initiatedMs, JSON.stringify(u.attrs), u.checksumAlgorithm, u.checksumType])
  }

  async dropUpload(uploadId: string): Promise<void> {
    await this.q('dropUpload', [uploadId])
  }
  async dropUploads(bucket: string): Promise<void> {
    await this.q('dropUploads', [bucket])
  }
  async completeUpload(v: VersionRow, uploadId: string): Promise<void> {
    await this.q('completeUpload', [...versionValues(v), uploadId])
  }

  async putPart(uploadId: string, partNumber: number, etag: string, engineEtag: string, checksums: Checksums): Promise<void> {
    await this.q('putPart', [uploadId, partNumber, etag, engineEtag, JSON.stringify(checksums)])
  }

  async parts(uploadId: string): Promise<Map<number, { etag: string; engineEtag: string; checksums: PartInfo['checksums'] }>> {
    const out = new Map<number, { etag: string; engineEtag: string; checksums: Checksums }>()
    for (const r of await this.q<{ part_number: number; etag: string; engine_etag: string; checksums: string }>('partsOf', [uploadId])) {
      out.set(r.part_number, { etag: r.etag, engineEtag: r.engine_etag, checksums: JSON.parse(r.checksums) as Checksums })
    }
    return out
  }
}

/** $2..$10 of PUT_VERSION ($1 is the region). */
function versionValues(v: VersionRow): unknown[] {
  const r = toRaw(v)
  return [r.bucket, r.key, r.engine_vid, r.engine_etag, r.mrap_vid, r.last_modified_ms, r.is_marker, r.attrs, r.digests]
}

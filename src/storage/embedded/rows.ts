/**
 * @module Row shapes of the embedded store's tables and their mapping to the contract's types.
 * Attributes are one JSON column: they are read and written whole, never queried.
 */
import { randomBytes } from 'node:crypto'
import type { ChecksumAlgorithm, Checksums, MultipartUpload, ObjectAttributes, ObjectVersion, PartInfo } from '../types.js'

export interface VersionRow {
  seq: number
  bucket: string
  key: string
  version_id: string
  is_latest: number
  is_delete_marker: number
  size: number
  etag: string
  last_modified_ms: number
  attrs: string
  checksums: string
  checksum_type: string | null
  inline: Buffer | null
  blob: string | null
  manifest: string | null
}

/** One part of a completed multipart object: where its bytes live. */
export interface ManifestEntry {
  partNumber: number
  size: number
  etag: string
  checksums: Checksums
  blob: string
}

export interface UploadRow {
  upload_id: string
  seq: number
  bucket: string
  key: string
  initiated_ms: number
  attrs: string
  checksum_algorithm: string | null
  checksum_type: string | null
}

export interface PartRow {
  upload_id: string
  part_number: number
  size: number
  etag: string
  checksums: string
  last_modified_ms: number
  blob: string
}

/** Normalises attributes so stored JSON always has the required members. */
export function cleanAttributes(a: Partial<ObjectAttributes> | undefined): ObjectAttributes {
  const out: ObjectAttributes = { userMetadata: { ...(a?.userMetadata ?? {}) }, tags: (a?.tags ?? []).map((t) => ({ Key: t.Key, Value: t.Value })) }
  for (const [k, v] of Object.entries(a ?? {})) {
    if (k === 'userMetadata' || k === 'tags' || v === undefined) continue
    ;(out as unknown as Record<string, unknown>)[k] = v
  }
  return out
}

export function manifestOf(row: VersionRow): ManifestEntry[] | undefined {
  return row.manifest === null ? undefined : (JSON.parse(row.manifest) as ManifestEntry[])
}

/** Every blob file a version row owns (to unlink after the row is gone). */
export function blobsOf(row: Pick<VersionRow, 'blob' | 'manifest'>): string[] {
  if (row.blob !== null) return [row.blob]
  if (row.manifest !== null) return (JSON.parse(row.manifest) as ManifestEntry[]).map((p) => p.blob)
  return []
}

export function toVersion(row: VersionRow): ObjectVersion {
  const attrs = JSON.parse(row.attrs) as ObjectAttributes
  const v: ObjectVersion = {
    ...attrs,
    bucket: row.bucket,
    key: row.key,
    versionId: row.version_id,
    isDeleteMarker: row.is_delete_marker === 1,
    isLatest: row.is_latest === 1,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified_ms),
    checksums: JSON.parse(row.checksums) as Checksums,
  }
  if (row.checksum_type !== null) v.checksumType = row.checksum_type as 'FULL_OBJECT' | 'COMPOSITE'
  const manifest = manifestOf(row)
  if (manifest) {
    v.parts = manifest.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, checksums: p.checksums }))
  }
  return v
}

export function toUpload(row: UploadRow): MultipartUpload {
  const u: MultipartUpload = {
    bucket: row.bucket,
    key: row.key,
    uploadId: row.upload_id,
    initiated: new Date(row.initiated_ms),
    attributes: JSON.parse(row.attrs) as ObjectAttributes,
  }
  if (row.checksum_algorithm !== null) u.checksumAlgorithm = row.checksum_algorithm as ChecksumAlgorithm
  if (row.checksum_type !== null) u.checksumType = row.checksum_type as 'FULL_OBJECT' | 'COMPOSITE'
  return u
}

export function toPart(row: PartRow): PartInfo {
  return {
    partNumber: row.part_number,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified_ms),
    checksums: JSON.parse(row.checksums) as Checksums,
  }
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * A new version id: 32 URL-safe characters. The first 12 are hex digits of (2^48 - 1 - ms), so ids
 * sort newest first as plain strings; the other 20 are random base-62 digits. The
 * store orders by commit sequence anyway; the time prefix makes ids useful to humans and to any
 * backend that can only sort by id.
 */
export function newVersionId(now = Date.now()): string {
  const inverted = (2 ** 48 - 1 - now).toString(16).padStart(12, '0')
  const rnd = randomBytes(20)
  let tail = ''
  for (const b of rnd) tail += ID_ALPHABET[b % 62]
  return inverted + tail
}

/** Upload ids only need to be unguessable and unique. */
export function newUploadId(): string {
  return randomBytes(24).toString('base64url')
}

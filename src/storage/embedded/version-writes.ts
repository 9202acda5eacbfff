/**
 * @module The versioning rules of S3 as synchronous steps inside one metadata transaction:
 * where a new version or delete marker goes, which version it replaces, and which blobs become
 * garbage. Callers unlink the returned blobs only after the transaction has committed.
 */
import { s3Error } from '../../shared/errors.js'
import type { Checksums, DeleteResult, ObjectAttributes, VersioningState } from '../types.js'
import type { MetaDb } from './meta-db.js'
import { blobsOf, type ManifestEntry, newVersionId, type VersionRow } from './rows.js'

export interface VersionContent {
  bucket: string
  key: string
  versioning: VersioningState
  /** A preserved id (replication); otherwise 'null' or a new id per the versioning state. */
  versionId?: string | undefined
  lastModified: Date
  attributes: ObjectAttributes
  isDeleteMarker: boolean
  size: number
  etag: string
  checksums: Checksums
  checksumType?: string | undefined
  inline?: Buffer | undefined
  blob?: string | undefined
  manifest?: ManifestEntry[] | undefined
}

/**
 * Adds a version (or delete marker) as the newest of its key. Unversioned and Suspended buckets
 * write the 'null' version, replacing the previous null version wherever it sat in the history.
 */
export function writeVersion(meta: MetaDb, c: VersionContent): { row: VersionRow; garbage: string[] } {
  const versionId = c.versionId ?? (c.versioning === 'Enabled' ? newVersionId(c.lastModified.getTime()) : 'null')
  const garbage: string[] = []
  const replaced = meta.version(c.bucket, c.key, versionId)
  if (replaced) {
    meta.deleteVersion(replaced.seq)
    garbage.push(...blobsOf(replaced))
  }
  meta.insertVersion({
    bucket: c.bucket,
    key: c.key,
    version_id: versionId,
    is_delete_marker: c.isDeleteMarker ? 1 : 0,
    size: c.size,
    etag: c.etag,
    last_modified_ms: c.lastModified.getTime(),
    attrs: JSON.stringify(c.attributes),
    checksums: JSON.stringify(c.checksums),
    checksum_type: c.checksumType ?? null,
    inline: c.inline ?? null,
    blob: c.blob ?? null,
    manifest: c.manifest ? JSON.stringify(c.manifest) : null,
  })
  meta.refreshLatest(c.bucket, c.key)
  return { row: meta.version(c.bucket, c.key, versionId)!, garbage }
}

/** DeleteObject: by version id (permanent, markers included) or per the versioning state. */
export function deleteVersion(meta: MetaDb, bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): { result: DeleteResult; garbage: string[] } {
  if (opts.versionId !== undefined) {
    const row = meta.version(bucket, key, opts.versionId)
    // Deleting a version that is not there succeeds, as S3's DeleteObject does.
    if (!row) return { result: { versionId: opts.versionId, deleteMarker: false }, garbage: [] }
    meta.deleteVersion(row.seq)
    meta.refreshLatest(bucket, key)
    return { result: { versionId: opts.versionId, deleteMarker: row.is_delete_marker === 1 }, garbage: blobsOf(row) }
  }
  if (opts.versioning === 'Unversioned') {
    const row = meta.version(bucket, key, 'null')
    if (!row) return { result: { deleteMarker: false }, garbage: [] }
    meta.deleteVersion(row.seq)
    meta.refreshLatest(bucket, key)
    return { result: { deleteMarker: false }, garbage: blobsOf(row) }
  }
  const { row, garbage } = writeVersion(meta, {
    bucket,
    key,
    versioning: opts.versioning,
    lastModified: new Date(),
    attributes: { userMetadata: {}, tags: [] },
    isDeleteMarker: true,
    size: 0,
    etag: '',
    checksums: {},
  })
  return { result: { versionId: row.version_id, deleteMarker: true }, garbage }
}

/** A key's latest row if it can be read: S3's NoSuchKey when there is none or it is a delete marker. */
export function readableLatest(row: VersionRow | undefined, key: string): VersionRow {
  if (!row) throw s3Error('NoSuchKey', { fields: { Key: key } })
  if (row.is_delete_marker === 1) {
    throw s3Error('NoSuchKey', { fields: { Key: key, deleteMarker: 'true', versionId: row.version_id } })
  }
  return row
}

/** The row GetObject / HeadObject / tagging calls address, or the S3 error for its absence. */
export function addressedVersion(meta: MetaDb, bucket: string, key: string, versionId: string | undefined): VersionRow {
  if (versionId === undefined) return readableLatest(meta.latest(bucket, key), key)
  const row = meta.version(bucket, key, versionId)
  if (!row) throw s3Error('NoSuchVersion', { fields: { Key: key, VersionId: versionId } })
  if (row.is_delete_marker === 1) {
    throw s3Error('MethodNotAllowed', {
      fields: { ResourceType: 'DeleteMarker', deleteMarker: 'true', versionId, lastModified: row.last_modified_ms },
      headers: { Allow: 'DELETE' },
    })
  }
  return row
}

/** The ETag of a key's current version, undefined when it has none or it is a delete marker (a conditional write's view). */
export function currentEtag(meta: MetaDb, bucket: string, key: string): string | undefined {
  const row = meta.latest(bucket, key)
  return row && row.is_delete_marker === 0 ? row.etag : undefined
}

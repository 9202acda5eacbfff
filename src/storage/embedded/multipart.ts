/**
 * @module Multipart uploads for the embedded store. Parts are always blob files; completing an
 * upload copies no bytes: the new version row holds a manifest of the chosen parts' blobs, and
 * reads stream them in order. Parts the client did not name are unlinked after the commit.
 */
import { s3Error } from '../../shared/errors.js'
import type {
  ChecksumAlgorithm,
  CompleteUploadInput,
  ListUploadsInput,
  ListUploadsResult,
  MultipartUpload,
  ObjectAttributes,
  ObjectVersion,
  PartInfo,
  UploadPartInput,
} from '../types.js'
import { checkCommitCondition } from '../write-condition.js'
import type { BlobFiles } from './blob-files.js'
import { uploadsPage } from './listing.js'
import type { MetaDb } from './meta-db.js'
import { cleanAttributes, type ManifestEntry, newUploadId, toPart, toUpload, toVersion, type UploadRow } from './rows.js'
import type { RegionKey } from './sealed-bytes.js'
import { currentEtag, writeVersion } from './version-writes.js'

/** S3's minimum size for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024

/** How long a completed upload is remembered for a retried Complete (client retries come within minutes). */
export const COMPLETED_UPLOAD_TTL_MS = 60 * 60 * 1000

export class Multipart {
  constructor(
    private readonly live: () => MetaDb,
    private readonly blobs: BlobFiles,
  ) {}

  async create(input: {
    bucket: string
    key: string
    attributes: ObjectAttributes
    checksumAlgorithm?: ChecksumAlgorithm
    checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  }): Promise<MultipartUpload> {
    const meta = this.live()
    const row = await meta.commit((): UploadRow => {
      const r: UploadRow = {
        upload_id: newUploadId(),
        seq: meta.nextUploadSeq(),
        bucket: input.bucket,
        key: input.key,
        initiated_ms: Date.now(),
        attrs: JSON.stringify(cleanAttributes(input.attributes)),
        checksum_algorithm: input.checksumAlgorithm ?? null,
        checksum_type: input.checksumType ?? null,
      }
      meta.insertUpload(r)
      return r
    })
    return toUpload(row)
  }

  get(bucket: string, uploadId: string): MultipartUpload {
    return toUpload(this.uploadRow(this.live(), bucket, uploadId))
  }

  /** `key`: the SSE-C customer's (RegionKey.forCustomer) when the upload is SSE-C. */
  async uploadPart(input: UploadPartInput, key?: RegionKey): Promise<PartInfo> {
    this.uploadRow(this.live(), input.bucket, input.uploadId)
    const staged = await this.blobs.stage(input.body, -1, key)
    if (staged.kind !== 'file') throw new Error('a part is always staged to a file')
    let published = false
    let committed = false
    try {
      const digests = await input.finalize({ size: staged.size })
      await this.blobs.publish(staged)
      published = true
      const meta = this.live()
      const { part, replaced } = await meta.commit(() => {
        // Checked again: the upload may have been completed or aborted while bytes streamed.
        this.uploadRow(meta, input.bucket, input.uploadId)
        const old = meta.part(input.uploadId, input.partNumber)
        const row = {
          upload_id: input.uploadId,
          part_number: input.partNumber,
          size: staged.size,
          etag: digests.etag,
          checksums: JSON.stringify(digests.checksums),
          last_modified_ms: Date.now(),
          blob: staged.blobId,
        }
        meta.upsertPart(row)
        return { part: row, replaced: old?.blob }
      })
      committed = true
      if (replaced !== undefined) await this.blobs.remove([replaced])
      return toPart(part)
    } finally {
      if (!committed) await this.blobs.discard(staged, published)
    }
  }

  listParts(bucket: string, uploadId: string, opts: { partNumberMarker?: number; maxParts: number }): { parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number } {
    const meta = this.live()
    this.uploadRow(meta, bucket, uploadId)
    if (opts.maxParts <= 0) return { parts: [], isTruncated: false }
    const rows = meta.partsAfter(uploadId, opts.partNumberMarker ?? 0, opts.maxParts + 1)
    const isTruncated = rows.length > opts.maxParts
    const parts = rows.slice(0, opts.maxParts).map(toPart)
    const last = parts[parts.length - 1]
    return last && isTruncated ? { parts, isTruncated, nextPartNumberMarker: last.partNumber } : { parts, isTruncated }
  }

  listUploads(bucket: string, input: ListUploadsInput): ListUploadsResult {
    const meta = this.live()
    return uploadsPage({
      input,
      marker: (id) => {
        const m = meta.upload(id)
        return m && m.bucket === bucket ? m : undefined
      },
      fetch: (from, end, limit) => meta.uploadsFrom(bucket, from, end, limit),
      uploadIdOf: (r) => r.upload_id,
      toUpload,
    })
  }

  /** Synchronous: validation, manifest and version row all commit in one transaction. */
  async complete(input: CompleteUploadInput): Promise<ObjectVersion> {
    const meta = this.live()
    const { version, garbage } = await meta.commit(() => {
      const upload = this.uploadRow(meta, input.bucket, input.uploadId)
      if (input.parts.length === 0) {
        throw s3Error('MalformedXML', { message: 'You must specify at least one part' })
      }
      for (let i = 1; i < input.parts.length; i++) {
        if (input.parts[i]!.partNumber <= input.parts[i - 1]!.partNumber) throw s3Error('InvalidPartOrder', { fields: { UploadId: input.uploadId } })
      }
      const chosen = input.parts.map((p) => {
        const row = meta.part(input.uploadId, p.partNumber)
        const etag = p.etag.replace(/^"|"$/g, '')
        if (!row || row.etag !== etag) {
          throw s3Error('InvalidPart', { fields: { UploadId: input.uploadId, PartNumber: p.partNumber, ETag: etag } })
        }
        return row
      })
      chosen.forEach((row, i) => {
        if (i < chosen.length - 1 && row.size < MIN_PART_SIZE) {
          throw s3Error('EntityTooSmall', {
            fields: { ProposedSize: row.size, MinSizeAllowed: MIN_PART_SIZE, PartNumber: row.part_number, ETag: row.etag },
          })
        }
      })
      // In the transaction that writes the version: nothing can change the key between check and write.
      checkCommitCondition(input.condition, currentEtag(meta, input.bucket, upload.key))
      const infos = chosen.map(toPart)
      const digests = input.finalize(infos)
      const manifest: ManifestEntry[] = chosen.map((r, i) => ({
        partNumber: r.part_number,
        size: r.size,
        etag: r.etag,
        checksums: infos[i]!.checksums,
        blob: r.blob,
      }))
      const keep = new Set(chosen.map((r) => r.blob))
      const unnamed = meta.deleteUpload(input.uploadId).filter((b) => !keep.has(b))
      const { row, garbage } = writeVersion(meta, {
        bucket: input.bucket,
        key: upload.key,
        versioning: input.versioning,
        lastModified: new Date(),
        attributes: JSON.parse(upload.attrs) as ObjectAttributes,
        isDeleteMarker: false,
        size: chosen.reduce((n, r) => n + r.size, 0),
        etag: digests.etag,
        checksums: digests.checksums,
        checksumType: digests.checksumType,
        manifest,
      })
      const now = Date.now()
      meta.recordCompleted(input.uploadId, input.bucket, upload.key, row.version_id, now, now - COMPLETED_UPLOAD_TTL_MS)
      return { version: toVersion(row), garbage: [...unnamed, ...garbage] }
    })
    await this.blobs.remove(garbage)
    return version
  }

  completed(bucket: string, uploadId: string): { key: string; versionId: string } | undefined {
    const r = this.live().completedUpload(uploadId)
    if (!r || r.bucket !== bucket || r.completed_ms < Date.now() - COMPLETED_UPLOAD_TTL_MS) return undefined
    return { key: r.key, versionId: r.version_id }
  }

  async abort(bucket: string, uploadId: string): Promise<void> {
    const meta = this.live()
    const garbage = await meta.commit(() => {
      this.uploadRow(meta, bucket, uploadId)
      return meta.deleteUpload(uploadId)
    })
    await this.blobs.remove(garbage)
  }

  /** Aborts every upload of a bucket inside the caller's transaction; returns blobs to unlink. */
  abortAllIn(meta: MetaDb, bucket: string): string[] {
    return meta.uploadsOfBucket(bucket).flatMap((u) => meta.deleteUpload(u.upload_id))
  }

  private uploadRow(meta: MetaDb, bucket: string, uploadId: string): UploadRow {
    const row = meta.upload(uploadId)
    if (!row || row.bucket !== bucket) throw s3Error('NoSuchUpload', { fields: { UploadId: uploadId } })
    return row
  }
}

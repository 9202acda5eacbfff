/**
 * @module Multipart uploads of the upstream store, onto the engine's own: upload ids pass through,
 * parts stream to UploadPart, completion validates the part list itself (engines differ, and
 * some accepted wrong ETags: versitygw#153) and takes the ETag and checksums from mrap's finalize,
 * not the engine (Ceph Pacific answers a repeated complete with an empty ETag).
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand,
  HeadObjectCommand, ListPartsCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { s3Error } from '../../shared/errors.js'
import { cleanAttributes } from '../embedded/rows.js'
import type {
  ChecksumAlgorithm, CompleteUploadInput, ListUploadsInput, ListUploadsResult, MultipartUpload, ObjectAttributes,
  ObjectVersion, PartInfo, UploadPartInput,
} from '../types.js'
import { sendBody } from './body.js'
import { errorInfo } from './engine.js'
import { encodeAttributes, unquote } from './metadata.js'
import type { UploadRow } from './sidecar.js'
import type { UpstreamObjectStore } from './upstream-object-store.js'

/** S3's minimum size for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024

function toUpload(u: UploadRow): MultipartUpload {
  return {
    bucket: u.bucket, key: u.key, uploadId: u.uploadId, initiated: new Date(u.initiatedMs), attributes: u.attrs,
    ...(u.checksumAlgorithm ? { checksumAlgorithm: u.checksumAlgorithm as ChecksumAlgorithm } : {}),
    ...(u.checksumType ? { checksumType: u.checksumType as 'FULL_OBJECT' | 'COMPOSITE' } : {}),
  }
}

export class UpstreamMultipart {
  constructor(private readonly store: UpstreamObjectStore) {}

  async create(input: { bucket: string; key: string; attributes: ObjectAttributes; checksumAlgorithm?: ChecksumAlgorithm; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' }): Promise<MultipartUpload> {
    const side = this.store.live()
    const eb = this.store.engineBucket(input.bucket)
    await this.store.buckets.ensure(eb)
    const attributes = cleanAttributes(input.attributes)
    const r = await this.store.engine.call((c) => c.send(new CreateMultipartUploadCommand({ Bucket: eb, Key: input.key, ...encodeAttributes(attributes) })))
    const row: UploadRow = {
      uploadId: r.UploadId!, bucket: input.bucket, key: input.key, initiatedMs: Date.now(), attrs: attributes,
      checksumAlgorithm: input.checksumAlgorithm ?? null, checksumType: input.checksumType ?? null,
    }
    side.putUpload(row)
    return toUpload(row)
  }

  get(bucket: string, uploadId: string): MultipartUpload {
    return toUpload(this.row(bucket, uploadId))
  }

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    const side = this.store.live()
    const up = this.row(input.bucket, input.uploadId)
    const eb = this.store.engineBucket(input.bucket)
    let sent = 0
    const { result, digests } = await sendBody({
      body: input.body, size: input.size, finalize: input.finalize, tmpDir: this.store.tmpDir, smallLimit: this.store.smallLimit,
      send: ({ body, length, signal }) => (sent = length, this.store.engine.call((c) => c.send(new UploadPartCommand({
        Bucket: eb, Key: up.key, UploadId: input.uploadId, PartNumber: input.partNumber, Body: body, ContentLength: length,
      }), { abortSignal: signal }))),
    })
    side.putPart(input.uploadId, input.partNumber, digests.etag, unquote(result.ETag), digests.checksums)
    return { partNumber: input.partNumber, size: sent, etag: digests.etag, lastModified: new Date(), checksums: digests.checksums }
  }

  async listParts(bucket: string, uploadId: string, opts: { partNumberMarker?: number; maxParts: number }): Promise<{ parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number }> {
    const up = this.row(bucket, uploadId)
    if (opts.maxParts <= 0) return { parts: [], isTruncated: false }
    const r = await this.store.engine.call((c) => c.send(new ListPartsCommand({
      Bucket: this.store.engineBucket(bucket), Key: up.key, UploadId: uploadId, MaxParts: opts.maxParts,
      ...(opts.partNumberMarker !== undefined ? { PartNumberMarker: String(opts.partNumberMarker) } : {}),
    })))
    const ours = this.store.live().parts(uploadId)
    const parts: PartInfo[] = (r.Parts ?? []).map((p) => {
      const engineEtag = unquote(p.ETag)
      const mine = ours.get(p.PartNumber!)
      const known = mine && mine.engineEtag === engineEtag ? mine : undefined
      return { partNumber: p.PartNumber!, size: p.Size ?? 0, etag: known?.etag ?? engineEtag, lastModified: p.LastModified ?? new Date(0), checksums: known?.checksums ?? {} }
    })
    const isTruncated = r.IsTruncated === true && parts.length > 0
    const last = parts[parts.length - 1]
    return isTruncated && last ? { parts, isTruncated, nextPartNumberMarker: last.partNumber } : { parts, isTruncated: false }
  }

  async listUploads(bucket: string, input: ListUploadsInput): Promise<ListUploadsResult> {
    const side = this.store.live()
    if (input.maxUploads <= 0) return { uploads: [], commonPrefixes: [], isTruncated: false }
    const r = await this.store.engine.call((c) => c.send(new ListMultipartUploadsCommand({
      Bucket: this.store.engineBucket(bucket), MaxUploads: input.maxUploads,
      ...(input.prefix ? { Prefix: input.prefix } : {}), ...(input.delimiter ? { Delimiter: input.delimiter } : {}),
      ...(input.keyMarker !== undefined ? { KeyMarker: input.keyMarker } : {}), ...(input.uploadIdMarker !== undefined ? { UploadIdMarker: input.uploadIdMarker } : {}),
    })).catch((e: unknown) => { if (errorInfo(e).code === 'NoSuchBucket') return undefined; throw e }))
    if (!r) return { uploads: [], commonPrefixes: [], isTruncated: false }
    const uploads = (r.Uploads ?? []).map((u): MultipartUpload => {
      const row = side.upload(u.UploadId!)
      return row ? toUpload(row) : { bucket, key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? new Date(0), attributes: { userMetadata: {}, tags: [] } }
    })
    const out: ListUploadsResult = { uploads, commonPrefixes: (r.CommonPrefixes ?? []).flatMap((p) => (p.Prefix !== undefined ? [p.Prefix] : [])), isTruncated: r.IsTruncated === true }
    if (out.isTruncated) {
      if (r.NextKeyMarker) out.nextKeyMarker = r.NextKeyMarker
      if (r.NextUploadIdMarker) out.nextUploadIdMarker = r.NextUploadIdMarker
    }
    return out
  }

  async complete(input: CompleteUploadInput): Promise<ObjectVersion> {
    const side = this.store.live()
    const up = this.row(input.bucket, input.uploadId)
    if (input.parts.length === 0) throw s3Error('MalformedXML', { message: 'You must specify at least one part' })
    for (let i = 1; i < input.parts.length; i++) {
      if (input.parts[i]!.partNumber <= input.parts[i - 1]!.partNumber) throw s3Error('InvalidPartOrder', { fields: { UploadId: input.uploadId } })
    }
    const eb = this.store.engineBucket(input.bucket)
    const engineParts = await this.allParts(eb, up.key, input.uploadId)
    const ours = side.parts(input.uploadId)
    const chosen = input.parts.map((p) => {
      const e = engineParts.get(p.partNumber)
      const mine = ours.get(p.partNumber)
      const etag = unquote(p.etag)
      const mrapEtag = e && mine && mine.engineEtag === e.engineEtag ? mine.etag : e?.engineEtag
      if (!e || mrapEtag !== etag) throw s3Error('InvalidPart', { fields: { UploadId: input.uploadId, PartNumber: p.partNumber, ETag: etag } })
      return { partNumber: p.partNumber, size: e.size, etag, engineEtag: e.engineEtag, lastModified: e.lastModified, checksums: mine?.checksums ?? {} }
    })
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < MIN_PART_SIZE) {
        throw s3Error('EntityTooSmall', { fields: { ProposedSize: p.size, MinSizeAllowed: MIN_PART_SIZE, PartNumber: p.partNumber, ETag: p.etag } })
      }
    })
    const infos: PartInfo[] = chosen.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, lastModified: p.lastModified, checksums: p.checksums }))
    const digests = input.finalize(infos)
    const leave = await this.store.buckets.enter(eb, input.versioning)
    try {
      const r = await this.store.engine.call((c) => c.send(new CompleteMultipartUploadCommand({
        Bucket: eb, Key: up.key, UploadId: input.uploadId,
        MultipartUpload: { Parts: chosen.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.engineEtag}"` })) },
      })))
      const engineVid = r.VersionId ?? 'null'
      // The engine's ETag, for the sidecar row's validity: Pacific may send an empty one, so ask.
      const head = await this.store.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: up.key, ...(engineVid !== 'null' ? { VersionId: engineVid } : {}) })))
      const parts = chosen.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, checksums: p.checksums }))
      const stored = { etag: digests.etag, checksums: digests.checksums, ...(digests.checksumType ? { checksumType: digests.checksumType } : {}), parts }
      side.putVersion({ bucket: input.bucket, key: up.key, engineVid, engineEtag: unquote(head.ETag), mrapVid: null, lastModifiedMs: null, isMarker: false, attrs: null, digests: stored })
      side.dropUpload(input.uploadId)
      return {
        ...up.attrs, bucket: input.bucket, key: up.key, versionId: engineVid, isDeleteMarker: false, isLatest: true,
        size: chosen.reduce((n, p) => n + p.size, 0), etag: digests.etag, lastModified: head.LastModified ?? new Date(),
        checksums: digests.checksums, ...(digests.checksumType ? { checksumType: digests.checksumType } : {}), parts,
      }
    } finally {
      leave()
    }
  }

  async abort(bucket: string, uploadId: string): Promise<void> {
    const up = this.row(bucket, uploadId)
    await this.store.engine.call((c) => c.send(new AbortMultipartUploadCommand({ Bucket: this.store.engineBucket(bucket), Key: up.key, UploadId: uploadId })))
    this.store.live().dropUpload(uploadId)
  }

  /** Aborts every open upload of a bucket (deleteBucket). */
  async abortAll(bucket: string): Promise<void> {
    for (;;) {
      const page = await this.listUploads(bucket, { maxUploads: 1000 })
      for (const u of page.uploads) {
        await this.store.engine.call((c) => c.send(new AbortMultipartUploadCommand({ Bucket: this.store.engineBucket(bucket), Key: u.key, UploadId: u.uploadId })))
          .catch((e: unknown) => { if (errorInfo(e).code !== 'NoSuchUpload') throw e })
        this.store.live().dropUpload(u.uploadId)
      }
      if (!page.isTruncated || page.uploads.length === 0) return
    }
  }

  private async allParts(eb: string, key: string, uploadId: string): Promise<Map<number, { size: number; engineEtag: string; lastModified: Date }>> {
    const out = new Map<number, { size: number; engineEtag: string; lastModified: Date }>()
    let marker: string | undefined
    for (;;) {
      const r = await this.store.engine.call((c) => c.send(new ListPartsCommand({ Bucket: eb, Key: key, UploadId: uploadId, MaxParts: 1000, ...(marker ? { PartNumberMarker: marker } : {}) })))
      for (const p of r.Parts ?? []) out.set(p.PartNumber!, { size: p.Size ?? 0, engineEtag: unquote(p.ETag), lastModified: p.LastModified ?? new Date(0) })
      if (!r.IsTruncated || !r.NextPartNumberMarker) return out
      marker = r.NextPartNumberMarker
    }
  }

  /** The sidecar's upload row; NoSuchUpload when it is gone or belongs to another bucket. */
  private row(bucket: string, uploadId: string): UploadRow {
    const row = this.store.live().upload(uploadId)
    if (!row || row.bucket !== bucket) throw s3Error('NoSuchUpload', { fields: { UploadId: uploadId } })
    return row
  }
}

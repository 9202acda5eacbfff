/**
 * @module Multipart uploads of the upstream store, onto the engine's own: upload ids pass through,
 * parts stream to UploadPart, completion validates the part list itself (engines differ, and
 * some accepted wrong ETags: versitygw#153) and takes the ETag and checksums from mrap's finalize,
 * not the engine (Ceph Pacific answers a repeated complete with an empty ETag). Listing uploads
 * pages through the sidecar's record of open uploads, in S3's order (key, then initiation), which
 * RGW does not keep (it orders one key's uploads by upload id).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandOutput,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { s3Error } from '../../shared/errors.js'
import { uploadsPageAsync } from '../embedded/listing.js'
import { cleanAttributes } from '../embedded/rows.js'
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
import { sendBody } from './body.js'
import type { StoreCore } from './core.js'
import { errorInfo } from './engine.js'
import { encodeAttributes, unquote } from './metadata.js'
import type { ListedUpload, UploadRow } from './sidecar.js'

/** S3's minimum size for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024

function toUpload(u: UploadRow): MultipartUpload {
  return {
    bucket: u.bucket,
    key: u.key,
    uploadId: u.uploadId,
    initiated: new Date(u.initiatedMs),
    attributes: u.attrs,
    ...(u.checksumAlgorithm ? { checksumAlgorithm: u.checksumAlgorithm as ChecksumAlgorithm } : {}),
    ...(u.checksumType ? { checksumType: u.checksumType as 'FULL_OBJECT' | 'COMPOSITE' } : {}),
  }
}

export class UpstreamMultipart {
  constructor(private readonly store: StoreCore) {}

  async create(input: {
    bucket: string
    key: string
    attributes: ObjectAttributes
    checksumAlgorithm?: ChecksumAlgorithm
    checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  }): Promise<MultipartUpload> {
    const side = this.store.live()
    const eb = this.store.engineBucket(input.bucket)
    await this.store.buckets.ensure(eb)
    const attributes = cleanAttributes(input.attributes)
    const r = await this.store.engine.call((c) => c.send(new CreateMultipartUploadCommand({ Bucket: eb, Key: input.key, ...encodeAttributes(attributes) })))
    const row: UploadRow = {
      uploadId: r.UploadId!,
      bucket: input.bucket,
      key: input.key,
      initiatedMs: Date.now(),
      attrs: attributes,
      checksumAlgorithm: input.checksumAlgorithm ?? null,
      checksumType: input.checksumType ?? null,
    }
    await side.putUpload(row)
    return toUpload(row)
  }

  async get(bucket: string, uploadId: string): Promise<MultipartUpload> {
    return toUpload(await this.row(bucket, uploadId))
  }

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    const side = this.store.live()
    const up = await this.row(input.bucket, input.uploadId)
    const eb = this.store.engineBucket(input.bucket)
    let sent = 0
    const { result, digests } = await sendBody({
      body: input.body,
      size: input.size,
      finalize: input.finalize,
      tmpDir: this.store.tmpDir,
      smallLimit: this.store.smallLimit,
      send: ({ body, length, signal }) => {
        sent = length
        return this.store.engine.call(
          (c) =>
            c.send(
              new UploadPartCommand({
                Bucket: eb,
                Key: up.key,
                UploadId: input.uploadId,
                PartNumber: input.partNumber,
                Body: body,
                ContentLength: length,
              }),
              { abortSignal: signal },
            ),
          signal,
        )
      },
    })
    await side.putPart(input.uploadId, input.partNumber, digests.etag, unquote(result.ETag), digests.checksums)
    return { partNumber: input.partNumber, size: sent, etag: digests.etag, lastModified: new Date(), checksums: digests.checksums }
  }

  async listParts(
    bucket: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number }> {
    const up = await this.row(bucket, uploadId)
    if (opts.maxParts <= 0) return { parts: [], isTruncated: false }
    const r = await this.store.engine.call((c) =>
      c.send(
        new ListPartsCommand({
          Bucket: this.store.engineBucket(bucket),
          Key: up.key,
          UploadId: uploadId,
          MaxParts: opts.maxParts,
          ...(opts.partNumberMarker !== undefined ? { PartNumberMarker: String(opts.partNumberMarker) } : {}),
        }),
      ),
    )
    const ours = await this.store.live().parts(uploadId)
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

  /**
   * Uploads created through this store, from the sidecar (uploads made on the engine directly are
   * not mrap's: getUpload refuses them too). Markers as S3 means them: after keyMarker, or after
   * the upload uploadIdMarker within keyMarker.
   */
  async listUploads(bucket: string, input: ListUploadsInput): Promise<ListUploadsResult> {
    const side = this.store.live()
    this.store.engine.assertUp()
    return uploadsPageAsync<ListedUpload>({
      input,
      marker: async (id) => {
        const row = await side.upload(id)
        return row && row.bucket === bucket ? { key: row.key, seq: row.seq } : undefined
      },
      fetch: (from, end, limit) => side.uploadsFrom(bucket, from, end, limit),
      uploadIdOf: (r) => r.uploadId,
      toUpload,
    })
  }

  async complete(input: CompleteUploadInput): Promise<ObjectVersion> {
    const side = this.store.live()
    const up = await this.row(input.bucket, input.uploadId)
    if (input.parts.length === 0) throw s3Error('MalformedXML', { message: 'You must specify at least one part' })
    for (let i = 1; i < input.parts.length; i++) {
      if (input.parts[i]!.partNumber <= input.parts[i - 1]!.partNumber) throw s3Error('InvalidPartOrder', { fields: { UploadId: input.uploadId } })
    }
    const eb = this.store.engineBucket(input.bucket)
    const [engineParts, ours] = await Promise.all([this.allParts(eb, up.key, input.uploadId), side.parts(input.uploadId)])
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
    const leaveKey = await this.store.enterKey(input.bucket, up.key, input.condition)
    let leave = (): void => {}
    try {
      leave = await this.store.buckets.enter(eb, input.versioning)
      await this.store.pinReaders(eb, up.key)
      const r = await this.engineComplete(eb, up.key, input.uploadId, chosen, engineParts)
      const engineVid = r.VersionId ?? 'null'
      // The engine's ETag, for the sidecar row's validity: Pacific may send an empty one, so ask.
      const head = await this.store.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: up.key, ...(engineVid !== 'null' ? { VersionId: engineVid } : {}) })))
      const parts = chosen.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, checksums: p.checksums }))
      const stored = { etag: digests.etag, checksums: digests.checksums, ...(digests.checksumType ? { checksumType: digests.checksumType } : {}), parts }
      await side.completeUpload(
        {
          bucket: input.bucket,
          key: up.key,
          engineVid,
          engineEtag: unquote(head.ETag),
          mrapVid: null,
          lastModifiedMs: null,
          isMarker: false,
          attrs: up.attrs.acl ? up.attrs : null,
          digests: stored,
        },
        input.uploadId,
      )
      return {
        ...up.attrs,
        bucket: input.bucket,
        key: up.key,
        versionId: engineVid,
        isDeleteMarker: false,
        isLatest: true,
        size: chosen.reduce((n, p) => n + p.size, 0),
        etag: digests.etag,
        lastModified: head.LastModified ?? new Date(),
        checksums: digests.checksums,
        ...(digests.checksumType ? { checksumType: digests.checksumType } : {}),
        parts,
      }
    } finally {
      leave()
      leaveKey()
    }
  }

  /**
   * Completes on the engine with the chosen parts. S3 drops the parts a request leaves out; Ceph
   * Pacific refuses such a request with InvalidPart (it walks the uploaded and the named parts in
   * step, so every uploaded part must be named). Then each part left out is re-uploaded empty and
   * the request names every part: the object holds exactly the chosen parts' bytes, and mrap
   * answers with its own part list, sizes and ETag. No bytes are copied, and the common request
   * (every part named) is one plain completion. The engine must accept the empty parts between
   * others: on RGW `rgw_multipart_min_part_size = 0` (mrap enforces S3's 5 MiB on the chosen
   * parts itself, above).
   */
  private async engineComplete(
    eb: string,
    key: string,
    uploadId: string,
    chosen: { partNumber: number; engineEtag: string }[],
    uploaded: Map<number, unknown>,
  ): Promise<CompleteMultipartUploadCommandOutput> {
    const send = (parts: { partNumber: number; engineEtag: string }[]): Promise<CompleteMultipartUploadCommandOutput> =>
      this.store.engine.call((c) =>
        c.send(
          new CompleteMultipartUploadCommand({
            Bucket: eb,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.engineEtag}"` })) },
          }),
        ),
      )
    // `chosen` was checked against `uploaded`: the same size means the same parts.
    if (chosen.length === uploaded.size) return send(chosen)
    try {
      return await send(chosen) // engines that drop unnamed parts themselves (S3, MinIO)
    } catch (e) {
      if ((e as { code?: string }).code !== 'InvalidPart') throw e
    }
    const named = new Set(chosen.map((p) => p.partNumber))
    const blanks = await Promise.all(
      [...uploaded.keys()]
        .filter((n) => !named.has(n))
        .map(async (n) => {
          const r = await this.store.engine.call((c) =>
            c.send(new UploadPartCommand({ Bucket: eb, Key: key, UploadId: uploadId, PartNumber: n, Body: Buffer.alloc(0), ContentLength: 0 })),
          )
          return { partNumber: n, engineEtag: unquote(r.ETag) }
        }),
    )
    try {
      return await send([...chosen, ...blanks].sort((a, b) => a.partNumber - b.partNumber))
    } catch (e) {
      if ((e as { code?: string }).code !== 'EntityTooSmall') throw e
      throw s3Error('NotImplemented', {
        message: 'The storage engine refuses to leave parts out of a multipart upload: name every uploaded part, or allow small parts on the engine.',
      })
    }
  }

  async abort(bucket: string, uploadId: string): Promise<void> {
    const up = await this.row(bucket, uploadId)
    await this.store.engine.call((c) => c.send(new AbortMultipartUploadCommand({ Bucket: this.store.engineBucket(bucket), Key: up.key, UploadId: uploadId })))
    await this.store.live().dropUpload(uploadId)
  }

  /** Aborts every open upload of a bucket (deleteBucket). */
  async abortAll(bucket: string): Promise<void> {
    const eb = this.store.engineBucket(bucket)
    // The engine's own listing: its bucket is about to go, uploads made around mrap included.
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {}
    for (;;) {
      const r = await this.store.engine.call((c) =>
        c.send(new ListMultipartUploadsCommand({ Bucket: eb, MaxUploads: 1000, ...markers })).catch((e: unknown) => {
          if (errorInfo(e).code === 'NoSuchBucket') return undefined
          throw e
        }),
      )
      for (const u of r?.Uploads ?? []) {
        await this.store.engine
          .call((c) => c.send(new AbortMultipartUploadCommand({ Bucket: eb, Key: u.Key, UploadId: u.UploadId })))
          .catch((e: unknown) => {
            if (errorInfo(e).code !== 'NoSuchUpload') throw e
          })
        await this.store.live().dropUpload(u.UploadId!)
      }
      if (!r?.IsTruncated || !r.NextKeyMarker) break
      markers = { KeyMarker: r.NextKeyMarker, ...(r.NextUploadIdMarker ? { UploadIdMarker: r.NextUploadIdMarker } : {}) }
    }
    await this.store.live().dropUploads(bucket)
  }

  private async allParts(eb: string, key: string, uploadId: string): Promise<Map<number, { size: number; engineEtag: string; lastModified: Date }>> {
    const out = new Map<number, { size: number; engineEtag: string; lastModified: Date }>()
    let marker: string | undefined
    for (;;) {
      const r = await this.store.engine.call((c) =>
        c.send(new ListPartsCommand({ Bucket: eb, Key: key, UploadId: uploadId, MaxParts: 1000, ...(marker ? { PartNumberMarker: marker } : {}) })),
      )
      for (const p of r.Parts ?? []) out.set(p.PartNumber!, { size: p.Size ?? 0, engineEtag: unquote(p.ETag), lastModified: p.LastModified ?? new Date(0) })
      if (!r.IsTruncated || !r.NextPartNumberMarker) return out
      marker = r.NextPartNumberMarker
    }
  }

  /** The sidecar's upload row; NoSuchUpload when it is gone or belongs to another bucket. */
  private async row(bucket: string, uploadId: string): Promise<UploadRow> {
    const row = await this.store.live().upload(uploadId)
    if (!row || row.bucket !== bucket) throw s3Error('NoSuchUpload', { fields: { UploadId: uploadId } })
    return row
  }
}

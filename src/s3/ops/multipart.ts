/**
 * @module Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
 * ListMultipartUploads. https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
 */
import { ChecksumStream, compositeChecksum, fullObjectChecksum, multipartEtag } from '../../shared/checksums.js'
import { invalidArgument, S3Error, s3Error } from '../../shared/errors.js'
import type { ChecksumAlgorithm, Checksums, MultipartUpload, ObjectVersion } from '../../storage/types.js'
import { objectOwner } from '../acl.js'
import { parseRange } from '../conditionals.js'
import { type BucketRequest, empty, type ObjectRequest, ownerOf, readSmallBody, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { bodyDigester, isChecksumAlgorithm } from '../digests.js'
import { attributesFromHeaders, header, intParam } from '../headers.js'
import { applySseC, type CustomerKey, checkPartKey, checkTransport, customerEtag, customerKeyOf, sseCResponse } from '../sse-c.js'
import { digestThenSeal, dssePartEtag, dssePartKey, kmsResponse, openDsseKey, openKmsDataKey } from '../sse-kms.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from '../xml.js'
import { applyWriteAcl } from './acl.js'
import { SSE_RESPONSE } from './encryption.js'
import { declaredSize, kmsWrite, openCopySource, storeOf, writeCondition, writeHeaders } from './object.js'
import { applyWriteLock, checkPartIntegrity } from './object-lock.js'

const MAX_PART_NUMBER = 10000

function partNumberOf(req: S3Request): number {
  const raw = req.query.get('partNumber') ?? ''
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PART_NUMBER) {
    throw invalidArgument('partNumber', raw, 'Part number must be an integer between 1 and 10000, inclusive')
  }
  return Number(raw)
}

/** The upload named by ?uploadId, which must belong to this key. */
async function uploadOf(req: BucketRequest): Promise<MultipartUpload> {
  const id = req.query.get('uploadId') ?? ''
  const up = await storeOf(req).getUpload(req.bucket.name, id)
  if (up.key !== req.key) throw s3Error('NoSuchUpload', { fields: { UploadId: id } })
  return up
}

function checksumFields(sums: Checksums): XmlObject {
  const out: XmlObject = {}
  for (const [alg, v] of Object.entries(sums)) if (v) out[`Checksum${alg}`] = v
  return out
}

export async function createMultipartUpload(req: ObjectRequest): Promise<S3Response> {
  const attributes = attributesFromHeaders(req.headers)
  // The retention (the default one too) is fixed here: the upload's attributes become the object's.
  applyWriteLock(req, attributes)
  applyWriteAcl(req, attributes)
  const algRaw = header(req.headers, 'x-amz-checksum-algorithm')?.toUpperCase()
  if (algRaw !== undefined && !isChecksumAlgorithm(algRaw)) throw invalidArgument('x-amz-checksum-algorithm', algRaw, 'Checksum algorithm provided is unsupported.')
  const typeRaw = header(req.headers, 'x-amz-checksum-type')?.toUpperCase()
  if (typeRaw !== undefined && typeRaw !== 'COMPOSITE' && typeRaw !== 'FULL_OBJECT')
    throw invalidArgument('x-amz-checksum-type', typeRaw, 'Value for x-amz-checksum-type header is invalid.')
  if (typeRaw === 'FULL_OBJECT' && algRaw !== undefined && !algRaw.startsWith('CRC')) {
    throw s3Error('InvalidRequest', { message: `The FULL_OBJECT checksum type cannot be used with the ${algRaw.toLowerCase()} checksum algorithm.` })
  }
  const rs = req.core.replication.statusFor(req.bucket, req.key, attributes.tags)
  if (rs) attributes.replicationStatus = rs
  const ssec = customerKeyOf(req.headers)
  if (ssec) applySseC(req, storeOf(req), attributes, ssec)
  // SSE-KMS, DSSE-KMS: the data keys are made now and kept encrypted with the upload; each part asks
  // KMS for them. A DSSE-KMS upload's parts each get their own second-layer key (`dssePartKey`).
  const kms = await kmsWrite(req, req.key, attributes, !!ssec)
  if (kms?.dsseKey) attributes.sseKmsDsseParts = true
  const input: Parameters<ReturnType<typeof storeOf>['createUpload']>[0] = { bucket: req.bucket.name, key: req.key, attributes }
  if (algRaw !== undefined) {
    input.checksumAlgorithm = algRaw as ChecksumAlgorithm
    input.checksumType = (typeRaw as 'COMPOSITE' | 'FULL_OBJECT' | undefined) ?? 'COMPOSITE'
  }
  const up = await storeOf(req).createUpload(input)
  const headers: Record<string, string> = ssec ? sseCResponse(ssec) : up.attributes.sseKmsKeyId !== undefined ? kmsResponse(up.attributes) : { ...SSE_RESPONSE }
  if (up.checksumAlgorithm) {
    headers['x-amz-checksum-algorithm'] = up.checksumAlgorithm
    headers['x-amz-checksum-type'] = up.checksumType ?? 'COMPOSITE'
  }
  return xmlResponse(renderXml('InitiateMultipartUploadResult', { Bucket: req.bucket.name, Key: req.key, UploadId: up.uploadId }), 200, headers)
}

/**
 * The keys a part is sealed with: SSE-C's, checked against the upload's; SSE-KMS's data key, which KMS
 * decrypts for the caller ("you must have permission to the kms:Decrypt and kms:GenerateDataKey
 * actions" for a multipart upload with SSE-KMS, UsingKMSEncryption.html); for DSSE-KMS also the
 * part's second-layer key and the random ETag it derives from (`dssePartKey`).
 */
function partSealKey(req: BucketRequest, up: MultipartUpload, ssec: CustomerKey | undefined): { store?: Buffer; dsse?: { key: Buffer; etag: string } } {
  if (ssec) return { store: ssec.key }
  if (up.attributes.sseKmsDataKey === undefined) return {}
  const at = { bucket: req.bucket.name, key: up.key, region: req.bucket.region }
  const store = openKmsDataKey(req, up.attributes, at, up.attributes.sseKmsDsseParts === true)
  if (!up.attributes.sseKmsDsseParts) return { store }
  const etag = dssePartEtag()
  return { store, dsse: { key: dssePartKey(openDsseKey(req, up.attributes, at), etag), etag } }
}

function partHeaders(up: MultipartUpload, ssec: CustomerKey | undefined): Record<string, string> {
  return ssec ? sseCResponse(ssec) : up.attributes.sseKmsKeyId !== undefined ? kmsResponse(up.attributes) : { ...SSE_RESPONSE }
}

/** The SSE-C key of a part request, checked against its upload's (every part carries it). */
function partKey(req: BucketRequest, up: MultipartUpload): CustomerKey | undefined {
  const ssec = customerKeyOf(req.headers)
  if (ssec) checkTransport(req.origin)
  const refused = checkPartKey(up.attributes, ssec)
  if (refused) throw refused
  return ssec
}

export async function uploadPart(req: BucketRequest): Promise<S3Response> {
  const partNumber = partNumberOf(req)
  const up = await uploadOf(req)
  const ssec = partKey(req, up)
  const sealKey = partSealKey(req, up, ssec)
  checkPartIntegrity(req.headers, up.attributes)
  const digester = bodyDigester(req.headers, up.checksumAlgorithm ? [up.checksumAlgorithm] : [])
  const body = digestThenSeal(req.body, digester, sealKey.dsse?.key)
  const size = declaredSize(req)
  const part = await storeOf(req).uploadPart({
    bucket: req.bucket.name,
    uploadId: up.uploadId,
    partNumber,
    body,
    ...(size !== undefined ? { size } : {}),
    ...(sealKey.store ? { customerKey: sealKey.store } : {}),
    finalize: () => {
      const r = digester.result()
      return { etag: sealKey.dsse?.etag ?? (ssec ? customerEtag(ssec, r.md5Hex) : r.md5Hex), checksums: r.checksums }
    },
  })
  const headers: Record<string, string> = { etag: `"${part.etag}"`, ...partHeaders(up, ssec) }
  for (const [alg, v] of Object.entries(part.checksums)) if (v) headers[`x-amz-checksum-${alg.toLowerCase()}`] = v
  return empty(200, headers)
}

export async function uploadPartCopy(req: BucketRequest): Promise<S3Response> {
  const partNumber = partNumberOf(req)
  const up = await uploadOf(req)
  const ssec = partKey(req, up)
  const sealKey = partSealKey(req, up, ssec)
  const source = await openCopySource(req)
  const rangeHeader = header(req.headers, 'x-amz-copy-source-range')
  let range = source.version.size > 0 ? { start: 0, end: source.version.size - 1 } : undefined
  if (rangeHeader !== undefined) {
    if (!/^bytes=\d+-\d+$/.test(rangeHeader))
      throw invalidArgument(
        'x-amz-copy-source-range',
        rangeHeader,
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      )
    const r = parseRange(rangeHeader, source.version.size)
    const [, a, b] = rangeHeader.match(/^bytes=(\d+)-(\d+)$/)!
    if (!r || Number(b) >= source.version.size || Number(a) > Number(b)) {
      throw invalidArgument('x-amz-copy-source-range', rangeHeader, `Range specified is not valid for source object of size: ${source.version.size}`)
    }
    range = r
  }
  const digester = new ChecksumStream({ algorithms: up.checksumAlgorithm ? [up.checksumAlgorithm] : [] })
  const body = digestThenSeal(source.open(range), digester, sealKey.dsse?.key)
  const part = await storeOf(req).uploadPart({
    bucket: req.bucket.name,
    uploadId: up.uploadId,
    partNumber,
    body,
    size: range ? range.end - range.start + 1 : 0,
    ...(sealKey.store ? { customerKey: sealKey.store } : {}),
    finalize: () => {
      const r = digester.result()
      return { etag: sealKey.dsse?.etag ?? (ssec ? customerEtag(ssec, r.md5Hex) : r.md5Hex), checksums: r.checksums }
    },
  })
  const headers: Record<string, string> = partHeaders(up, ssec)
  if (source.version.versionId !== 'null') headers['x-amz-copy-source-version-id'] = source.version.versionId
  return xmlResponse(renderXml('CopyPartResult', { ETag: `"${part.etag}"`, LastModified: part.lastModified, ...checksumFields(part.checksums) }), 200, headers)
}

/** The parts a CompleteMultipartUpload body names, in the order sent. */
async function completionParts(req: ObjectRequest): Promise<{ partNumber: number; etag: string }[]> {
  const doc = parseXmlBody(await readSmallBody(req.body, 4 * 1024 * 1024), 'CompleteMultipartUpload')
  const parts = list(doc.Part).map((p) => {
    const o = p as Record<string, unknown>
    const n = text(o.PartNumber)
    const etag = text(o.ETag)
    if (n === undefined || etag === undefined || !/^\d+$/.test(n)) throw s3Error('MalformedXML')
    return { partNumber: Number(n), etag: etag.replace(/"/g, '').trim() }
  })
  if (parts.length === 0) throw s3Error('MalformedXML', { message: 'The XML you provided was not well-formed or did not validate against our published schema' })
  // CompleteMultipartUpload: "InvalidPartOrder: The list of parts was not in ascending order."
  // Strictly ascending: AWS refuses a repeated part number with the same error (observed,
  // transloadit/uppy#2351). Checked here so every store answers alike.
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw s3Error('InvalidPartOrder', { fields: { UploadId: req.query.get('uploadId') ?? '' } })
  }
  return parts
}

/**
 * The version an earlier Complete of this upload made, when `parts` are the parts it was made of
 * and it is still stored: AWS answers a retried Complete (a client whose first response was lost)
 * with the first result for a while after completion (observed: adobe/S3Mock#2586, run against
 * S3), where a store that forgot the upload would say NoSuchUpload.
 */
async function completedBefore(req: ObjectRequest, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectVersion | undefined> {
  const store = storeOf(req)
  const done = await store.completedUpload?.(req.bucket.name, uploadId)
  if (!done || done.key !== req.key) return undefined
  let v: ObjectVersion
  try {
    v = (await store.getObject(req.bucket.name, req.key, done.versionId)).version
  } catch (e) {
    if (e instanceof S3Error) return undefined // overwritten (the null version) or deleted since
    throw e
  }
  const same = v.parts !== undefined && v.parts.length === parts.length && v.parts.every((p, i) => p.partNumber === parts[i]!.partNumber && p.etag === parts[i]!.etag)
  return same ? v : undefined
}

function completionResult(req: ObjectRequest, v: ObjectVersion): S3Response {
  const headers = writeHeaders(req, v)
  delete headers.etag
  return xmlResponse(
    renderXml('CompleteMultipartUploadResult', {
      Location: `/${encodeURIComponent(req.bucket.name)}/${req.key.split('/').map(encodeURIComponent).join('/')}`,
      Bucket: req.bucket.name,
      Key: req.key,
      ETag: `"${v.etag}"`,
      ...checksumFields(v.checksums),
      ChecksumType: Object.keys(v.checksums).length > 0 ? v.checksumType : undefined,
    }),
    200,
    headers,
  )
}

export async function completeMultipartUpload(req: ObjectRequest): Promise<S3Response> {
  let up: MultipartUpload
  try {
    up = await uploadOf(req)
  } catch (e) {
    if (!(e instanceof S3Error) || e.code !== 'NoSuchUpload') throw e
    // An unknown upload stays NoSuchUpload whatever its body: a body error cannot take its place.
    const parts = await completionParts(req).catch(() => undefined)
    const earlier = parts && (await completedBefore(req, req.query.get('uploadId') ?? '', parts))
    if (!earlier) throw e
    // Already replicated when it was first completed: a retry writes nothing.
    return completionResult(req, earlier)
  }
  const parts = await completionParts(req)
  const condition = await writeCondition(req, up.key)
  const v = await storeOf(req).completeUpload({
    bucket: req.bucket.name,
    uploadId: up.uploadId,
    parts,
    versioning: req.bucket.versioning,
    ...(condition ? { condition } : {}),
    finalize: (chosen) => {
      const checksums: Checksums = {}
      const alg = up.checksumAlgorithm
      const sums = alg ? chosen.map((p) => p.checksums[alg]) : []
      if (alg && sums.every((x): x is string => x !== undefined)) {
        checksums[alg] =
          up.checksumType === 'FULL_OBJECT' && alg.startsWith('CRC')
            ? fullObjectChecksum(
                alg as 'CRC32' | 'CRC32C' | 'CRC64NVME',
                chosen.map((p) => ({ checksum: p.checksums[alg]!, size: p.size })),
              )
            : compositeChecksum(alg, sums)
      }
      return { etag: multipartEtag(chosen.map((p) => p.etag)), checksums, checksumType: up.checksumType ?? 'COMPOSITE' }
    },
  })
  await req.core.replication.written(req.bucket, v)
  return completionResult(req, v)
}

export async function abortMultipartUpload(req: BucketRequest): Promise<S3Response> {
  const up = await uploadOf(req)
  await storeOf(req).abortUpload(req.bucket.name, up.uploadId)
  return empty(204)
}

export async function listParts(req: ObjectRequest): Promise<S3Response> {
  const up = await uploadOf(req)
  const maxParts = intParam(req.query, 'max-parts', 1000)
  const markerRaw = req.query.get('part-number-marker')
  if (markerRaw !== null && !/^\d+$/.test(markerRaw)) throw invalidArgument('part-number-marker', markerRaw, 'Provided part-number-marker not an integer or within integer range')
  const marker = markerRaw === null ? undefined : Number(markerRaw)
  const page = await storeOf(req).listParts(req.bucket.name, up.uploadId, { ...(marker !== undefined ? { partNumberMarker: marker } : {}), maxParts })
  const who = ownerOf(objectOwner(req.bucket, up.attributes))
  return xmlResponse(
    renderXml('ListPartsResult', {
      Bucket: req.bucket.name,
      Key: req.key,
      UploadId: up.uploadId,
      PartNumberMarker: marker ?? 0,
      NextPartNumberMarker: page.nextPartNumberMarker,
      MaxParts: maxParts,
      IsTruncated: page.isTruncated,
      ChecksumAlgorithm: up.checksumAlgorithm,
      ChecksumType: up.checksumAlgorithm ? up.checksumType : undefined,
      Part: page.parts.map((p) => ({ PartNumber: p.partNumber, LastModified: p.lastModified, ETag: `"${p.etag}"`, Size: p.size, ...checksumFields(p.checksums) })),
      Initiator: who,
      Owner: who,
      StorageClass: up.attributes.storageClass ?? 'STANDARD',
    }),
  )
}

export async function listMultipartUploads(req: BucketRequest): Promise<S3Response> {
  const q = req.query
  const maxUploads = intParam(q, 'max-uploads', 1000)
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? undefined
  const keyMarker = q.get('key-marker') ?? undefined
  const uploadIdMarker = q.get('upload-id-marker') ?? undefined
  const page = await storeOf(req).listUploads(req.bucket.name, {
    prefix,
    ...(delimiter ? { delimiter } : {}),
    ...(keyMarker ? { keyMarker } : {}),
    ...(uploadIdMarker && keyMarker ? { uploadIdMarker } : {}),
    maxUploads,
  })
  return xmlResponse(
    renderXml('ListMultipartUploadsResult', {
      Bucket: req.bucket.name,
      KeyMarker: keyMarker ?? '',
      UploadIdMarker: uploadIdMarker ?? '',
      NextKeyMarker: page.isTruncated ? page.nextKeyMarker : undefined,
      NextUploadIdMarker: page.isTruncated ? page.nextUploadIdMarker : undefined,
      Prefix: prefix,
      Delimiter: delimiter,
      MaxUploads: maxUploads,
      IsTruncated: page.isTruncated,
      Upload: page.uploads.map((u) => ({
        Key: u.key,
        UploadId: u.uploadId,
        Initiator: ownerOf(objectOwner(req.bucket, u.attributes)),
        Owner: ownerOf(objectOwner(req.bucket, u.attributes)),
        StorageClass: u.attributes.storageClass ?? 'STANDARD',
        Initiated: u.initiated,
        ChecksumAlgorithm: u.checksumAlgorithm,
      })),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: p })),
    }),
  )
}

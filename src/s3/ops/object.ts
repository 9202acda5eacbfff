/**
 * @module Object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html and neighbours.
 */
import { ChecksumStream } from '../../shared/checksums.js'
import { invalidArgument, S3Error, s3Error } from '../../shared/errors.js'
import type { GetResult, ObjectAttributes, ObjectVersion, WriteCondition } from '../../storage/types.js'
import { etagMatches } from '../../storage/write-condition.js'
import { checkReadConditions, parseRange } from '../conditionals.js'
import { type BucketRequest, empty, type ObjectRequest, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { bodyDigester, isChecksumAlgorithm } from '../digests.js'
import { attributesFromHeaders, header, objectResponseHeaders, parseTaggingHeader } from '../headers.js'
import { expirationHeader } from '../lifecycle.js'
import { applySseC, COPY_SSE_C_PREFIX, type CustomerKey, checkReadKey, checkTransport, customerEtag, customerKeyOf, sseCResponse } from '../sse-c.js'
import { beginKmsWrite, digestThenSeal, kmsResponse, kmsWriteSpec, openKmsBody } from '../sse-kms.js'
import { checkExpectedOwner, notImplemented } from '../unsupported.js'
import { renderXml } from '../xml.js'
import { applyWriteAcl, objectAclFor } from './acl.js'
import { kmsDefaultOf, SSE_RESPONSE } from './encryption.js'
import { applyWriteLock, deleteRefusal, lockResponseHeaders, serialized, versionToDelete } from './object-lock.js'

export function storeOf(req: BucketRequest) {
  const store = req.core.stores.get(req.bucket.region)
  if (!store) throw s3Error('ServiceUnavailable')
  return store
}

/**
 * Response headers a write returns: ETag, version id, checksums, the encryption. `ssec`: the SSE-C
 * key the request gave; an SSE-C version written without one (CompleteMultipartUpload) says nothing
 * of its encryption, as S3's Complete response has no SSE-C member (and it is not AES256).
 */
export function writeHeaders(req: BucketRequest, v: ObjectVersion, ssec?: CustomerKey): Record<string, string> {
  const out: Record<string, string> = {
    etag: `"${v.etag}"`,
    ...(v.sseKmsKeyId !== undefined ? kmsResponse(v) : v.sseCustomerAlgorithm === undefined ? SSE_RESPONSE : ssec ? sseCResponse(ssec) : {}),
  }
  if (req.bucket.versioning !== 'Unversioned') out['x-amz-version-id'] = v.versionId
  for (const [alg, val] of Object.entries(v.checksums)) if (val) out[`x-amz-checksum-${alg.toLowerCase()}`] = val
  if (v.checksumType && Object.keys(v.checksums).length > 0) out['x-amz-checksum-type'] = v.checksumType
  addExpiration(req, v, out)
  return out
}

/** x-amz-expiration when an Expiration rule of the bucket's lifecycle matches the (current) version. */
function addExpiration(req: BucketRequest, v: ObjectVersion, out: Record<string, string>): void {
  if (req.bucket.configs.lifecycle === undefined || !v.isLatest) return
  const e = expirationHeader(req.bucket.configs, v)
  if (e !== undefined) out['x-amz-expiration'] = e
}

function versionIdParam(req: S3Request): string | undefined {
  const v = req.query.get('versionId')
  if (v === null) return undefined
  if (v === '') throw invalidArgument('versionId', v, 'Version id cannot be the empty string')
  return v
}

/**
 * The decoded body length the request declared, so a store that forwards bytes can stream them
 * instead of staging a copy. Chosen as decodeBody (auth/body.ts) checks it: an aws-chunked
 * (STREAMING-*) payload has x-amz-decoded-content-length, any other has Content-Length. Both
 * were validated before the operation ran; a body that ends short still fails as IncompleteBody.
 */
export function declaredSize(req: S3Request): number | undefined {
  const streaming = header(req.headers, 'x-amz-content-sha256')?.startsWith('STREAMING-') === true
  const v = header(req.headers, streaming ? 'x-amz-decoded-content-length' : 'content-length')
  return v !== undefined && /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : undefined
}

/**
 * Conditional writes (If-None-Match: *, If-Match: <etag>) on PutObject and
 * CompleteMultipartUpload, judged here before the body is read (412 PreconditionFailed; If-Match
 * on a key without a current version, a delete marker included, is 404 NoSuchKey), and again by
 * the store in the step that writes (ConditionalRequestConflict, 409, when a concurrent write got
 * in between). If-None-Match takes only `*`; S3 answers any other value NotImplemented.
 * "How to prevent object overwrites with conditional writes",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html;
 * PutObject, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (If-Match, If-None-Match).
 */
export async function writeCondition(req: ObjectRequest, key: string = req.key): Promise<WriteCondition | undefined> {
  const inm = header(req.headers, 'if-none-match')
  const im = header(req.headers, 'if-match')
  if (inm === undefined && im === undefined) return undefined
  if (inm !== undefined && inm.trim() !== '*') throw notImplemented('If-None-Match')
  // "To perform a conditional write with the HTTP If-Match header, you must have the s3:PutObject
  // and s3:GetObject permissions" (conditional-writes.html): the ETag comparison reads the object.
  if (im !== undefined && !req.allowed('s3:GetObject', key)) throw s3Error('AccessDenied')
  let current: ObjectVersion | undefined
  try {
    current = (await storeOf(req).getObject(req.bucket.name, key)).version
  } catch (e) {
    if (!(e instanceof S3Error) || e.code !== 'NoSuchKey') throw e
  }
  if (inm !== undefined && current) throw s3Error('PreconditionFailed', { fields: { Condition: 'If-None-Match' } })
  if (im !== undefined) {
    if (!current) throw s3Error('NoSuchKey', { fields: { Key: key } })
    if (!etagMatches(im, current.etag)) throw s3Error('PreconditionFailed', { fields: { Condition: 'If-Match' } })
  }
  return { ...(inm !== undefined ? { ifNoneMatch: true } : {}), ...(im !== undefined ? { ifMatch: im } : {}) }
}

export async function putObject(req: ObjectRequest): Promise<S3Response> {
  const attributes = attributesFromHeaders(req.headers)
  applyWriteLock(req, attributes)
  applyWriteAcl(req, attributes)
  const digester = bodyDigester(req.headers)
  const condition = await writeCondition(req)
  const rs = req.core.replication.statusFor(req.bucket, req.key, attributes.tags)
  if (rs) attributes.replicationStatus = rs
  const ssec = customerKeyOf(req.headers)
  if (ssec) applySseC(req, storeOf(req), attributes, ssec)
  const kms = await kmsWrite(req, req.key, attributes, !!ssec)
  // DSSE-KMS: the digests (ETag, checksums) are of the plaintext, the store gets the second layer.
  const body = digestThenSeal(req.body, digester, kms?.dsseKey)
  const size = declaredSize(req)
  const v = await storeOf(req).putObject({
    bucket: req.bucket.name,
    key: req.key,
    versioning: req.bucket.versioning,
    attributes,
    body,
    ...(size !== undefined ? { size } : {}),
    ...(condition ? { condition } : {}),
    ...(ssec ? { customerKey: ssec.key } : kms ? { customerKey: kms.dataKey } : {}),
    finalize: () => {
      const r = digester.result()
      return { etag: ssec ? customerEtag(ssec, r.md5Hex) : r.md5Hex, checksums: r.checksums, checksumType: 'FULL_OBJECT' }
    },
  })
  await req.core.replication.written(req.bucket, v)
  return empty(200, writeHeaders(req, v, ssec))
}

/**
 * SSE-KMS or DSSE-KMS of a write (PutObject, CopyObject's target, CreateMultipartUpload), from its
 * headers or the bucket's default: KMS makes the data keys for the caller; the attributes keep them
 * encrypted. Returns the key the store seals the body with and, for DSSE-KMS, the second layer's
 * key the caller applies first (`digestThenSeal`); undefined without either.
 */
export async function kmsWrite(req: BucketRequest, key: string, attributes: ObjectAttributes, hasSseC: boolean): Promise<{ dataKey: Buffer; dsseKey?: Buffer } | undefined> {
  const spec = kmsWriteSpec(req.headers, kmsDefaultOf(req.bucket), hasSseC)
  if (!spec) return undefined
  const w = await beginKmsWrite(req, storeOf(req), { bucket: req.bucket.name, key, region: req.bucket.region, bucketAccount: req.bucket.owner }, spec)
  Object.assign(attributes, w.attrs)
  // Decided again now the version is known to be SSE-KMS: only rules with SseKmsEncryptedObjects
  // replicate it (the worker re-encrypts under their ReplicaKmsKeyID); under none it has no status.
  if (attributes.replicationStatus === 'PENDING' && !req.core.replication.statusFor(req.bucket, key, attributes.tags ?? [], true)) delete attributes.replicationStatus
  return { dataKey: w.dataKey, ...(w.dsseKey ? { dsseKey: w.dsseKey } : {}) }
}

/** Finds the version to read and maps a delete marker to S3's answers. */
export async function findVersion(req: ObjectRequest, readWhole = false, customerKey?: Buffer): Promise<GetResult> {
  const versionId = versionIdParam(req)
  try {
    const opts = readWhole || customerKey ? { ...(readWhole ? { readWhole } : {}), ...(customerKey ? { customerKey } : {}) } : undefined
    return await storeOf(req).getObject(req.bucket.name, req.key, versionId, opts)
  } catch (e) {
    if (e instanceof S3Error && (e.code === 'NoSuchKey' || e.code === 'NoSuchVersion')) {
      const marker = e.fields.deleteMarker === 'true'
      // Without s3:ListBucket, S3 hides whether the key exists: 403 instead of 404.
      if (!marker && !req.allowed('s3:ListBucket')) throw s3Error('AccessDenied')
      if (marker) {
        const headers: Record<string, string> = { 'x-amz-delete-marker': 'true' }
        if (e.fields.versionId !== undefined) headers['x-amz-version-id'] = String(e.fields.versionId)
        throw s3Error('NoSuchKey', { fields: { Key: req.key }, headers })
      }
      if (e.code === 'NoSuchVersion') throw s3Error('NoSuchVersion', { fields: { Key: req.key, VersionId: versionId } })
      throw s3Error('NoSuchKey', { fields: { Key: req.key } })
    }
    if (e instanceof S3Error && e.code === 'MethodNotAllowed') {
      // HeadObject/GetObject: "If the specified version is a delete marker, the response returns a
      // 405 Method Not Allowed error and the Last-Modified: timestamp response header", with
      // x-amz-delete-marker and the marker's version id, as for a marker that hides the key.
      // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
      const headers: Record<string, string> = { 'x-amz-delete-marker': 'true', allow: 'DELETE' }
      if (versionId !== undefined) headers['x-amz-version-id'] = versionId
      const lm = e.fields.lastModified
      if (lm !== undefined) headers['last-modified'] = new Date(Number(lm)).toUTCString()
      throw s3Error('MethodNotAllowed', { fields: { Method: req.op.name === 'HeadObject' ? 'HEAD' : 'GET', ResourceType: 'DeleteMarker' }, headers })
    }
    throw e
  }
}

function partRange(v: ObjectVersion, partNumber: number): { start: number; end: number } {
  if (!v.parts) {
    if (partNumber !== 1) throw s3Error('InvalidPartNumber')
    return { start: 0, end: v.size - 1 }
  }
  let start = 0
  for (const p of v.parts) {
    if (p.partNumber === partNumber) return { start, end: start + p.size - 1 }
    start += p.size
  }
  throw s3Error('InvalidPartNumber')
}

async function read(req: ObjectRequest, head: boolean): Promise<S3Response> {
  const ssec = customerKeyOf(req.headers)
  if (ssec) checkTransport(req.origin)
  const found = await findVersion(req, !head && header(req.headers, 'range') === undefined && !req.query.has('partNumber'), ssec?.key)
  const { version: v, inline } = found
  let open = found.open
  checkReadKey(v, ssec)
  // SSE-KMS, DSSE-KMS: KMS decrypts the data keys for the caller (kms:Decrypt); a HEAD reads no bytes and asks nothing.
  if (v.sseKmsDataKey !== undefined && !head) open = await openKmsBody(req, storeOf(req), v, { bucket: req.bucket.name, key: req.key, region: req.bucket.region })
  checkReadConditions(req.headers, v)
  const withChecksums = header(req.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED'
  const headers = objectResponseHeaders(v, req.query, withChecksums)
  if (v.sseCustomerAlgorithm) {
    delete headers['x-amz-server-side-encryption']
    Object.assign(headers, sseCResponse(ssec))
  }
  if (v.sseKmsKeyId !== undefined) Object.assign(headers, kmsResponse(v))
  if (v.objectLockMode !== undefined || v.objectLockLegalHold !== undefined) lockResponseHeaders(req, v, headers)
  addExpiration(req, v, headers)
  const partParam = req.query.get('partNumber')
  let range = parseRange(header(req.headers, 'range'), v.size)
  if (partParam !== null) {
    if (!/^\d+$/.test(partParam) || Number(partParam) < 1 || Number(partParam) > 10000)
      throw invalidArgument('partNumber', partParam, 'Part number must be an integer between 1 and 10000, inclusive')
    if (range) throw invalidArgument('partNumber', partParam, 'Cannot specify both Range header and partNumber query parameter')
    range = partRange(v, Number(partParam))
    if (v.parts) headers['x-amz-mp-parts-count'] = String(v.parts.length)
  }
  if (range) {
    // A part or range never carries the whole object's checksum.
    for (const k of Object.keys(headers)) if (k.startsWith('x-amz-checksum-')) delete headers[k]
    headers['content-range'] = `bytes ${range.start}-${range.end}/${v.size}`
    headers['content-length'] = String(range.end - range.start + 1)
    if (head) return empty(206, headers)
    return { status: 206, headers, body: inline ? inline.subarray(range.start, range.end + 1) : open(range) }
  }
  headers['content-length'] = String(v.size)
  if (head) return empty(200, headers)
  return { status: 200, headers, body: v.size === 0 ? '' : (inline ?? open()) }
}

export const getObject = (req: ObjectRequest) => read(req, false)
export const headObject = (req: ObjectRequest) => read(req, true)

export async function deleteObject(req: ObjectRequest): Promise<S3Response> {
  const versionId = versionIdParam(req)
  // Without a version id a delete only adds a marker, which Object Lock never prevents.
  const r =
    versionId === undefined
      ? await storeOf(req).deleteObject(req.bucket.name, req.key, { versioning: req.bucket.versioning })
      : await serialized(req.bucket, req.key, async () => {
          const v = await versionToDelete(req, req.key, versionId)
          const refused = v && deleteRefusal(req, v)
          if (refused) throw refused
          return storeOf(req).deleteObject(req.bucket.name, req.key, { versionId, versioning: req.bucket.versioning })
        })
  const headers: Record<string, string> = {}
  if (r.deleteMarker) headers['x-amz-delete-marker'] = 'true'
  if (r.versionId !== undefined && (req.bucket.versioning !== 'Unversioned' || versionId !== undefined)) headers['x-amz-version-id'] = r.versionId
  await req.core.replication.deleted(req.bucket, req.key, r, versionId)
  return empty(204, headers)
}

/** x-amz-copy-source: `[/]bucket/key[?versionId=...]`, URL-encoded. */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } {
  const q = raw.indexOf('?')
  const pathPart = q >= 0 ? raw.slice(0, q) : raw
  let path: string
  try {
    path = decodeURIComponent(pathPart).replace(/^\//, '')
  } catch {
    throw invalidArgument('x-amz-copy-source', raw, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey')
  }
  const slash = path.indexOf('/')
  if (slash <= 0 || slash === path.length - 1) throw invalidArgument('x-amz-copy-source', raw, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey')
  const out: { bucket: string; key: string; versionId?: string } = { bucket: path.slice(0, slash), key: path.slice(slash + 1) }
  if (q >= 0) {
    const vid = new URLSearchParams(raw.slice(q + 1)).get('versionId')
    if (vid !== null) out.versionId = vid
  }
  return out
}

/** Opens the copy source after checking the caller may read it (s3:GetObject on the source). */
export async function openCopySource(req: S3Request): Promise<GetResult> {
  const src = parseCopySource(header(req.headers, 'x-amz-copy-source')!)
  const bucket = req.core.state.getBucket(src.bucket)
  if (!bucket) throw s3Error('NoSuchBucket', { fields: { BucketName: src.bucket } })
  // The source object's ACL decides too where its bucket's ACLs are enabled (its grants; an owner
  // other than the bucket's), as for a GetObject.
  const sourceAcl = await objectAclFor(req.core, bucket, src.key, 'GetObject', new URLSearchParams(src.versionId !== undefined ? { versionId: src.versionId } : {}))
  if (!req.allowed(src.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', src.key, bucket, sourceAcl)) throw s3Error('AccessDenied')
  checkExpectedOwner(req.headers, bucket, 'x-amz-source-expected-bucket-owner')
  const store = req.core.stores.get(bucket.region)
  if (!store) throw s3Error('ServiceUnavailable')
  const sourceKey = customerKeyOf(req.headers, COPY_SSE_C_PREFIX)
  if (sourceKey) checkTransport(req.origin)
  try {
    const got = await store.getObject(bucket.name, src.key, src.versionId, sourceKey ? { customerKey: sourceKey.key } : undefined)
    checkReadKey(got.version, sourceKey)
    checkReadConditions(req.headers, got.version, 'x-amz-copy-source-')
    if (got.version.sseKmsDataKey === undefined) return got
    // SSE-KMS and DSSE-KMS sources are read as the caller (kms:Decrypt): a copy gets the plaintext.
    return { version: got.version, open: await openKmsBody(req, store, got.version, { bucket: bucket.name, key: src.key, region: bucket.region }) }
  } catch (e) {
    if (e instanceof S3Error && e.code === 'NoSuchKey') throw s3Error('NoSuchKey', { fields: { Key: src.key } })
    if (e instanceof S3Error && e.code === 'MethodNotAllowed')
      throw invalidArgument('x-amz-copy-source', src.versionId, 'The source of a copy request may not specifically refer to a delete marker by version id.')
    throw e
  }
}

export async function copyObject(req: ObjectRequest): Promise<S3Response> {
  const source = await openCopySource(req)
  const directive = header(req.headers, 'x-amz-metadata-directive') ?? 'COPY'
  const tagDirective = header(req.headers, 'x-amz-tagging-directive') ?? 'COPY'
  if (directive !== 'COPY' && directive !== 'REPLACE') throw invalidArgument('x-amz-metadata-directive', directive, 'Unknown metadata directive.')
  if (tagDirective !== 'COPY' && tagDirective !== 'REPLACE') throw invalidArgument('x-amz-tagging-directive', tagDirective, 'Unknown tagging directive.')
  const src = source.version
  const same = src.bucket === req.bucket.name && src.key === req.key
  const ssec = customerKeyOf(req.headers)
  // A new SSE-C key is a change of encryption (rotating a customer key is a copy onto itself).
  if (same && directive === 'COPY' && header(req.headers, 'x-amz-storage-class') === undefined && header(req.headers, 'x-amz-server-side-encryption') === undefined && !ssec) {
    throw s3Error('InvalidRequest', {
      message:
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    })
  }
  const fresh = attributesFromHeaders(req.headers)
  const attributes =
    directive === 'REPLACE'
      ? { ...fresh, tags: src.tags }
      : {
          contentType: src.contentType,
          contentEncoding: src.contentEncoding,
          contentDisposition: src.contentDisposition,
          contentLanguage: src.contentLanguage,
          cacheControl: src.cacheControl,
          expires: src.expires,
          userMetadata: src.userMetadata,
          tags: src.tags,
          storageClass: fresh.storageClass ?? src.storageClass,
        }
  const tagging = header(req.headers, 'x-amz-tagging')
  if (tagDirective === 'REPLACE') attributes.tags = tagging === undefined ? [] : parseTaggingHeader(tagging)
  for (const k of Object.keys(attributes) as (keyof typeof attributes)[]) if (attributes[k] === undefined) delete attributes[k]
  applyWriteLock(req, attributes as ObjectAttributes)
  applyWriteAcl(req, attributes as ObjectAttributes)
  const rs = req.core.replication.statusFor(req.bucket, req.key, attributes.tags ?? [])
  if (rs) attributes.replicationStatus = rs
  if (ssec) applySseC(req, storeOf(req), attributes as ObjectAttributes, ssec)
  const kms = await kmsWrite(req, req.key, attributes as ObjectAttributes, !!ssec)
  const algs = Object.keys(src.checksums) as (keyof typeof src.checksums)[]
  const wanted = header(req.headers, 'x-amz-checksum-algorithm')?.toUpperCase()
  if (wanted !== undefined && !isChecksumAlgorithm(wanted)) throw invalidArgument('x-amz-checksum-algorithm', wanted, 'Checksum algorithm provided is unsupported.')
  // A copy keeps the source's full-object checksum algorithms (recomputed), or the one asked for.
  const digester = new ChecksumStream({ algorithms: wanted ? [wanted] : src.parts ? [] : algs })
  const plain = source.open(src.size > 0 ? { start: 0, end: src.size - 1 } : undefined)
  // A DSSE-KMS target: new keys (kmsWrite), the second layer applied after the digests, as for a PUT.
  const body = digestThenSeal(plain, digester, kms?.dsseKey)
  const v = await storeOf(req).putObject({
    bucket: req.bucket.name,
    key: req.key,
    versioning: req.bucket.versioning,
    attributes: attributes as ObjectAttributes,
    body,
    size: src.size,
    ...(ssec ? { customerKey: ssec.key } : kms ? { customerKey: kms.dataKey } : {}),
    finalize: () => {
      const r = digester.result()
      return { etag: ssec ? customerEtag(ssec, r.md5Hex) : r.md5Hex, checksums: r.checksums, checksumType: 'FULL_OBJECT' }
    },
  })
  await req.core.replication.written(req.bucket, v)
  const headers: Record<string, string> = ssec ? sseCResponse(ssec) : v.sseKmsKeyId !== undefined ? kmsResponse(v) : { ...SSE_RESPONSE }
  if (req.bucket.versioning !== 'Unversioned') headers['x-amz-version-id'] = v.versionId
  if (src.versionId !== 'null') headers['x-amz-copy-source-version-id'] = src.versionId
  const checksumFields: Record<string, string> = {}
  for (const [alg, val] of Object.entries(v.checksums)) if (val) checksumFields[`Checksum${alg}`] = val
  return xmlResponse(renderXml('CopyObjectResult', { ETag: `"${v.etag}"`, LastModified: v.lastModified, ...checksumFields }), 200, headers)
}

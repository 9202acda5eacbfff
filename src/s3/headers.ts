/**
 * @module Object headers: what a PUT stores (standard headers, x-amz-meta-*, x-amz-tagging) and what
 * a GET/HEAD returns, including the response-* overrides of a signed GET.
 */
import { invalidArgument, s3Error } from '../shared/errors.js'
import type { ObjectAttributes, ObjectVersion, Tag } from '../storage/types.js'

export type Headers = Record<string, string | string[] | undefined>

export function header(h: Headers, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(',') : v
}

/** S3 limits user metadata to 2 KB: the sum of the UTF-8 lengths of names and values. */
const METADATA_LIMIT = 2048

export function attributesFromHeaders(h: Headers): ObjectAttributes {
  const attrs: ObjectAttributes = { userMetadata: {}, tags: [] }
  const std: [keyof ObjectAttributes, string][] = [
    ['contentType', 'content-type'],
    ['contentDisposition', 'content-disposition'],
    ['contentLanguage', 'content-language'],
    ['cacheControl', 'cache-control'],
    ['expires', 'expires'],
    ['websiteRedirectLocation', 'x-amz-website-redirect-location'],
  ]
  for (const [field, name] of std) {
    const v = header(h, name)
    if (v !== undefined) (attrs as unknown as Record<string, string>)[field] = v
  }
  const enc = header(h, 'content-encoding')
  if (enc !== undefined) {
    // aws-chunked is transport framing, not a property of the object; the other codings are
    // stored as sent, separators and all ("deflate, gzip" reads back as "deflate, gzip").
    const rest = enc
      .split(',')
      .filter((s) => s.trim().toLowerCase() !== 'aws-chunked')
      .join(',')
      .trim()
    if (rest !== '') attrs.contentEncoding = rest
  }
  const sc = header(h, 'x-amz-storage-class')
  if (sc !== undefined) {
    if (
      ![
        'STANDARD',
        'REDUCED_REDUNDANCY',
        'STANDARD_IA',
        'ONEZONE_IA',
        'INTELLIGENT_TIERING',
        'GLACIER',
        'DEEP_ARCHIVE',
        'GLACIER_IR',
        'OUTPOSTS',
        'EXPRESS_ONEZONE',
        'SNOW',
      ].includes(sc)
    ) {
      throw s3Error('InvalidStorageClass', { fields: { StorageClassRequested: sc } })
    }
    attrs.storageClass = sc
  }
  let size = 0
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue
    const key = name.slice('x-amz-meta-'.length)
    const v = Array.isArray(value) ? value.join(',') : value
    attrs.userMetadata[key] = v
    size += Buffer.byteLength(key) + Buffer.byteLength(v)
  }
  if (size > METADATA_LIMIT) throw s3Error('MetadataTooLarge', { fields: { Size: size, MaxSizeAllowed: METADATA_LIMIT } })
  const tagging = header(h, 'x-amz-tagging')
  if (tagging !== undefined) attrs.tags = parseTaggingHeader(tagging)
  return attrs
}

/** x-amz-tagging is a URL-encoded query string (`k1=v1&k2=v2`). */
export function parseTaggingHeader(v: string): Tag[] {
  const tags: Tag[] = []
  for (const [Key, Value] of new URLSearchParams(v)) tags.push({ Key, Value })
  validateTags(tags)
  return tags
}

/** Object tag limits: 10 tags, keys ≤ 128 and values ≤ 256 Unicode characters, keys unique. */
export function validateTags(tags: Tag[], max = 10): void {
  if (tags.length > max) throw s3Error('InvalidTag', { message: 'Object tags cannot be greater than 10' })
  const seen = new Set<string>()
  for (const t of tags) {
    if (t.Key.length === 0 || [...t.Key].length > 128) throw s3Error('InvalidTag', { message: 'The TagKey you have provided is invalid' })
    if ([...t.Value].length > 256) throw s3Error('InvalidTag', { message: 'The TagValue you have provided is invalid' })
    if (seen.has(t.Key)) throw s3Error('InvalidTag', { message: 'Cannot provide multiple Tags with the same key' })
    seen.add(t.Key)
  }
}

// Versions (and their dates) are shared by every read of a cached key: format each date once.
const httpDates = new WeakMap<Date, string>()

export function httpDate(d: Date): string {
  let s = httpDates.get(d)
  if (s === undefined) {
    s = d.toUTCString()
    httpDates.set(d, s)
  }
  return s
}

const RESPONSE_OVERRIDES: readonly (readonly [param: string, header: string])[] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
]

/** Headers of GET/HEAD for a version; `q` carries the response-* overrides. */
export function objectResponseHeaders(v: ObjectVersion, q: URLSearchParams, withChecksums: boolean): Record<string, string> {
  const out: Record<string, string> = {
    'last-modified': httpDate(v.lastModified),
    etag: `"${v.etag}"`,
    'accept-ranges': 'bytes',
    'content-type': v.contentType ?? 'binary/octet-stream',
    // Every object is SSE-S3 (src/s3/ops/encryption.ts).
    'x-amz-server-side-encryption': 'AES256',
  }
  if (v.versionId !== 'null' || q.has('versionId')) out['x-amz-version-id'] = v.versionId
  if (v.contentEncoding) out['content-encoding'] = v.contentEncoding
  if (v.contentDisposition) out['content-disposition'] = v.contentDisposition
  if (v.contentLanguage) out['content-language'] = v.contentLanguage
  if (v.cacheControl) out['cache-control'] = v.cacheControl
  if (v.expires) out.expires = v.expires
  if (v.websiteRedirectLocation) out['x-amz-website-redirect-location'] = v.websiteRedirectLocation
  if (v.storageClass && v.storageClass !== 'STANDARD') out['x-amz-storage-class'] = v.storageClass
  if (v.replicationStatus) out['x-amz-replication-status'] = v.replicationStatus
  if (v.tags.length > 0) out['x-amz-tagging-count'] = String(v.tags.length)
  if (v.parts) out['x-amz-mp-parts-count'] = String(v.parts.length)
  for (const k in v.userMetadata) out[`x-amz-meta-${k}`] = v.userMetadata[k]!
  if (withChecksums) {
    for (const [alg, val] of Object.entries(v.checksums)) if (val) out[`x-amz-checksum-${alg.toLowerCase()}`] = val
    if (v.checksumType && Object.keys(v.checksums).length > 0) out['x-amz-checksum-type'] = v.checksumType
  }
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const val = q.get(param)
    if (val !== null) out[name] = checkHeaderValue(param, val)
  }
  return out
}

/**
 * A client's string about to become a response header. HTTP/1.1 header bytes are ISO-8859-1, so a
 * character above U+00FF cannot be sent: S3 answers InvalidArgument "Header value cannot be
 * represented using ISO-8859-1." naming the parameter (seen on response-content-disposition,
 * github.com/IQSS/dataverse issue 4524). Control characters (CR/LF would split the response) get the
 * same code. Returns the value when it can be sent as it is.
 */
export function checkHeaderValue(name: string, value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c > 0xff) throw invalidArgument(name, value, 'Header value cannot be represented using ISO-8859-1.')
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw invalidArgument(name, value, 'Header value contains a control character.')
  }
  return value
}

/** max-keys and friends: a non-negative integer, else InvalidArgument naming it. */
export function intParam(q: URLSearchParams, name: string, dflt: number, max = 1000): number {
  const raw = q.get(name)
  if (raw === null || raw === '') return dflt
  if (!/^\d+$/.test(raw)) throw invalidArgument(name, raw, `Provided ${name} not an integer or within integer range`)
  return Math.min(Number(raw), max)
}

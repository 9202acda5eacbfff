/**
 * @module mrap's attributes on an engine object. S3-native ones travel as the engine's own headers
 * (Content-Type, Cache-Control, ...); the rest known when the write starts (tags, storage class,
 * Expires as written, replication status, preserved version id and time, and digests when
 * finalize ran before the request) travel in one `x-amz-meta-mrap` header, base64url JSON, so
 * they survive an engine-side copy or replication of the object.
 */
import type { Checksums, ObjectAttributes } from '../types.js'
import type { StoredDigests } from './sidecar.js'

/** The user-metadata name mrap reserves on the engine (`x-amz-meta-mrap`). */
export const MRAP_META = 'mrap'

export interface MrapBlob {
  tags?: ObjectAttributes['tags']
  storageClass?: string
  expires?: string
  replicationStatus?: string
  /** Object Lock retention and legal hold (ObjectAttributes.objectLock*). */
  lock?: { mode?: 'GOVERNANCE' | 'COMPLIANCE'; until?: string; hold?: 'ON' | 'OFF' }
  /** User metadata that cannot be a header as it is (non-ASCII values, names clashing with ours). */
  um?: Record<string, string>
  vid?: string
  mtime?: number
  digests?: StoredDigests
}

export interface EngineHeaders {
  ContentType?: string
  ContentEncoding?: string
  ContentDisposition?: string
  ContentLanguage?: string
  CacheControl?: string
  WebsiteRedirectLocation?: string
  Metadata: Record<string, string>
}

const headerSafe = (s: string): boolean => /^[\x20-\x7e]*$/.test(s) && s.trim() === s

export function encodeAttributes(a: ObjectAttributes, extra: Pick<MrapBlob, 'vid' | 'mtime' | 'digests'> = {}): EngineHeaders {
  const blob: MrapBlob = { ...extra }
  const meta: Record<string, string> = {}
  for (const [k, v] of Object.entries(a.userMetadata)) {
    if (k !== MRAP_META && headerSafe(v) && /^[a-z0-9-]+$/.test(k)) meta[k] = v
    else (blob.um ??= {})[k] = v
  }
  if (a.tags.length) blob.tags = a.tags
  if (a.storageClass !== undefined) blob.storageClass = a.storageClass
  if (a.expires !== undefined) blob.expires = a.expires
  if (a.replicationStatus !== undefined) blob.replicationStatus = a.replicationStatus
  if (a.objectLockMode !== undefined || a.objectLockLegalHold !== undefined) {
    blob.lock = {}
    if (a.objectLockMode !== undefined) blob.lock.mode = a.objectLockMode
    if (a.objectLockRetainUntilDate !== undefined) blob.lock.until = a.objectLockRetainUntilDate
    if (a.objectLockLegalHold !== undefined) blob.lock.hold = a.objectLockLegalHold
  }
  const h: EngineHeaders = { Metadata: meta }
  const native: [keyof EngineHeaders, string | undefined][] = [
    ['ContentType', a.contentType],
    ['ContentEncoding', a.contentEncoding],
    ['ContentDisposition', a.contentDisposition],
    ['ContentLanguage', a.contentLanguage],
    ['CacheControl', a.cacheControl],
    ['WebsiteRedirectLocation', a.websiteRedirectLocation],
  ]
  for (const [name, v] of native) {
    if (v === undefined) continue
    if (headerSafe(v)) (h as unknown as Record<string, string>)[name] = v
    else (blob.um ??= {})[`\0${name}`] = v
  }
  if (Object.keys(blob).length) meta[MRAP_META] = Buffer.from(JSON.stringify(blob)).toString('base64url')
  return h
}

/** What an engine's HEAD or GET answers about an object: the same fields, any of them absent. */
export type EngineObjectHead = Partial<EngineHeaders>

export function decodeAttributes(h: EngineObjectHead): { attributes: ObjectAttributes; blob: MrapBlob } {
  let blob: MrapBlob = {}
  const userMetadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(h.Metadata ?? {})) {
    if (k === MRAP_META) {
      try {
        blob = JSON.parse(Buffer.from(v, 'base64url').toString()) as MrapBlob
      } catch {
        blob = {}
      }
    } else {
      userMetadata[k] = v
    }
  }
  const a: ObjectAttributes = { userMetadata, tags: blob.tags ?? [] }
  const set = (k: keyof ObjectAttributes, v: string | undefined): void => {
    if (v !== undefined) (a as unknown as Record<string, string>)[k] = v
  }
  set('contentType', h.ContentType)
  set('contentEncoding', h.ContentEncoding)
  set('contentDisposition', h.ContentDisposition)
  set('contentLanguage', h.ContentLanguage)
  set('cacheControl', h.CacheControl)
  set('websiteRedirectLocation', h.WebsiteRedirectLocation)
  set('storageClass', blob.storageClass)
  set('expires', blob.expires)
  set('replicationStatus', blob.replicationStatus)
  if (blob.lock?.mode === 'GOVERNANCE' || blob.lock?.mode === 'COMPLIANCE') a.objectLockMode = blob.lock.mode
  set('objectLockRetainUntilDate', blob.lock?.until)
  if (blob.lock?.hold === 'ON' || blob.lock?.hold === 'OFF') a.objectLockLegalHold = blob.lock.hold
  const natives: Record<string, keyof ObjectAttributes> = {
    ContentType: 'contentType',
    ContentEncoding: 'contentEncoding',
    ContentDisposition: 'contentDisposition',
    ContentLanguage: 'contentLanguage',
    CacheControl: 'cacheControl',
    WebsiteRedirectLocation: 'websiteRedirectLocation',
  }
  for (const [k, v] of Object.entries(blob.um ?? {})) {
    if (k.startsWith('\0')) set(natives[k.slice(1)]!, v)
    else userMetadata[k] = v
  }
  return { attributes: a, blob }
}

/** ETags as the engine quotes them, without quotes. */
export const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '')

export type { Checksums }

const NATIVE_HEADERS: [keyof EngineObjectHead, string][] = [
  ['ContentType', 'content-type'],
  ['ContentEncoding', 'content-encoding'],
  ['ContentDisposition', 'content-disposition'],
  ['ContentLanguage', 'content-language'],
  ['CacheControl', 'cache-control'],
  ['WebsiteRedirectLocation', 'x-amz-website-redirect-location'],
]

/**
 * EngineHeaders as wire headers (wire.ts). Content-Type defaults to application/octet-stream as
 * the SDK's PutObject sends it, so an object reads back the same whichever client wrote it.
 */
export function toWireHeaders(h: EngineHeaders): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/octet-stream' }
  for (const [field, name] of NATIVE_HEADERS) {
    const v = h[field as keyof EngineHeaders]
    if (typeof v === 'string') out[name] = v
  }
  for (const [k, v] of Object.entries(h.Metadata)) out[`x-amz-meta-${k}`] = v
  return out
}

export interface WireHead extends EngineObjectHead {
  VersionId?: string
  ETag?: string
  LastModified?: Date
}

/** An engine answer's headers as the SDK's GetObject/HeadObject output fields that the store reads. */
export function fromWireHeaders(h: Record<string, string | string[] | undefined>): WireHead {
  const one = (n: string): string | undefined => {
    const v = h[n]
    return Array.isArray(v) ? v.join(', ') : v
  }
  const out: WireHead = { Metadata: {} }
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-amz-meta-') && v !== undefined) out.Metadata![k.slice(11)] = Array.isArray(v) ? v.join(', ') : v
  for (const [field, name] of NATIVE_HEADERS) {
    const v = one(name)
    if (v !== undefined) (out as Record<string, unknown>)[field] = v
  }
  const vid = one('x-amz-version-id')
  if (vid !== undefined) out.VersionId = vid
  const etag = one('etag')
  if (etag !== undefined) out.ETag = etag
  const lm = one('last-modified')
  if (lm !== undefined && Number.isFinite(Date.parse(lm))) out.LastModified = new Date(lm)
  return out
}

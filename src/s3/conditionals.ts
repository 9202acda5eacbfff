/**
 * @module Conditional requests (RFC 7232 as S3 applies them) and byte ranges (RFC 7233).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
 */
import { s3Error } from '../shared/errors.js'
import type { ByteRange, ObjectVersion } from '../storage/types.js'
import { type Headers, header } from './headers.js'

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const s = t.trim()
    return s === '*' || s.replace(/^W\//, '').replace(/^"|"$/g, '') === etag
  })
}

function parseDate(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** Seconds resolution: Last-Modified is sent in whole seconds. */
const secs = (d: Date): number => Math.floor(d.getTime() / 1000)

/**
 * GET/HEAD preconditions. S3's precedence: If-Match true makes If-Unmodified-Since irrelevant, and
 * If-None-Match false (304) wins over If-Modified-Since.
 */
export function checkReadConditions(h: Headers, v: ObjectVersion, prefix = ''): void {
  const ifMatch = header(h, `${prefix}if-match`)
  const ifNoneMatch = header(h, `${prefix}if-none-match`)
  const ifModifiedSince = parseDate(header(h, `${prefix}if-modified-since`))
  const ifUnmodifiedSince = parseDate(header(h, `${prefix}if-unmodified-since`))
  const copy = prefix !== ''
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, v.etag)) throw s3Error('PreconditionFailed', { fields: { Condition: copy ? 'x-amz-copy-source-If-Match' : 'If-Match' } })
  } else if (ifUnmodifiedSince && secs(v.lastModified) > secs(ifUnmodifiedSince)) {
    throw s3Error('PreconditionFailed', { fields: { Condition: copy ? 'x-amz-copy-source-If-Unmodified-Since' : 'If-Unmodified-Since' } })
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, v.etag)) {
      if (copy) throw s3Error('PreconditionFailed', { fields: { Condition: 'x-amz-copy-source-If-None-Match' } })
      throw s3Error('NotModified', { headers: { etag: `"${v.etag}"`, 'last-modified': v.lastModified.toUTCString() } })
    }
  } else if (ifModifiedSince && secs(v.lastModified) <= secs(ifModifiedSince)) {
    if (copy) throw s3Error('PreconditionFailed', { fields: { Condition: 'x-amz-copy-source-If-Modified-Since' } })
    throw s3Error('NotModified', { headers: { etag: `"${v.etag}"`, 'last-modified': v.lastModified.toUTCString() } })
  }
}

/**
 * Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`. An unparseable or multi-range header is ignored (the
 * whole object is sent), as S3 does; a syntactically valid range that starts past the end is
 * InvalidRange (416).
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined
  const m = value.trim().match(/^bytes=(\d*)-(\d*)$/)
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  const invalid = () => s3Error('InvalidRange', { fields: { RangeRequested: value, ActualObjectSize: size }, headers: { 'content-range': `bytes */${size}` } })
  if (m[1] === '') {
    const n = Number(m[2])
    if (n === 0) throw invalid()
    if (size === 0) throw invalid()
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(m[1])
  let end = m[2] === '' ? size - 1 : Number(m[2])
  if (m[2] !== '' && end < start) return undefined
  if (start >= size) throw invalid()
  if (end >= size) end = size - 1
  return { start, end }
}

/**
 * @module SigV4 / SigV4A canonicalisation for S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#canonical-request
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * S3 differs from other services in one place: the canonical URI is the path exactly as the
 * client put it on the wire (already URI-encoded once, never normalised, never encoded again).
 */

import { isUtf8 } from 'node:buffer'
import crypto from 'node:crypto'

export type HeaderMap = Record<string, string | string[] | undefined>

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** The one-shot `crypto.hash` (Node >= 20.12) builds no Hash object: a third of the cost for short inputs. */
export const HAS_ONE_SHOT_HASH = typeof crypto.hash === 'function'

export function sha256Hex(data: string | Buffer): string {
  return HAS_ONE_SHOT_HASH ? crypto.hash('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex')
}

export function hmac(key: string | Buffer, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest()
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/

/** RFC 3986 strict encoding, as SigV4 wants: everything but unreserved characters is %XX (upper hex). */
export function uriEncode(s: string): string {
  if (UNRESERVED.test(s)) return s
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** Encode a path for signing (the S3 rule: once, `/` kept). Used by tests to turn a raw path into wire form. */
export function uriEncodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/')
}

function decodeComponent(s: string): string {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    // A stray '%' that is not an escape: keep it literal, so it is re-encoded as %25 like a signer would.
    return s.replace(/%(?![0-9A-Fa-f]{2})/g, '%25').replace(/%[0-9A-Fa-f]{2}/g, (m) => {
      try {
        return decodeURIComponent(m)
      } catch {
        return m
      }
    })
  }
}

export interface QueryParam {
  key: string
  value: string
}

/** Split a raw query string into decoded parameters (order kept). `a` and `a=` both give value ''. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = []
  let start = 0
  while (start <= rawQuery.length) {
    let end = rawQuery.indexOf('&', start)
    if (end < 0) end = rawQuery.length
    if (end > start) {
      const eq = rawQuery.indexOf('=', start)
      if (eq < 0 || eq > end) out.push({ key: decodeComponent(rawQuery.slice(start, end)), value: '' })
      else out.push({ key: decodeComponent(rawQuery.slice(start, eq)), value: decodeComponent(rawQuery.slice(eq + 1, end)) })
    }
    start = end + 1
  }
  return out
}

/**
 * Canonical query string: every parameter (except `skipKey`, the presigned X-Amz-Signature), decoded then
 * re-encoded RFC 3986-strict, sorted by encoded key then encoded value (byte order).
 */
export function canonicalQuery(params: readonly QueryParam[], skipKey?: string): string {
  const enc: [key: string, value: string][] = []
  for (const p of params) {
    if (skipKey !== undefined && p.key === skipKey) continue
    enc.push([uriEncode(p.key), uriEncode(p.value)])
  }
  // Sorting "k=v" strings is not the same as sorting by key then value ('=' sorts before letters
  // but after '-' etc.), so compare the two parts. Insertion sort: a handful of parameters, often
  // already in order, and no scratch array (Array#sort allocates one per call).
  for (let i = 1; i < enc.length; i++) {
    const x = enc[i]!
    let j = i - 1
    while (j >= 0 && pairAfter(enc[j]!, x)) {
      enc[j + 1] = enc[j]!
      j--
    }
    enc[j + 1] = x
  }
  let out = ''
  for (let i = 0; i < enc.length; i++) out += (i === 0 ? '' : '&') + enc[i]![0] + '=' + enc[i]![1]
  return out
}

function pairAfter(a: [string, string], b: [string, string]): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1]
}

/**
 * Header value as AWS canonicalises it: repeated values joined by ',', each trimmed, runs of
 * whitespace collapsed. Node hands header values over as Latin-1 (one char per wire byte); the
 * canonical request is hashed as UTF-8 and must hash the bytes the client sent, which clients
 * send and sign as UTF-8 (the JS SDK, curl, Go), so a non-ASCII value is decoded as UTF-8 first.
 */
export function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return ''
  if (typeof v === 'string') return trimCollapse(v)
  if (v.length === 1) return trimCollapse(v[0]!)
  return v.map(trimCollapse).join(',')
}

// Anything but printable ASCII with single inner spaces. Most values (dates, hashes, hosts) have
// none of it, and then one test with no allocation is the whole cost.
const NEEDS_WORK = /[^\x20-\x7e]|^ | $| {2}/
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is every ASCII byte, control characters included, on purpose
const NON_ASCII = /[^\x00-\x7f]/
const WS_RUN = /\s+/g

/**
 * No client can sign a value with a newline in it (whitespace is collapsed to single spaces), so
 * this makes the signature fail for a value whose bytes are not UTF-8: its bytes cannot be put in
 * the UTF-8 canonical request, and reading them as some other text would let one signature cover
 * two different byte strings (`é` in Latin-1 and in UTF-8).
 */
const UNSIGNABLE = '\n'

function trimCollapse(s: string): string {
  if (!NEEDS_WORK.test(s)) return s
  if (NON_ASCII.test(s)) {
    const bytes = Buffer.from(s, 'latin1')
    if (!isUtf8(bytes)) return UNSIGNABLE
    // Trimmed after decoding: a UTF-8 continuation byte 0xA0 ('à' is C3 A0) reads as Latin-1 NBSP,
    // which trim() and \s would take for whitespace.
    s = bytes.toString('utf8')
  }
  const t = s.trim()
  return /\s\s|[\t\r\n]/.test(t) ? t.replace(WS_RUN, ' ') : t
}

/** First value of a header (node lower-cases names). */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name]
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : v.length > 0 ? v.join(',') : undefined
}

/** The canonical headers block (each `name:value\n`) for the signed header names, in the order given. */
export function canonicalHeaders(headers: HeaderMap, signedHeaders: readonly string[]): string {
  let out = ''
  for (const name of signedHeaders) out += name + ':' + canonicalHeaderValue(headers[name]) + '\n'
  return out
}

export function canonicalRequest(
  method: string,
  canonicalUri: string,
  canonicalQueryString: string,
  headers: HeaderMap,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  return `${method}\n${canonicalUri}\n${canonicalQueryString}\n${canonicalHeaders(headers, signedHeaders)}\n${signedHeaders.join(';')}\n${payloadHash}`
}

/** AWS4 `yyyymmddThhmmssZ` → Date, or undefined when malformed. */
export function parseAmzDate(s: string): Date | undefined {
  // By character codes: every signed request parses one, and a regex match allocates seven strings.
  if (s.length !== 16 || s.charCodeAt(8) !== 84 /* T */ || s.charCodeAt(15) !== 90 /* Z */) return undefined
  const num = (from: number, len: number): number => {
    let n = 0
    for (let i = from; i < from + len; i++) {
      const c = s.charCodeAt(i) - 48
      if (c < 0 || c > 9) return NaN
      n = n * 10 + c
    }
    return n
  }
  const day = num(6, 2)
  const t = Date.UTC(num(0, 4), num(4, 2) - 1, day, num(9, 2), num(11, 2), num(13, 2))
  if (Number.isNaN(t)) return undefined
  const d = new Date(t)
  return d.getUTCDate() !== day ? undefined : d
}

export function toAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

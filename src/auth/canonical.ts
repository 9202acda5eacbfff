/**
 * @module SigV4 / SigV4A canonicalisation for S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#canonical-request
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * S3 differs from other services in one place: the canonical URI is the path exactly as the
 * client put it on the wire (already URI-encoded once, never normalised, never encoded again).
 */
import crypto from 'node:crypto'

export type HeaderMap = Record<string, string | string[] | undefined>

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex')
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
      try { return decodeURIComponent(m) } catch { return m }
    })
  }
}

export interface QueryParam { key: string; value: string }

/** Split a raw query string into decoded parameters (order kept). `a` and `a=` both give value ''. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = []
  if (rawQuery === '') return out
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    if (eq < 0) out.push({ key: decodeComponent(part), value: '' })
    else out.push({ key: decodeComponent(part.slice(0, eq)), value: decodeComponent(part.slice(eq + 1)) })
  }
  return out
}

/**
 * Canonical query string: every parameter (except `skipKey`, the presigned X-Amz-Signature), decoded then
 * re-encoded RFC 3986-strict, sorted by encoded key then encoded value (byte order).
 */
export function canonicalQuery(params: readonly QueryParam[], skipKey?: string): string {
  const enc: string[] = []
  for (const p of params) {
    if (skipKey !== undefined && p.key === skipKey) continue
    enc.push(uriEncode(p.key) + '=' + uriEncode(p.value))
  }
  if (enc.length > 1) {
    // Sorting "k=v" strings is not the same as sorting by key then value ('=' sorts before letters
    // but after '-' etc.), so compare the two parts explicitly.
    enc.sort((a, b) => {
      const ka = a.slice(0, a.indexOf('=')), kb = b.slice(0, b.indexOf('='))
      if (ka !== kb) return ka < kb ? -1 : 1
      return a < b ? -1 : a > b ? 1 : 0
    })
  }
  return enc.join('&')
}

/** Header value as AWS canonicalises it: repeated values joined by ',', each trimmed, runs of whitespace collapsed. */
export function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return ''
  if (typeof v === 'string') return trimCollapse(v)
  return v.map(trimCollapse).join(',')
}

const WS_RUN = /\s+/g
function trimCollapse(s: string): string {
  const t = s.trim()
  // Fast path: most values (dates, hashes, hosts) contain no whitespace at all.
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
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s)
  if (!m) return undefined
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
  const d = new Date(t)
  return Number.isNaN(t) || d.getUTCDate() !== +m[3]! ? undefined : d
}

export function toAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

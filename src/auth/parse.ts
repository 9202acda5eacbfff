/**
 * @module Parse the two SigV4 / SigV4A carriers: the Authorization header and the presigned X-Amz-* query.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { type S3Error, s3Error } from '../shared/errors.js'
import { type HeaderMap, headerValue, parseAmzDate, type QueryParam, toAmzDate } from './canonical.js'
import type { SigningAlgorithm } from './types.js'

export interface ParsedAuth {
  authType: 'REST-HEADER' | 'REST-QUERY-STRING'
  algorithm: SigningAlgorithm
  accessKeyId: string
  scopeDate: string
  /** SigV4 only. */
  scopeRegion?: string
  scopeService: string
  signedHeaders: string[]
  signature: string
  /** The timestamp as it appears in the string to sign (yyyymmddThhmmssZ). */
  amzDate: string
  /** The timestamp as the client sent it (for RequestTimeTooSkewed). */
  amzDateRaw: string
  signedAt: Date
  expiresSeconds?: number
  /** Presigned only: X-Amz-Security-Token from the query. */
  securityToken?: string
  /** SigV4A only. */
  regionSet?: string[]
}

const MAX_EXPIRES = 604800 // seven days: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

function isAlgorithm(s: string): s is SigningAlgorithm {
  return s === 'AWS4-HMAC-SHA256' || s === 'AWS4-ECDSA-P256-SHA256'
}

function headerMalformed(detail: string): S3Error {
  return s3Error('AuthorizationHeaderMalformed', { message: `The authorization header is malformed; ${detail}` })
}
function queryError(detail: string): S3Error {
  return s3Error('AuthorizationQueryParametersError', { message: detail })
}

const CRED_HINT = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'

interface Scope {
  accessKeyId: string
  scopeDate: string
  scopeRegion?: string
  scopeService: string
}

function parseCredential(cred: string, algorithm: SigningAlgorithm, fail: (d: string) => S3Error): Scope {
  const parts = cred.split('/')
  const v4a = algorithm === 'AWS4-ECDSA-P256-SHA256'
  if (parts.length !== (v4a ? 4 : 5) || parts[parts.length - 1] !== 'aws4_request' || parts.some((x) => x === '')) throw fail(CRED_HINT)
  const scopeDate = parts[1]!
  if (!/^\d{8}$/.test(scopeDate)) throw fail(CRED_HINT)
  return v4a ? { accessKeyId: parts[0]!, scopeDate, scopeService: parts[2]! } : { accessKeyId: parts[0]!, scopeDate, scopeRegion: parts[2]!, scopeService: parts[3]! }
}

function parseSignedHeaders(s: string, fail: (d: string) => S3Error): string[] {
  const list = s.toLowerCase().split(';')
  if (list.some((h) => h === '')) throw fail('the SignedHeaders are mal-formed.')
  return list
}

export function parseRegionSet(v: string): string[] {
  return v
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
}

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (commas, optional spaces). */
export function parseAuthorizationHeader(authz: string, headers: HeaderMap): ParsedAuth {
  const trimmed = authz.trim()
  const sp = trimmed.indexOf(' ')
  const algorithm = sp < 0 ? trimmed : trimmed.slice(0, sp)
  if (!isAlgorithm(algorithm)) {
    if (algorithm === 'AWS') throw s3Error('InvalidRequest', { message: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.' })
    throw s3Error('InvalidArgument', { message: 'Unsupported Authorization Type', fields: { ArgumentName: 'Authorization', ArgumentValue: authz } })
  }
  let credential: string | undefined, signedHeaders: string | undefined, signature: string | undefined
  for (const part of trimmed.slice(sp + 1).split(',')) {
    const kv = part.trim()
    const eq = kv.indexOf('=')
    if (eq < 0) continue
    const k = kv.slice(0, eq),
      v = kv.slice(eq + 1)
    if (k === 'Credential') credential = v
    else if (k === 'SignedHeaders') signedHeaders = v
    else if (k === 'Signature') signature = v
  }
  if (sp < 0 || credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw headerMalformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.')
  }
  const scope = parseCredential(credential, algorithm, headerMalformed)
  const sh = parseSignedHeaders(signedHeaders, headerMalformed)

  // x-amz-date wins over Date (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html).
  const xAmzDate = headerValue(headers, 'x-amz-date')
  let signedAt: Date | undefined, amzDate: string, amzDateRaw: string
  if (xAmzDate !== undefined) {
    amzDateRaw = xAmzDate
    amzDate = xAmzDate.trim()
    signedAt = parseAmzDate(amzDate)
  } else {
    amzDateRaw = headerValue(headers, 'date') ?? ''
    const t = Date.parse(amzDateRaw)
    signedAt = amzDateRaw === '' || Number.isNaN(t) ? undefined : new Date(t)
    amzDate = signedAt ? toAmzDate(signedAt) : ''
  }
  if (signedAt === undefined) throw s3Error('AccessDenied', { message: 'AWS authentication requires a valid Date or x-amz-date header' })

  let regionSet: string[] | undefined
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') {
    const rs = headerValue(headers, 'x-amz-region-set')
    // The region set must be signed, or anyone could widen it in flight.
    if (rs === undefined || !sh.includes('x-amz-region-set')) throw headerMalformed('the x-amz-region-set header is required and must be signed.')
    regionSet = parseRegionSet(rs)
    if (regionSet.length === 0) throw headerMalformed('the x-amz-region-set header is empty.')
  }
  return {
    authType: 'REST-HEADER',
    algorithm,
    ...scope,
    signedHeaders: sh,
    signature,
    amzDate,
    amzDateRaw,
    signedAt,
    ...(regionSet ? { regionSet } : {}),
  }
}

/** Presigned URL parameters. Required: Algorithm, Credential, Date, Expires, SignedHeaders, Signature. */
export function parsePresignedQuery(query: readonly QueryParam[]): ParsedAuth {
  // One pass over the parameters (the first of a repeated name counts), not a search per name.
  let algorithm: string | undefined, credential: string | undefined, date: string | undefined, expires: string | undefined
  let signedHeaders: string | undefined, signature: string | undefined, token: string | undefined, rs: string | undefined
  for (const p of query) {
    switch (p.key) {
      case 'X-Amz-Algorithm':
        algorithm ??= p.value
        break
      case 'X-Amz-Credential':
        credential ??= p.value
        break
      case 'X-Amz-Date':
        date ??= p.value
        break
      case 'X-Amz-Expires':
        expires ??= p.value
        break
      case 'X-Amz-SignedHeaders':
        signedHeaders ??= p.value
        break
      case 'X-Amz-Signature':
        signature ??= p.value
        break
      case 'X-Amz-Security-Token':
        token ??= p.value
        break
      case 'X-Amz-Region-Set':
        rs ??= p.value
        break
    }
  }
  if (algorithm === undefined || credential === undefined || date === undefined || expires === undefined || signedHeaders === undefined || signature === undefined) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    )
  }
  if (!isAlgorithm(algorithm)) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256" and "AWS4-ECDSA-P256-SHA256"')
  const scope = parseCredential(credential, algorithm, (d) => queryError(`Error parsing the X-Amz-Credential parameter; ${d}`))
  const signedAt = parseAmzDate(date)
  if (signedAt === undefined) throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
  if (!/^-?\d+$/.test(expires)) throw queryError('X-Amz-Expires should be a number')
  const expiresSeconds = Number(expires)
  // AWS's observed answers (noobaa-core#8873, bryanjos/aws_auth#31): a negative or over-a-week
  // value is AuthorizationQueryParametersError (400, the status of that code in the S3 error list:
  // https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Zero passes here and is
  // then an already expired URL (AccessDenied "Request has expired", authenticate.ts).
  if (expiresSeconds < 0) throw queryError('X-Amz-Expires must be non-negative')
  if (expiresSeconds > MAX_EXPIRES)
    throw queryError(`X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than ${MAX_EXPIRES} seconds`)
  const sh = parseSignedHeaders(signedHeaders, (d) => queryError(`Error parsing the X-Amz-SignedHeaders parameter; ${d}`))
  const out: ParsedAuth = {
    authType: 'REST-QUERY-STRING',
    algorithm,
    accessKeyId: scope.accessKeyId,
    scopeDate: scope.scopeDate,
    scopeService: scope.scopeService,
    signedHeaders: sh,
    signature,
    amzDate: date,
    amzDateRaw: date,
    signedAt,
    expiresSeconds,
  }
  if (scope.scopeRegion !== undefined) out.scopeRegion = scope.scopeRegion
  if (token !== undefined) out.securityToken = token
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') {
    const regionSet = rs === undefined ? [] : parseRegionSet(rs)
    if (regionSet.length === 0) throw queryError('Query-string authentication with AWS4-ECDSA-P256-SHA256 requires the X-Amz-Region-Set parameter.')
    out.regionSet = regionSet
  }
  return out
}

/**
 * True when the SigV4A region set covers `region`. Entries are region names or wildcard patterns
 * (`*`, `us-*`, `*-east-1`); '*' matches any run of characters.
 */
export function regionSetCovers(regionSet: readonly string[], region: string): boolean {
  return regionSet.some((pattern) => globMatch(pattern.toLowerCase(), region.toLowerCase()))
}

function globMatch(pattern: string, s: string): boolean {
  if (!pattern.includes('*')) return pattern === s
  const parts = pattern.split('*')
  const first = parts[0]!,
    last = parts[parts.length - 1]!
  if (!s.startsWith(first) || s.length < first.length + last.length || !s.endsWith(last)) return false
  let pos = first.length
  const end = s.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const idx = s.indexOf(parts[i]!, pos)
    if (idx < 0 || idx + parts[i]!.length > end) return false
    pos = idx + parts[i]!.length
  }
  return true
}

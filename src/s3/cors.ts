/**
 * @module CORS: a bucket's rules (Put/Get/DeleteBucketCors), the answer to a preflight OPTIONS and
 * the headers of an actual cross-origin request. Behaviour and sources: docs/aws/cors.md.
 *
 * The rules live with the bucket in the state seam (`configs.cors`, the XML as mrap renders it), so
 * every node of a fleet answers from the same rules. A preflight carries no signature: it is
 * answered from the rules alone, before authentication, and never reaches an operation.
 */

import type { WireResult } from '../http/respond.js'
import type { Target } from '../http/target.js'
import { type S3Error, s3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import { addressOf } from './address.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from './context.js'
import { type Headers, header } from './headers.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from './xml.js'

export interface CorsRule {
  id?: string
  allowedHeaders: string[]
  allowedMethods: string[]
  allowedOrigins: string[]
  exposeHeaders: string[]
  maxAgeSeconds?: number
}

const METHODS = new Set(['GET', 'PUT', 'HEAD', 'POST', 'DELETE'])
/** "The document is limited to 64 KB in size" (PutBucketCors); "up to 100 rules" (CORSConfiguration). */
const DOCUMENT_LIMIT = 64 * 1024
const MAX_RULES = 100
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method'
const NOT_ALLOWED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

const wildcards = (s: string): number => s.split('*').length - 1

/** A CORSConfiguration document → its rules, refused as S3 refuses it. */
export function parseCorsConfiguration(raw: Buffer): CorsRule[] {
  const doc = parseXmlBody(raw, 'CORSConfiguration')
  const rules = list(doc.CORSRule)
  if (rules.length === 0 || rules.length > MAX_RULES) throw s3Error('MalformedXML')
  return rules.map((r) => {
    if (typeof r !== 'object' || r === null) throw s3Error('MalformedXML')
    const o = r as Record<string, unknown>
    const strings = (v: unknown): string[] => list(v).map((x) => text(x) ?? '')
    const rule: CorsRule = {
      allowedHeaders: strings(o.AllowedHeader),
      allowedMethods: strings(o.AllowedMethod),
      allowedOrigins: strings(o.AllowedOrigin),
      exposeHeaders: strings(o.ExposeHeader),
    }
    if (rule.allowedMethods.length === 0 || rule.allowedOrigins.length === 0) throw s3Error('MalformedXML')
    for (const m of rule.allowedMethods) {
      if (!METHODS.has(m)) throw s3Error('InvalidRequest', { message: `Found unsupported HTTP method in CORS config. Unsupported method is ${m}` })
    }
    for (const origin of rule.allowedOrigins) {
      if (wildcards(origin) > 1) throw s3Error('InvalidRequest', { message: `AllowedOrigin "${origin}" can not have more than one wildcard.` })
    }
    for (const h of rule.allowedHeaders) {
      if (wildcards(h) > 1) throw s3Error('InvalidRequest', { message: `AllowedHeader "${h}" can not have more than one wildcard.` })
    }
    for (const h of rule.exposeHeaders) {
      if (h.includes('*')) throw s3Error('InvalidRequest', { message: `ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.` })
    }
    const id = text(o.ID)
    if (id !== undefined) {
      if ([...id].length > 255)
        throw s3Error('InvalidArgument', { message: 'The ID of a CORS rule cannot be longer than 255 characters.', fields: { ArgumentName: 'ID', ArgumentValue: id } })
      rule.id = id
    }
    if (Array.isArray(o.MaxAgeSeconds)) throw s3Error('MalformedXML')
    const age = text(o.MaxAgeSeconds)
    if (age !== undefined) {
      if (!/^\d{1,10}$/.test(age.trim()) || Number(age) > 2 ** 31 - 1) throw s3Error('MalformedXML')
      rule.maxAgeSeconds = Number(age)
    }
    return rule
  })
}

export function renderCorsConfiguration(rules: CorsRule[]): string {
  const CORSRule: XmlObject[] = rules.map((r) => ({
    ID: r.id,
    AllowedHeader: r.allowedHeaders,
    AllowedMethod: r.allowedMethods,
    AllowedOrigin: r.allowedOrigins,
    ExposeHeader: r.exposeHeaders,
    MaxAgeSeconds: r.maxAgeSeconds,
  }))
  return renderXml('CORSConfiguration', { CORSRule })
}

// Bucket records are replaced, never mutated, when their configuration changes: one parse per record.
const parsed = new WeakMap<BucketRecord, CorsRule[] | undefined>()

/** The bucket's rules, or undefined when it has no CORS configuration. */
export function corsRulesOf(bucket: BucketRecord): CorsRule[] | undefined {
  if (parsed.has(bucket)) return parsed.get(bucket)
  const xml = bucket.configs.cors
  let rules: CorsRule[] | undefined
  // What is stored was accepted by parseCorsConfiguration; a record that no longer parses (edited
  // by hand) serves no CORS rather than failing every request to the bucket.
  if (xml !== undefined) {
    try {
      rules = parseCorsConfiguration(Buffer.from(xml))
    } catch {
      rules = undefined
    }
  }
  parsed.set(bucket, rules)
  return rules
}

export async function putBucketCors(req: BucketRequest): Promise<S3Response> {
  const rules = parseCorsConfiguration(await readSmallBody(req.body, DOCUMENT_LIMIT))
  await req.core.state.updateBucket(req.bucket.name, { configs: { cors: renderCorsConfiguration(rules) } })
  return empty(200)
}

export async function getBucketCors(req: BucketRequest): Promise<S3Response> {
  const rules = corsRulesOf(req.bucket)
  if (!rules) throw s3Error('NoSuchCORSConfiguration', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(renderCorsConfiguration(rules))
}

export async function deleteBucketCors(req: BucketRequest): Promise<S3Response> {
  if (req.bucket.configs.cors !== undefined) await req.core.state.updateBucket(req.bucket.name, { configs: { cors: undefined } })
  return empty(204)
}

/** `*` alone matches anything; one `*` elsewhere matches any run of characters, the empty one too. */
function wildcardMatch(pattern: string, value: string, fold: boolean): boolean {
  const p = fold ? pattern.toLowerCase() : pattern
  const v = fold ? value.toLowerCase() : value
  const star = p.indexOf('*')
  if (star < 0) return p === v
  const head = p.slice(0, star)
  const tail = p.slice(star + 1)
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail)
}

interface Match {
  rule: CorsRule
  anyOrigin: boolean
}

/** The first rule for this origin and method whose AllowedHeaders cover every requested header. */
function firstMatch(rules: CorsRule[], origin: string, method: string, requested: string[]): Match | undefined {
  for (const rule of rules) {
    const pattern = rule.allowedOrigins.find((o) => wildcardMatch(o, origin, false))
    if (pattern === undefined || !rule.allowedMethods.includes(method)) continue
    if (!requested.every((h) => rule.allowedHeaders.some((a) => wildcardMatch(a, h, true)))) continue
    return { rule, anyOrigin: pattern === '*' }
  }
  return undefined
}

function responseHeaders(m: Match, origin: string): Record<string, string> {
  const out: Record<string, string> = {
    'access-control-allow-origin': m.anyOrigin ? '*' : origin,
    'access-control-allow-methods': m.rule.allowedMethods.join(', '),
  }
  if (m.rule.exposeHeaders.length > 0) out['access-control-expose-headers'] = m.rule.exposeHeaders.join(', ')
  if (m.rule.maxAgeSeconds !== undefined) out['access-control-max-age'] = String(m.rule.maxAgeSeconds)
  // A named origin may send credentials; `*` may not (Fetch's CORS check), so S3 says so only then.
  if (!m.anyOrigin) out['access-control-allow-credentials'] = 'true'
  out.vary = VARY
  return out
}

/** The names of Access-Control-Request-Headers, lower-cased, in the order sent. */
function requestedHeaders(h: Headers): string[] {
  const v = header(h, 'access-control-request-headers')
  if (v === undefined) return []
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
}

/**
 * The answer to `OPTIONS` on a bucket or object: 200 with the matching rule's headers, else S3's
 * refusal. The bucket is looked up here, not authorized: a preflight is never signed.
 */
export function answerPreflight(state: { getBucket(name: string): BucketRecord | undefined }, bucketName: string, key: string | undefined, h: Headers): WireResult {
  const origin = header(h, 'origin')
  if (origin === undefined) throw s3Error('BadRequest', { message: 'Insufficient information. Origin request header needed.' })
  const wanted = header(h, 'access-control-request-method')
  const refusal = (message: string | undefined, resourceType: 'BUCKET' | 'OBJECT'): S3Error =>
    s3Error('AccessForbidden', { ...(message ? { message } : {}), fields: { Method: wanted ?? 'OPTIONS', ResourceType: resourceType } })
  const bucket = state.getBucket(bucketName)
  if (!bucket) throw refusal('CORSResponse: Bucket not found', 'BUCKET')
  const rules = corsRulesOf(bucket)
  if (!rules) throw refusal(undefined, 'BUCKET')
  if (wanted === undefined || !METHODS.has(wanted)) throw s3Error('BadRequest', { message: `Invalid Access-Control-Request-Method: ${wanted ?? 'null'}` })
  const requested = requestedHeaders(h)
  const m = firstMatch(rules, origin, wanted, requested)
  if (!m) throw refusal(NOT_ALLOWED, key === undefined ? 'BUCKET' : 'OBJECT')
  const headers = responseHeaders(m, origin)
  if (requested.length > 0) headers['access-control-allow-headers'] = requested.join(', ')
  return { status: 200, headers }
}

/**
 * Adds the CORS headers of the first matching rule to the result of an actual request (an error
 * too) that carries an Origin. The method is Access-Control-Request-Method when the request has
 * one (S3 matches on it), else the request's; its other headers are not checked.
 */
export function addCorsHeaders(
  state: { getBucket(name: string): BucketRecord | undefined },
  target: Target,
  rawPath: string,
  method: string,
  h: Headers,
  result: WireResult,
): void {
  const origin = header(h, 'origin')
  if (origin === undefined) return
  let bucketName: string | undefined
  try {
    bucketName = addressOf(target, rawPath).bucket
  } catch {
    return
  }
  const bucket = bucketName === undefined ? undefined : state.getBucket(bucketName)
  const rules = bucket && corsRulesOf(bucket)
  if (!rules) return
  const m = firstMatch(rules, origin, header(h, 'access-control-request-method') ?? method, [])
  if (m) Object.assign(result.headers, responseHeaders(m, origin))
}

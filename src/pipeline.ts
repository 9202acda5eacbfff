/**
 * @module The request pipeline, top to bottom: receive → resolve target → classify → authenticate →
 * authorize → execute → respond. Each stage is a function returning a typed value; errors are
 * thrown as S3Error and become bytes in http/respond.ts only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { s3Error, S3Error } from './shared/errors.js'
import { resolveTarget, type Target } from './http/target.js'
import { errorResult, toS3Error, writeResult, type ErrorEnvelope, type WireResult } from './http/respond.js'
import { queryServiceOf, type ServiceHandler } from './http/handler.js'
import { authenticate, decodeBody, type AuthResult, type HttpRequestView, type SigningCredential } from './auth/index.js'
import { classify, actionsFor, type Operation } from './s3/classify.js'
import { isAddressableBucketName } from './s3/bucket-names.js'
import { ANONYMOUS, type Principal } from './iam/identities.js'
import { authorizeS3 } from './s3/authorize.js'
import { dispatch } from './s3/dispatch.js'
import { header } from './s3/headers.js'
import type { S3Request } from './s3/context.js'
import type { Services } from './services.js'
import type { CompiledPolicy } from './policy/index.js'
import type { BucketRecord } from './state/control-store.js'
import type { MrapRecord } from './mrap/registry.js'
import { misdirected } from './network/tunnel-host.js'

/** Network facts the listener knows about a connection (internet, or a VPC endpoint later). */
export interface Origin {
  sourceIp: string
  secure: boolean
  /** Set when the request came through a VPC interface endpoint. */
  vpc?: { endpointId: string; vpcId: string; sourceIp: string }
  /** The endpoint's policy (a limit on everything that passes through it). */
  endpointPolicy?: CompiledPolicy
  /** The region the request originates from, for MRAP proximity routing (a VPC's region). */
  region?: string
  /** Set by a forward proxy: the host it resolved (CONNECT target, absolute URI); Host must name it. */
  host?: string
}

const MAX_KEY_BYTES = 1024
const MAX_PUT_BYTES = 5 * 1024 ** 3



export async function handleRequest(s: Services, req: IncomingMessage, res: ServerResponse, origin: Origin): Promise<void> {
  const started = performance.now()
  const { requestId, hostId } = s.requestIds.next()
  const log = s.log.child({ reqId: requestId })
  const method = req.method ?? 'GET'
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const view: HttpRequestView = {
    method,
    rawPath: q >= 0 ? url.slice(0, q) : url,
    rawQuery: q >= 0 ? url.slice(q + 1) : '',
    headers: req.headersDistinct as HttpRequestView['headers'],
  }
  let result: WireResult
  const info: Record<string, string | undefined> = {}
  let envelope: ErrorEnvelope = 's3'
  let service = 's3'
  try {
    const host = header(req.headers, 'host')
    if (origin.host !== undefined && host !== origin.host) { const e = misdirected(host, origin.host); if (e) throw e }
    const target = resolveTarget(host, { dnsSuffix: s.world.dnsSuffix, endpointHosts: s.config.endpointHosts })
    const handler = handlerFor(s, target, req)
    if (handler) {
      service = target.kind === 'api' ? target.service : target.kind === 'mrap' ? 'mrap' : (queryServiceOf(req) ?? 'control')
      envelope = handler.envelope
      result = await handler.handle({ req, view, target, origin, requestId, log, info })
    } else {
      result = await runS3(s, req, view, target, origin, requestId, log, info)
    }
  } catch (err) {
    const e = toS3Error(err)
    if (!(err instanceof S3Error)) log.error({ err }, 'internal error')
    result = errorResult(e, { requestId, hostId, method, envelope, resource: view.rawPath })
    // The body of a failed upload must not be left unread on a keep-alive connection.
    if (!req.readableEnded) req.resume()
  }
  const sending = writeResult(res, result, { requestId, hostId }, method)
  if (sending) await sending
  const ms = performance.now() - started
  s.metrics.observe(service, info.op ?? 'unknown', result.status, ms / 1000)
  if (log.isLevelEnabled('info')) log.info({ method, path: view.rawPath, status: result.status, ms: Math.round(ms * 100) / 100, ...info }, 'request')
}

/**
 * The query the S3 operations see. A presigned URL's own X-Amz-* parameters mean nothing to them
 * (authentication reads the raw query; no operation reads an X-Amz-* parameter), so a query made of
 * nothing else becomes an empty one without URLSearchParams parsing it per request.
 */
export function s3Query(raw: string): URLSearchParams {
  if (raw === '' || onlyAmzParams(raw)) return new URLSearchParams()
  return new URLSearchParams(raw)
}

function onlyAmzParams(raw: string): boolean {
  // The spellings clients use; any other casing just takes the general path.
  let start = 0
  while (start < raw.length) {
    const amp = raw.indexOf('&', start)
    const end = amp < 0 ? raw.length : amp
    if (end > start && !raw.startsWith('X-Amz-', start) && !raw.startsWith('x-amz-', start)) return false
    start = end + 1
  }
  return true
}

interface Addressed { bucket?: string; key?: string }

/** Bucket and key from the path (path style) or from the Host (virtual-host style). */
export function addressOf(target: Target, rawPath: string): Addressed {
  let path: string
  try { path = decodeURIComponent(rawPath) } catch { throw s3Error('InvalidURI', { fields: { URI: rawPath } }) }
  if (target.kind === 'bucket') {
    const key = path.slice(1)
    return key === '' ? { bucket: target.bucket } : { bucket: target.bucket, key }
  }
  const rest = path.slice(1)
  if (rest === '') return {}
  const slash = rest.indexOf('/')
  if (slash < 0) return { bucket: rest }
  const key = rest.slice(slash + 1)
  return key === '' ? { bucket: rest.slice(0, slash) } : { bucket: rest.slice(0, slash), key }
}

/** The service handler for a non-S3 target, or undefined for the S3 data plane. */
function handlerFor(s: Services, target: Target, req: IncomingMessage): ServiceHandler | undefined {
  const h = s.handlers
  switch (target.kind) {
    case 'mrap': return h.mrap ?? unavailable('Multi-Region Access Point')
    case 'api': return h[target.service] ?? unavailable(target.service.toUpperCase())
    case 'control': return h.control ?? unavailable('S3 Control')
    default: {
      const q = queryServiceOf(req)
      if (q) return h[q] ?? unavailable(q.toUpperCase())
      // S3 Control through a custom endpoint: `<account>.<host>` with a /v20180820/ path.
      if ((req.url ?? '').startsWith('/v20180820/')) return h.control ?? unavailable('S3 Control')
      return undefined
    }
  }
}

function unavailable(what: string): ServiceHandler {
  return { envelope: 's3', handle: async () => { throw s3Error('NotImplemented', { message: `This server does not serve the ${what} API.` }) } }
}

// Not `async`: it returns executeS3's promise as it is (an async function returning a promise costs
// extra microtask turns per request); its synchronous throws reach the caller's try block the same way.
function runS3(s: Services, req: IncomingMessage, view: HttpRequestView, target: Target, origin: Origin, requestId: string, log: S3Request['log'], info: Record<string, string | undefined>): Promise<WireResult> {
  const { bucket: bucketName, key } = addressOf(target, view.rawPath)
  if (bucketName !== undefined && !isAddressableBucketName(bucketName)) throw s3Error('InvalidBucketName', { fields: { BucketName: bucketName } })
  if (key !== undefined && Buffer.byteLength(key) > MAX_KEY_BYTES) throw s3Error('KeyTooLongError', { fields: { Size: Buffer.byteLength(key), MaxSizeAllowed: MAX_KEY_BYTES } })
  const query = s3Query(view.rawQuery)
  const op = classify(view.method, bucketName, key, query, req.headers)
  info.op = op.name; info.bucket = bucketName; info.key = key

  // Authenticate before anything about the bucket is revealed beyond what S3 itself reveals.
  const auth = authenticate(view, { now: s.clock(), lookup: (id) => lookupKey(s, id), keyCache: s.keyCache, signingKeyCache: s.signingKeyCache })
  const principal = principalOf(s, auth)
  info.principal = principal.arn

  const bucket = bucketName !== undefined && op.name !== 'CreateBucket' ? s.control.getBucket(bucketName) : undefined
  if (bucketName !== undefined && op.name !== 'CreateBucket' && !bucket) throw s3Error('NoSuchBucket', { fields: { BucketName: bucketName } })
  if (bucket) checkRegion(target, auth, bucket.region, bucket.name)
  const endpointRegion = ('region' in target ? target.region : undefined) ?? (auth.kind === 'signed' ? auth.region : undefined) ?? 'us-east-1'

  return executeS3(s, { req, view, op, query, auth, principal, origin, requestId, log, endpointRegion, bucket, bucketName, key })
}

export interface ExecuteInput {
  req: IncomingMessage
  view: HttpRequestView
  op: Operation
  query: URLSearchParams
  auth: AuthResult
  principal: Principal
  origin: Origin
  requestId: string
  log: S3Request['log']
  endpointRegion: string
  bucket?: BucketRecord | undefined
  bucketName?: string | undefined
  key?: string | undefined
  /** Set for requests through a Multi-Region Access Point (the MRAP authorization context). */
  mrap?: MrapRecord | undefined
}

/** Stages authorize → execute for a resolved S3 request (direct, or routed by an MRAP). */
export async function executeS3(s: Services, x: ExecuteInput): Promise<WireResult> {
  const { req, op, query, auth, principal, origin, requestId, log, bucket, bucketName, key, mrap } = x
  const decision = authorizeS3(s, { principal, op, actions: actionsFor(op.name, query), bucket, bucketName, key, auth, origin, query, headers: req.headers, mrap })
  if (!decision.allowed) {
    log.info({ why: decision.reason }, 'access denied')
    s.decisions.remember(requestId, decision)
    throw s3Error('AccessDenied')
  }

  checkBodyLimits(op, req)
  let body: Readable | undefined
  if (op.body !== 'none') {
    body = decodeBody(x.view, auth, req)
    // A body error (bad framing, digest mismatch, client gone) may fire while a handler is still
    // awaiting something else; the consumer sees it through its pipeline, and it must never become
    // an uncaught exception that takes the server down.
    body.on('error', (err) => log.debug({ err: (err as Error).message }, 'request body failed'))
  }
  const s3req = new S3Call(s, x, body)
  const out = await dispatch(s3req)
  if (out.status === 200 && out.body === undefined && x.view.method !== 'HEAD' && !out.headers['content-length']) out.headers['content-length'] = '0'
  return out
}

/**
 * One request as the S3 operations see it. A class on purpose: the lazy body getter lives on the
 * prototype. As an accessor in an object literal it gave every request its own hidden class, which
 * V8 kept past young-generation collections (a third of the CPU of a small GET went to the GC).
 */
class S3Call implements S3Request {
  readonly services: Services
  readonly requestId: string
  readonly op: Operation
  readonly query: URLSearchParams
  readonly headers: S3Request['headers']
  readonly principal: Principal
  readonly endpointRegion: string
  readonly log: S3Request['log']
  bucketName?: string
  bucket?: BucketRecord
  key?: string

  constructor(s: Services, private readonly x: ExecuteInput, private decoded: Readable | undefined) {
    this.services = s
    this.requestId = x.requestId
    this.op = x.op
    this.query = x.query
    this.headers = x.req.headers
    this.principal = x.principal
    this.endpointRegion = x.endpointRegion
    this.log = x.log
    if (x.bucketName !== undefined) this.bucketName = x.bucketName
    if (x.bucket) this.bucket = x.bucket
    if (x.key !== undefined) this.key = x.key
  }

  /** Operations without a body never read it: an empty stream only when one asks. */
  get body(): Readable { return (this.decoded ??= Readable.from([])) }

  allowed(action: string, key?: string, other?: BucketRecord): boolean {
    const x = this.x
    return authorizeS3(this.services, {
      principal: x.principal, op: x.op, actions: [action], bucket: other ?? x.bucket, bucketName: other?.name ?? x.bucketName, key,
      auth: x.auth, origin: x.origin, query: x.query, headers: x.req.headers, mrap: other ? undefined : x.mrap,
    }).allowed
  }
}

/** The signing credential of an active key: the key record itself (no copy on the hot path). */
export function lookupKey(s: Services, accessKeyId: string): SigningCredential | undefined {
  const rec = s.identities.findKey(accessKeyId)
  return rec && rec.status === 'Active' ? rec : undefined
}

export function principalOf(s: Services, auth: AuthResult): Principal {
  if (auth.kind === 'anonymous') return ANONYMOUS
  const rec = s.identities.findKey(auth.accessKeyId)
  if (!rec) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: auth.accessKeyId } })
  return rec.principal
}

/**
 * A bucket is served only in its own region. A regional AWS host of another region gets a 301 (as
 * S3 does for path-style requests); a signature scoped to another region is malformed.
 */
function checkRegion(target: Target, auth: AuthResult, region: string, bucket: string): void {
  if ((target.kind === 'service' || target.kind === 'bucket') && target.region !== undefined && target.region !== region) {
    throw s3Error('PermanentRedirect', {
      fields: { Endpoint: `s3.${region}.amazonaws.com`, Bucket: bucket },
      headers: { 'x-amz-bucket-region': region },
    })
  }
  if (auth.kind === 'signed' && auth.region !== undefined && auth.region !== region) {
    if (auth.authType === 'REST-QUERY-STRING') {
      throw s3Error('AuthorizationQueryParametersError', { message: `Error parsing the X-Amz-Credential parameter; the region '${auth.region}' is wrong; expecting '${region}'`, fields: { Region: region } })
    }
    throw s3Error('AuthorizationHeaderMalformed', { message: `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`, fields: { Region: region } })
  }
}

export function checkBodyLimits(op: Operation, req: IncomingMessage): void {
  if (op.name !== 'PutObject' && op.name !== 'UploadPart') return
  const len = header(req.headers, 'x-amz-decoded-content-length') ?? header(req.headers, 'content-length')
  const chunked = req.headers['transfer-encoding'] !== undefined
  if (len === undefined && !chunked) throw s3Error('MissingContentLength')
  if (len !== undefined) {
    if (!/^\d+$/.test(len)) throw s3Error('InvalidArgument', { message: 'Content-Length is not a number', fields: { ArgumentName: 'Content-Length', ArgumentValue: len } })
    if (Number(len) > MAX_PUT_BYTES) throw s3Error('EntityTooLarge', { fields: { ProposedSize: len, MaxSizeAllowed: MAX_PUT_BYTES } })
  }
}

/**
 * @module The request pipeline's entry, top to bottom: receive → resolve target → pick a handler (or
 * S3's data plane) → classify → authenticate → execute (pipeline/execute.ts) → respond. Each stage is
 * a function returning a typed value; errors are thrown as ServiceError and become bytes in
 * http/respond.ts only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { AuthResult, HttpRequestView } from '../auth/index.js'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import { type HandlerTable, isKmsCall, queryServiceOf, type ServiceHandler } from '../http/handler.js'
import { type ErrorEnvelope, errorResult, toS3Error, type WireResult, writeResult } from '../http/respond.js'
import { resolveTarget, type Target } from '../http/target.js'
import { mrapArn } from '../mrap/registry.js'
import { misdirected } from '../network/tunnel-host.js'
import { type AccessLog, resourceOf } from '../s3/access-log.js'
import { addressOf, s3Query } from '../s3/address.js'
import { isAddressableBucketName } from '../s3/bucket-names.js'
import { classify } from '../s3/classify.js'
import { addCorsHeaders, answerPreflight } from '../s3/cors.js'
import { header } from '../s3/headers.js'
import { S3Error, s3Error } from '../shared/errors.js'
import { authenticateRequest, principalOf } from './credentials.js'
import { executeS3 } from './execute.js'
import { postObject } from './post-object.js'

const MAX_KEY_BYTES = 1024

/** What the front door runs requests against: the core, and the handlers of the services beside S3's data plane. */
export interface Frontage {
  core: Core
  handlers: HandlerTable
  /** Server access logging (s3/access-log.ts); absent in harnesses that run no delivery. */
  accessLog?: AccessLog
}

export async function handleRequest(app: Frontage, req: IncomingMessage, res: ServerResponse, origin: Origin): Promise<void> {
  const s = app.core
  const started = performance.now()
  const { requestId, hostId } = s.requestIds.next()
  const log = requestLogger(s.log, requestId)
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
  let s3Target: Target | undefined
  try {
    const host = header(req.headers, 'host')
    if (origin.host !== undefined && host !== origin.host) {
      const e = misdirected(host, origin.host)
      if (e) throw e
    }
    const target = resolveTarget(host, { dnsSuffix: s.world.dnsSuffix, endpointHosts: s.config.endpointHosts })
    const handler = handlerFor(app.handlers, target, req)
    if (handler) {
      service = target.kind === 'api' ? target.service : target.kind === 'mrap' ? 'mrap' : (queryServiceOf(req) ?? (isKmsCall(req) ? 'kms' : 'control'))
      envelope = handler.envelope
      result = await handler.handle({ req, view, target, origin, requestId, log, info })
    } else {
      s3Target = target
      result = await runS3(s, req, view, target, origin, requestId, log, info)
    }
  } catch (err) {
    const e = toS3Error(err)
    if (!(err instanceof S3Error)) log.error({ err }, 'internal error')
    // The access log names what went wrong; for a refused feature, which one (the operation or
    // subresource is in the message), so an operator sees what clients ask for that mrap lacks.
    info.error = e.code
    if (e.status === 501) info.refused = e.message
    result = errorResult(e, { requestId, hostId, method, envelope, resource: view.rawPath })
    // The body of a failed upload must not be left unread on a keep-alive connection.
    if (!req.readableEnded) req.resume()
  }
  // CORS headers go on every answer of a bucket with a matching rule, errors included (a preflight
  // has its own); only a request with an Origin pays for the lookup.
  if (s3Target && method !== 'OPTIONS' && req.headers.origin !== undefined) addCorsHeaders(s.state, s3Target, view.rawPath, method, req.headers, result)
  const sending = writeResult(res, result, { requestId, hostId }, method)
  if (sending) await sending
  const ms = performance.now() - started
  s.metrics.observe(service, info.op ?? 'unknown', result.status, ms / 1000)
  s.recentRequests.record({ time: Date.now(), requestId, method, host: req.headers.host, path: view.rawPath, status: result.status, service, info })
  // Direct requests and those an MRAP routed to a bucket (info.mrap, info.bucket: the bucket that served it).
  if (app.accessLog && (s3Target || info.mrap !== undefined) && info.bucket !== undefined && app.accessLog.logs(info.bucket))
    logAccess(s, app.accessLog, req, view, origin, info, result, { requestId, hostId, ms })
  if (s.log.isLevelEnabled('info')) log.info({ method, path: view.rawPath, status: result.status, ms: Math.round(ms * 100) / 100, ...info }, 'request')
}

/**
 * The request's logger (bound to its request id), made on first use: at the default level an
 * answered request logs nothing, and pino's child() serialises its bindings each time (about 2% of
 * a small GET's CPU). Every property and call goes to the one child, made once.
 */
function requestLogger(root: Logger, reqId: string): Logger {
  let child: Logger | undefined
  const made = (): Logger => (child ??= root.child({ reqId }))
  return new Proxy(root, {
    get(_root, prop) {
      const c = made()
      const v: unknown = Reflect.get(c, prop, c)
      return typeof v === 'function' ? v.bind(c) : v
    },
    set(_root, prop, value) {
      return Reflect.set(made(), prop, value)
    },
    has(_root, prop) {
      return Reflect.has(made(), prop)
    },
  })
}

/** One record for the bucket's server access log (dropped at once when the bucket does not log). */
function logAccess(
  s: Core,
  log: AccessLog,
  req: IncomingMessage,
  view: HttpRequestView,
  origin: Origin,
  info: Record<string, string | undefined>,
  result: WireResult,
  r: { requestId: string; hostId: string; ms: number },
): void {
  const auth = header(req.headers, 'authorization')
  const presigned = /(^|&)X-Amz-Signature=/.test(view.rawQuery)
  const tls = req.socket as { getCipher?: () => { standardName?: string; name?: string } | undefined; getProtocol?: () => string | null }
  const length = result.headers['content-length']
  const mrap = info.mrap !== undefined ? s.mraps.byAlias(info.mrap) : undefined
  log.record({
    bucket: info.bucket!,
    time: s.clock(), // the server's clock, which also names the log objects (a test may set it)
    remoteIp: origin.vpc?.sourceIp ?? origin.sourceIp,
    requester: info.principal === '*' ? undefined : info.principal,
    requestId: r.requestId,
    hostId: r.hostId,
    method: view.method,
    resource: resourceOf(info.op, view.rawQuery),
    key: info.key,
    uri: req.url ?? '/',
    httpVersion: req.httpVersion,
    status: result.status,
    errorCode: info.error,
    bytesSent: view.method !== 'HEAD' && length !== undefined ? Number(length) : undefined,
    totalMs: r.ms,
    referer: header(req.headers, 'referer'),
    userAgent: header(req.headers, 'user-agent'),
    versionId: result.headers['x-amz-version-id'],
    signatureVersion: auth?.startsWith('AWS4-') || presigned ? 'SigV4' : undefined,
    authType: auth !== undefined ? 'AuthHeader' : presigned ? 'QueryString' : undefined,
    cipherSuite: tls.getCipher?.()?.name,
    tlsVersion: tls.getProtocol?.() ?? undefined,
    hostHeader: header(req.headers, 'host'),
    accessPointArn: mrap ? mrapArn(mrap, s.world.partition) : undefined,
  })
}

/** The service handler for a non-S3 target, or undefined for the S3 data plane. */
function handlerFor(h: HandlerTable, target: Target, req: IncomingMessage): ServiceHandler | undefined {
  switch (target.kind) {
    case 'mrap':
      return h.mrap
    case 'api':
      return h[target.service]
    case 'control':
      return h.control
    default: {
      const q = queryServiceOf(req)
      if (q) return h[q]
      if (isKmsCall(req)) return h.kms
      // S3 Control through a custom endpoint: `<account>.<host>` with a /v20180820/ path.
      if ((req.url ?? '').startsWith('/v20180820/')) return h.control
      return undefined
    }
  }
}

// Not `async`: it returns executeS3's promise as it is (an async function returning a promise costs
// extra microtask turns per request); its synchronous throws reach the caller's try block the same way.
function runS3(
  s: Core,
  req: IncomingMessage,
  view: HttpRequestView,
  target: Target,
  origin: Origin,
  requestId: string,
  log: Logger,
  info: Record<string, string | undefined>,
): Promise<WireResult> {
  const { bucket: bucketName, key } = addressOf(target, view.rawPath)
  if (bucketName !== undefined && !isAddressableBucketName(bucketName)) throw s3Error('InvalidBucketName', { fields: { BucketName: bucketName } })
  if (key !== undefined && Buffer.byteLength(key) > MAX_KEY_BYTES) throw s3Error('KeyTooLongError', { fields: { Size: Buffer.byteLength(key), MaxSizeAllowed: MAX_KEY_BYTES } })
  // A preflight is unsigned by nature: it is answered from the bucket's CORS rules, before authentication.
  if (view.method === 'OPTIONS' && bucketName !== undefined) return Promise.resolve(answerPreflight(s.state, bucketName, key, req.headers))
  const query = s3Query(view.rawQuery)
  const op = classify(view.method, bucketName, key, query, req.headers)
  info.op = op.name
  info.bucket = bucketName
  info.key = key
  // A form upload is signed in its body (the POST policy), not in the request: it authenticates itself.
  if (op.name === 'PostObject' && bucketName !== undefined) {
    const b = s.state.getBucket(bucketName)
    if (b) checkRegion(target, { kind: 'anonymous', payload: { kind: 'unsigned' } }, b.region, b.name)
    return postObject(s, { req, target, origin, requestId, log, bucketName, info })
  }

  // Authenticate before anything about the bucket is revealed beyond what S3 itself reveals.
  const auth = authenticateRequest(s, view)
  const principal = principalOf(s, auth)
  info.principal = principal.arn

  const bucket = bucketName !== undefined && op.name !== 'CreateBucket' ? s.state.getBucket(bucketName) : undefined
  if (bucketName !== undefined && op.name !== 'CreateBucket' && !bucket) throw s3Error('NoSuchBucket', { fields: { BucketName: bucketName } })
  if (bucket) checkRegion(target, auth, bucket.region, bucket.name)
  const endpointRegion = ('region' in target ? target.region : undefined) ?? (auth.kind === 'signed' ? auth.region : undefined) ?? 'us-east-1'

  return executeS3(s, { req, view, op, query, auth, principal, origin, requestId, log, endpointRegion, bucket, bucketName, key })
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
    // S3 puts the bucket's region in a header on every region error: a HEAD's error has no body, and
    // the header is all botocore's and the SDKs' region redirectors then have to go on.
    const headers = { 'x-amz-bucket-region': region }
    if (auth.authType === 'REST-QUERY-STRING') {
      throw s3Error('AuthorizationQueryParametersError', {
        message: `Error parsing the X-Amz-Credential parameter; the region '${auth.region}' is wrong; expecting '${region}'`,
        fields: { Region: region },
        headers,
      })
    }
    throw s3Error('AuthorizationHeaderMalformed', {
      message: `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`,
      fields: { Region: region },
      headers,
    })
  }
}

/**
 * @module Verify SigV4 (AWS4-HMAC-SHA256) and SigV4A (AWS4-ECDSA-P256-SHA256) requests, header and presigned.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html (SigV4A)
 * Error codes and wording follow what S3 returns (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
import crypto from 'node:crypto'
import { type S3Error, s3Error } from '../shared/errors.js'
import { canonicalQuery, canonicalRequest, EMPTY_SHA256, headerValue, parseQuery, type QueryParam, sha256Hex } from './canonical.js'
import { EcdsaChunkSigner, HmacChunkSigner } from './chunk-signer.js'
import { equalConstantTime } from './hmac.js'
import { type ParsedAuth, parseAuthorizationHeader, parsePresignedQuery } from './parse.js'
import type { AuthOptions, AuthResult, HttpRequestView, PayloadMode, SigningCredential } from './types.js'

const MAX_SKEW_MS = 15 * 60 * 1000
const HEX64 = /^[0-9a-f]{64}$/
const HEX = /^(?:[0-9a-f]{2})+$/

/** Interpret x-amz-content-sha256 (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html). */
export function payloadModeOf(value: string | undefined): PayloadMode | undefined {
  if (value === undefined) return undefined
  switch (value) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' }
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming', signed: false, trailer: true, algorithm: 'none' }
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming', signed: true, trailer: false, algorithm: 'hmac' }
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming', signed: true, trailer: true, algorithm: 'hmac' }
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD':
      return { kind: 'streaming', signed: true, trailer: false, algorithm: 'ecdsa' }
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming', signed: true, trailer: true, algorithm: 'ecdsa' }
  }
  const lower = value.toLowerCase()
  if (HEX64.test(lower)) return { kind: 'sha256', hex: lower }
  throw s3Error('InvalidArgument', {
    message:
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    fields: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
  })
}

/**
 * Authenticate a request. Synchronous: the body is not read (decodeBody() checks it later).
 * Throws S3Error. Anonymous requests (no Authorization header, no presigned query) return
 * `{ kind: 'anonymous' }`; whether anonymous access is allowed is the caller's decision.
 */
export function authenticate(req: HttpRequestView, opts: AuthOptions): AuthResult {
  const service = opts.service ?? 's3'
  const authz = headerValue(req.headers, 'authorization')
  const query = parseQuery(req.rawQuery)
  let presigned = false
  for (const p of query)
    if (p.key === 'X-Amz-Algorithm' || p.key === 'X-Amz-Credential' || p.key === 'X-Amz-Signature') {
      presigned = true
      break
    }

  if (authz !== undefined && presigned) {
    throw s3Error('InvalidArgument', {
      message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      fields: { ArgumentName: 'Authorization', ArgumentValue: authz },
    })
  }
  if (authz === undefined && !presigned) {
    if (query.some((p) => p.key === 'AWSAccessKeyId' || p.key === 'Signature')) throw unsupportedMechanism()
    return { kind: 'anonymous', payload: headerPayload(req, service, opts.bufferedBody) ?? { kind: 'unsigned' } }
  }

  const parsed = authz !== undefined ? parseAuthorizationHeader(authz, req.headers) : parsePresignedQuery(query)
  return verifyParsed(req, query, parsed, opts, service)
}

export function unsupportedMechanism(): S3Error {
  return s3Error('InvalidRequest', { message: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.' })
}

function headerPayload(req: HttpRequestView, service: string, bufferedBody: Buffer | undefined): PayloadMode | undefined {
  const v = headerValue(req.headers, 'x-amz-content-sha256')
  if (v !== undefined) return payloadModeOf(v)
  if (service !== 's3') return { kind: 'sha256', hex: bufferedBody ? sha256Hex(bufferedBody) : EMPTY_SHA256 }
  return undefined
}

function malformed(p: ParsedAuth, detail: string): S3Error {
  return p.authType === 'REST-HEADER'
    ? s3Error('AuthorizationHeaderMalformed', { message: `The authorization header is malformed; ${detail}` })
    : s3Error('AuthorizationQueryParametersError', { message: detail })
}

function verifyParsed(req: HttpRequestView, query: QueryParam[], p: ParsedAuth, opts: AuthOptions, service: string): AuthResult {
  const isV4A = p.algorithm === 'AWS4-ECDSA-P256-SHA256'
  if (p.scopeService !== service) {
    throw malformed(p, `incorrect service "${p.scopeService}". This endpoint belongs to "${service}".`)
  }
  if (p.scopeDate !== p.amzDate.slice(0, 8)) {
    throw malformed(
      p,
      p.authType === 'REST-HEADER'
        ? 'Invalid credential date. Date is not the same as X-Amz-Date.'
        : 'Invalid credential date "' + p.scopeDate + '". This date is not the same as X-Amz-Date: "' + p.amzDate.slice(0, 8) + '".',
    )
  }
  if (!p.signedHeaders.includes('host')) {
    throw malformed(p, p.authType === 'REST-HEADER' ? 'the SignedHeaders must include host.' : 'X-Amz-SignedHeaders must contain host.')
  }

  const now = opts.now.getTime()
  const signedAt = p.signedAt.getTime()
  if (p.authType === 'REST-HEADER') {
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
      throw s3Error('RequestTimeTooSkewed', {
        fields: { RequestTime: p.amzDateRaw, ServerTime: opts.now.toISOString(), MaxAllowedSkewMilliseconds: MAX_SKEW_MS },
      })
    }
  } else {
    const expires = p.expiresSeconds ?? 0
    // X-Amz-Expires=0 is valid for nothing: AWS answers it as expired at once.
    if (expires === 0 || now > signedAt + expires * 1000) {
      throw s3Error('AccessDenied', {
        message: 'Request has expired',
        fields: { 'X-Amz-Expires': expires, Expires: new Date(signedAt + expires * 1000).toISOString(), ServerTime: opts.now.toISOString() },
      })
    }
    if (signedAt - now > MAX_SKEW_MS) throw s3Error('AccessDenied', { message: 'Request is not valid yet' })
  }

  const credential = opts.lookup(p.accessKeyId)
  if (credential === undefined) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: p.accessKeyId } })
  checkSessionToken(credential, p, req, opts.now)
  if (isV4A && credential.sessionToken !== undefined && credential.tokenIssuer === 'global') {
    // docs/aws/mrap.md §SigV4A: SigV4A needs temporary credentials from a Regional STS endpoint.
    throw s3Error('InvalidToken', {
      message:
        'The security token was issued by the global STS endpoint (sts.amazonaws.com), which SigV4A does not accept; get temporary credentials from a Regional STS endpoint.',
    })
  }

  const { payload, canonicalRequest: creq, stringToSign, scope } = signingInputs(req, query, p, service, opts.bufferedBody)
  const mismatch = (): S3Error =>
    s3Error('SignatureDoesNotMatch', {
      fields: { AWSAccessKeyId: p.accessKeyId, StringToSign: stringToSign, SignatureProvided: p.signature, CanonicalRequest: creq },
    })

  let chunkSigner: HmacChunkSigner | EcdsaChunkSigner | undefined
  if (isV4A) {
    const key = opts.keyCache.publicKey(credential.accessKeyId, credential.secretAccessKey)
    if (!HEX.test(p.signature) || p.signature.length > 160) throw mismatch()
    let ok = false
    try {
      // The KeyObject itself (DER signatures are the default): no options object to parse per call.
      ok = crypto.verify('sha256', Buffer.from(stringToSign, 'utf8'), key, Buffer.from(p.signature, 'hex'))
    } catch {
      ok = false // malformed DER
    }
    if (!ok) throw mismatch()
    if (payload.kind === 'streaming' && payload.signed) chunkSigner = new EcdsaChunkSigner(key, p.amzDate, scope, p.signature)
  } else {
    const signing = opts.signingKeyCache.signing(credential.accessKeyId, credential.secretAccessKey, p.scopeDate, p.scopeRegion!, p.scopeService)
    const signingKey = signing.key
    // Hex against hex (HEX64 admits lower case only, as the digest is written): no buffers to allocate.
    if (!HEX64.test(p.signature) || !equalConstantTime(signing.mac.digest(stringToSign, 'hex'), p.signature)) throw mismatch()
    if (payload.kind === 'streaming' && payload.signed) chunkSigner = new HmacChunkSigner(signingKey, p.amzDate, scope, p.signature)
  }

  const out: AuthResult = {
    kind: 'signed',
    algorithm: p.algorithm,
    authType: p.authType,
    credential,
    accessKeyId: p.accessKeyId,
    scopeDate: p.scopeDate,
    service: p.scopeService,
    scope,
    amzDate: p.amzDate,
    signedAt: p.signedAt,
    signatureAgeMs: now - signedAt,
    signedHeaders: p.signedHeaders,
    signature: p.signature,
    payload,
  }
  if (isV4A) out.regionSet = p.regionSet ?? []
  else out.region = p.scopeRegion!
  if (chunkSigner) out.chunkSigner = chunkSigner
  return out
}

interface SigningInputs {
  payload: PayloadMode
  canonicalRequest: string
  stringToSign: string
  scope: string
}

/** Everything that was signed: payload mode, canonical request, string to sign. Throws on a bad payload header. */
function signingInputs(req: HttpRequestView, query: QueryParam[], p: ParsedAuth, service: string, bufferedBody: Buffer | undefined): SigningInputs {
  const isV4A = p.algorithm === 'AWS4-ECDSA-P256-SHA256'
  let payload: PayloadMode
  let payloadHash: string
  if (p.authType === 'REST-QUERY-STRING') {
    if (service === 's3') {
      // S3 presigned URLs sign UNSIGNED-PAYLOAD unless the URL itself says otherwise.
      // The JS presigner hoists the header into the query; its name's casing varies by client.
      let q: string | undefined
      for (const x of query)
        if (x.key.length === 20 && x.key.toLowerCase() === 'x-amz-content-sha256') {
          q = x.value
          break
        }
      payload = q !== undefined ? payloadModeOf(q)! : { kind: 'unsigned' }
      payloadHash = q ?? 'UNSIGNED-PAYLOAD'
    } else {
      payloadHash = bufferedBody ? sha256Hex(bufferedBody) : EMPTY_SHA256
      payload = { kind: 'sha256', hex: payloadHash }
    }
    if (payload.kind === 'streaming') throw malformed(p, 'streaming payloads cannot be presigned.')
  } else {
    const raw = headerValue(req.headers, 'x-amz-content-sha256')
    const mode = headerPayload(req, service, bufferedBody)
    if (mode === undefined) {
      throw s3Error('InvalidRequest', { message: 'Missing required header for this request: x-amz-content-sha256' })
    }
    payload = mode
    payloadHash = raw ?? (mode.kind === 'sha256' ? mode.hex : EMPTY_SHA256)
    if (mode.kind === 'streaming' && mode.signed && (mode.algorithm === 'ecdsa') !== isV4A) {
      throw s3Error('InvalidArgument', {
        message: `x-amz-content-sha256 ${raw} does not match the request's signing algorithm ${p.algorithm}.`,
        fields: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: raw },
      })
    }
  }
  const canonicalQueryString = canonicalQuery(query, p.authType === 'REST-QUERY-STRING' ? 'X-Amz-Signature' : undefined)
  const creq = canonicalRequest(req.method, req.rawPath, canonicalQueryString, req.headers, p.signedHeaders, payloadHash)
  const scope = isV4A ? `${p.scopeDate}/${p.scopeService}/aws4_request` : `${p.scopeDate}/${p.scopeRegion}/${p.scopeService}/aws4_request`
  return { payload, canonicalRequest: creq, stringToSign: `${p.algorithm}\n${p.amzDate}\n${scope}\n${sha256Hex(creq)}`, scope }
}

/**
 * Temporary credentials: the token must be sent and equal the credential's. A missing token makes the
 * temporary key id unknown to AWS (InvalidAccessKeyId); a wrong one is InvalidToken; an expired
 * credential is ExpiredToken. A token sent with a long-term key is InvalidToken.
 */
function checkSessionToken(cred: SigningCredential, p: ParsedAuth, req: HttpRequestView, now: Date): void {
  const sent = p.securityToken ?? headerValue(req.headers, 'x-amz-security-token')
  if (cred.sessionToken === undefined) {
    if (sent !== undefined) throw s3Error('InvalidToken', { fields: { Token: undefined } })
    return
  }
  if (sent === undefined) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: p.accessKeyId } })
  const a = Buffer.from(sent),
    b = Buffer.from(cred.sessionToken)
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) throw s3Error('InvalidToken')
  if (cred.expiresAt !== undefined && cred.expiresAt.getTime() <= now.getTime()) throw s3Error('ExpiredToken')
}

/** For tests and diagnostics: the canonical request and string to sign the verifier builds (no verification). */
export function describeSignature(req: HttpRequestView, opts: Pick<AuthOptions, 'service' | 'bufferedBody'> = {}): { canonicalRequest: string; stringToSign: string } {
  const query = parseQuery(req.rawQuery)
  const authz = headerValue(req.headers, 'authorization')
  const p = authz !== undefined ? parseAuthorizationHeader(authz, req.headers) : parsePresignedQuery(query)
  const r = signingInputs(req, query, p, opts.service ?? 's3', opts.bufferedBody)
  return { canonicalRequest: r.canonicalRequest, stringToSign: r.stringToSign }
}

/**
 * Oracle tests: the AWS SDK's own signers (@smithy/signature-v4 configured for S3 with
 * uriEscapePath: false, and @aws-sdk/signature-v4a) sign generated requests; authenticate() must
 * accept them, and reject tampered ones with the code S3 uses.
 */

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { test } from 'node:test'
import { SignatureV4a } from '@aws-sdk/signature-v4a'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import fc from 'fast-check'
import { isS3Error } from '../shared/errors.js'
import { type AuthOptions, authenticate, type HttpRequestView, regionSetCovers, type SigningCredential, SigV4AKeyCache, SigV4KeyCache, uriEncode } from './index.js'

type SourceData = string | ArrayBuffer | ArrayBufferView
const bytes = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d))

/** The SDK's Hash interface over node:crypto (what @smithy/hash-node does). */
class NodeSha256 {
  private h: crypto.Hash | crypto.Hmac
  private readonly secret: string | Uint8Array | undefined
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret)
    this.h = this.fresh()
  }
  private fresh(): crypto.Hash | crypto.Hmac {
    return this.secret !== undefined ? crypto.createHmac('sha256', this.secret) : crypto.createHash('sha256')
  }
  update(d: SourceData): void {
    this.h.update(bytes(d))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
  reset(): void {
    this.h = this.fresh()
  }
}

const CRED: SigningCredential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const TEMP: SigningCredential = {
  accessKeyId: 'ASIAEXAMPLETEMP00001',
  secretAccessKey: 'tempSecret/abc+def',
  sessionToken: 'FwoGZXIvYXdzE//token+with/slashes==',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
}
const NOW = new Date('2026-11-28T09:25:23Z')

function authOpts(now = NOW, extra: Partial<AuthOptions> = {}): AuthOptions {
  const creds = new Map([CRED, TEMP].map((c) => [c.accessKeyId, c]))
  return { now, lookup: (id) => creds.get(id), keyCache: new SigV4AKeyCache(8), signingKeyCache: new SigV4KeyCache(8), ...extra }
}

const v4 = (cred: SigningCredential, region = 'us-west-2'): SignatureV4 =>
  new SignatureV4({
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, ...(cred.sessionToken ? { sessionToken: cred.sessionToken } : {}) },
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  })

/** Keys as an S3 client encodes them on the wire: each segment RFC 3986-encoded once, '/' kept. */
const encodeKey = (key: string): string => '/' + key.split('/').map(uriEncode).join('/')

function toView(r: HttpRequest): HttpRequestView {
  const q = Object.entries(r.query ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => (x === null ? uriEncode(k) : `${uriEncode(k)}=${uriEncode(x)}`)))
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v
  return { method: r.method, rawPath: r.path, rawQuery: q.join('&'), headers }
}

const keyChars = fc.constantFrom(..."abcXYZ019 -_.~!*'()+%&=?#@:;,$/é中😀".split(/(?:)/u))
const keyArb = fc
  .array(keyChars, { minLength: 1, maxLength: 24 })
  .map((a) => a.join(''))
  .filter((k) => !k.startsWith('/'))
const queryArb = fc.dictionary(
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9\-_.]{0,8}$/),
  fc.array(keyChars, { maxLength: 8 }).map((a) => a.join('')),
  { maxKeys: 4 },
)

function makeRequest(method: string, key: string, query: Record<string, string>, body: string | undefined): HttpRequest {
  const headers: Record<string, string> = { host: 'mybucket.s3.probe.test:8080', 'x-amz-meta-note': '  spaced   value ', 'content-type': 'text/plain' }
  if (body !== undefined) {
    headers['x-amz-content-sha256'] = crypto.createHash('sha256').update(body).digest('hex')
    headers['content-length'] = String(Buffer.byteLength(body))
  } else headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
  return new HttpRequest({
    method,
    protocol: 'http:',
    hostname: 'mybucket.s3.probe.test',
    port: 8080,
    path: encodeKey(key),
    query,
    headers,
    ...(body !== undefined ? { body } : {}),
  })
}

const expectCode = (fn: () => unknown, code: string, message?: string): void =>
  assert.throws(fn, (e) => isS3Error(e) && e.code === code && (message === undefined || e.message === message), `expected ${code}`)

test('SigV4 header: SDK-signed requests verify; tampering fails', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'PUT'), keyArb, queryArb, fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), async (method, key, query, body) => {
      const signed = (await v4(CRED).sign(makeRequest(method, key, query, method === 'PUT' ? body : undefined), { signingDate: NOW })) as HttpRequest
      const view = toView(signed)
      const r = authenticate(view, authOpts())
      assert.equal(r.kind, 'signed')
      if (r.kind !== 'signed') return
      assert.equal(r.region, 'us-west-2')
      assert.equal(r.authType, 'REST-HEADER')
      expectCode(() => authenticate({ ...view, rawPath: view.rawPath + 'x' }, authOpts()), 'SignatureDoesNotMatch')
      expectCode(() => authenticate({ ...view, rawQuery: view.rawQuery + (view.rawQuery ? '&' : '') + 'extra=1' }, authOpts()), 'SignatureDoesNotMatch')
      expectCode(() => authenticate({ ...view, headers: { ...view.headers, 'x-amz-meta-note': 'other' } }, authOpts()), 'SignatureDoesNotMatch')
    }),
    { numRuns: 150 },
  )
})

test('SignatureDoesNotMatch carries StringToSign, CanonicalRequest, SignatureProvided, AWSAccessKeyId and no secret', async () => {
  const signed = (await v4(CRED).sign(makeRequest('GET', 'a b', {}, undefined), { signingDate: NOW })) as HttpRequest
  const view = toView(signed)
  try {
    authenticate({ ...view, method: 'DELETE' }, authOpts())
    assert.fail('should throw')
  } catch (e) {
    assert.ok(isS3Error(e))
    assert.equal(e.code, 'SignatureDoesNotMatch')
    assert.equal(e.status, 403)
    assert.equal(e.fields.AWSAccessKeyId, CRED.accessKeyId)
    assert.match(String(e.fields.StringToSign), /^AWS4-HMAC-SHA256\n20261128T092523Z\n20261128\/us-west-2\/s3\/aws4_request\n[0-9a-f]{64}$/)
    assert.match(String(e.fields.CanonicalRequest), /^DELETE\n\/a%20b\n/)
    assert.ok(String(e.fields.SignatureProvided).length === 64)
    assert.equal(JSON.stringify(e.fields).includes(CRED.secretAccessKey), false)
  }
})

test('SigV4 presigned: SDK presigned URLs verify; expiry and X-Amz-Expires bounds', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'PUT'), keyArb, queryArb, async (method, key, query) => {
      // As @aws-sdk/s3-request-presigner does: UNSIGNED-PAYLOAD, hoisted into the query by presign().
      const req = makeRequest(method, key, query, undefined)
      const p = (await v4(CRED).presign(req, { signingDate: NOW, expiresIn: 900 })) as HttpRequest
      const view = toView(p)
      const r = authenticate(view, authOpts(new Date(NOW.getTime() + 899_000)))
      assert.ok(r.kind === 'signed' && r.authType === 'REST-QUERY-STRING' && r.payload.kind === 'unsigned')
      expectCode(() => authenticate(view, authOpts(new Date(NOW.getTime() + 901_000))), 'AccessDenied', 'Request has expired')
      expectCode(() => authenticate({ ...view, rawPath: view.rawPath + '2' }, authOpts()), 'SignatureDoesNotMatch')
    }),
    { numRuns: 60 },
  )
  const req = makeRequest('GET', 'k', {}, undefined)
  const week = toView((await v4(CRED).presign(req, { signingDate: NOW, expiresIn: 604800 })) as HttpRequest)
  assert.equal(authenticate(week, authOpts(new Date(NOW.getTime() + 604799_000))).kind, 'signed')
  // The SDK refuses to presign for longer than a week, so edit the parameter (checked before the signature).
  expectCode(() => authenticate({ ...week, rawQuery: week.rawQuery.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801') }, authOpts()), 'AuthorizationQueryParametersError')
  const p = toView((await v4(CRED).presign(req, { signingDate: NOW, expiresIn: 60 })) as HttpRequest)
  // AWS takes X-Amz-Expires=0 as a URL already expired, not as a malformed parameter.
  expectCode(() => authenticate({ ...p, rawQuery: p.rawQuery.replace('X-Amz-Expires=60', 'X-Amz-Expires=0') }, authOpts()), 'AccessDenied', 'Request has expired')
  expectCode(
    () => authenticate({ ...p, rawQuery: p.rawQuery.replace('X-Amz-Expires=60', 'X-Amz-Expires=-1') }, authOpts()),
    'AuthorizationQueryParametersError',
    'X-Amz-Expires must be non-negative',
  )
  expectCode(() => authenticate({ ...p, rawQuery: p.rawQuery.replace(/&?X-Amz-Date=[^&]*/, '') }, authOpts()), 'AuthorizationQueryParametersError')
  expectCode(() => authenticate({ ...p, headers: { ...p.headers, authorization: 'AWS4-HMAC-SHA256 x' } }, authOpts()), 'InvalidArgument')
})

test('clock skew, unknown key, malformed header', async () => {
  const view = toView((await v4(CRED).sign(makeRequest('GET', 'k', {}, undefined), { signingDate: NOW })) as HttpRequest)
  assert.equal(authenticate(view, authOpts(new Date(NOW.getTime() + 14 * 60_000))).kind, 'signed')
  expectCode(() => authenticate(view, authOpts(new Date(NOW.getTime() + 16 * 60_000))), 'RequestTimeTooSkewed')
  expectCode(() => authenticate(view, authOpts(new Date(NOW.getTime() - 16 * 60_000))), 'RequestTimeTooSkewed')
  expectCode(() => authenticate(view, authOpts(NOW, { lookup: () => undefined })), 'InvalidAccessKeyId')
  expectCode(() => authenticate(view, authOpts(NOW, { lookup: () => ({ ...CRED, secretAccessKey: 'wrong' }) })), 'SignatureDoesNotMatch')
  const authz = String(view.headers.authorization)
  expectCode(() => authenticate({ ...view, headers: { ...view.headers, authorization: authz.replace(/, Signature=.*/, '') } }, authOpts()), 'AuthorizationHeaderMalformed')
  expectCode(
    () => authenticate({ ...view, headers: { ...view.headers, authorization: authz.replace('/s3/aws4_request', '/aws4_request') } }, authOpts()),
    'AuthorizationHeaderMalformed',
  )
  expectCode(() => authenticate({ ...view, headers: { ...view.headers, authorization: authz.replace('/20261128/', '/20261127/') } }, authOpts()), 'AuthorizationHeaderMalformed')
  expectCode(() => authenticate({ ...view, headers: { ...view.headers, authorization: 'AWS AKIAIOSFODNN7EXAMPLE:abc' } }, authOpts()), 'InvalidRequest')
  expectCode(() => authenticate(view, authOpts(NOW, { service: 'sts' })), 'AuthorizationHeaderMalformed')
  const noSha = { ...view, headers: { ...view.headers } }
  delete noSha.headers['x-amz-content-sha256']
  expectCode(() => authenticate(noSha, authOpts()), 'InvalidRequest')
  expectCode(() => authenticate({ ...view, headers: { ...view.headers, 'x-amz-content-sha256': 'nope' } }, authOpts()), 'InvalidArgument')
  assert.deepEqual(authenticate({ method: 'GET', rawPath: '/k', rawQuery: '', headers: { host: 'h' } }, authOpts()), { kind: 'anonymous', payload: { kind: 'unsigned' } })
})

test('session tokens: required, must match, expiry → ExpiredToken', async () => {
  const req = makeRequest('GET', 'k', {}, undefined)
  const view = toView((await v4(TEMP).sign(req, { signingDate: NOW })) as HttpRequest)
  assert.ok(String(view.headers.authorization).includes('x-amz-security-token'))
  const r = authenticate(view, authOpts())
  assert.ok(r.kind === 'signed' && r.credential.sessionToken === TEMP.sessionToken)
  expectCode(() => authenticate({ ...view, headers: { ...view.headers, 'x-amz-security-token': 'other' } }, authOpts()), 'InvalidToken')
  const noTok = { ...view, headers: { ...view.headers } }
  delete noTok.headers['x-amz-security-token']
  expectCode(() => authenticate(noTok, authOpts()), 'InvalidAccessKeyId')
  expectCode(() => authenticate(view, authOpts(NOW, { lookup: () => ({ ...TEMP, expiresAt: new Date(NOW.getTime() - 1) }) })), 'ExpiredToken')
  expectCode(() => authenticate(view, authOpts(NOW, { lookup: () => ({ ...TEMP, sessionToken: undefined }) as SigningCredential })), 'InvalidToken')
  const pre = toView((await v4(TEMP).presign(makeRequest('GET', 'k', {}, undefined), { signingDate: NOW, expiresIn: 60 })) as HttpRequest)
  assert.ok(pre.rawQuery.includes('X-Amz-Security-Token='))
  assert.equal(authenticate(pre, authOpts()).kind, 'signed')
})

test('SigV4A header: SDK-signed requests verify with the derived key; region set reported; tampering fails', async () => {
  const signer = new SignatureV4a({ credentials: CRED, region: '*', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: true })
  const cache = new SigV4AKeyCache(4)
  let n = 0
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'PUT'), keyArb, queryArb, async (method, key, query) => {
      const req = makeRequest(method, key, query, method === 'PUT' ? 'hello world\n' : undefined)
      const signed = (await signer.sign(req, { signingDate: NOW, signingRegion: n++ % 2 ? '*' : 'us-east-1,eu-*' })) as HttpRequest
      const view = toView(signed)
      assert.match(String(view.headers.authorization), /^AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20261128\/s3\/aws4_request/)
      const r = authenticate(view, authOpts(NOW, { keyCache: cache }))
      assert.ok(r.kind === 'signed' && r.algorithm === 'AWS4-ECDSA-P256-SHA256' && r.regionSet)
      assert.ok(regionSetCovers(r.regionSet, 'us-east-1'))
      assert.equal(regionSetCovers(r.regionSet, 'eu-west-1'), true)
      assert.equal(regionSetCovers(r.regionSet, 'ap-south-1'), r.regionSet.includes('*'))
      expectCode(() => authenticate({ ...view, rawPath: view.rawPath + 'x' }, authOpts(NOW, { keyCache: cache })), 'SignatureDoesNotMatch')
      expectCode(() => authenticate({ ...view, headers: { ...view.headers, 'x-amz-region-set': '*' + ',x' } }, authOpts(NOW, { keyCache: cache })), 'SignatureDoesNotMatch')
    }),
    { numRuns: 20 },
  )
  assert.equal(cache.size, 1)
})

test('regionSetCovers wildcards', () => {
  assert.ok(regionSetCovers(['*'], 'us-east-1'))
  assert.ok(regionSetCovers(['us-*'], 'us-west-2'))
  assert.ok(regionSetCovers(['*-east-1'], 'us-east-1'))
  assert.ok(regionSetCovers(['eu-west-1', 'us-east-1'], 'us-east-1'))
  assert.equal(regionSetCovers(['us-*'], 'eu-west-1'), false)
  assert.equal(regionSetCovers(['us-east-1'], 'us-east-10'), false)
  assert.equal(regionSetCovers([], 'us-east-1'), false)
})

test('caches are bounded', async () => {
  const c4 = new SigV4KeyCache(2)
  for (const d of ['20260101', '20260102', '20260103']) c4.signingKey('a', 's', d, 'r', 's3')
  assert.equal(c4.size, 2)
  const c4a = new SigV4AKeyCache(1)
  c4a.publicKey('A', 's1')
  c4a.publicKey('B', 's2')
  assert.equal(c4a.size, 1)
})

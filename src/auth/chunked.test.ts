/**
 * aws-chunked decoding and the other payload modes of decodeBody().
 * The signed example is AWS's published one (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
 * 66560 bytes of 'a' in chunks of 65536, 1024 and 0, with the documented seed and chunk signatures.
 */

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { checksumOf } from '../shared/checksums.js'
import { isS3Error, type S3Error } from '../shared/errors.js'
import type { HmacChunkSigner } from './chunk-signer.js'
import { type AuthResult, authenticate, decodeBody, type HttpRequestView, type SigningCredential, SigV4AKeyCache, SigV4KeyCache } from './index.js'

const DOC_CRED: SigningCredential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
const SIG1 = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'
const SIG2 = '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'
const SIG_FINAL = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'

function opts(now: Date) {
  return { now, lookup: (id: string) => (id === DOC_CRED.accessKeyId ? DOC_CRED : undefined), keyCache: new SigV4AKeyCache(), signingKeyCache: new SigV4KeyCache() }
}

function docRequest(contentLength: number): HttpRequestView {
  return {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    rawQuery: '',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'content-encoding': 'aws-chunked',
      'content-length': String(contentLength),
      'x-amz-decoded-content-length': '66560',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${SEED}`,
    },
  }
}

function docBody(corrupt = false): Buffer {
  const parts: Buffer[] = []
  for (const [size, sig] of [
    [65536, SIG1],
    [1024, SIG2],
    [0, SIG_FINAL],
  ] as const) {
    const data = Buffer.alloc(size, 'a')
    if (corrupt && size === 1024) data[10] = 0x62
    parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`), data, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Feed `body` in pieces of `piece` bytes; resolve with the decoded bytes and whether 'end' fired before an error. */
async function run(req: HttpRequestView, auth: AuthResult, body: Buffer, piece = 4099): Promise<{ data: Buffer; error?: S3Error }> {
  const pieces: Buffer[] = []
  for (let i = 0; i < body.length; i += piece) pieces.push(body.subarray(i, i + piece))
  const out = decodeBody(req, auth, Readable.from(pieces, { objectMode: false }))
  const got: Buffer[] = []
  return new Promise((resolve) => {
    let ended = false
    out.on('data', (c: Buffer) => got.push(c))
    out.on('end', () => {
      ended = true
      resolve({ data: Buffer.concat(got) })
    })
    out.on('error', (e) => {
      assert.equal(ended, false, 'error after end')
      resolve({ data: Buffer.concat(got), error: e as S3Error })
    })
  })
}

test('AWS doc example: seed signature verifies and the signed chunks decode', async () => {
  const body = docBody()
  assert.equal(body.length, 66824) // the Content-Length the doc gives
  const req = docRequest(body.length)
  const auth = authenticate(req, opts(new Date('2013-05-24T00:05:00Z')))
  assert.equal(auth.kind, 'signed')
  if (auth.kind !== 'signed') return
  assert.deepEqual(auth.payload, { kind: 'streaming', signed: true, trailer: false, algorithm: 'hmac' })
  assert.ok(auth.chunkSigner)
  assert.equal(JSON.stringify(auth).includes('signingKey'), false)
  for (const piece of [1, 7, 4096, 70000]) {
    if (piece === 1) {
      // byte-at-a-time is slow but proves the state machine; only a prefix-sized check
      const r = await run(req, auth, body.subarray(0, 300), 1)
      assert.equal(r.error?.code, 'IncompleteBody')
      continue
    }
    const r = await run(req, auth, body, piece)
    assert.equal(r.error, undefined)
    assert.deepEqual(r.data, Buffer.alloc(66560, 'a'))
  }
})

test('AWS doc example: a corrupted chunk fails with SignatureDoesNotMatch before the end', async () => {
  const req = docRequest(66824)
  const auth = authenticate(req, opts(new Date('2013-05-24T00:00:00Z')))
  const r = await run(req, auth, docBody(true))
  assert.equal(r.error?.code, 'SignatureDoesNotMatch')
  // A swapped final signature is caught too.
  const bad = Buffer.from(docBody().toString('latin1').replace(SIG_FINAL, SIG2), 'latin1')
  assert.equal((await run(req, auth, bad)).error?.code, 'SignatureDoesNotMatch')
})

test('signed chunks smaller than 8 KiB (not last) → InvalidChunkSizeError', async () => {
  const req = docRequest(66824) // same signed headers as the doc example; the body is ours
  const auth = authenticate(req, opts(new Date('2013-05-24T00:00:00Z')))
  assert.ok(auth.kind === 'signed' && auth.chunkSigner)
  const signer = auth.chunkSigner as HmacChunkSigner
  const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex')
  const d = Buffer.alloc(100, 'x')
  const s1 = signer.chunkSignature(SEED, sha(d))
  const s2 = signer.chunkSignature(s1, sha(d))
  const body = Buffer.concat([Buffer.from(`64;chunk-signature=${s1}\r\n`), d, Buffer.from(`\r\n64;chunk-signature=${s2}\r\n`), d, Buffer.from('\r\n')])
  assert.equal((await run(req, auth, body)).error?.code, 'InvalidChunkSizeError')
})

// ---- STREAMING-UNSIGNED-PAYLOAD-TRAILER, as the JS SDK and botocore send it (docs/aws/clients.md §Payloads and checksums) ----
function unsignedReq(decoded: number, trailer = 'x-amz-checksum-crc32'): HttpRequestView {
  return {
    method: 'PUT',
    rawPath: '/k',
    rawQuery: '',
    headers: {
      host: 'h',
      'content-encoding': 'aws-chunked',
      'transfer-encoding': 'chunked',
      'x-amz-decoded-content-length': String(decoded),
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': trailer,
    },
  }
}
const anon = (req: HttpRequestView): AuthResult => authenticate(req, opts(new Date()))

test('unsigned trailer: the botocore capture decodes and its CRC32 checks', async () => {
  const body = Buffer.from('c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n\r\n')
  for (const piece of [1, 2, 3, 5, 1000]) {
    const r = await run(unsignedReq(12), anon(unsignedReq(12)), body, piece)
    assert.equal(r.error, undefined, `piece ${piece}`)
    assert.equal(r.data.toString(), 'hello world\n')
  }
})

test('unsigned trailer: JS SDK shape with big chunks, every checksum algorithm', async () => {
  const a = crypto.randomBytes(102400),
    b = crypto.randomBytes(102400)
  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    const name = `x-amz-checksum-${alg.toLowerCase()}`
    const body = Buffer.concat([Buffer.from('19000\r\n'), a, Buffer.from('\r\n19000\r\n'), b, Buffer.from(`\r\n0\r\n${name}:${checksumOf(alg, Buffer.concat([a, b]))}\r\n\r\n`)])
    const r = await run(unsignedReq(204800, name), anon(unsignedReq(204800, name)), body, 65536)
    assert.equal(r.error, undefined, alg)
    assert.deepEqual(r.data, Buffer.concat([a, b]))
  }
})

test('unsigned trailer: failures are stream errors before end', async () => {
  const ok = 'c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n\r\n'
  const cases: [string, string, number?][] = [
    ['c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', 'BadDigest'],
    [ok, 'IncompleteBody', 13], // decoded length says 13
    [ok, 'IncompleteBody', 11], // decoded length says 11
    [ok.slice(0, 20), 'IncompleteBody'], // truncated inside the trailer
    [ok.slice(0, 8), 'IncompleteBody'], // truncated inside data
    ['zz\r\nhello world\n\r\n0\r\n\r\n', 'IncompleteBody'], // bad hex size
    ['b\r\nhello world\n\r\n0\r\n\r\n', 'IncompleteBody'], // size one short: no CRLF after data
    ['c\nhello world\n\r\n0\r\n\r\n', 'IncompleteBody'], // bare LF
    ['c\r\nhello world\n\r\n0\r\n\r\n', 'MalformedTrailerError'], // declared trailer missing
    ['c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:nope\r\n\r\n', 'MalformedTrailerError'],
    [ok + 'extra', 'IncompleteBody'],
  ]
  for (const [body, code, decoded] of cases) {
    const req = unsignedReq(decoded ?? 12)
    const r = await run(req, anon(req), Buffer.from(body), 3)
    assert.equal(r.error?.code, code, JSON.stringify(body))
  }
})

test('x-amz-decoded-content-length is required for aws-chunked', () => {
  const req = unsignedReq(1)
  delete req.headers['x-amz-decoded-content-length']
  assert.throws(
    () => decodeBody(req, anon(req), Readable.from([])),
    (e) => isS3Error(e) && e.code === 'MissingContentLength',
  )
})

// ---- signed trailer (HMAC), built with our own signer: self-consistency of the TRAILER string to sign ----
test('signed chunks with a signed trailer', async () => {
  const cred: SigningCredential = DOC_CRED
  const req: HttpRequestView = {
    method: 'PUT',
    rawPath: '/k',
    rawQuery: '',
    headers: {
      host: 'h',
      'x-amz-date': '20130524T000000Z',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '10000',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-crc32c',
    },
  }
  // Sign the seed ourselves: the string to sign from describeSignature, HMAC with the derived key.
  const { describeSignature, deriveSigV4SigningKey } = await import('./index.js')
  const signed = {
    ...req,
    headers: {
      ...req.headers,
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-trailer, Signature=' +
        '0'.repeat(64),
    },
  }
  const sts = describeSignature(signed).stringToSign
  const key = deriveSigV4SigningKey(cred.secretAccessKey, '20130524', 'us-east-1', 's3')
  const seed = crypto.createHmac('sha256', key).update(sts).digest('hex')
  signed.headers.authorization = signed.headers.authorization.replace('0'.repeat(64), seed)
  const auth = authenticate(signed, opts(new Date('2013-05-24T00:00:00Z')))
  assert.ok(auth.kind === 'signed' && auth.chunkSigner)
  const signer = auth.chunkSigner as HmacChunkSigner
  const data = crypto.randomBytes(10000)
  const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex')
  const s1 = signer.chunkSignature(seed, sha(data))
  const s0 = signer.chunkSignature(s1, sha(Buffer.alloc(0)))
  const trailerLine = `x-amz-checksum-crc32c:${checksumOf('CRC32C', data)}`
  const ts = signer.trailerSignature(s0, trailerLine + '\n')
  const build = (tsig: string): Buffer =>
    Buffer.concat([Buffer.from(`2710;chunk-signature=${s1}\r\n`), data, Buffer.from(`\r\n0;chunk-signature=${s0}\r\n${trailerLine}\r\nx-amz-trailer-signature:${tsig}\r\n\r\n`)])
  const good = await run(signed, auth, build(ts), 999)
  assert.equal(good.error, undefined)
  assert.deepEqual(good.data, data)
  assert.equal((await run(signed, auth, build(s1), 999)).error?.code, 'SignatureDoesNotMatch')
})

// ---- non-streaming modes ----
test('hex sha256 payload: match passes, mismatch is XAmzContentSHA256Mismatch before end; Content-Length short is IncompleteBody', async () => {
  const body = Buffer.from('hello world')
  const mk = (hash: string, len: number): HttpRequestView => ({
    method: 'PUT',
    rawPath: '/k',
    rawQuery: '',
    headers: { host: 'h', 'content-length': String(len), 'x-amz-content-sha256': hash },
  })
  const good = mk(crypto.createHash('sha256').update(body).digest('hex'), 11)
  assert.deepEqual((await run(good, anon(good), body)).data, body)
  const bad = mk('0'.repeat(64), 11)
  assert.equal((await run(bad, anon(bad), body)).error?.code, 'XAmzContentSHA256Mismatch')
  const short = mk('UNSIGNED-PAYLOAD', 20)
  assert.equal((await run(short, anon(short), body)).error?.code, 'IncompleteBody')
})

test('an aborted source surfaces as IncompleteBody', async () => {
  const req: HttpRequestView = { method: 'PUT', rawPath: '/k', rawQuery: '', headers: { host: 'h', 'content-length': '100', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }
  const src = new Readable({ read() {} })
  const out = decodeBody(req, anon(req), src)
  const p = new Promise<unknown>((resolve) => out.on('error', resolve))
  out.resume()
  src.push(Buffer.alloc(10))
  src.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
  const e = (await p) as S3Error
  assert.equal(e.code, 'IncompleteBody')
})

// ---- SigV4A signed streaming (never seen from real clients; signed here with the derived private key) ----
test('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER: padded DER chunk signatures verify; a bad one fails', async () => {
  const { describeSignature, deriveSigV4APublicPoint } = await import('./index.js')
  const { deriveSigV4APrivateScalar } = await import('./keys.js')
  const pub = deriveSigV4APublicPoint(DOC_CRED.accessKeyId, DOC_CRED.secretAccessKey)
  const priv = crypto.createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: deriveSigV4APrivateScalar(DOC_CRED.accessKeyId, DOC_CRED.secretAccessKey).toString('base64url'),
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
    },
  })
  const sign = (s: string): string => crypto.sign('sha256', Buffer.from(s), { key: priv, dsaEncoding: 'der' }).toString('hex')
  const pad = (sig: string): string => sig.padEnd(144, '*')
  const sha = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex')
  const data = crypto.randomBytes(9000)
  const req: HttpRequestView = {
    method: 'PUT',
    rawPath: '/k',
    rawQuery: '',
    headers: {
      host: 'h',
      'x-amz-date': '20130524T000000Z',
      'x-amz-region-set': '*',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '9000',
      'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-sha256',
      authorization:
        'AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-region-set;x-amz-trailer, Signature=SEED',
    },
  }
  const seed = sign(describeSignature(req).stringToSign)
  req.headers.authorization = String(req.headers.authorization).replace('SEED', seed)
  const auth = authenticate(req, opts(new Date('2013-05-24T00:00:00Z')))
  assert.ok(auth.kind === 'signed' && auth.chunkSigner?.algorithm === 'ecdsa')
  const scope = '20130524/s3/aws4_request'
  const chunkSts = (prev: string, h: string): string => `AWS4-ECDSA-P256-SHA256-PAYLOAD\n20130524T000000Z\n${scope}\n${prev}\n${sha('')}\n${h}`
  const s1 = sign(chunkSts(seed, sha(data)))
  const s0 = sign(chunkSts(s1, sha('')))
  const trailer = `x-amz-checksum-sha256:${checksumOf('SHA256', data)}`
  const ts = sign(`AWS4-ECDSA-P256-SHA256-TRAILER\n20130524T000000Z\n${scope}\n${s0}\n${sha(trailer + '\n')}`)
  const build = (c1: string): Buffer =>
    Buffer.concat([
      Buffer.from(`2328;chunk-signature=${pad(c1)}\r\n`),
      data,
      Buffer.from(`\r\n0;chunk-signature=${pad(s0)}\r\n${trailer}\r\nx-amz-trailer-signature:${pad(ts)}\r\n\r\n`),
    ])
  const good = await run(req, auth, build(s1), 4096)
  assert.equal(good.error, undefined)
  assert.deepEqual(good.data, data)
  assert.equal((await run(req, auth, build(s0), 4096)).error?.code, 'SignatureDoesNotMatch')
})

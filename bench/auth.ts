/**
 * Auth micro-benchmarks (standalone: `node --import tsx bench/auth.ts`, ~10 s). One JSON line per case.
 * Compare with docs/benchmarks.md §Method (SigV4 verify with cached key ≈ 15 µs,
 * SigV4A verify ≈ 139 µs, raw P-256 verify ≈ 102 µs).
 */
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { SignatureV4a } from '@aws-sdk/signature-v4a'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { authenticate, decodeBody, type HttpRequestView, type SigningCredential, SigV4AKeyCache, SigV4KeyCache } from '../src/auth/index.js'
import { NodeSha256 } from './presign.js'

const CRED: SigningCredential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const NOW = new Date('2026-11-28T09:25:23Z')
const opts = { now: NOW, lookup: () => CRED, keyCache: new SigV4AKeyCache(16), signingKeyCache: new SigV4KeyCache(16) }

function view(r: HttpRequest): HttpRequestView {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v
  const q = Object.entries(r.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&')
  return { method: r.method, rawPath: r.path, rawQuery: q, headers }
}
function request(): HttpRequest {
  return new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: 'mybucket.s3.example.test',
    path: '/dir/hello%20world.txt',
    query: { 'x-id': 'GetObject' },
    headers: {
      host: 'mybucket.s3.example.test',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-checksum-mode': 'ENABLED',
      'amz-sdk-invocation-id': '176dfdc3-e605-4408-a054-a82bddebc8b6',
      'amz-sdk-request': 'attempt=1; max=3',
    },
  })
}

/** Run `fn` for ~`ms` milliseconds after a warm-up; report µs/op. */
function bench(name: string, ms: number, fn: () => void): void {
  for (let i = 0; i < 200; i++) fn()
  let n = 0
  const t0 = process.hrtime.bigint()
  const end = Number(t0) / 1e6 + ms
  while (true) {
    for (let i = 0; i < 100; i++) fn()
    n += 100
    if (Number(process.hrtime.bigint()) / 1e6 >= end) break
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n
  console.log(JSON.stringify({ bench: name, us_per_op: Number(us.toFixed(2)), ops_per_s: Math.round(1e6 / us), n }))
}

async function benchStream(name: string, mib: number, body: () => Buffer[], req: HttpRequestView): Promise<void> {
  const auth = authenticate(req, opts)
  const t0 = process.hrtime.bigint()
  const out = decodeBody(req, auth, Readable.from(body()))
  let bytesOut = 0
  for await (const c of out) bytesOut += (c as Buffer).length
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  console.log(JSON.stringify({ bench: name, mib_per_s: Math.round(mib / s), bytes: bytesOut }))
}

const v4 = view(
  (await new SignatureV4({ credentials: CRED, region: 'us-west-2', service: 's3', sha256: NodeSha256, uriEscapePath: false }).sign(request(), { signingDate: NOW })) as HttpRequest,
)
const v4a = view(
  (await new SignatureV4a({ credentials: CRED, region: '*', service: 's3', sha256: NodeSha256, uriEscapePath: false }).sign(request(), { signingDate: NOW })) as HttpRequest,
)
if (authenticate(v4, opts).kind !== 'signed' || authenticate(v4a, opts).kind !== 'signed') throw new Error('bench requests do not verify')

bench('sigv4-header-verify', 2500, () => {
  authenticate(v4, opts)
})
bench('sigv4a-header-verify', 2500, () => {
  authenticate(v4a, opts)
})
const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
const msg = Buffer.from('AWS4-ECDSA-P256-SHA256\n20261128T092523Z\n20261128/s3/aws4_request\n' + 'a'.repeat(64))
const sig = crypto.sign('sha256', msg, { key: privateKey, dsaEncoding: 'der' })
bench('node-crypto-p256-verify', 2000, () => {
  crypto.verify('sha256', msg, { key: publicKey, dsaEncoding: 'der' }, sig)
})

// aws-chunked decode throughput (unsigned trailer, 64 KiB chunks, CRC32 trailer), 256 MiB.
const MiB = 256
const chunk = crypto.randomBytes(65536)
const { checksumOf } = await import('../src/shared/checksums.js')
const whole = Buffer.concat(Array.from({ length: 16 }, () => chunk)) // 1 MiB
const crc32 = checksumOf('CRC32', Buffer.concat(Array.from({ length: MiB }, () => whole)))
const framed = Buffer.concat([Buffer.from('10000\r\n'), chunk, Buffer.from('\r\n')])
await benchStream(
  'aws-chunked-unsigned-trailer-crc32-decode',
  MiB,
  () => {
    const parts: Buffer[] = []
    for (let i = 0; i < MiB * 16; i++) parts.push(framed)
    parts.push(Buffer.from(`0\r\nx-amz-checksum-crc32:${crc32}\r\n\r\n`))
    return parts
  },
  {
    method: 'PUT',
    rawPath: '/k',
    rawQuery: '',
    headers: {
      host: 'h',
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-decoded-content-length': String(MiB << 20),
    },
  },
)

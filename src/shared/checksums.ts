/**
 * @module Streaming checksums as S3 shows them: MD5 (ETag, Content-MD5) and the flexible checksums
 * CRC32, CRC32C, CRC64NVME, SHA1, SHA256, all base64 in x-amz-checksum-*.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * CRC32 uses node's native zlib.crc32. CRC32C and CRC64NVME are slice-by-8 table CRCs over Buffers
 * (pure JS; cross-checked in the tests against @aws-crypto/crc32c and the AWS SDK's CRC64NVME, and the
 * CRC catalogue check values). Multipart helpers: composite checksums (`-N`), the multipart ETag and
 * the CRC combine that FULL_OBJECT multipart checksums need.
 */
import crypto from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import zlib from 'node:zlib'
import { s3Error } from './errors.js'

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256'
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 }

/** `x-amz-checksum-crc32` etc. */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`
}

export interface Hasher {
  update(data: Buffer): void
  /** Raw digest bytes (big-endian for CRCs, as S3 encodes them). */
  digest(): Buffer
}

// ---- CRC32C (Castagnoli, reflected poly 0x82F63B78), slice-by-8 ----
let crc32cTables: Uint32Array[] | undefined
function tables32(poly: number): Uint32Array[] {
  const t: Uint32Array[] = []
  const t0 = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1
    t0[i] = c >>> 0
  }
  t.push(t0)
  for (let s = 1; s < 8; s++) {
    const prev = t[s - 1]!,
      cur = new Uint32Array(256)
    for (let i = 0; i < 256; i++) cur[i] = (prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!
    t.push(cur)
  }
  return t
}

class Crc32cHasher implements Hasher {
  private c = 0xffffffff
  update(d: Buffer): void {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = (crc32cTables ??= tables32(0x82f63b78)) as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ]
    let c = this.c,
      i = 0
    const n = d.length,
      end8 = n - (n & 7)
    while (i < end8) {
      c ^= d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)
      c = t7[c & 0xff]! ^ t6[(c >>> 8) & 0xff]! ^ t5[(c >>> 16) & 0xff]! ^ t4[c >>> 24]! ^ t3[d[i + 4]!]! ^ t2[d[i + 5]!]! ^ t1[d[i + 6]!]! ^ t0[d[i + 7]!]!
      i += 8
    }
    while (i < n) c = t0[(c ^ d[i++]!) & 0xff]! ^ (c >>> 8)
    this.c = c
  }
  digest(): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE((this.c ^ 0xffffffff) >>> 0)
    return b
  }
}

class Crc32Hasher implements Hasher {
  private c = 0
  update(d: Buffer): void {
    this.c = zlib.crc32(d, this.c)
  }
  digest(): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(this.c >>> 0)
    return b
  }
}

// ---- CRC64/NVME (reflected poly 0x9A6C9329AC4BC9B5, init and xorout all ones), slice-by-8 on 32-bit halves ----
const CRC64NVME_POLY = 0x9a6c9329ac4bc9b5n
let crc64Tables: { lo: Uint32Array; hi: Uint32Array }[] | undefined
function tables64(): { lo: Uint32Array; hi: Uint32Array }[] {
  const full: bigint[][] = [[]]
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i)
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64NVME_POLY : c >> 1n
    full[0]!.push(c)
  }
  for (let s = 1; s < 8; s++) full.push(full[s - 1]!.map((v) => (v >> 8n) ^ full[0]![Number(v & 0xffn)]!))
  return full.map((tab) => ({ lo: Uint32Array.from(tab, (v) => Number(v & 0xffffffffn)), hi: Uint32Array.from(tab, (v) => Number(v >> 32n)) }))
}

class Crc64NvmeHasher implements Hasher {
  private lo = 0xffffffff
  private hi = 0xffffffff
  update(d: Buffer): void {
    const t = (crc64Tables ??= tables64())
    let lo = this.lo,
      hi = this.hi,
      i = 0
    const n = d.length,
      end8 = n - (n & 7)
    const a = t[7]!,
      b = t[6]!,
      c = t[5]!,
      e = t[4]!,
      f = t[3]!,
      g = t[2]!,
      h = t[1]!,
      k = t[0]!
    while (i < end8) {
      // XOR eight data bytes into the (little-endian) register, then one lookup per byte.
      lo ^= d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)
      hi ^= d[i + 4]! | (d[i + 5]! << 8) | (d[i + 6]! << 16) | (d[i + 7]! << 24)
      const i0 = lo & 0xff,
        i1 = (lo >>> 8) & 0xff,
        i2 = (lo >>> 16) & 0xff,
        i3 = lo >>> 24
      const i4 = hi & 0xff,
        i5 = (hi >>> 8) & 0xff,
        i6 = (hi >>> 16) & 0xff,
        i7 = hi >>> 24
      lo = a.lo[i0]! ^ b.lo[i1]! ^ c.lo[i2]! ^ e.lo[i3]! ^ f.lo[i4]! ^ g.lo[i5]! ^ h.lo[i6]! ^ k.lo[i7]!
      hi = a.hi[i0]! ^ b.hi[i1]! ^ c.hi[i2]! ^ e.hi[i3]! ^ f.hi[i4]! ^ g.hi[i5]! ^ h.hi[i6]! ^ k.hi[i7]!
      i += 8
    }
    while (i < n) {
      const idx = (lo ^ d[i++]!) & 0xff
      lo = ((lo >>> 8) | (hi << 24)) ^ k.lo[idx]!
      hi = (hi >>> 8) ^ k.hi[idx]!
    }
    this.lo = lo >>> 0
    this.hi = hi >>> 0
  }
  digest(): Buffer {
    const b = Buffer.alloc(8)
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0)
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4)
    return b
  }
}

class NodeHasher implements Hasher {
  private readonly h: crypto.Hash
  constructor(alg: 'md5' | 'sha1' | 'sha256') {
    this.h = crypto.createHash(alg)
  }
  update(d: Buffer): void {
    this.h.update(d)
  }
  digest(): Buffer {
    return this.h.digest()
  }
}

export function createHasher(alg: ChecksumAlgorithm | 'MD5'): Hasher {
  switch (alg) {
    case 'CRC32':
      return new Crc32Hasher()
    case 'CRC32C':
      return new Crc32cHasher()
    case 'CRC64NVME':
      return new Crc64NvmeHasher()
    case 'SHA1':
      return new NodeHasher('sha1')
    case 'SHA256':
      return new NodeHasher('sha256')
    case 'MD5':
      return new NodeHasher('md5')
  }
}

/** One-shot checksum, base64 as in x-amz-checksum-*. */
export function checksumOf(alg: ChecksumAlgorithm | 'MD5', data: Buffer | string): string {
  const h = createHasher(alg)
  h.update(typeof data === 'string' ? Buffer.from(data) : data)
  return h.digest().toString('base64')
}

export interface ChecksumResult {
  size: number
  md5: Buffer
  md5Hex: string
  md5Base64: string
  /** base64 digests of the algorithms asked for. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>
}

export interface ExpectedChecksums {
  /** Decoded Content-MD5 (see parseContentMd5). */
  contentMd5?: Buffer
  /** A checksum the client sent (header or trailer), base64. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string }
}

export function badChecksum(alg: ChecksumAlgorithm): ReturnType<typeof s3Error> {
  return s3Error('BadDigest', { message: `The ${alg} you specified did not match the calculated checksum.` })
}

/**
 * Pass-through Transform computing MD5 plus the asked-for checksums. With `expected`, a mismatch is
 * raised as a stream error from flush, i.e. before 'end', so a consuming store aborts.
 * `result()` is available once the stream has finished.
 */
export class ChecksumStream extends Transform {
  private readonly md5 = createHasher('MD5')
  private readonly hashers: [ChecksumAlgorithm, Hasher][]
  private size = 0
  private done: ChecksumResult | undefined
  constructor(private readonly opts: { algorithms?: readonly ChecksumAlgorithm[]; expected?: ExpectedChecksums } = {}) {
    super()
    const algs = new Set(opts.algorithms ?? [])
    if (opts.expected?.checksum) algs.add(opts.expected.checksum.algorithm)
    this.hashers = [...algs].map((a) => [a, createHasher(a)])
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length
    this.md5.update(chunk)
    for (const [, h] of this.hashers) h.update(chunk)
    cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    const md5 = this.md5.digest()
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {}
    for (const [a, h] of this.hashers) checksums[a] = h.digest().toString('base64')
    this.done = { size: this.size, md5, md5Hex: md5.toString('hex'), md5Base64: md5.toString('base64'), checksums }
    const exp = this.opts.expected
    if (exp?.contentMd5 && !exp.contentMd5.equals(md5)) {
      cb(s3Error('BadDigest', { fields: { ExpectedDigest: exp.contentMd5.toString('base64'), CalculatedDigest: this.done.md5Base64 } }))
      return
    }
    if (exp?.checksum && checksums[exp.checksum.algorithm] !== exp.checksum.value) {
      cb(badChecksum(exp.checksum.algorithm))
      return
    }
    cb()
  }
  result(): ChecksumResult {
    if (!this.done) throw new Error('ChecksumStream.result() called before the stream finished')
    return this.done
  }
}

/** True when `value` is canonical base64 of the right digest length for `alg`. */
export function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return false
  const raw = Buffer.from(value, 'base64')
  return raw.length === DIGEST_BYTES[alg] && raw.toString('base64') === value
}

function algorithmNamed(v: string): ChecksumAlgorithm | undefined {
  const up = v.trim().toUpperCase()
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(up) ? (up as ChecksumAlgorithm) : undefined
}

export interface ChecksumHeaders {
  /** The x-amz-checksum-<alg> header sent, if any. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string }
  /** x-amz-sdk-checksum-algorithm. */
  sdkAlgorithm?: ChecksumAlgorithm
  /** The checksum announced in x-amz-trailer (value arrives in the aws-chunked trailer). */
  trailer?: ChecksumAlgorithm
  /** x-amz-checksum-type (CreateMultipartUpload). */
  type?: 'COMPOSITE' | 'FULL_OBJECT'
}

type Headers = Record<string, string | string[] | undefined>
const first = (h: Headers, n: string): string | undefined => {
  const v = h[n]
  return Array.isArray(v) ? v[0] : v
}

/** Read and validate the flexible-checksum headers (node's lower-cased header map). Throws InvalidRequest as S3 words it. */
export function parseChecksumHeaders(headers: Headers): ChecksumHeaders {
  const out: ChecksumHeaders = {}
  for (const alg of CHECKSUM_ALGORITHMS) {
    const name = checksumHeaderName(alg)
    const v = first(headers, name)
    if (v === undefined) continue
    if (out.checksum) throw s3Error('InvalidRequest', { message: 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.' })
    if (!isValidChecksumValue(alg, v.trim())) throw s3Error('InvalidRequest', { message: `Value for ${name} header is invalid.` })
    out.checksum = { algorithm: alg, value: v.trim() }
  }
  const sdk = first(headers, 'x-amz-sdk-checksum-algorithm')
  if (sdk !== undefined) {
    const a = algorithmNamed(sdk)
    if (!a) throw s3Error('InvalidRequest', { message: 'Value for x-amz-sdk-checksum-algorithm header is invalid.' })
    out.sdkAlgorithm = a
  }
  const trailer = first(headers, 'x-amz-trailer')
  if (trailer !== undefined && trailer.trim() !== '') {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(trailer.trim().toLowerCase())
    const a = m ? algorithmNamed(m[1]!) : undefined
    if (!a) throw s3Error('InvalidRequest', { message: 'The value specified in the x-amz-trailer header is not supported' })
    out.trailer = a
  }
  const type = first(headers, 'x-amz-checksum-type')
  if (type !== undefined) {
    const t = type.trim().toUpperCase()
    if (t !== 'COMPOSITE' && t !== 'FULL_OBJECT') throw s3Error('InvalidRequest', { message: 'Value for x-amz-checksum-type header is invalid.' })
    out.type = t
  }
  return out
}

/** Content-MD5: base64 of 16 bytes, else InvalidDigest. Returns the raw digest (compare with BadDigest). */
export function parseContentMd5(value: string): Buffer {
  const v = value.trim()
  const raw = Buffer.from(v, 'base64')
  if (!/^[A-Za-z0-9+/]{22}==$/.test(v) || raw.length !== 16) throw s3Error('InvalidDigest')
  return raw
}

/** Check a computed MD5 against Content-MD5: InvalidDigest when malformed, BadDigest on mismatch. */
export function checkContentMd5(value: string, computed: Buffer): void {
  const expected = parseContentMd5(value)
  if (!expected.equals(computed)) {
    throw s3Error('BadDigest', { fields: { ExpectedDigest: value.trim(), CalculatedDigest: computed.toString('base64') } })
  }
}

/** Multipart ETag (unquoted): hex MD5 of the concatenated binary part MD5s, then `-N`. */
export function multipartEtag(partMd5s: readonly (Buffer | string)[]): string {
  const h = crypto.createHash('md5')
  for (const p of partMd5s) h.update(typeof p === 'string' ? Buffer.from(p.replace(/"/g, ''), 'hex') : p)
  return `${h.digest('hex')}-${partMd5s.length}`
}

/**
 * COMPOSITE multipart checksum: the checksum of the concatenated raw part checksums, base64, `-N`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html#large-object-checksums
 */
export function compositeChecksum(alg: ChecksumAlgorithm, partChecksumsBase64: readonly string[]): string {
  const h = createHasher(alg)
  for (const p of partChecksumsBase64) h.update(Buffer.from(p, 'base64'))
  return `${h.digest().toString('base64')}-${partChecksumsBase64.length}`
}

// ---- CRC combine (zlib's crc32_combine, generalised to any reflected CRC with all-ones init/xorout) ----
const REFLECTED_POLY: Partial<Record<ChecksumAlgorithm, { poly: bigint; width: number }>> = {
  CRC32: { poly: 0xedb88320n, width: 32 },
  CRC32C: { poly: 0x82f63b78n, width: 32 },
  CRC64NVME: { poly: CRC64NVME_POLY, width: 64 },
}

/** a*b modulo the polynomial, in the reflected bit order (zlib multmodp). */
function multmodp(a: bigint, b: bigint, poly: bigint, width: number): bigint {
  let m = 1n << BigInt(width - 1),
    p = 0n
  for (;;) {
    if (a & m) {
      p ^= b
      if ((a & (m - 1n)) === 0n) break
    }
    m >>= 1n
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n
  }
  return p
}

/** x^(8*len) modulo the polynomial (zlib x2nmodp with k = 3). */
function xPow8n(len: number, poly: bigint, width: number): bigint {
  let p = 1n << BigInt(width - 1) // x^0
  let sq = 1n << BigInt(width - 2) // x^1
  let n = BigInt(len) * 8n
  while (n > 0n) {
    if (n & 1n) p = multmodp(sq, p, poly, width)
    sq = multmodp(sq, sq, poly, width)
    n >>= 1n
  }
  return p
}

/** CRC of A||B from crc(A), crc(B) (raw big-endian digests) and len(B). */
export function crcCombine(alg: 'CRC32' | 'CRC32C' | 'CRC64NVME', crcA: Buffer, crcB: Buffer, lenB: number): Buffer {
  const { poly, width } = REFLECTED_POLY[alg]!
  const a = BigInt('0x' + crcA.toString('hex')),
    b = BigInt('0x' + crcB.toString('hex'))
  const c = multmodp(xPow8n(lenB, poly, width), a, poly, width) ^ b
  return Buffer.from(c.toString(16).padStart(width / 4, '0'), 'hex')
}

/** FULL_OBJECT multipart checksum (no `-N` suffix): combine the part CRCs in order. */
export function fullObjectChecksum(alg: 'CRC32' | 'CRC32C' | 'CRC64NVME', parts: readonly { checksum: string; size: number }[]): string {
  let acc = createHasher(alg).digest() // CRC of the empty string
  for (const p of parts) acc = crcCombine(alg, acc, Buffer.from(p.checksum, 'base64'), p.size)
  return acc.toString('base64')
}

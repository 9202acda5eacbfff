/**
 * @module Signing-key derivation and the two bounded caches that make verification cheap.
 *
 * SigV4: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#derive-signing-key).
 * Four HMACs per request are most of the cost of a verify, so the key is cached per
 * (access key, secret, date, region, service); see docs/benchmarks.md §Method.
 *
 * SigV4A: the P-256 private scalar comes from the secret through a NIST SP 800-108 counter-mode KDF
 * with HMAC-SHA256 (as aws-c-auth `aws_ecc_key_pair_new_ecdsa_p256_key_from_aws_credentials` does):
 *   k0 = HMAC("AWS4A"+secret, 0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || akid || counter || 0x00000100)
 * retry with counter+1 while k0 > n-2; d = k0 + 1. The derivation (~300 µs) is independent of date and
 * region, so the public key is cached per (access key, secret).
 *
 * The caches are plain objects owned by whoever builds the auth context: no module-level state.
 */
import crypto from 'node:crypto'
import { hmac } from './canonical.js'
import { HmacSha256 } from './hmac.js'

/** Small insertion-ordered LRU: a Map re-inserted on hit, oldest evicted past `max`. */
class BoundedLru<V> {
  private readonly map = new Map<string, V>()
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer')
  }
  get(key: string): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }
  set(key: string, v: V): void {
    this.map.delete(key)
    this.map.set(key, v)
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next()
      if (!oldest.done) this.map.delete(oldest.value)
    }
  }
  get size(): number {
    return this.map.size
  }
  clear(): void {
    this.map.clear()
  }
}

export function deriveSigV4SigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secret, date)
  const kRegion = hmac(kDate, region)
  const kService = hmac(kRegion, service)
  return hmac(kService, 'aws4_request')
}

/** A derived signing key and its precomputed HMAC (see hmac.ts). */
export interface SigningEntry {
  key: Buffer
  mac: HmacSha256
}

/** Bounded cache of SigV4 signing keys. A new day or a rotated secret simply misses. */
export class SigV4KeyCache {
  private readonly lru: BoundedLru<SigningEntry>
  constructor(maxEntries = 1024) {
    this.lru = new BoundedLru(maxEntries)
  }
  // The last key handed out: a run of requests by one caller skips building and hashing the long LRU key.
  private last: { accessKeyId: string; secret: string; date: string; region: string; service: string; entry: SigningEntry } | undefined

  signing(accessKeyId: string, secret: string, date: string, region: string, service: string): SigningEntry {
    const l = this.last
    if (l && l.accessKeyId === accessKeyId && l.secret === secret && l.date === date && l.region === region && l.service === service) return l.entry
    // The secret is part of the key so a rotated secret can never reuse a stale signing key.
    const k = `${accessKeyId}\n${secret}\n${date}\n${region}\n${service}`
    let v = this.lru.get(k)
    if (v === undefined) {
      const key = deriveSigV4SigningKey(secret, date, region, service)
      v = { key, mac: new HmacSha256(key) }
      this.lru.set(k, v)
    }
    this.last = { accessKeyId, secret, date, region, service, entry: v }
    return v
  }
  signingKey(accessKeyId: string, secret: string, date: string, region: string, service: string): Buffer {
    return this.signing(accessKeyId, secret, date, region, service).key
  }
  get size(): number {
    return this.lru.size
  }
}

/** P-256 group order minus 2 (SEC 2, secp256r1 n = FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551). */
const N_MINUS_2 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254fn
const LABEL = Buffer.from('AWS4-ECDSA-P256-SHA256', 'ascii')

/** The SigV4A private scalar d (32 bytes, big-endian) for a credential. */
export function deriveSigV4APrivateScalar(accessKeyId: string, secret: string): Buffer {
  const kdfKey = Buffer.from('AWS4A' + secret, 'utf8')
  const akid = Buffer.from(accessKeyId, 'utf8')
  for (let counter = 1; counter <= 254; counter++) {
    const fixed = Buffer.concat([Buffer.from([0, 0, 0, 1]), LABEL, Buffer.from([0]), akid, Buffer.from([counter]), Buffer.from([0, 0, 1, 0])])
    const k0 = BigInt('0x' + crypto.createHmac('sha256', kdfKey).update(fixed).digest('hex'))
    if (k0 > N_MINUS_2) continue // probability ~2^-32 per try
    return Buffer.from((k0 + 1n).toString(16).padStart(64, '0'), 'hex')
  }
  throw new Error('SigV4A key derivation did not converge') // unreachable in practice
}

/** Uncompressed public point (0x04 || X || Y) for a credential. */
export function deriveSigV4APublicPoint(accessKeyId: string, secret: string): Buffer {
  const ecdh = crypto.createECDH('prime256v1')
  ecdh.setPrivateKey(deriveSigV4APrivateScalar(accessKeyId, secret))
  return ecdh.getPublicKey()
}

export function deriveSigV4APublicKey(accessKeyId: string, secret: string): crypto.KeyObject {
  const pub = deriveSigV4APublicPoint(accessKeyId, secret)
  return crypto.createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33, 65).toString('base64url') },
  })
}

/** Bounded cache of derived SigV4A public keys, keyed by (access key id, secret). */
export class SigV4AKeyCache {
  private readonly lru: BoundedLru<crypto.KeyObject>
  constructor(maxEntries = 1024) {
    this.lru = new BoundedLru(maxEntries)
  }
  private last: { accessKeyId: string; secret: string; key: crypto.KeyObject } | undefined

  publicKey(accessKeyId: string, secret: string): crypto.KeyObject {
    const l = this.last
    if (l && l.accessKeyId === accessKeyId && l.secret === secret) return l.key
    const k = `${accessKeyId}\n${secret}`
    let v = this.lru.get(k)
    if (v === undefined) {
      v = deriveSigV4APublicKey(accessKeyId, secret)
      this.lru.set(k, v)
    }
    this.last = { accessKeyId, secret, key: v }
    return v
  }
  get size(): number {
    return this.lru.size
  }
}

/**
 * @module HMAC-SHA256 (RFC 2104) for one key, on top of the one-shot `crypto.hash`.
 *
 * Why hand-written: `crypto.createHmac` resolves the digest in OpenSSL and builds an HMAC context on
 * every call. In the server that cost more than the hashing itself (~5 µs of a ~65 µs signed GET,
 * profiled). Signing keys are cached per day/region/service, so their padded key blocks can be
 * computed once; each MAC is then two one-shot hashes over preallocated buffers. Checked against
 * `createHmac` by hmac.test.ts and by every SigV4 vector.
 */
import crypto from 'node:crypto'
import { HAS_ONE_SHOT_HASH } from './canonical.js'

const BLOCK = 64

export class HmacSha256 {
  private inner: Buffer
  private readonly outer = Buffer.alloc(BLOCK + 32)
  private readonly key: Buffer

  constructor(key: Buffer) {
    this.key = key
    const k = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key
    this.inner = Buffer.alloc(BLOCK + 256)
    for (let i = 0; i < BLOCK; i++) {
      const b = i < k.length ? k[i]! : 0
      this.inner[i] = b ^ 0x36
      this.outer[i] = b ^ 0x5c
    }
  }

  /** HMAC-SHA256(key, UTF-8 of `message`). Synchronous, so the scratch buffers are never shared. */
  digest(message: string): Buffer
  digest(message: string, encoding: 'hex'): string
  digest(message: string, encoding?: 'hex'): Buffer | string {
    if (!HAS_ONE_SHOT_HASH) {
      const h = crypto.createHmac('sha256', this.key).update(message, 'utf8')
      return encoding ? h.digest(encoding) : h.digest()
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: when that bound fits, the exact length is the write's count.
    if (BLOCK + message.length * 3 > this.inner.length) {
      const n = Buffer.byteLength(message, 'utf8')
      if (BLOCK + n > this.inner.length) {
        const grown = Buffer.alloc(BLOCK + n)
        this.inner.copy(grown, 0, 0, BLOCK)
        this.inner = grown
      }
    }
    const n = this.inner.write(message, BLOCK, 'utf8')
    // The inner digest as a Latin-1 string (one char per byte) written into place: 'buffer' is no
    // encoding to crypto.hash, and its slow path of encoding lookups cost twice the hash (Node 20).
    this.outer.write(crypto.hash('sha256', this.inner.subarray(0, BLOCK + n), 'binary'), BLOCK, 'latin1')
    return crypto.hash('sha256', this.outer, encoding ?? 'buffer')
  }
}

/** Compares two strings in time that depends only on their lengths (for signatures). */
export function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

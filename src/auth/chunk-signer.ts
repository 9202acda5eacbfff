/**
 * @module Chunk and trailer signatures of signed aws-chunked uploads.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 *
 *   chunk:   <ALG>-PAYLOAD\n<amz-date>\n<scope>\n<previous signature>\n<sha256("")>\n<sha256(chunk data)>
 *   trailer: <ALG>-TRAILER\n<amz-date>\n<scope>\n<previous signature>\n<sha256(trailer lines)>
 * The first "previous signature" is the request's (seed) signature. SigV4A chunk signatures are DER
 * ECDSA and verified with the derived public key (they are randomised, so they cannot be recomputed).
 */
import crypto from 'node:crypto'
import { EMPTY_SHA256, hmac, sha256Hex } from './canonical.js'
import type { ChunkSigner } from './types.js'

const HEX64 = /^[0-9a-f]{64}$/

export class HmacChunkSigner implements ChunkSigner {
  readonly algorithm = 'hmac' as const
  readonly #key: Buffer
  readonly #amzDate: string
  readonly #scope: string
  constructor(
    signingKey: Buffer,
    amzDate: string,
    scope: string,
    readonly seedSignature: string,
  ) {
    this.#key = signingKey
    this.#amzDate = amzDate
    this.#scope = scope
  }
  /** The expected signature (used by tests to build signed bodies). */
  chunkSignature(previous: string, dataSha256Hex: string): string {
    return hmac(this.#key, `AWS4-HMAC-SHA256-PAYLOAD\n${this.#amzDate}\n${this.#scope}\n${previous}\n${EMPTY_SHA256}\n${dataSha256Hex}`).toString('hex')
  }
  trailerSignature(previous: string, canonicalTrailer: string): string {
    return hmac(this.#key, `AWS4-HMAC-SHA256-TRAILER\n${this.#amzDate}\n${this.#scope}\n${previous}\n${sha256Hex(canonicalTrailer)}`).toString('hex')
  }
  verifyChunk(previous: string, dataSha256Hex: string, signature: string): boolean {
    return safeHexEqual(this.chunkSignature(previous, dataSha256Hex), signature)
  }
  verifyTrailer(previous: string, canonicalTrailer: string, signature: string): boolean {
    return safeHexEqual(this.trailerSignature(previous, canonicalTrailer), signature)
  }
}

export class EcdsaChunkSigner implements ChunkSigner {
  readonly algorithm = 'ecdsa' as const
  readonly #key: crypto.KeyObject
  readonly #amzDate: string
  readonly #scope: string
  constructor(
    publicKey: crypto.KeyObject,
    amzDate: string,
    scope: string,
    readonly seedSignature: string,
  ) {
    this.#key = publicKey
    this.#amzDate = amzDate
    this.#scope = scope
  }
  verifyChunk(previous: string, dataSha256Hex: string, signature: string): boolean {
    return this.#verify(`AWS4-ECDSA-P256-SHA256-PAYLOAD\n${this.#amzDate}\n${this.#scope}\n${previous}\n${EMPTY_SHA256}\n${dataSha256Hex}`, signature)
  }
  verifyTrailer(previous: string, canonicalTrailer: string, signature: string): boolean {
    return this.#verify(`AWS4-ECDSA-P256-SHA256-TRAILER\n${this.#amzDate}\n${this.#scope}\n${previous}\n${sha256Hex(canonicalTrailer)}`, signature)
  }
  #verify(stringToSign: string, signature: string): boolean {
    if (!/^(?:[0-9a-f]{2}){8,80}$/.test(signature)) return false
    try {
      return crypto.verify('sha256', Buffer.from(stringToSign, 'utf8'), { key: this.#key, dsaEncoding: 'der' }, Buffer.from(signature, 'hex'))
    } catch {
      return false
    }
  }
}

function safeHexEqual(expectedHex: string, given: string): boolean {
  if (!HEX64.test(given)) return false
  return crypto.timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(given, 'hex'))
}

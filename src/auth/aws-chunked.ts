/**
 * @module Streaming decoder for `Content-Encoding: aws-chunked` bodies.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 *
 * Entity (after HTTP chunking is removed by node):
 *   <hex size>[;chunk-signature=<sig>]\r\n <data> \r\n ... 0[;chunk-signature=<sig>]\r\n
 *   [<trailer name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]] \r\n
 *
 * Data is forwarded as zero-copy slices of the incoming Buffers; only the short size/trailer lines are
 * scanned (with indexOf). Every check (chunk signature, trailer checksum, decoded length, framing)
 * fails as a stream error before the stream ends, so a consumer that stores the stream aborts.
 */
import crypto from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { badChecksum, type ChecksumAlgorithm, checksumHeaderName, createHasher, type Hasher, isValidChecksumValue } from '../shared/checksums.js'
import { type S3Error, s3Error } from '../shared/errors.js'
import { EMPTY_SHA256 } from './canonical.js'
import type { ChunkSigner } from './types.js'

export interface AwsChunkedOptions {
  /** Verify chunk (and trailer) signatures with this signer (signed streaming modes). */
  signer?: ChunkSigner
  /** The body carries a trailer section that may hold x-amz-checksum-* and x-amz-trailer-signature. */
  trailer: boolean
  /** Checksum announced by x-amz-trailer: computed over the decoded bytes and compared to the trailer value. */
  trailerChecksum?: ChecksumAlgorithm
  /** x-amz-decoded-content-length: the decoded byte count must equal it. */
  decodedLength?: number
  /**
   * Minimum size of every chunk but the last. S3 requires 8192 for signed chunks; the JS SDK's unsigned
   * trailer uploads use whatever sizes the source stream yields, so the default only applies to signed.
   */
  minChunkSize?: number
}

const MAX_LINE = 4096
const MAX_TRAILER = 16 * 1024
const CR = 0x0d,
  LF = 0x0a

type State = 'size' | 'data' | 'crlf' | 'trailer' | 'done'

function framing(detail: string): S3Error {
  return s3Error('IncompleteBody', { message: `The aws-chunked body is malformed: ${detail}` })
}

export class AwsChunkedDecoder extends Transform {
  private state: State = 'size'
  private line: Buffer[] = []
  private lineLen = 0
  private remaining = 0
  private crlfSeen = 0
  private decoded = 0
  private chunkHash: crypto.Hash | undefined
  private chunkSig = ''
  private prevSig: string
  private lastChunkSize = -1
  private chunkIndex = 0
  private trailerBytes = 0
  private readonly trailers: [string, string][] = []
  private readonly checksum: Hasher | undefined
  private readonly minChunk: number

  constructor(private readonly opts: AwsChunkedOptions) {
    super()
    this.prevSig = opts.signer?.seedSignature ?? ''
    this.checksum = opts.trailerChecksum ? createHasher(opts.trailerChecksum) : undefined
    this.minChunk = opts.minChunkSize ?? (opts.signer ? 8192 : 0)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk)
      cb()
    } catch (e) {
      cb(e as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') {
      cb(s3Error('IncompleteBody', { message: 'The request body terminated unexpectedly' }))
      return
    }
    cb()
  }

  private consume(buf: Buffer): void {
    let pos = 0
    const n = buf.length
    while (pos < n) {
      switch (this.state) {
        case 'data': {
          const take = Math.min(this.remaining, n - pos)
          const slice = buf.subarray(pos, pos + take)
          this.chunkHash?.update(slice)
          this.checksum?.update(slice)
          this.push(slice)
          this.remaining -= take
          pos += take
          if (this.remaining === 0) this.state = 'crlf'
          break
        }
        case 'crlf': {
          const want = this.crlfSeen === 0 ? CR : LF
          if (buf[pos] !== want) throw framing('chunk data is not followed by CRLF (chunk size does not match the data)')
          pos++
          if (++this.crlfSeen === 2) {
            this.crlfSeen = 0
            this.endChunk()
            this.state = 'size'
          }
          break
        }
        case 'size':
        case 'trailer': {
          const lf = buf.indexOf(LF, pos)
          const end = lf < 0 ? n : lf + 1
          this.lineLen += end - pos
          if (this.lineLen > MAX_LINE) throw framing('line too long')
          this.line.push(buf.subarray(pos, end))
          pos = end
          if (lf < 0) break
          const raw = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line)
          this.line = []
          this.lineLen = 0
          if (raw.length < 2 || raw[raw.length - 2] !== CR) throw framing('line not terminated by CRLF')
          const text = raw.toString('latin1', 0, raw.length - 2)
          if (this.state === 'size') this.sizeLine(text)
          else this.trailerLine(text)
          break
        }
        case 'done':
          throw framing('data after the final chunk')
      }
    }
  }

  private sizeLine(text: string): void {
    const semi = text.indexOf(';')
    const hex = semi < 0 ? text : text.slice(0, semi)
    if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw framing('invalid chunk size')
    const size = parseInt(hex, 16)
    let sig: string | undefined
    if (semi >= 0) {
      for (const ext of text.slice(semi + 1).split(';')) {
        const eq = ext.indexOf('=')
        if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature')
          sig = ext
            .slice(eq + 1)
            .trim()
            .replace(/\*+$/, '') // SigV4A pads with '*'
      }
    }
    if (this.opts.signer && sig === undefined) throw s3Error('SignatureDoesNotMatch', { message: 'The chunk signature is missing.' })
    if (this.lastChunkSize >= 0 && this.lastChunkSize < this.minChunk && size > 0) {
      throw s3Error('InvalidChunkSizeError', { fields: { Chunk: String(this.chunkIndex), BadChunkSize: String(this.lastChunkSize) } })
    }
    this.chunkIndex++
    if (this.opts.decodedLength !== undefined && this.decoded + size > this.opts.decodedLength) {
      throw s3Error('IncompleteBody', { message: 'The decoded body is longer than x-amz-decoded-content-length' })
    }
    this.chunkSig = sig ?? ''
    if (size === 0) {
      this.verifyChunk(EMPTY_SHA256)
      this.state = 'trailer'
      return
    }
    this.lastChunkSize = size
    this.decoded += size
    this.remaining = size
    if (this.opts.signer) this.chunkHash = crypto.createHash('sha256')
    this.state = 'data'
  }

  private endChunk(): void {
    if (this.chunkHash) {
      this.verifyChunk(this.chunkHash.digest('hex'))
      this.chunkHash = undefined
    }
  }

  private verifyChunk(dataHash: string): void {
    const signer = this.opts.signer
    if (!signer) return
    if (!signer.verifyChunk(this.prevSig, dataHash, this.chunkSig)) {
      throw s3Error('SignatureDoesNotMatch', {
        message: 'The chunk signature we calculated does not match the signature you provided.',
        fields: { SignatureProvided: this.chunkSig },
      })
    }
    this.prevSig = this.chunkSig
  }

  private trailerLine(text: string): void {
    this.trailerBytes += text.length + 2
    if (this.trailerBytes > MAX_TRAILER) throw s3Error('MalformedTrailerError')
    if (text !== '') {
      const c = text.indexOf(':')
      if (c <= 0) throw s3Error('MalformedTrailerError')
      this.trailers.push([text.slice(0, c).trim().toLowerCase(), text.slice(c + 1).trim()])
      return
    }
    this.finish()
    this.state = 'done'
  }

  /** End of body: decoded length, trailer signature, trailer checksum. */
  private finish(): void {
    const want = this.opts.decodedLength
    if (want !== undefined && this.decoded !== want) {
      throw s3Error('IncompleteBody', { message: 'The decoded body is shorter than x-amz-decoded-content-length' })
    }
    if (this.trailers.length > 0 && !this.opts.trailer) throw s3Error('MalformedTrailerError')
    const signer = this.opts.signer
    if (signer && this.opts.trailer) {
      const sigEntry = this.trailers.find(([k]) => k === 'x-amz-trailer-signature')
      const canonical = this.trailers
        .filter(([k]) => k !== 'x-amz-trailer-signature')
        .map(([k, v]) => `${k}:${v}\n`)
        .join('')
      if (!sigEntry || !signer.verifyTrailer(this.prevSig, canonical, sigEntry[1].replace(/\*+$/, ''))) {
        throw s3Error('SignatureDoesNotMatch', { message: 'The trailer signature we calculated does not match the signature you provided.' })
      }
    }
    const alg = this.opts.trailerChecksum
    if (alg && this.checksum) {
      const name = checksumHeaderName(alg)
      const sent = this.trailers.find(([k]) => k === name)?.[1]
      if (sent === undefined || !isValidChecksumValue(alg, sent)) throw s3Error('MalformedTrailerError')
      if (this.checksum.digest().toString('base64') !== sent) throw badChecksum(alg)
    }
  }

  /** Trailer fields received (lower-cased names), available once the stream has ended. */
  trailerFields(): ReadonlyMap<string, string> {
    return new Map(this.trailers)
  }

  /** Decoded bytes so far. */
  get decodedBytes(): number {
    return this.decoded
  }
}

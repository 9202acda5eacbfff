/**
 * @module Turn the raw request body into the object bytes, checking what the signature promised:
 * Content-Length, x-amz-content-sha256 (XAmzContentSHA256Mismatch), aws-chunked framing, chunk and
 * trailer signatures, trailer checksums, x-amz-decoded-content-length.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 *
 * Every failure is a stream error raised before 'end' (never after the consumer saw a clean end).
 */
import crypto from 'node:crypto'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { watchBodyIdle } from '../http/timeouts.js'
import { parseChecksumHeaders } from '../shared/checksums.js'
import { isS3Error, s3Error } from '../shared/errors.js'
import { AwsChunkedDecoder } from './aws-chunked.js'
import { headerValue } from './canonical.js'
import type { AuthResult, HttpRequestView } from './types.js'

function incomplete(): ReturnType<typeof s3Error> {
  return s3Error('IncompleteBody')
}

/** Counts bytes: fewer than `expected` at the end → IncompleteBody; more → IncompleteBody at once. */
export class LengthCheck extends Transform {
  private seen = 0
  constructor(private readonly expected: number | undefined) {
    super()
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.expected !== undefined && this.seen > this.expected) {
      cb(s3Error('IncompleteBody', { message: 'The request body is longer than Content-Length.' }))
      return
    }
    cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    cb(this.expected !== undefined && this.seen < this.expected ? incomplete() : null)
  }
}

/** Hashes the body and fails with XAmzContentSHA256Mismatch at the end when it differs from the signed hash. */
export class Sha256Check extends Transform {
  private readonly h = crypto.createHash('sha256')
  constructor(private readonly expectedHex: string) {
    super()
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.h.update(chunk)
    cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    const got = this.h.digest('hex')
    if (got !== this.expectedHex) {
      cb(s3Error('XAmzContentSHA256Mismatch', { fields: { ClientComputedContentSHA256: this.expectedHex, S3ComputedContentSHA256: got } }))
      return
    }
    cb()
  }
}

/**
 * Wrap `source` (e.g. node's IncomingMessage) so that a short body, a client abort or a socket error
 * surfaces as IncompleteBody on the returned stream. Pass the expected length when known.
 */
export function expectLength(source: Readable, expected: number | undefined): Transform {
  const check = new LengthCheck(expected)
  attachSource(source, check)
  return check
}

function attachSource(source: Readable, first: Transform): void {
  let ended = false
  source.once('end', () => {
    ended = true
  })
  const fail = (err?: unknown): void => {
    if (!first.destroyed) first.destroy(isS3Error(err) ? err : incomplete())
  }
  source.once('error', fail)
  source.once('aborted', () => fail())
  source.once('close', () => {
    if (!ended) fail()
  })
  // If the consumer gives up, stop reading the source (the HTTP layer decides what to do with the socket).
  first.once('close', () => source.unpipe(first))
  source.pipe(first)
  // A client that stops sending gets RequestTimeout instead of holding the upload open forever.
  watchBodyIdle(source, first)
}

function chain(streams: Transform[]): Transform {
  for (let i = 0; i + 1 < streams.length; i++) {
    const from = streams[i]!,
      to = streams[i + 1]!
    from.pipe(to)
    // Errors anywhere travel to the last stream, which is the one the consumer holds.
    from.once('error', (e) => {
      if (!to.destroyed) to.destroy(e)
    })
    to.once('close', () => {
      if (!from.destroyed) from.destroy()
    })
  }
  return streams[streams.length - 1]!
}

function nonNegativeInt(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  return /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : NaN
}

/**
 * The decoded request body for every payload mode. Throws S3Error synchronously for header-level
 * problems (bad Content-Length, missing x-amz-decoded-content-length, bad x-amz-trailer); body
 * problems are errors of the returned stream, emitted before it ends.
 * Content checksums (x-amz-checksum-* headers, Content-MD5) are checked by ChecksumStream from
 * src/shared/checksums.ts, which the caller pipes the result through.
 */
export function decodeBody(req: HttpRequestView, auth: AuthResult, body: Readable): Readable {
  const h = req.headers
  const contentLength = nonNegativeInt(headerValue(h, 'content-length'))
  if (Number.isNaN(contentLength))
    throw s3Error('InvalidArgument', { message: 'Content-Length is invalid', fields: { ArgumentName: 'Content-Length', ArgumentValue: headerValue(h, 'content-length') } })
  const streams: Transform[] = [new LengthCheck(contentLength)]
  const payload = auth.payload

  if (payload.kind === 'streaming') {
    const decodedLength = nonNegativeInt(headerValue(h, 'x-amz-decoded-content-length'))
    if (decodedLength === undefined) throw s3Error('MissingContentLength', { message: 'You must provide the x-amz-decoded-content-length header.' })
    if (Number.isNaN(decodedLength))
      throw s3Error('InvalidArgument', {
        message: 'x-amz-decoded-content-length is invalid',
        fields: { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: headerValue(h, 'x-amz-decoded-content-length') },
      })
    const { trailer } = parseChecksumHeaders(h)
    if (payload.trailer === false && trailer !== undefined) throw s3Error('InvalidRequest', { message: 'x-amz-trailer is only valid with a -TRAILER x-amz-content-sha256.' })
    const signer = auth.kind === 'signed' ? auth.chunkSigner : undefined
    if (payload.signed && !signer) throw s3Error('AccessDenied', { message: 'Signed streaming payloads require a signed request.' })
    streams.push(
      new AwsChunkedDecoder({
        trailer: payload.trailer,
        decodedLength,
        ...(payload.signed && signer ? { signer } : {}),
        ...(trailer ? { trailerChecksum: trailer } : {}),
      }),
    )
  } else if (payload.kind === 'sha256') {
    streams.push(new Sha256Check(payload.hex))
  }
  attachSource(body, streams[0]!)
  return chain(streams)
}

/** Content-Encoding to store: the header with `aws-chunked` removed (undefined when nothing is left). */
export function storedContentEncoding(req: HttpRequestView): string | undefined {
  const v = headerValue(req.headers, 'content-encoding')
  if (v === undefined) return undefined
  // The other codings keep the client's spelling ("deflate, gzip"), as S3 stores them.
  const rest = v
    .split(',')
    .filter((s) => s.trim().toLowerCase() !== 'aws-chunked')
    .join(',')
    .trim()
  return rest !== '' ? rest : undefined
}

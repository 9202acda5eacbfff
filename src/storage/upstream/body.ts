/**
 * @module Sending a client's body to the engine without holding it whole, while keeping the
 * store contract: the caller's `finalize` (digest checks) runs after every byte arrived and
 * before the engine can make the object visible.
 *
 * Engines want a Content-Length (RGW answers 411 MissingContentLength to a chunked PUT), so:
 * - a body that ends within the first `smallLimit` bytes is finalized, then sent from memory;
 * - a body of declared size is streamed with its last chunk held back until finalize passes (a
 *   throw aborts the request, and an engine discards a body shorter than its Content-Length);
 * - a body of unknown size is spooled to a temp file, finalized, then streamed from the file.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { s3Error } from '../../shared/errors.js'
import type { PutObjectInput } from '../types.js'

export type Digests = Awaited<ReturnType<PutObjectInput['finalize']>>

export interface SendArgs {
  body: Buffer | Readable
  length: number
  /** Known before the request starts (small and spooled bodies): they can go into its headers. */
  digests: Digests | undefined
  signal: AbortSignal
}

export interface SendOptions<T> {
  body: Readable
  size?: number
  finalize: PutObjectInput['finalize']
  tmpDir: string
  smallLimit: number
  send: (a: SendArgs) => Promise<T>
}

export async function sendBody<T>(o: SendOptions<T>): Promise<{ result: T; digests: Digests }> {
  // A paused body still reads ahead, so it can fail between readHead and the pipeline that takes it
  // over (spool awaits a mkdir first): this keeps that error from being uncaught, and pipeline()
  // still reports it (it checks stream.errored).
  o.body.on('error', () => {})
  const head = await readHead(o.body, o.smallLimit)
  const prefix = Buffer.concat(head.chunks)
  if (head.ended) {
    if (o.size !== undefined && o.size !== prefix.length) throw s3Error('IncompleteBody')
    const digests = await o.finalize({ size: prefix.length })
    const ac = new AbortController()
    return { result: await o.send({ body: prefix, length: prefix.length, digests, signal: ac.signal }), digests }
  }
  if (o.size !== undefined) return streamDeclared(o, o.size, prefix)
  return spool(o, prefix)
}

/**
 * The body's first bytes, until more than `limit` arrived or it ended; the body is left paused.
 * 'data' events, not an async iterator: the iterator's read() joins buffered chunks into new
 * Buffers, and that garbage alone lifted a 1 GiB PUT's peak RSS by ~35 MiB (bench/upstream-big.ts).
 */
function readHead(body: Readable, limit: number): Promise<{ chunks: Buffer[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const done = (ended: boolean): void => {
      body.off('data', onData).off('end', onEnd).off('error', reject)
      resolve({ chunks, ended })
    }
    const onData = (c: Buffer | string): void => {
      const b = typeof c === 'string' ? Buffer.from(c) : c
      chunks.push(b)
      bytes += b.length
      if (bytes > limit) {
        body.pause()
        done(false)
      }
    }
    const onEnd = (): void => done(true)
    body.on('data', onData).once('end', onEnd).once('error', reject)
  })
}

async function streamDeclared<T>(o: SendOptions<T>, size: number, prefix: Buffer): Promise<{ result: T; digests: Digests }> {
  let digests: Digests | undefined
  let held = prefix
  let count = prefix.length
  // Passes chunks on one behind, so the last one leaves only after finalize accepted the body.
  const gate = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      count += chunk.length
      if (count > size) {
        cb(s3Error('IncompleteBody'))
        return
      }
      const out = held
      held = chunk
      cb(null, out.length ? out : undefined)
    },
    flush(cb) {
      if (count !== size) {
        cb(s3Error('IncompleteBody'))
        return
      }
      Promise.resolve(o.finalize({ size: count })).then(
        (d) => {
          digests = d
          cb(null, held)
        },
        (e: unknown) => cb(e as Error),
      )
    },
  })
  const ac = new AbortController()
  let failure: unknown
  // The SDK pipes the body into the request, and pipe() does not pass errors on: abort instead,
  // so the engine sees a short body and the call does not wait for its timeout.
  const fail = (e: unknown): void => {
    failure ??= e
    ac.abort()
  }
  gate.on('error', fail)
  if (count > size) fail(s3Error('IncompleteBody'))
  else pipeline(o.body, gate).catch(fail)
  try {
    const result = await o.send({ body: gate, length: size, digests: undefined, signal: ac.signal })
    if (!digests) throw new Error('engine accepted a body before it was finalized')
    return { result, digests }
  } catch (e) {
    throw failure ?? e
  }
}

async function spool<T>(o: SendOptions<T>, prefix: Buffer): Promise<{ result: T; digests: Digests }> {
  await mkdir(o.tmpDir, { recursive: true })
  const file = join(o.tmpDir, `spool-${randomBytes(12).toString('hex')}`)
  try {
    const ws = createWriteStream(file, { mode: 0o600 })
    ws.write(prefix)
    await pipeline(o.body, ws)
    const size = ws.bytesWritten
    const digests = await o.finalize({ size })
    const ac = new AbortController()
    const result = await o.send({ body: createReadStream(file), length: size, digests, signal: ac.signal })
    return { result, digests }
  } finally {
    await unlink(file).catch(() => {})
  }
}

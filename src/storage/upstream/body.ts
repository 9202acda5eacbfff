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
import { Readable } from 'node:stream'
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
  const it = o.body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
  const head: Buffer[] = []
  let headBytes = 0
  let ended = false
  while (headBytes <= o.smallLimit) {
    const r = await it.next()
    if (r.done) { ended = true; break }
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
    head.push(c)
    headBytes += c.length
  }
  const prefix = Buffer.concat(head)
  if (ended) {
    if (o.size !== undefined && o.size !== prefix.length) throw s3Error('IncompleteBody')
    const digests = await o.finalize({ size: prefix.length })
    const ac = new AbortController()
    return { result: await o.send({ body: prefix, length: prefix.length, digests, signal: ac.signal }), digests }
  }
  async function* rest(): AsyncGenerator<Buffer> {
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value
    }
  }
  if (o.size !== undefined) return streamDeclared(o, o.size, prefix, rest())
  return spool(o, prefix, rest())
}

async function streamDeclared<T>(o: SendOptions<T>, size: number, prefix: Buffer, rest: AsyncGenerator<Buffer>): Promise<{ result: T; digests: Digests }> {
  let digests: Digests | undefined
  async function* gated(): AsyncGenerator<Buffer> {
    let held = prefix
    let count = prefix.length
    if (count > size) throw s3Error('IncompleteBody')
    for await (const c of rest) {
      count += c.length
      if (count > size) throw s3Error('IncompleteBody')
      if (held.length) yield held
      held = c
    }
    if (count !== size) throw s3Error('IncompleteBody')
    digests = await o.finalize({ size: count })
    yield held
  }
  const ac = new AbortController()
  let failure: unknown
  const stream = Readable.from(gated(), { objectMode: false })
  // The SDK pipes the body into the request, and pipe() does not pass errors on: abort instead,
  // so the engine sees a short body and the call does not wait for its timeout.
  stream.on('error', (e) => { failure ??= e; ac.abort() })
  try {
    const result = await o.send({ body: stream, length: size, digests: undefined, signal: ac.signal })
    if (!digests) throw new Error('engine accepted a body before it was finalized')
    return { result, digests }
  } catch (e) {
    throw failure ?? e
  }
}

async function spool<T>(o: SendOptions<T>, prefix: Buffer, rest: AsyncGenerator<Buffer>): Promise<{ result: T; digests: Digests }> {
  await mkdir(o.tmpDir, { recursive: true })
  const file = join(o.tmpDir, `spool-${randomBytes(12).toString('hex')}`)
  try {
    let size = 0
    async function* all(): AsyncGenerator<Buffer> {
      size += prefix.length
      yield prefix
      for await (const c of rest) { size += c.length; yield c }
    }
    await pipeline(Readable.from(all()), createWriteStream(file, { mode: 0o600 }))
    const digests = await o.finalize({ size })
    const ac = new AbortController()
    const result = await o.send({ body: createReadStream(file), length: size, digests, signal: ac.signal })
    return { result, digests }
  } finally {
    await unlink(file).catch(() => {})
  }
}

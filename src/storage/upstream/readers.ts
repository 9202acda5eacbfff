/**
 * @module Readers of large upstream objects that have not opened their bytes yet.
 *
 * getObject reads metadata and the first `smallLimit` bytes in one GET; the rest is fetched when
 * the caller opens the bytes, pinned to the engine version id and ETag, so a reader never gets a
 * mix of two objects. That alone would fail a reader whose object is overwritten or deleted
 * between getObject and open (an unversioned key's null version is gone on the engine), where
 * the contract promises the old bytes. Fetching every rest eagerly would make each HEAD, tagging
 * read and conditional-write check (they call getObject and never open) transfer the object and
 * tear down a pooled connection. So the fetch is eager only when it has to be: a write about to
 * replace or remove a key first starts the pinned GET of every reader of that key still waiting
 * to open (`pin`), and waits for its response headers. RGW keeps serving a GET it has started
 * after an overwrite or delete (tails are garbage-collected after rgw_gc_obj_min_wait, 2 h by
 * default; checked on 16.2.15 with 500 KB and 10 MiB objects), so the reader gets the old bytes.
 *
 * Bounds: a reader is protected for READER_TTL_MS after getObject, and a pinned response waits
 * PARK_MS to be opened before its connection is closed; writes that bypass this store (another
 * node, the engine directly) are not seen. Past those, open() fetches lazily: the same bytes, or
 * an error, never other bytes. The stream open() returns asks for its bytes at its first read, so
 * that error is raised to whoever reads, never as an 'error' event before anyone listens.
 */
import { PassThrough, Readable } from 'node:stream'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import type { ByteRange } from '../types.js'
import type { Engine } from './engine.js'

export const READER_TTL_MS = 60_000
export const PARK_MS = 30_000

/** The engine version a reader saw; it already holds the first `offset` bytes. */
export interface ReaderTarget {
  engineBucket: string
  key: string
  engineVid: string
  engineEtag: string
  size: number
  offset: number
}

export interface Reader {
  /** The first GET's outcome: the version to pin, or undefined (failed, or all bytes inline). */
  settle: (target: ReaderTarget | undefined, head?: Buffer) => void
  open: (range?: ByteRange) => Readable
}

/** Kept per key until opened or expired; holds no bytes (a HEAD's entry costs ~200 B, not 64 KiB). */
interface Pending {
  id: string
  at: number
  opened: boolean
  ready: Promise<ReaderTarget | undefined>
  /** The rest of the object, [offset, size), once a write made it fetch early. */
  pinned: Promise<Readable | undefined> | undefined
}

const idOf = (engineBucket: string, key: string): string => `${engineBucket}\0${key}`

export class Readers {
  /** Readers waiting to open, by key; opened, inline and failed ones leave at once. */
  private readonly byKey = new Map<string, Set<Pending>>()
  private sweptAt = Date.now()

  constructor(private readonly engine: Engine) {}

  /**
   * Registers a reader before its first GET is sent, so a write that starts meanwhile waits for
   * that GET (then pins it) instead of missing it.
   */
  begin(engineBucket: string, key: string, track = true): Reader {
    this.expire()
    let settle!: (t: ReaderTarget | undefined) => void
    const known = new Promise<ReaderTarget | undefined>((ok) => {
      settle = ok
    })
    const p: Pending = { id: idOf(engineBucket, key), at: Date.now(), opened: false, ready: known, pinned: undefined }
    if (track) {
      let set = this.byKey.get(p.id)
      if (!set) this.byKey.set(p.id, (set = new Set()))
      set.add(p)
    }
    let target: ReaderTarget | undefined
    let head: Buffer = Buffer.alloc(0)
    return {
      settle: (t, h) => {
        target = t
        if (h) head = h
        if (!t) this.drop(p)
        settle(t)
      },
      open: (range) => {
        if (!target) throw new Error('open() of a reader without a target')
        return this.open(p, target, head, range)
      },
    }
  }

  /** Before a write to `key`: every reader still waiting to open gets its bytes requested now. */
  async pin(engineBucket: string, key: string): Promise<void> {
    const id = idOf(engineBucket, key)
    const set = this.byKey.get(id)
    if (!set) return
    this.byKey.delete(id)
    await Promise.all(
      [...set].map(async (p) => {
        const t = await p.ready
        if (!t || p.opened) return
        p.pinned ??= this.fetch(t, t.offset, t.size - 1).then(
          (body) => {
            const timer = setTimeout(() => {
              if (!p.opened) body.destroy()
            }, PARK_MS)
            timer.unref()
            body.once('close', () => clearTimeout(timer))
            return body
          },
          () => undefined,
        )
        await p.pinned
      }),
    )
  }

  private open(p: Pending, t: ReaderTarget, head: Buffer, range: ByteRange | undefined): Readable {
    p.opened = true
    this.drop(p)
    const start = range?.start ?? 0
    const end = range?.end ?? t.size - 1
    const fromHead = head.subarray(start, Math.min(end + 1, head.length))
    if (end < head.length) return bufferStream(fromHead)
    const restStart = Math.max(start, head.length)
    // A pinned body serves one open (claimed here, in call order); later opens of the same result fetch again.
    const pinned = p.pinned
    p.pinned = undefined
    const source = (): Promise<Readable> =>
      pinned
        ? pinned.then((body) => (body && !body.destroyed ? slice(body, restStart - head.length, end - restStart + 1) : this.fetch(t, restStart, end)))
        : this.fetch(t, restStart, end)
    return lazyStream(fromHead, source, (e) => this.engine.translate(e))
  }

  /** A GET of bytes [start, end] of exactly the version the reader saw. */
  private async fetch(t: ReaderTarget, start: number, end: number): Promise<Readable> {
    const res = await this.engine.call((c) =>
      c.send(
        new GetObjectCommand({
          Bucket: t.engineBucket,
          Key: t.key,
          Range: `bytes=${start}-${end}`,
          IfMatch: `"${t.engineEtag}"`,
          ...(t.engineVid !== 'null' ? { VersionId: t.engineVid } : {}),
        }),
      ),
    )
    const body = res.Body as Readable
    body.on('error', () => {}) // a parked body may be destroyed before anyone listens
    return body
  }

  private drop(p: Pending): void {
    const set = this.byKey.get(p.id)
    if (!set) return
    set.delete(p)
    if (set.size === 0) this.byKey.delete(p.id)
  }

  /** Drops readers never opened (HEADs, tagging reads) after READER_TTL_MS; a sweep every 5 s at most. */
  private expire(): void {
    const now = Date.now()
    if (now - this.sweptAt < 5000) return
    this.sweptAt = now
    for (const [id, set] of this.byKey) {
      for (const p of set) if (p.at < now - READER_TTL_MS) set.delete(p)
      if (set.size === 0) this.byKey.delete(id)
    }
  }
}

/**
 * `prefix`, then the body `source` yields, which is asked for at the first read. Started at open(),
 * a failed fetch (a second open of a pinned reader after an overwrite: 412) destroyed the stream
 * before its caller had attached a listener, whenever the engine answered before the caller got to
 * reading, and an 'error' event nobody listens to is an uncaught exception. Started at the first
 * read, an error can only reach a consumer. Chunks are passed on as they are (no async iterator
 * joining them: see body.ts), pausing the body while the consumer is behind.
 */
export function lazyStream(prefix: Buffer, source: () => Promise<Readable>, translate: (e: unknown) => Error): Readable {
  let body: Readable | undefined
  let started = false
  const out = new Readable({
    read() {
      if (body) {
        body.resume()
        return
      }
      if (started) return
      started = true
      if (prefix.length) out.push(prefix)
      source().then(
        (b) => {
          if (out.destroyed) {
            b.destroy()
            return
          }
          body = b
          b.on('data', (c: Buffer) => {
            if (!out.push(c)) b.pause()
          })
          b.once('end', () => out.push(null))
          b.on('error', (e) => out.destroy(translate(e)))
          // A body closed short without an error would otherwise leave the consumer waiting forever.
          b.once('close', () => {
            if (!b.readableEnded && !out.destroyed) out.destroy(translate(new Error('engine response closed early')))
          })
        },
        (e: unknown) => out.destroy(e as Error),
      )
    },
    destroy(err, cb) {
      if (body && !body.readableEnded) body.destroy()
      cb(err)
    },
  })
  return out
}

/** `length` bytes of `body` after skipping `skip`; the rest of `body` is destroyed. */
function slice(body: Readable, skip: number, length: number): Readable {
  async function* take(): AsyncGenerator<Buffer> {
    let toSkip = skip
    let left = length
    try {
      for await (const chunk of body) {
        let c = chunk as Buffer
        if (toSkip) {
          if (c.length <= toSkip) {
            toSkip -= c.length
            continue
          }
          c = c.subarray(toSkip)
          toSkip = 0
        }
        if (c.length >= left) {
          yield c.subarray(0, left)
          return
        }
        left -= c.length
        yield c
      }
    } finally {
      if (!body.readableEnded) body.destroy()
    }
  }
  return Readable.from(take(), { objectMode: false })
}

export function bufferStream(b: Buffer): Readable {
  const s = new PassThrough()
  s.end(b)
  return s
}

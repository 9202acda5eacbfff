/**
 * @module Object bytes on disk for the embedded store. Keys never become paths: every blob is a
 * random id under `blobs/<2 hex>/`, so no key can reach outside the directory.
 *
 * A write goes to `tmp/<id>`, is fsynced, renamed into `blobs/`, and the directory is fsynced, all
 * before the caller commits the metadata row. A crash at any point leaves either a tmp file
 * (wiped by `open`) or an unreferenced blob (swept by `open`), never a row without its bytes.
 *
 * Readers pin the blobs they are about to stream, so a concurrent overwrite or delete defers the
 * unlink until the last reader is done instead of failing the response half-way.
 *
 * Every body is encrypted before it reaches the disk or the row (sealed-bytes.ts): `Staged.bytes`
 * of an inline body is already sealed, and a file holds only ciphertext from its first write.
 */
import { randomBytes } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { type RegionKey, readSealedRange } from './sealed-bytes.js'

/** What staging produced: small bodies stay in memory (sealed, to be stored inline), large ones in a file; `size` is the plaintext's. */
export type Staged = { kind: 'inline'; size: number; bytes: Buffer } | { kind: 'file'; size: number; blobId: string; tmpPath: string }

/** An unpinned getObject result that is never opened must not pin its blob forever. */
const PIN_TTL_MS = 60_000
const WRITE_BATCH = 256 * 1024

export class BlobFiles {
  readonly blobsDir: string
  readonly tmpDir: string
  private readonly pins = new Map<string, number>()
  private readonly deferred = new Set<string>()

  /** `keys` is the region's master key, known once the store is open. */
  constructor(
    dir: string,
    private readonly keys: () => RegionKey,
  ) {
    this.blobsDir = join(dir, 'blobs')
    this.tmpDir = join(dir, 'tmp')
  }

  /** Creates the directories, wipes staging leftovers; returns the blob ids found on disk. */
  async prepare(): Promise<string[]> {
    await rm(this.tmpDir, { recursive: true, force: true })
    await mkdir(this.tmpDir, { recursive: true })
    await mkdir(this.blobsDir, { recursive: true })
    const found: string[] = []
    for (let i = 0; i < 256; i++) {
      const sub = join(this.blobsDir, i.toString(16).padStart(2, '0'))
      await mkdir(sub, { recursive: true })
      for (const name of await readdir(sub)) found.push(name)
    }
    // The fan-out directories must themselves survive a crash before blobs are renamed into them.
    await fsyncDir(this.blobsDir)
    await fsyncDir(join(this.tmpDir, '..'))
    return found
  }

  path(blobId: string): string {
    return join(this.blobsDir, blobId.slice(0, 2), blobId)
  }

  /**
   * Drains `body`. Up to `inlineMax` bytes are kept in memory; past that, everything goes to a
   * fsynced tmp file with the stream's own backpressure. On any error the tmp file is removed.
   * `key` seals it instead of the region's key (an SSE-C customer's, RegionKey.forCustomer).
   */
  async stage(body: Readable, inlineMax: number, key: RegionKey = this.keys()): Promise<Staged> {
    const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
    const head: Buffer[] = []
    let size = 0
    try {
      // A negative limit (multipart parts) means: always a file, even when empty.
      while (inlineMax >= 0) {
        const r = await it.next()
        if (r.done) {
          return { kind: 'inline', size, bytes: key.sealWhole(head.length === 1 ? head[0]! : Buffer.concat(head, size)) }
        }
        const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
        head.push(chunk)
        size += chunk.length
        if (size > inlineMax) break
      }
    } catch (err) {
      body.destroy()
      throw err
    }
    const blobId = newBlobId()
    const tmpPath = join(this.tmpDir, blobId)
    const fh = await open(tmpPath, 'wx')
    try {
      const { header, sealer } = key.begin(Buffer.from(blobId, 'hex'))
      // Batching into writev of ~256 KiB keeps thread-pool round trips few; not pulling the next
      // chunk while a write is pending is the backpressure.
      let batch: Buffer[] = [header]
      let batched = header.length
      for (const chunk of head.splice(0)) batched += sealer.push(chunk, batch)
      for (;;) {
        const r = await it.next()
        if (!r.done) {
          const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
          size += chunk.length
          batched += sealer.push(chunk, batch)
        } else {
          batched += sealer.end(batch)
        }
        if (batched >= WRITE_BATCH || (r.done && batch.length > 0)) {
          await writeAll(fh, batch)
          batch = []
          batched = 0
        }
        if (r.done) break
      }
      await fh.sync()
    } catch (err) {
      body.destroy()
      await fh.close().catch(() => {})
      await unlink(tmpPath).catch(() => {})
      throw err
    }
    await fh.close()
    return { kind: 'file', size, blobId, tmpPath }
  }

  /** Moves a staged file into blobs/ durably (rename, then fsync of the directory entry). */
  async publish(staged: Staged & { kind: 'file' }): Promise<void> {
    const dest = this.path(staged.blobId)
    await rename(staged.tmpPath, dest)
    await fsyncDir(join(this.blobsDir, staged.blobId.slice(0, 2)))
  }

  /** Removes whatever staging left (used when finalize or the commit fails). */
  async discard(staged: Staged, published: boolean): Promise<void> {
    if (staged.kind !== 'file') return
    await unlink(published ? this.path(staged.blobId) : staged.tmpPath).catch(() => {})
  }

  /** Unlinks blobs no row references any more (the row is already gone), unless being read. */
  async remove(blobIds: Iterable<string>): Promise<void> {
    const doomed: string[] = []
    for (const id of blobIds) {
      if (this.pins.has(id)) this.deferred.add(id)
      else doomed.push(id)
    }
    await Promise.all(doomed.map((id) => unlink(this.path(id)).catch(() => {})))
  }

  /** Pins blobs until the returned release runs (or the TTL passes, if nothing ever reads). */
  pin(blobIds: string[]): () => void {
    for (const id of blobIds) this.pins.set(id, (this.pins.get(id) ?? 0) + 1)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      clearTimeout(timer)
      for (const id of blobIds) {
        const n = (this.pins.get(id) ?? 1) - 1
        if (n > 0) {
          this.pins.set(id, n)
          continue
        }
        this.pins.delete(id)
        if (this.deferred.delete(id)) void unlink(this.path(id)).catch(() => {})
      }
    }
    const timer = setTimeout(release, PIN_TTL_MS)
    timer.unref()
    return release
  }

  /**
   * Streams `segments` (blob id, the blob's plaintext size, inclusive plaintext range) in order as
   * one Readable; `release` runs once the stream ends or is destroyed. A chunk that fails its
   * check errors the stream: the reader gets an error, never other bytes.
   */
  read(segments: { blobId: string; size: number; start: number; end: number }[], release: () => void, keys: RegionKey = this.keys()): Readable {
    const paths = segments.map((s) => ({ ...s, path: this.path(s.blobId) }))
    async function* concat(): AsyncGenerator<Buffer> {
      for (const p of paths) {
        if (p.end < p.start) continue
        const fh = await open(p.path, 'r')
        try {
          yield* readSealedRange(fh, keys, Buffer.from(p.blobId, 'hex'), p.size, p.start, p.end)
        } finally {
          await fh.close()
        }
      }
    }
    const out = Readable.from(concat(), { objectMode: false })
    out.once('close', release)
    return out
  }
}

/** 32 hex digits from a CSPRNG: unguessable and collision-free in practice. */
export function newBlobId(): string {
  return randomBytes(16).toString('hex')
}

export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** A stream of exactly these bytes (not object mode, so HTTP piping treats it as bytes). */
export function bufferStream(bytes: Buffer): Readable {
  return new Readable({
    read() {
      if (bytes.length > 0) this.push(bytes)
      this.push(null)
    },
  })
}

/** writev may write less than asked (rarely, for huge batches); loop until every byte is out. */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest)
    let n = bytesWritten
    while (rest.length > 0 && n >= rest[0]!.length) {
      n -= rest[0]!.length
      rest = rest.slice(1)
    }
    if (n > 0 && rest.length > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)]
  }
}

/**
 * @module Object bytes encrypted at rest (SSE-S3 of the embedded store, docs/decisions/encryption.md).
 *
 * Envelope encryption: every stored body (an inline row, a blob file, a multipart part) has its own
 * random 256-bit data key, wrapped by the region's master key, which is itself sealed by the
 * server's sealing key (the data dir's secrets.key or --sealing-key-file) and kept in meta.db. A
 * copy of meta.db and blobs/ without the sealing key is noise.
 *
 * Layout: header (magic, 16-byte object id, wrapped data key) then AEAD chunks of plaintext, each
 * followed by its 16-byte tag. The magic names the body's format (FORMATS: the AEAD and the chunk
 * size) and is authenticated with the wrapped key, so a body cannot be made to read under another
 * format. A chunk's nonce is its index (unique because the key is used for this body only) and its
 * AAD is object id + index: chunks cannot be reordered, moved to another object or replayed from an
 * older body of the same file. The count of chunks follows from the plaintext size in the row, so a
 * truncated file fails rather than reading short. A range read decrypts only the chunks it covers;
 * memory stays at a few chunks whatever the object size. The object id of a blob file is its blob
 * id, so a file renamed over another fails its check.
 */
import { type CipherGCM, type CipherOCB, createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

const TAG = 16
const ID = 16
/** magic, object id, wrap nonce, wrapped data key, wrap tag. */
export const HEADER = 4 + ID + 12 + 32 + TAG

/**
 * How a body's chunks are sealed, by the version digit of its magic. 1 is what mrap wrote until
 * 2026-12-07 and is read forever; new bodies are written in WRITE_FORMAT. Why AES-256-OCB in 256 KiB
 * chunks: docs/decisions/encryption.md §At-rest format 2 (the figures).
 */
export interface Format {
  version: number
  cipher: 'aes-256-gcm' | 'aes-256-ocb'
  /** Plaintext bytes per chunk (the last one may be shorter). */
  chunk: number
}
export const FORMATS: Readonly<Record<number, Format>> = {
  1: { version: 1, cipher: 'aes-256-gcm', chunk: 64 * 1024 },
  2: { version: 2, cipher: 'aes-256-ocb', chunk: 256 * 1024 },
}

/** OCB is outside FIPS 140 and a Node built with OpenSSL's no-ocb lacks it: such a runtime writes format 1. */
function ocbAvailable(): boolean {
  try {
    createCipheriv('aes-256-ocb', Buffer.alloc(32), Buffer.alloc(12), { authTagLength: TAG }).final()
    return true
  } catch {
    return false
  }
}
export const WRITE_FORMAT: Format = ocbAvailable() ? FORMATS[2]! : FORMATS[1]!
/** The chunk size of bodies written now. */
export const CHUNK = WRITE_FORMAT.chunk

/** The family of a magic: region-key bodies, or an SSE-C customer's (RegionKey.forCustomer), never opened by the region key alone. */

/** The family of a magic: region-key bodies, or an SSE-C customer's (RegionKey.forCustomer), never opened by the region key alone. */
type Family = 'MRE' | 'MRC'

/** Seals short secrets under the server's key: src/iam/secret-box.ts's SecretBox fits. */
export interface KeySealer {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** The bytes a body of `size` plaintext bytes takes at rest in `format`. */
export function sealedSize(size: number, format: Format = WRITE_FORMAT): number {
  return HEADER + size + Math.ceil(size / format.chunk) * TAG
}

/**
 * Milliseconds the request thread has spent in the at-rest cipher since start (sealing and opening
 * chunks, wrapping and unwrapping data keys): `mrap_at_rest_cipher_seconds_total` on the metrics
 * port, and what bench/run.ts's SSE-S3 line divides by the server's CPU over the same requests.
 * Wall time of synchronous calls on the one JS thread: its CPU time unless the core was taken away.
 */
export const cipherClock = { sealMs: 0, openMs: 0 }

/**
 * The clock: wall time by default (cheap); the process's CPU time with MRAP_CIPHER_CLOCK=cpu, which
 * bench/run.ts sets so that time other processes took from the core is not counted as the cipher's.
 * (getrusage costs ~1 µs a call; Node 20 has no per-thread CPU clock.)
 */
const clockMs: () => number =
  process.env.MRAP_CIPHER_CLOCK === 'cpu'
    ? () => {
        const u = process.cpuUsage()
        return (u.user + u.system) / 1000
      }
    : () => performance.now()

function chunkNonce(index: number): Buffer {
  const n = Buffer.alloc(12)
  n.writeBigUInt64BE(BigInt(index), 4)
  return n
}

function chunkAad(id: Buffer, index: number): Buffer {
  const a = Buffer.allocUnsafe(ID + 8)
  id.copy(a, 0)
  a.writeBigUInt64BE(BigInt(index), ID)
  return a
}

function chunkCipher(format: Format, key: Buffer, index: number): CipherGCM | CipherOCB {
  return format.cipher === 'aes-256-ocb' ? createCipheriv(format.cipher, key, chunkNonce(index), { authTagLength: TAG }) : createCipheriv(format.cipher, key, chunkNonce(index))
}

/** A read that does not authenticate never yields bytes: the caller sees this error instead. */
export class IntegrityError extends Error {
  constructor(what: string) {
    super(`stored object bytes failed their integrity check (${what})`)
  }
}

/**
 * Streaming encryption of one body: push plaintext, collect sealed pieces. Each piece goes through
 * the current chunk's cipher as it comes (a chunk is never gathered first): no copy of the
 * plaintext, and at most one chunk's cipher state held, whatever the chunk size.
 */
export class ChunkSealer {
  private cipher: CipherGCM | CipherOCB | undefined
  private filled = 0
  private index = 0

  constructor(
    private readonly key: Buffer,
    private readonly id: Buffer,
    private readonly format: Format,
  ) {}

  /** Appends the sealed bytes now available to `out`; returns their byte count. */
  push(plain: Buffer, out: Buffer[]): number {
    const t0 = clockMs()
    const chunk = this.format.chunk
    let n = 0
    for (let off = 0; off < plain.length; ) {
      if (this.cipher === undefined) {
        this.cipher = chunkCipher(this.format, this.key, this.index)
        this.cipher.setAAD(chunkAad(this.id, this.index))
      }
      const take = Math.min(plain.length - off, chunk - this.filled)
      const sealed = this.cipher.update(take === plain.length ? plain : plain.subarray(off, off + take))
      if (sealed.length > 0) {
        out.push(sealed)
        n += sealed.length
      }
      off += take
      this.filled += take
      if (this.filled === chunk) n += this.close(out)
    }
    cipherClock.sealMs += clockMs() - t0
    return n
  }

  /** Seals the last, partial chunk (none for an empty body or a whole last chunk). */
  end(out: Buffer[]): number {
    const t0 = clockMs()
    const n = this.cipher === undefined ? 0 : this.close(out)
    cipherClock.sealMs += clockMs() - t0
    return n
  }

  private close(out: Buffer[]): number {
    const c = this.cipher!
    const tail = c.final()
    if (tail.length > 0) out.push(tail)
    out.push(c.getAuthTag())
    this.cipher = undefined
    this.filled = 0
    this.index++
    return tail.length + TAG
  }
}

/** What a body's header gives the reader: its data key, object id and format. */
export interface OpenedHeader {
  key: Buffer
  id: Buffer
  format: Format
}

function openChunk(h: OpenedHeader, index: number, sealed: Buffer): Buffer {
  const body = sealed.subarray(0, sealed.length - TAG)
  const n = chunkNonce(index)
  const d = h.format.cipher === 'aes-256-ocb' ? createDecipheriv(h.format.cipher, h.key, n, { authTagLength: TAG }) : createDecipheriv(h.format.cipher, h.key, n)
  d.setAAD(chunkAad(h.id, index))
  d.setAuthTag(sealed.subarray(sealed.length - TAG))
  try {
    const head = d.update(body)
    const tail = d.final()
    return tail.length === 0 ? head : Buffer.concat([head, tail])
  } catch {
    throw new IntegrityError(`chunk ${index}`)
  }
}

/**
 * The plaintext of the sealed chunks `first`..`last` of a body of `size` plaintext bytes, laid end
 * to end in `sealed`, one Buffer per chunk, each authenticated before it is yielded. This is all
 * the cipher work of a read (bench/sse.ts measures exactly it).
 */
export function* openChunks(h: OpenedHeader, sealed: Buffer, first: number, last: number, size: number): Generator<Buffer> {
  const chunk = h.format.chunk
  let at = 0
  for (let i = first; i <= last; i++) {
    const len = Math.min(chunk, size - i * chunk) + TAG
    if (at + len > sealed.length) throw new IntegrityError('length')
    const t0 = clockMs()
    let plain: Buffer
    try {
      plain = openChunk(h, i, sealed.subarray(at, at + len))
    } finally {
      cipherClock.openMs += clockMs() - t0
    }
    yield plain
    at += len
  }
}

/** The region's master key: wraps and unwraps the data key of every body. */
export class RegionKey {
  constructor(
    private readonly master: Buffer,
    private readonly family: Family = 'MRE',
    /** The format of new bodies; another only in tests (format 1 as older mrap wrote it). */
    private readonly writes: Format = WRITE_FORMAT,
  ) {}

  /**
   * SSE-C: the key that wraps the data keys of a customer's bodies, HKDF of the customer's key
   * salted with this region's master key. The customer key is never stored (only a salted HMAC of
   * it, s3/sse-c.ts), so without it neither a copy of the data dir with the sealing key nor mrap
   * itself can unwrap the data key; with it alone (without the sealing key) nobody can either.
   * Its own magic: a customer's body never opens under the region key, nor the reverse.
   */
  forCustomer(customerKey: Buffer): RegionKey {
    return new RegionKey(Buffer.from(hkdfSync('sha256', customerKey, this.master, 'mrap sse-c data key wrap', 32)), 'MRC', this.writes)
  }

  /** A new body: its header and its encryptor. `id` binds it to where it is stored. */
  begin(id: Buffer = randomBytes(ID)): { header: Buffer; sealer: ChunkSealer } {
    const t0 = clockMs()
    const dataKey = randomBytes(32)
    const iv = randomBytes(12)
    const magic = Buffer.from(`${this.family}${this.writes.version}`)
    const c = createCipheriv('aes-256-gcm', this.master, iv)
    c.setAAD(Buffer.concat([magic, id]))
    const wrapped = Buffer.concat([c.update(dataKey), c.final()])
    const header = Buffer.concat([magic, id, iv, wrapped, c.getAuthTag()])
    cipherClock.sealMs += clockMs() - t0
    return { header, sealer: new ChunkSealer(dataKey, id, this.writes) }
  }

  /**
   * The data key and format of a body whose header this is; `expectedId` when the location names
   * the body. The magic is the wrap's AAD with the id, so the format read is the format written.
   */
  open(header: Buffer, expectedId?: Buffer): OpenedHeader {
    const t0 = clockMs()
    try {
      return this.unwrap(header, expectedId)
    } finally {
      cipherClock.openMs += clockMs() - t0
    }
  }

  private unwrap(header: Buffer, expectedId?: Buffer): OpenedHeader {
    const magic = header.subarray(0, 4)
    const format = FORMATS[magic[3]! - 0x30]
    if (header.length < HEADER || format === undefined || magic.toString('latin1', 0, 3) !== this.family) throw new IntegrityError('header')
    const id = header.subarray(4, 4 + ID)
    if (expectedId && !id.equals(expectedId)) throw new IntegrityError('object id')
    const ivAt = 4 + ID
    const d = createDecipheriv('aes-256-gcm', this.master, header.subarray(ivAt, ivAt + 12))
    d.setAAD(header.subarray(0, 4 + ID))
    d.setAuthTag(header.subarray(ivAt + 44, ivAt + 60))
    try {
      return { key: Buffer.concat([d.update(header.subarray(ivAt + 12, ivAt + 44)), d.final()]), id: Buffer.from(id), format }
    } catch {
      throw new IntegrityError('data key')
    }
  }

  /** A whole small body, sealed in memory (inline rows). */
  sealWhole(plain: Buffer): Buffer {
    const { header, sealer } = this.begin()
    const out: Buffer[] = [header]
    sealer.push(plain, out)
    sealer.end(out)
    return Buffer.concat(out)
  }

  /** The plaintext of a body sealed whole; `size` is the plaintext length the row records. */
  openWhole(sealed: Buffer, size: number): Buffer {
    const h = this.open(sealed)
    if (sealed.length !== sealedSize(size, h.format)) throw new IntegrityError('length')
    const out = [...openChunks(h, sealed.subarray(HEADER), 0, Math.ceil(size / h.format.chunk) - 1, size)]
    return out.length === 1 ? out[0]! : Buffer.concat(out, size)
  }
}

/** Bytes read per file read: 256 KiB, as the plain read path did (4 chunks of format 1, 1 of format 2). */
const READ_BYTES = 256 * 1024

/**
 * The plaintext bytes [start, end] (inclusive) of a sealed blob file of `size` plaintext bytes,
 * named by `id`. Reads and decrypts only the chunks the range covers.
 */
export async function* readSealedRange(fh: FileHandle, keys: RegionKey, id: Buffer, size: number, start: number, end: number): AsyncGenerator<Buffer> {
  const h = keys.open(await readExactly(fh, HEADER, 0), id)
  const chunk = h.format.chunk
  const batch = Math.max(1, Math.floor(READ_BYTES / chunk))
  const first = Math.floor(start / chunk)
  const last = Math.floor(end / chunk)
  // One read buffer for the whole range: the cipher writes each chunk's plaintext to a Buffer of
  // its own, so the sealed bytes are dead once a batch is opened. Every fresh 256 KiB Buffer is
  // external memory V8 counts towards its next collection, and on a 1 MiB GET this halves them.
  let slab: Buffer | undefined
  for (let c = first; c <= last; c += batch) {
    const upto = Math.min(last, c + batch - 1)
    const plainEnd = Math.min(size, (upto + 1) * chunk)
    const length = plainEnd - c * chunk + (upto - c + 1) * TAG
    if (!slab || slab.length < length) slab = Buffer.allocUnsafe(length)
    const buf = await readExactly(fh, length, HEADER + c * (chunk + TAG), slab)
    // The plaintext offset of each piece, to cut the range's ends out of the first and last.
    let pos = c * chunk
    for (const plain of openChunks(h, buf, c, upto, size)) {
      const lo = Math.max(0, start - pos)
      const hi = Math.min(plain.length, end + 1 - pos)
      pos += plain.length
      if (hi <= lo) continue
      yield lo === 0 && hi === plain.length ? plain : plain.subarray(lo, hi)
    }
  }
}

async function readExactly(fh: FileHandle, length: number, position: number, into?: Buffer): Promise<Buffer> {
  const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got)
    if (bytesRead === 0) throw new IntegrityError('truncated file')
    got += bytesRead
  }
  return buf
}

const MASTER_CONTEXT = 'embedded-store/master-key'

/** The region's master key from meta.db, made and sealed on first open. */
export function regionKeyFrom(stored: string | undefined, sealer: KeySealer, save: (sealed: string) => void): RegionKey {
  if (stored === undefined) {
    const master = randomBytes(32)
    save(sealer.seal(master.toString('base64'), MASTER_CONTEXT))
    return new RegionKey(master)
  }
  let text: string
  try {
    text = sealer.open(stored, MASTER_CONTEXT)
  } catch {
    throw new Error('the region master key in meta.db cannot be opened with this sealing key: start with the sealing key the region was written with')
  }
  return new RegionKey(Buffer.from(text, 'base64'))
}

/**
 * A sealer for a store opened without the server's key (tests, bench, tools): a key file
 * `sealing.key` (0600) in the region's directory, as the data dir keeps its own secrets.key.
 */
export function localSealer(dir: string): KeySealer {
  const file = join(dir, 'sealing.key')
  let key: Buffer
  try {
    key = readFileSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    key = randomBytes(32)
    try {
      writeFileSync(file, key, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      key = readFileSync(file)
    }
  }
  if (key.length !== 32) throw new Error(`${file} must hold exactly 32 bytes`)
  const box = new RegionKey(key)
  return {
    seal: (plaintext, context) => box.sealWhole(Buffer.concat([Buffer.from(context + '\0'), Buffer.from(plaintext)])).toString('base64'),
    open: (sealed, context) => {
      const bytes = Buffer.from(sealed, 'base64')
      const { chunk } = box.open(bytes).format
      const plain = box.openWhole(bytes, bytes.length - HEADER - Math.ceil((bytes.length - HEADER) / (chunk + TAG)) * TAG)
      const prefix = Buffer.from(context + '\0')
      if (!plain.subarray(0, prefix.length).equals(prefix)) throw new IntegrityError('context')
      return plain.subarray(prefix.length).toString()
    },
  }
}

/**
 * The plaintext of recently read inline bodies, by row sequence number: a row's bytes never change
 * and a sequence number is never reused, so entries need no invalidation and age out. Opening costs
 * ~20 µs of CPU per small GET (two GCM contexts), a third of such a GET; this keeps the hot ones at a
 * map lookup. Plaintext in memory is what any read holds; SSE-S3 is about the bytes at rest.
 */
export class OpenedBodies {
  private readonly map = new Map<number, Buffer>()
  private bytes = 0

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  get(seq: number): Buffer | undefined {
    const b = this.map.get(seq)
    if (b !== undefined) {
      this.map.delete(seq)
      this.map.set(seq, b)
    }
    return b
  }

  set(seq: number, body: Buffer): void {
    if (this.map.has(seq) || body.length > this.maxBytes / 64) return
    this.map.set(seq, body)
    this.bytes += body.length
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break
      this.map.delete(k)
      this.bytes -= v.length
    }
  }
}

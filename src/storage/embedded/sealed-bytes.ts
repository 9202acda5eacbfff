/**
 * @module Object bytes encrypted at rest (SSE-S3 of the embedded store, docs/decisions/encryption.md).
 *
 * Envelope encryption: every stored body (an inline row, a blob file, a multipart part) has its own
 * random 256-bit data key, wrapped by the region's master key, which is itself sealed by the
 * server's sealing key (the data dir's secrets.key or --sealing-key-file) and kept in meta.db. A
 * copy of meta.db and blobs/ without the sealing key is noise.
 *
 * Layout: header (magic, 16-byte object id, wrapped data key) then AES-256-GCM chunks of 64 KiB of
 * plaintext, each followed by its 16-byte tag. A chunk's nonce is its index (unique because the key
 * is used for this body only) and its AAD is object id + index: chunks cannot be reordered, moved
 * to another object or replayed from an older body of the same file. The count of chunks follows
 * from the plaintext size in the row, so a truncated file fails rather than reading short. A range
 * read decrypts only the chunks it covers; memory stays at a few chunks whatever the object size.
 * The object id of a blob file is its blob id, so a file renamed over another fails its check.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

export const CHUNK = 64 * 1024
const TAG = 16
const MAGIC = Buffer.from('MRE1')
/** A body sealed under an SSE-C customer's key (RegionKey.forCustomer): never opened by the region key alone. */
const CUSTOMER_MAGIC = Buffer.from('MRC1')
const ID = 16
/** magic, object id, wrap nonce, wrapped data key, wrap tag. */
export const HEADER = MAGIC.length + ID + 12 + 32 + TAG

/** Seals short secrets under the server's key: src/iam/secret-box.ts's SecretBox fits. */
export interface KeySealer {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** The bytes a body of `size` plaintext bytes takes at rest. */
export function sealedSize(size: number): number {
  return HEADER + size + Math.ceil(size / CHUNK) * TAG
}

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

/** A read that does not authenticate never yields bytes: the caller sees this error instead. */
export class IntegrityError extends Error {
  constructor(what: string) {
    super(`stored object bytes failed their integrity check (${what})`)
  }
}

/** Streaming encryption of one body: push plaintext, collect sealed chunks. */
export class ChunkSealer {
  private pending: Buffer[] = []
  private pendingLen = 0
  private index = 0

  constructor(
    private readonly key: Buffer,
    private readonly id: Buffer,
  ) {}

  /** Appends the sealed chunks now complete to `out`; returns their byte count. */
  push(plain: Buffer, out: Buffer[]): number {
    this.pending.push(plain)
    this.pendingLen += plain.length
    if (this.pendingLen < CHUNK) return 0
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen)
    let off = 0
    let n = 0
    while (all.length - off >= CHUNK) {
      const sealed = this.seal(all.subarray(off, off + CHUNK))
      out.push(sealed)
      n += sealed.length
      off += CHUNK
    }
    this.pending = off < all.length ? [all.subarray(off)] : []
    this.pendingLen = all.length - off
    return n
  }

  /** Seals the last, partial chunk (none for an empty body or a whole last chunk). */
  end(out: Buffer[]): number {
    if (this.pendingLen === 0) return 0
    const sealed = this.seal(Buffer.concat(this.pending, this.pendingLen))
    this.pending = []
    this.pendingLen = 0
    out.push(sealed)
    return sealed.length
  }

  private seal(plain: Buffer): Buffer {
    const c = createCipheriv('aes-256-gcm', this.key, chunkNonce(this.index))
    c.setAAD(chunkAad(this.id, this.index))
    this.index++
    const head = c.update(plain)
    const tail = c.final()
    return Buffer.concat([head, tail, c.getAuthTag()], head.length + tail.length + TAG)
  }
}

function openChunk(key: Buffer, id: Buffer, index: number, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, chunkNonce(index))
  d.setAAD(chunkAad(id, index))
  d.setAuthTag(sealed.subarray(sealed.length - TAG))
  try {
    const head = d.update(sealed.subarray(0, sealed.length - TAG))
    const tail = d.final()
    return tail.length === 0 ? head : Buffer.concat([head, tail])
  } catch {
    throw new IntegrityError(`chunk ${index}`)
  }
}

/** The region's master key: wraps and unwraps the data key of every body. */
export class RegionKey {
  constructor(
    private readonly master: Buffer,
    private readonly magic: Buffer = MAGIC,
  ) {}

  /**
   * SSE-C: the key that wraps the data keys of a customer's bodies, HKDF of the customer's key
   * salted with this region's master key. The customer key is never stored (only a salted HMAC of
   * it, s3/sse-c.ts), so without it neither a copy of the data dir with the sealing key nor mrap
   * itself can unwrap the data key; with it alone (without the sealing key) nobody can either.
   * Its own magic: a customer's body never opens under the region key, nor the reverse.
   */
  forCustomer(customerKey: Buffer): RegionKey {
    return new RegionKey(Buffer.from(hkdfSync('sha256', customerKey, this.master, 'mrap sse-c data key wrap', 32)), CUSTOMER_MAGIC)
  }

  /** A new body: its header and its encryptor. `id` binds it to where it is stored. */
  begin(id: Buffer = randomBytes(ID)): { header: Buffer; sealer: ChunkSealer } {
    const dataKey = randomBytes(32)
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.master, iv)
    c.setAAD(Buffer.concat([this.magic, id]))
    const wrapped = Buffer.concat([c.update(dataKey), c.final()])
    const header = Buffer.concat([this.magic, id, iv, wrapped, c.getAuthTag()])
    return { header, sealer: new ChunkSealer(dataKey, id) }
  }

  /** The data key of a body whose header this is; `expectedId` when the location names the body. */
  open(header: Buffer, expectedId?: Buffer): { key: Buffer; id: Buffer } {
    if (header.length < HEADER || !header.subarray(0, MAGIC.length).equals(this.magic)) throw new IntegrityError('header')
    const id = header.subarray(MAGIC.length, MAGIC.length + ID)
    if (expectedId && !id.equals(expectedId)) throw new IntegrityError('object id')
    const ivAt = MAGIC.length + ID
    const d = createDecipheriv('aes-256-gcm', this.master, header.subarray(ivAt, ivAt + 12))
    d.setAAD(Buffer.concat([this.magic, id]))
    d.setAuthTag(header.subarray(ivAt + 44, ivAt + 60))
    try {
      return { key: Buffer.concat([d.update(header.subarray(ivAt + 12, ivAt + 44)), d.final()]), id: Buffer.from(id) }
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
    if (sealed.length !== sealedSize(size)) throw new IntegrityError('length')
    const { key, id } = this.open(sealed)
    const out: Buffer[] = []
    let at = HEADER
    for (let i = 0; at < sealed.length; i++) {
      const len = Math.min(CHUNK, size - i * CHUNK) + TAG
      out.push(openChunk(key, id, i, sealed.subarray(at, at + len)))
      at += len
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out, size)
  }
}

/** Chunks read per file read: 256 KiB, as the plain read path did. */
const READ_BATCH = 4

/**
 * The plaintext bytes [start, end] (inclusive) of a sealed blob file of `size` plaintext bytes,
 * named by `id`. Reads and decrypts only the chunks the range covers.
 */
export async function* readSealedRange(fh: FileHandle, keys: RegionKey, id: Buffer, size: number, start: number, end: number): AsyncGenerator<Buffer> {
  const header = await readExactly(fh, HEADER, 0)
  const { key } = keys.open(header, id)
  const first = Math.floor(start / CHUNK)
  const last = Math.floor(end / CHUNK)
  for (let c = first; c <= last; c += READ_BATCH) {
    const upto = Math.min(last, c + READ_BATCH - 1)
    const plainEnd = Math.min(size, (upto + 1) * CHUNK)
    const buf = await readExactly(fh, plainEnd - c * CHUNK + (upto - c + 1) * TAG, HEADER + c * (CHUNK + TAG))
    let at = 0
    for (let i = c; i <= upto; i++) {
      const len = Math.min(CHUNK, size - i * CHUNK) + TAG
      const plain = openChunk(key, id, i, buf.subarray(at, at + len))
      at += len
      const lo = i === first ? start - i * CHUNK : 0
      const hi = i === last ? end - i * CHUNK + 1 : plain.length
      yield lo === 0 && hi === plain.length ? plain : plain.subarray(lo, hi)
    }
  }
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
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
      const plain = box.openWhole(bytes, bytes.length - HEADER - Math.ceil((bytes.length - HEADER) / (CHUNK + TAG)) * TAG)
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

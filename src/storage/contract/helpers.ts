/**
 * @module Small helpers the contract cases share: bodies as streams, a caller-side finalize that
 * hashes like the S3 layer does (the store itself never hashes), reading results back, and
 * asserting S3 error codes.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { isS3Error } from '../../shared/errors.js'
import type { ByteRange, ObjectAttributes, ObjectStore, ObjectVersion, VersioningState } from '../types.js'

export type MakeStore = () => ObjectStore | Promise<ObjectStore>

export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex')
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64')
}

/** A body in `chunk`-sized pieces, as a socket would deliver it (not object mode). */
export function bodyOf(data: Buffer | string, chunk = 64 * 1024): Readable {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  let offset = 0
  return new Readable({
    read() {
      if (offset >= buf.length) {
        this.push(null)
        return
      }
      this.push(buf.subarray(offset, offset + chunk))
      offset += chunk
    },
  })
}

/** A body that delivers `good` bytes and then fails, like a client that disconnects. */
export function failingBody(good: Buffer, error = new Error('client disconnected')): Readable {
  let sent = false
  return new Readable({
    read() {
      if (!sent) {
        sent = true
        this.push(good)
        return
      }
      this.destroy(error)
    },
  })
}

export function attrs(extra: Partial<ObjectAttributes> = {}): ObjectAttributes {
  return { userMetadata: {}, tags: [], ...extra }
}

export interface PutOptions {
  versioning?: VersioningState
  attributes?: ObjectAttributes
  versionId?: string
  lastModified?: Date
}

export async function put(store: ObjectStore, bucket: string, key: string, data: Buffer | string, o: PutOptions = {}): Promise<ObjectVersion> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  return store.putObject({
    bucket,
    key,
    versioning: o.versioning ?? 'Unversioned',
    attributes: o.attributes ?? attrs(),
    body: bodyOf(buf),
    ...(o.versionId !== undefined ? { versionId: o.versionId } : {}),
    ...(o.lastModified !== undefined ? { lastModified: o.lastModified } : {}),
    finalize: ({ size }) => {
      assert.equal(size, buf.length, 'finalize sees the staged size')
      return { etag: md5(buf), checksums: { SHA256: sha256(buf) }, checksumType: 'FULL_OBJECT' }
    },
  })
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer))
  return Buffer.concat(chunks)
}

export async function getBytes(store: ObjectStore, bucket: string, key: string, versionId?: string, range?: ByteRange): Promise<{ version: ObjectVersion; bytes: Buffer }> {
  const r = await store.getObject(bucket, key, versionId)
  return { version: r.version, bytes: await readAll(r.open(range)) }
}

/** Asserts that `p` rejects with an S3Error of `code` (and these fields, when given). */
export async function rejectsWith(p: Promise<unknown>, code: string, fields?: Record<string, string | number>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isS3Error(err), `expected S3Error ${code}, got ${String(err)}`)
    assert.equal(err.code, code)
    for (const [k, v] of Object.entries(fields ?? {})) assert.equal(String(err.fields[k]), String(v), `field ${k}`)
    return true
  })
}

/** Deterministic pseudo-random bytes (fast, no CSPRNG needed for test data). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b[i] = x & 0xff
  }
  return b
}

let counter = 0
/** A bucket name no other case uses, so cases can share one store. */
export function freshBucket(label = 'b'): string {
  counter += 1
  return `${label}-${process.pid}-${counter}`
}

/** UTF-8 byte order, the order S3 lists keys in. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

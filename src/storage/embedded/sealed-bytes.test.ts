/**
 * @module The embedded store's bytes at rest (docs/decisions/encryption.md): the raw files and the
 * inline column hold no plaintext, ranges decrypt across chunk boundaries, a tampered chunk or row
 * fails the read instead of yielding other bytes, and a data dir without its sealing key opens nothing.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import { bodyOf, getBytes, put } from '../contract/helpers.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'
import { CHUNK, HEADER, localSealer, OpenedBodies, sealedSize } from './sealed-bytes.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-sealed-'))
after(() => rmSync(root, { recursive: true, force: true }))

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

/** A body whose every 64-byte window contains a marker that random ciphertext never does. */
function marked(size: number, marker: Buffer): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i += marker.length) marker.copy(b, i)
  return b
}

const attrs = { userMetadata: {}, tags: [] }

describe('embedded store: bytes encrypted at rest', () => {
  test('no stored file (blobs, parts, meta.db and its WAL) holds a plaintext marker; reads give the plaintext back', async () => {
    const dir = join(root, 'raw')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    const marker = Buffer.from(`plain-${randomBytes(8).toString('hex')}-`)
    const big = marked(3 * CHUNK + 12_345, marker)
    const small = marked(1000, marker)
    await put(s, 'b', 'big', big)
    await put(s, 'b', 'small', small)
    const up = await s.createUpload({ bucket: 'b', key: 'mp', attributes: attrs })
    await s.uploadPart({ bucket: 'b', uploadId: up.uploadId, partNumber: 1, body: bodyOf(marked(70_000, marker)), finalize: () => ({ etag: 'p', checksums: {} }) })
    await s.completeUpload({
      bucket: 'b',
      uploadId: up.uploadId,
      parts: [{ partNumber: 1, etag: 'p' }],
      versioning: 'Unversioned',
      finalize: () => ({ etag: 'm-1', checksums: {} }),
    })

    const files = filesUnder(dir)
    assert.ok(files.some((f) => f.endsWith('meta.db-wal') || f.endsWith('meta.db')))
    const blobs = files.filter((f) => f.includes(`${join('blobs', '')}`))
    assert.equal(blobs.length, 2, 'the big object and the part are files')
    for (const f of files) assert.equal(readFileSync(f).indexOf(marker), -1, `${f} holds plaintext`)
    // Same size as the format says: nothing else (no plaintext copy) is written beside the ciphertext.
    assert.ok(blobs.some((f) => statSync(f).size === sealedSize(big.length)))

    assert.ok((await getBytes(s, 'b', 'big')).bytes.equals(big))
    assert.ok((await getBytes(s, 'b', 'small')).bytes.equals(small))
    assert.ok((await getBytes(s, 'b', 'mp')).bytes.equals(marked(70_000, marker)))
    await s.close()
  })

  test('range reads decrypt only what they need, across chunk and part boundaries', async () => {
    const s = new EmbeddedObjectStore({ region: 'r', dir: join(root, 'ranges') })
    await s.open()
    const body = randomBytes(3 * CHUNK + 777)
    await put(s, 'b', 'k', body)
    const got = await s.getObject('b', 'k')
    for (const [start, end] of [
      [0, 0],
      [CHUNK - 1, CHUNK],
      [CHUNK, 2 * CHUNK - 1],
      [5, body.length - 1],
      [body.length - 1, body.length - 1],
      [100, 3 * CHUNK + 5],
    ] as const) {
      const chunks: Buffer[] = []
      for await (const c of got.open({ start, end })) chunks.push(c as Buffer)
      assert.ok(Buffer.concat(chunks).equals(body.subarray(start, end + 1)), `range ${start}-${end}`)
    }
    await s.close()
  })

  test('a tampered chunk of a file fails the read; a tampered inline row fails the GET', async () => {
    const dir = join(root, 'tamper')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    const body = randomBytes(2 * CHUNK + 10)
    await put(s, 'b', 'file', body)
    await put(s, 'b', 'inline', 'a small secret')
    await s.close()

    const [blob] = filesUnder(join(dir, 'blobs'))
    const fd = openSync(blob!, 'r+')
    const at = HEADER + CHUNK + 16 + 3 // inside the second chunk
    const one = Buffer.alloc(1)
    // Flip one bit: the length and every other chunk stay valid.
    readFileSync(blob!).copy(one, 0, at, at + 1)
    one[0] = one[0]! ^ 0x01
    writeSync(fd, one, 0, 1, at)
    closeSync(fd)
    const db = new Database(join(dir, 'meta.db'))
    db.prepare("UPDATE versions SET inline = ? WHERE key = 'inline'").run(Buffer.concat([Buffer.alloc(HEADER + 14 + 16, 7)]))
    db.close()

    await s.open()
    const got = await s.getObject('b', 'file')
    // The first chunk alone still reads: chunks are authenticated one by one.
    const first: Buffer[] = []
    for await (const c of got.open({ start: 0, end: 99 })) first.push(c as Buffer)
    assert.ok(Buffer.concat(first).equals(body.subarray(0, 100)))
    await assert.rejects(getBytes(s, 'b', 'file'), /integrity check/)
    await assert.rejects(s.getObject('b', 'inline'), /integrity check/)
    await s.close()
  })

  test('a copy of the data without its sealing key opens nothing', async () => {
    const dir = join(root, 'keyed')
    const sealer = localSealer(join(root))
    const s = new EmbeddedObjectStore({ region: 'r', dir, sealer })
    await s.open()
    await put(s, 'b', 'k', 'secret')
    await s.close()
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.key')),
      [],
      'the key lives with the server, not with the region',
    )
    const other = new EmbeddedObjectStore({ region: 'r', dir, sealer: localSealer(join(root, 'raw')) })
    await assert.rejects(other.open(), /cannot be opened with this sealing key/)
    const again = new EmbeddedObjectStore({ region: 'r', dir, sealer })
    await again.open()
    assert.equal((await getBytes(again, 'b', 'k')).bytes.toString(), 'secret')
    await again.close()
  })
})

describe('opened inline bodies', () => {
  test('a read serves the same plaintext again without the row; the cache keeps to its byte bound, oldest out first', () => {
    const c = new OpenedBodies(64 * 100)
    for (let seq = 1; seq <= 100; seq++) c.set(seq, Buffer.alloc(64, seq))
    assert.equal(c.get(1)?.[0], 1)
    c.set(101, Buffer.alloc(64, 101))
    assert.equal(c.get(2), undefined, 'the least recently used entry went')
    assert.equal(c.get(1)?.[0], 1, 'a read entry stays')
    c.set(102, Buffer.alloc(64 * 100))
    assert.equal(c.get(102), undefined, 'a body too large for the cache is not kept')
  })
})

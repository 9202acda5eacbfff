/**
 * @module The at-rest formats of sealed-bytes.ts (docs/decisions/encryption.md §At-rest format 2):
 * bodies written by an older mrap (format 1: AES-256-GCM, 64 KiB chunks) read forever; new ones are
 * format 2 (AES-256-OCB, 256 KiB chunks); in either, tampering, truncation, reordered or foreign
 * chunks, another key and another format fail instead of yielding bytes.
 */
import assert from 'node:assert/strict'
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import { bodyOf, getBytes, put } from '../contract/helpers.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'
import { FORMATS, HEADER, IntegrityError, localSealer, openChunks, RegionKey, sealedSize, WRITE_FORMAT } from './sealed-bytes.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-formats-'))
after(() => rmSync(root, { recursive: true, force: true }))

/**
 * Format 1 as mrap wrote it until 2026-12-07, from node:crypto alone (not through sealed-bytes.ts,
 * so a change there cannot change what this test calls old): magic, id, GCM-wrapped data key (AAD
 * magic + id), then AES-256-GCM chunks of 64 KiB, nonce = index, AAD = id + index.
 */
function sealV1(wrapKey: Buffer, magic: 'MRE1' | 'MRC1', id: Buffer, plain: Buffer): Buffer {
  const dataKey = randomBytes(32)
  const iv = randomBytes(12)
  const w = createCipheriv('aes-256-gcm', wrapKey, iv)
  w.setAAD(Buffer.concat([Buffer.from(magic), id]))
  const out = [Buffer.from(magic), id, iv, w.update(dataKey), w.final(), w.getAuthTag()]
  for (let i = 0, off = 0; off < plain.length; i++, off += 65536) {
    const nonce = Buffer.alloc(12)
    nonce.writeBigUInt64BE(BigInt(i), 4)
    const aad = Buffer.alloc(24)
    id.copy(aad)
    aad.writeBigUInt64BE(BigInt(i), 16)
    const c = createCipheriv('aes-256-gcm', dataKey, nonce)
    c.setAAD(aad)
    out.push(c.update(plain.subarray(off, off + 65536)), c.final(), c.getAuthTag())
  }
  return Buffer.concat(out)
}

const ssec = { userMetadata: {}, tags: [], sseCustomerAlgorithm: 'AES256' as const, sseCustomerKeyHmac: 'x:y' }

async function readRange(s: EmbeddedObjectStore, key: string, start: number, end: number, customerKey?: Buffer): Promise<Buffer> {
  const r = await s.getObject('b', key, undefined, { customerKey })
  const out: Buffer[] = []
  for await (const c of r.open({ start, end })) out.push(c as Buffer)
  return Buffer.concat(out)
}

describe('at-rest formats', () => {
  test('a data dir written in format 1 still reads (inline rows, files, SSE-C, the sealed master key); new bodies are written in format 2', async () => {
    const dir = join(root, 'v1')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    const big = randomBytes(300_000)
    const small = randomBytes(1000)
    const customerKey = randomBytes(32)
    await put(s, 'b', 'big', big)
    await put(s, 'b', 'small', small)
    await s.putObject({ bucket: 'b', key: 'ssec', versioning: 'Unversioned', attributes: ssec, body: bodyOf(big), finalize: () => ({ etag: 'e', checksums: {} }), customerKey })
    await s.close()

    // Rewrite every body, and the master key's seal, as format 1.
    const db = new Database(join(dir, 'meta.db'))
    const sealingKey = readFileSync(join(dir, 'sealing.key'))
    const { sealed } = db.prepare<[], { sealed: string }>("SELECT sealed FROM keys WHERE name = 'master'").get()!
    const masterB64 = localSealer(dir).open(sealed, 'embedded-store/master-key')
    const master = Buffer.from(masterB64, 'base64')
    const v1Seal = sealV1(sealingKey, 'MRE1', randomBytes(16), Buffer.from(`embedded-store/master-key\0${masterB64}`)).toString('base64')
    db.prepare("UPDATE keys SET sealed = ? WHERE name = 'master'").run(v1Seal)
    const path = (blob: string): string => join(dir, 'blobs', blob.slice(0, 2), blob)
    writeFileSync(path(blobIdOf(dir, 'big')), sealV1(master, 'MRE1', Buffer.from(blobIdOf(dir, 'big'), 'hex'), big))
    const customerWrap = Buffer.from(hkdfSync('sha256', customerKey, master, 'mrap sse-c data key wrap', 32))
    writeFileSync(path(blobIdOf(dir, 'ssec')), sealV1(customerWrap, 'MRC1', Buffer.from(blobIdOf(dir, 'ssec'), 'hex'), big))
    db.prepare("UPDATE versions SET inline = ? WHERE key = 'small'").run(sealV1(master, 'MRE1', randomBytes(16), small))
    db.close()
    assert.equal(
      readFileSync(path(blobIdOf(dir, 'big')))
        .subarray(0, 4)
        .toString(),
      'MRE1',
    )

    const again = new EmbeddedObjectStore({ region: 'r', dir })
    await again.open()
    assert.ok((await getBytes(again, 'b', 'big')).bytes.equals(big))
    assert.ok((await getBytes(again, 'b', 'small')).bytes.equals(small))
    for (const [start, end] of [
      [65535, 65536],
      [1000, 200_000],
      [299_999, 299_999],
    ] as const) {
      assert.ok((await readRange(again, 'big', start, end)).equals(big.subarray(start, end + 1)), `range ${start}-${end}`)
      assert.ok((await readRange(again, 'ssec', start, end, customerKey)).equals(big.subarray(start, end + 1)), `SSE-C range ${start}-${end}`)
    }
    await assert.rejects(readRange(again, 'ssec', 0, 10, randomBytes(32)), IntegrityError)

    await put(again, 'b', 'new', big)
    const fresh = readFileSync(path(blobIdOf(dir, 'new')))
    assert.equal(fresh.subarray(0, 4).toString(), `MRE${WRITE_FORMAT.version}`)
    assert.equal(WRITE_FORMAT, FORMATS[2], 'this runtime has AES-256-OCB: new bodies are format 2')
    assert.equal(fresh.length, sealedSize(big.length, FORMATS[2]))
    assert.equal(fresh.length, HEADER + 300_000 + 2 * 16, 'two chunks of 256 KiB')
    assert.ok((await getBytes(again, 'b', 'new')).bytes.equals(big))
    await again.close()
  })

  test('a file whose chunks are swapped or cut short fails its read', async () => {
    const dir = join(root, 'files')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    const chunk = WRITE_FORMAT.chunk
    const body = randomBytes(2 * chunk + 100)
    await put(s, 'b', 'k', body)
    await s.close()
    const file = join(dir, 'blobs', blobIdOf(dir, 'k').slice(0, 2), blobIdOf(dir, 'k'))
    const good = readFileSync(file)
    const c0 = good.subarray(HEADER, HEADER + chunk + 16)
    const c1 = good.subarray(HEADER + chunk + 16, HEADER + 2 * (chunk + 16))
    writeFileSync(file, Buffer.concat([good.subarray(0, HEADER), c1, c0, good.subarray(HEADER + 2 * (chunk + 16))]))
    await s.open()
    await assert.rejects(getBytes(s, 'b', 'k'), /integrity check \(chunk 0\)/)
    writeFileSync(file, good)
    assert.ok((await getBytes(s, 'b', 'k')).bytes.equals(body))
    truncateSync(file, good.length - 50)
    await assert.rejects(getBytes(s, 'b', 'k'), /integrity check \(truncated file\)/)
    await s.close()
  })

  for (const format of Object.values(FORMATS))
    test(`format ${format.version} (${format.cipher}, ${format.chunk / 1024} KiB chunks): any piece sizes round-trip; tampering, truncation, reordering, foreign chunks, another key or format fail`, () => {
      const master = randomBytes(32)
      const key = new RegionKey(master, 'MRE', format)
      const f = format.chunk
      for (const size of [0, 1, 15, 16, f - 1, f, f + 1, 3 * f + 777]) {
        const plain = randomBytes(size)
        const { header, sealer } = key.begin()
        const out = [header]
        // Pieces that straddle chunk and cipher-block boundaries, as sockets deliver them.
        for (let off = 0, i = 0; off < size; i++) {
          const n = [1, 4095, 70_000, 17][i % 4]!
          sealer.push(plain.subarray(off, off + n), out)
          off += n
        }
        sealer.end(out)
        const sealed = Buffer.concat(out)
        assert.equal(sealed.length, sealedSize(size, format), `size ${size}`)
        assert.ok(key.openWhole(sealed, size).equals(plain), `size ${size}`)
      }

      const size = 3 * f + 777
      const plain = randomBytes(size)
      const sealed = key.sealWhole(plain)
      const fails = (bytes: Buffer, what: string, k: RegionKey = key, n = size): void => assert.throws(() => k.openWhole(bytes, n), IntegrityError, what)
      const flipped = (at: number): Buffer => {
        const b = Buffer.from(sealed)
        b[at] = b[at]! ^ 0x01
        return b
      }
      for (const [at, what] of [
        [1, 'magic'],
        [10, 'object id'],
        [40, 'wrapped key'],
        [HEADER + 5, 'first chunk'],
        [HEADER + f + 3, "first chunk's tag"],
        [sealed.length - 1, "last chunk's tag"],
      ] as const)
        fails(flipped(at), what)
      const other = Buffer.from(sealed)
      other[3] = 0x30 + (format.version === 1 ? 2 : 1)
      fails(other, 'the same bytes under the other format')
      fails(sealed.subarray(0, sealed.length - 10), 'truncated')
      fails(Buffer.concat([sealed, Buffer.alloc(16)]), 'extended')
      const c = (i: number): Buffer => sealed.subarray(HEADER + i * (f + 16), HEADER + (i + 1) * (f + 16))
      fails(Buffer.concat([sealed.subarray(0, HEADER), c(1), c(0), c(2), sealed.subarray(HEADER + 3 * (f + 16))]), 'chunks swapped')
      const second = key.sealWhole(plain)
      fails(Buffer.concat([sealed.subarray(0, HEADER + f + 16), second.subarray(HEADER + f + 16)]), "another body's chunks")
      fails(sealed, 'another master key', new RegionKey(randomBytes(32), 'MRE', format))
      fails(sealed, 'a customer key', key.forCustomer(randomBytes(32)))
      // The read path's own opener checks the same, chunk by chunk.
      const h = key.open(sealed.subarray(0, HEADER))
      assert.throws(() => [...openChunks(h, Buffer.concat([c(1), c(0)]), 0, 1, size)], IntegrityError)
      assert.throws(() => [...openChunks(h, c(0).subarray(0, f), 0, 0, size)], IntegrityError)
      assert.ok(Buffer.concat([...openChunks(h, sealed.subarray(HEADER), 0, 3, size)]).equals(plain))
    })
})

function blobIdOf(dir: string, key: string): string {
  const db = new Database(join(dir, 'meta.db'), { readonly: true })
  try {
    return db.prepare<[string], { blob: string }>('SELECT blob FROM versions WHERE key = ?').get(key)!.blob
  } finally {
    db.close()
  }
}

/**
 * @module SSE-C at rest (docs/decisions/encryption.md §SSE-C): a body sealed under a customer's key
 * is ciphertext on disk, and neither the region's key nor another customer key opens it, so mrap
 * itself cannot read it back without the key the request brings. The key check a request gets
 * (HMAC, 400/403) is in src/s3/sse-c.ts; these tests go under it, to the bytes.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { S3Error } from '../../shared/errors.js'
import { bodyOf, readAll } from '../contract/helpers.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'
import { CHUNK, IntegrityError, RegionKey } from './sealed-bytes.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-ssec-'))
after(() => rmSync(root, { recursive: true, force: true }))

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

function marked(size: number, marker: Buffer): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i += marker.length) marker.copy(b, i)
  return b
}

const ssecAttrs = { userMetadata: {}, tags: [], sseCustomerAlgorithm: 'AES256' as const, sseCustomerKeyHmac: 'x:y' }

describe('SSE-C: the customer key seals the data key', () => {
  test('a body sealed for a customer opens with that key only: not the region key, not another key', () => {
    const region = new RegionKey(randomBytes(32))
    const key = randomBytes(32)
    const plain = randomBytes(CHUNK + 100)
    const sealed = region.forCustomer(key).sealWhole(plain)
    assert.deepEqual(region.forCustomer(key).openWhole(sealed, plain.length), plain)
    assert.throws(() => region.openWhole(sealed, plain.length), IntegrityError)
    assert.throws(() => region.forCustomer(randomBytes(32)).openWhole(sealed, plain.length), IntegrityError)
    // The same customer key under another region's master key opens nothing either.
    assert.throws(() => new RegionKey(randomBytes(32)).forCustomer(key).openWhole(sealed, plain.length), IntegrityError)
    // Nor does a customer key open a body the region sealed.
    assert.throws(() => region.forCustomer(key).openWhole(region.sealWhole(plain), plain.length), IntegrityError)
  })

  test('the embedded store: raw files hold no plaintext; without the key (or with another) the store cannot read the bytes', async () => {
    const dir = join(root, 'store')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    await s.createBucket('b')
    const key = randomBytes(32)
    const marker = Buffer.from(`ssec-${randomBytes(8).toString('hex')}-`)
    const bodies = { small: marked(1000, marker), big: marked(3 * CHUNK + 777, marker) }
    for (const [k, data] of Object.entries(bodies))
      await s.putObject({
        bucket: 'b',
        key: k,
        versioning: 'Unversioned',
        attributes: ssecAttrs,
        body: bodyOf(data),
        customerKey: key,
        finalize: () => ({ etag: 'e', checksums: {} }),
      })
    const up = await s.createUpload({ bucket: 'b', key: 'mp', attributes: ssecAttrs })
    await s.uploadPart({ bucket: 'b', uploadId: up.uploadId, partNumber: 1, body: bodyOf(bodies.big), customerKey: key, finalize: () => ({ etag: 'p', checksums: {} }) })
    await s.completeUpload({
      bucket: 'b',
      uploadId: up.uploadId,
      parts: [{ partNumber: 1, etag: 'p' }],
      versioning: 'Unversioned',
      finalize: () => ({ etag: 'm-1', checksums: {} }),
    })

    for (const f of filesUnder(dir)) assert.equal(readFileSync(f).indexOf(marker), -1, `${f} holds plaintext`)

    for (const [k, data] of [...Object.entries(bodies), ['mp', bodies.big] as const]) {
      // With the key: the bytes, whole and by range across a chunk boundary.
      const got = await s.getObject('b', k, undefined, { customerKey: key })
      assert.equal(got.inline, undefined, 'an SSE-C body is never handed out (or cached) already opened')
      assert.deepEqual(await readAll(got.open()), data)
      const end = Math.min(data.length - 1, CHUNK + 10)
      assert.deepEqual(await readAll(got.open({ start: 5, end })), data.subarray(5, end + 1))
      // Without it: the version is known (listing, HEAD's refusal) but its bytes are not.
      const bare = await s.getObject('b', k)
      assert.throws(
        () => bare.open(),
        (e: unknown) => e instanceof S3Error && e.code === 'InvalidRequest',
      )
      // With another key: the cryptography refuses, whatever the HMAC check above it says.
      const wrong = await s.getObject('b', k, undefined, { customerKey: randomBytes(32) })
      await assert.rejects(async () => readAll(wrong.open()), IntegrityError)
    }
    await s.close()
  })
})

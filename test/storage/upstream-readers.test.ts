/**
 * Upstream store on a real Ceph RGW: a reader that has not opened its bytes keeps the version it
 * found when a write through the store replaces or removes it (src/storage/upstream/readers.ts),
 * for ranges, versioned deletes and multipart completions too; and a completion that names only
 * some parts leaves out exactly the others. S3 behaviour copied: "If you overwrite an object, ...
 * a read ... that started before returns the old data" is how S3's strong read-after-write model
 * treats a GET in flight (Amazon S3 User Guide, "Amazon S3 data consistency model",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel), and
 * CompleteMultipartUpload assembles only the listed parts (Amazon S3 API Reference,
 * "CompleteMultipartUpload", https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { attrs, bodyOf, bytes, freshBucket, md5, put, readAll } from '../../src/storage/contract/helpers.js'
import { UpstreamObjectStore } from '../../src/storage/upstream/upstream-object-store.js'
import { type CephCluster, startCeph } from '../helpers/ceph.js'

const MiB = 1024 * 1024
const state = mkdtempSync(join(tmpdir(), 'mrap-upstream-readers-'))
let ceph: CephCluster
let store: UpstreamObjectStore
before(async () => {
  ceph = await startCeph('readers')
  store = new UpstreamObjectStore({ region: 'eu-west-1', engine: ceph.config(), stateDir: state })
  await store.open()
})
after(async () => {
  await store?.close()
  await ceph?.down()
  rmSync(state, { recursive: true, force: true })
})

test('ranges of an overwritten, then deleted object come from the old bytes', async () => {
  const b = freshBucket()
  const old = bytes(3 * MiB, 1)
  await put(store, b, 'k', old)
  const whole = await store.getObject(b, 'k')
  const across = await store.getObject(b, 'k')
  const tail = await store.getObject(b, 'k')
  await put(store, b, 'k', bytes(3 * MiB, 2))
  await store.deleteObject(b, 'k', { versioning: 'Unversioned' })
  assert.ok((await readAll(across.open({ start: 60_000, end: 70_000 }))).equals(old.subarray(60_000, 70_001)), 'a range across the first GET')
  assert.ok((await readAll(tail.open({ start: 2 * MiB, end: 3 * MiB - 2 }))).equals(old.subarray(2 * MiB, 3 * MiB - 1)), 'a range far inside')
  assert.ok((await readAll(whole.open())).equals(old))
})

test('a version deleted by id, and a key completed over, still read as found', async () => {
  const b = freshBucket()
  const old = bytes(MiB, 3)
  const v = await put(store, b, 'k', old, { versioning: 'Enabled' })
  const r = await store.getObject(b, 'k', v.versionId)
  await store.deleteObject(b, 'k', { versionId: v.versionId, versioning: 'Enabled' })
  assert.ok((await readAll(r.open())).equals(old))

  const b2 = freshBucket()
  const first = bytes(MiB, 4)
  await put(store, b2, 'k', first)
  const r2 = await store.getObject(b2, 'k')
  const up = await store.createUpload({ bucket: b2, key: 'k', attributes: attrs() })
  const data = bytes(200_000, 5)
  const p = await store.uploadPart({ bucket: b2, uploadId: up.uploadId, partNumber: 1, body: bodyOf(data), finalize: () => ({ etag: md5(data), checksums: {} }) })
  await store.completeUpload({
    bucket: b2,
    uploadId: up.uploadId,
    parts: [{ partNumber: 1, etag: p.etag }],
    versioning: 'Unversioned',
    finalize: () => ({ etag: 'x-1', checksums: {} }),
  })
  assert.ok((await readAll(r2.open())).equals(first))
  assert.ok((await readAll((await store.getObject(b2, 'k')).open())).equals(data), 'the completed object is the new one')
})

test('a completion that leaves parts out holds exactly the named parts', async () => {
  const b = freshBucket()
  const up = await store.createUpload({ bucket: b, key: 'k', attributes: attrs() })
  const data = [bytes(5 * MiB, 1), bytes(5 * MiB, 2), bytes(5 * MiB + 3, 3), bytes(777, 4), bytes(999, 5)]
  const parts = await Promise.all(
    data.map((d, i) => store.uploadPart({ bucket: b, uploadId: up.uploadId, partNumber: i + 1, body: bodyOf(d), finalize: () => ({ etag: md5(d), checksums: {} }) })),
  )
  const named = [0, 2, 3]
  const v = await store.completeUpload({
    bucket: b,
    uploadId: up.uploadId,
    parts: named.map((i) => ({ partNumber: i + 1, etag: parts[i]!.etag })),
    versioning: 'Unversioned',
    finalize: () => ({ etag: 'abc-3', checksums: {} }),
  })
  const want = Buffer.concat(named.map((i) => data[i]!))
  assert.equal(v.size, want.length)
  assert.deepEqual(
    v.parts?.map((p) => [p.partNumber, p.size]),
    named.map((i) => [i + 1, data[i]!.length]),
  )
  const got = await store.getObject(b, 'k')
  assert.equal(got.version.etag, 'abc-3')
  assert.ok((await readAll(got.open())).equals(want))
  assert.ok((await readAll(got.open({ start: 5 * MiB - 2, end: 10 * MiB + 5 }))).equals(want.subarray(5 * MiB - 2, 10 * MiB + 6)))
})

test('a reader never opened does not hold up writes; a second open never yields other bytes', async () => {
  const b = freshBucket()
  const old = bytes(MiB, 6)
  await put(store, b, 'k', old)
  const never = await store.getObject(b, 'k') // as a HEAD: found, never opened
  const twice = await store.getObject(b, 'k')
  const t0 = Date.now()
  const next = bytes(MiB, 7)
  await put(store, b, 'k', next)
  assert.ok(Date.now() - t0 < 5000, 'the write waited for response headers, not for the readers to finish')
  assert.equal(never.version.size, MiB)
  assert.ok((await readAll((await store.getObject(b, 'k')).open())).equals(next))
  // Two opens before either reads: only one may take the pinned response.
  const first = twice.open()
  const second = twice.open()
  assert.ok((await readAll(first)).equals(old))
  const again = await readAll(second).catch((e: unknown) => e)
  assert.ok(!(again instanceof Buffer) || again.equals(old), 'old bytes or an error, never the new object')
})

test('an open nobody reads yet never fails on its own; its error reaches the reader', async () => {
  const b = freshBucket()
  const old = bytes(MiB, 8)
  await put(store, b, 'k', old)
  const twice = await store.getObject(b, 'k')
  await put(store, b, 'k', bytes(MiB, 9))
  const first = twice.open()
  const second = twice.open() // no pinned response left: its bytes are gone from the engine (412)
  // Long enough for the engine to answer a GET: an error raised now, with no listener on `second`
  // yet, would be an uncaught exception (it failed this test, and would crash a server).
  await Promise.race([once(second, 'close'), new Promise((ok) => setTimeout(ok, 3000))])
  assert.equal(second.destroyed, false, 'an unread open has not failed on its own')
  assert.ok((await readAll(first)).equals(old))
  const late = await readAll(second).catch((e: unknown) => e)
  if (late instanceof Buffer) assert.ok(late.equals(old), 'old bytes or an error, never the new object')
  else assert.equal(typeof (late as { code?: unknown }).code, 'string', 'the S3 error reaches whoever reads')
})

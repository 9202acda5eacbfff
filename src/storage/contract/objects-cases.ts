/**
 * @module Contract cases: single-object PUT / GET / update / DELETE, key handling, ranges, failed
 * writes, concurrency and simulated outages.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { s3Error } from '../../shared/errors.js'
import type { ObjectStore } from '../types.js'
import { attrs, bodyOf, byteOrder, bytes, failingBody, freshBucket, getBytes, md5, put, readAll, rejectsWith, sha256 } from './helpers.js'

export function objectCases(ctx: { store: () => ObjectStore }): void {
  test('put then get returns the bytes, digests and attributes', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await s.createBucket(b)
    const data = Buffer.from('hello, world')
    const a = attrs({ contentType: 'text/plain', cacheControl: 'no-cache', userMetadata: { color: 'blue' }, tags: [{ Key: 't', Value: 'v' }] })
    const v = await put(s, b, 'greeting.txt', data, { attributes: a })
    assert.equal(v.versionId, 'null')
    assert.equal(v.isLatest, true)
    assert.equal(v.isDeleteMarker, false)
    assert.equal(v.size, data.length)
    assert.equal(v.etag, md5(data))
    assert.deepEqual(v.checksums, { SHA256: sha256(data) })
    assert.equal(v.checksumType, 'FULL_OBJECT')
    const got = await getBytes(s, b, 'greeting.txt')
    assert.deepEqual(got.bytes, data)
    assert.equal(got.version.contentType, 'text/plain')
    assert.equal(got.version.cacheControl, 'no-cache')
    assert.deepEqual(got.version.userMetadata, { color: 'blue' })
    assert.deepEqual(got.version.tags, [{ Key: 't', Value: 'v' }])
    assert.equal(got.version.lastModified.getTime(), v.lastModified.getTime())
    assert.equal(got.version.parts, undefined)
  })

  test('sizes around every threshold round-trip, including empty', async () => {
    const s = ctx.store()
    const b = freshBucket()
    for (const n of [0, 1, 4095, 65535, 65536, 65537, 300_000, 2 * 1024 * 1024 + 3]) {
      const data = bytes(n, n + 7)
      const v = await put(s, b, `size-${n}`, data)
      assert.equal(v.size, n)
      const got = await getBytes(s, b, `size-${n}`)
      assert.equal(got.bytes.length, n)
      assert.ok(got.bytes.equals(data), `size ${n} intact`)
    }
  })

  test('ranges are inclusive and work on small and large objects', async () => {
    const s = ctx.store()
    const b = freshBucket()
    for (const n of [10, 200_000]) {
      const data = bytes(n, 3)
      await put(s, b, `r${n}`, data)
      for (const [start, end] of [
        [0, 0],
        [0, n - 1],
        [n - 1, n - 1],
        [3, 7],
        [1, n - 2],
      ] as const) {
        const got = await getBytes(s, b, `r${n}`, undefined, { start, end })
        assert.ok(got.bytes.equals(data.subarray(start, end + 1)), `range ${start}-${end} of ${n}`)
      }
    }
  })

  test('odd keys are data, never paths', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const keys = [
      '../../../../etc/passwd',
      '..',
      '.',
      '/',
      '//',
      '/leading',
      'a/../../b',
      'a\\..\\b',
      'space key',
      'new\nline',
      '%2F%00',
      'ünïcödé/日本語/😀',
      'e\u0301',
      'k'.repeat(1024),
      'é'.repeat(512),
      'tab\t',
      '?query=1#frag',
    ]
    for (const [i, k] of keys.entries()) await put(s, b, k, `v${i}`)
    for (const [i, k] of keys.entries()) assert.equal((await getBytes(s, b, k)).bytes.toString(), `v${i}`, `key ${JSON.stringify(k)}`)
    const listed = await s.listObjects(b, { maxKeys: 1000 })
    assert.deepEqual(
      listed.objects.map((o) => o.key),
      [...keys].sort(byteOrder),
    )
  })

  test('an overwrite replaces the only version of an unversioned key', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'k', 'one')
    await put(s, b, 'k', bytes(100_000))
    await put(s, b, 'k', 'three')
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'three')
    const vs = await s.listVersions(b, { maxKeys: 100 })
    assert.deepEqual(
      vs.versions.map((v) => [v.key, v.versionId, v.isLatest]),
      [['k', 'null', true]],
    )
  })

  test('missing keys and versions', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await rejectsWith(s.getObject(b, 'nope'), 'NoSuchKey', { Key: 'nope' })
    await put(s, b, 'k', 'x')
    await rejectsWith(s.getObject(b, 'k', 'no-such-version'), 'NoSuchVersion')
    await rejectsWith(s.updateObject(b, 'nope', undefined, { tags: [] }), 'NoSuchKey')
  })

  test('updateObject patches attributes and keeps the bytes', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'k', 'bytes', { attributes: attrs({ contentType: 'a/b', userMetadata: { m: '1' } }) })
    const u = await s.updateObject(b, 'k', undefined, { tags: [{ Key: 'x', Value: 'y' }] })
    assert.deepEqual(u.tags, [{ Key: 'x', Value: 'y' }])
    assert.equal(u.contentType, 'a/b')
    assert.deepEqual(u.userMetadata, { m: '1' })
    const u2 = await s.updateObject(b, 'k', 'null', { tags: [], userMetadata: { n: '2' } })
    assert.deepEqual(u2.tags, [])
    assert.deepEqual(u2.userMetadata, { n: '2' })
    const got = await getBytes(s, b, 'k')
    assert.equal(got.bytes.toString(), 'bytes')
    assert.deepEqual(got.version.userMetadata, { n: '2' })
    assert.equal(got.version.etag, md5(Buffer.from('bytes')))
  })

  test('Object Lock attributes are kept with the version, small and large, and patched like the others', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await s.createBucket(b)
    const lock = { objectLockMode: 'COMPLIANCE' as const, objectLockRetainUntilDate: '2099-01-02T03:04:05.000Z', objectLockLegalHold: 'ON' as const }
    for (const [key, size] of [
      ['small', 10],
      ['large', 200 * 1024],
    ] as const) {
      await put(s, b, key, Buffer.alloc(size, 1), { attributes: attrs({ contentType: 'a/b', ...lock }) })
      const got = (await s.getObject(b, key)).version
      assert.deepEqual([got.objectLockMode, got.objectLockRetainUntilDate, got.objectLockLegalHold], ['COMPLIANCE', '2099-01-02T03:04:05.000Z', 'ON'], key)
      const u = await s.updateObject(b, key, undefined, { objectLockMode: 'GOVERNANCE', objectLockRetainUntilDate: '2100-01-01T00:00:00.000Z', objectLockLegalHold: 'OFF' })
      assert.equal(u.objectLockMode, 'GOVERNANCE')
      await s.updateObject(b, key, undefined, { objectLockMode: undefined, objectLockRetainUntilDate: undefined })
      const after = (await s.getObject(b, key)).version
      assert.deepEqual([after.objectLockMode, after.objectLockRetainUntilDate, after.objectLockLegalHold, after.contentType], [undefined, undefined, 'OFF', 'a/b'], key)
    }
  })

  test('delete in an unversioned bucket removes the object; deleting nothing succeeds', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'k', bytes(100_000))
    assert.deepEqual(await s.deleteObject(b, 'k', { versioning: 'Unversioned' }), { deleteMarker: false })
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey')
    assert.equal((await s.listVersions(b, { maxKeys: 10 })).versions.length, 0)
    assert.equal((await s.deleteObject(b, 'k', { versioning: 'Unversioned' })).deleteMarker, false)
  })

  test('a finalize that throws leaves nothing and the error propagates', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'keep', 'old')
    for (const data of [Buffer.from('small'), bytes(300_000)]) {
      for (const key of ['keep', 'new']) {
        const err = s3Error('BadDigest')
        await assert.rejects(
          s.putObject({
            bucket: b,
            key,
            versioning: 'Enabled',
            attributes: attrs(),
            body: bodyOf(data),
            finalize: () => {
              throw err
            },
          }),
          (e) => e === err,
        )
      }
    }
    assert.equal((await getBytes(s, b, 'keep')).bytes.toString(), 'old')
    await rejectsWith(s.getObject(b, 'new'), 'NoSuchKey')
    assert.equal((await s.listVersions(b, { maxKeys: 10 })).versions.length, 1)
  })

  test('a body that fails mid-stream leaves nothing', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'keep', 'old')
    for (const good of [Buffer.from('tiny'), bytes(200_000)]) {
      for (const key of ['keep', 'new']) {
        let finalized = false
        await assert.rejects(
          s.putObject({
            bucket: b,
            key,
            versioning: 'Enabled',
            attributes: attrs(),
            body: failingBody(good),
            finalize: () => {
              finalized = true
              return { etag: 'x', checksums: {} }
            },
          }),
          /client disconnected/,
        )
        assert.equal(finalized, false, 'finalize is not called for an incomplete body')
      }
    }
    assert.equal((await getBytes(s, b, 'keep')).bytes.toString(), 'old')
    await rejectsWith(s.getObject(b, 'new'), 'NoSuchKey')
  })

  test('concurrent PUTs of one key: the last commit wins whole', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const bodies = Array.from({ length: 12 }, (_, i) => bytes(i % 2 ? 150_000 + i : 100 + i, i + 1))
    await Promise.all(bodies.map((d) => put(s, b, 'hot', d)))
    const got = await getBytes(s, b, 'hot')
    assert.ok(
      bodies.some((d) => d.equals(got.bytes)),
      'the winner is one whole body',
    )
    assert.equal(got.version.etag, md5(got.bytes))
    assert.equal((await s.listVersions(b, { maxKeys: 100 })).versions.length, 1)
    await Promise.all(bodies.map((d) => put(s, b, 'hot-v', d, { versioning: 'Enabled' })))
    const vs = await s.listVersions(b, { prefix: 'hot-v', maxKeys: 100 })
    assert.equal(vs.versions.length, bodies.length)
    for (const v of vs.versions) assert.equal(md5((await getBytes(s, b, 'hot-v', v.versionId)).bytes), v.etag)
  })

  test('a reader opened before an overwrite still gets the old bytes', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const old = bytes(500_000, 1)
    await put(s, b, 'k', old)
    const r = await s.getObject(b, 'k')
    await put(s, b, 'k', bytes(500_000, 2))
    await s.deleteObject(b, 'k', { versioning: 'Unversioned' })
    assert.ok((await readAll(r.open())).equals(old))
  })

  test('replicas keep their version id and last-modified', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const when = new Date('2024-01-02T03:04:05.000Z')
    const v = await put(s, b, 'k', 'r', { versioning: 'Enabled', versionId: 'srcVersion123', lastModified: when })
    assert.equal(v.versionId, 'srcVersion123')
    const got = await getBytes(s, b, 'k', 'srcVersion123')
    assert.equal(got.version.lastModified.toISOString(), when.toISOString())
  })

  test('an outage makes every call fail with ServiceUnavailable until it ends', async (t) => {
    const s = ctx.store()
    if (!s.setAvailable) {
      t.skip('store has no setAvailable: cannot simulate an outage')
      return
    }
    const b = freshBucket()
    await put(s, b, 'k', 'v')
    assert.equal(await s.healthy(), true)
    s.setAvailable(false)
    try {
      assert.equal(await s.healthy(), false)
      await rejectsWith(s.getObject(b, 'k'), 'ServiceUnavailable')
      await rejectsWith(put(s, b, 'k2', 'v'), 'ServiceUnavailable')
      await rejectsWith(s.deleteObject(b, 'k', { versioning: 'Unversioned' }), 'ServiceUnavailable')
      await rejectsWith(s.listObjects(b, { maxKeys: 1 }), 'ServiceUnavailable')
      await rejectsWith(s.listVersions(b, { maxKeys: 1 }), 'ServiceUnavailable')
      await rejectsWith(s.createUpload({ bucket: b, key: 'm', attributes: attrs() }), 'ServiceUnavailable')
      await rejectsWith(s.listUploads(b, { maxUploads: 1 }), 'ServiceUnavailable')
      await rejectsWith(s.updateObject(b, 'k', undefined, { tags: [] }), 'ServiceUnavailable')
      await rejectsWith(s.createBucket(freshBucket()), 'ServiceUnavailable')
      await rejectsWith(s.deleteBucket(b), 'ServiceUnavailable')
    } finally {
      s.setAvailable(true)
    }
    assert.equal(await s.healthy(), true)
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'v')
  })
}

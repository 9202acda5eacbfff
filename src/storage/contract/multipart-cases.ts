/**
 * @module Contract cases: multipart uploads from creation to completion or abort, the
 * validation CompleteMultipartUpload performs, listing parts and uploads, and deleteBucket.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ObjectStore, ObjectVersion, PartInfo } from '../types.js'
import { attrs, bodyOf, bytes, freshBucket, getBytes, md5, put, rejectsWith } from './helpers.js'

const MiB = 1024 * 1024

async function part(s: ObjectStore, bucket: string, uploadId: string, partNumber: number, data: Buffer): Promise<PartInfo> {
  return s.uploadPart({
    bucket,
    uploadId,
    partNumber,
    body: bodyOf(data),
    finalize: ({ size }) => {
      assert.equal(size, data.length)
      return { etag: md5(data), checksums: { CRC32: `c${partNumber}` } }
    },
  })
}

function finalize(parts: PartInfo[]): { etag: string; checksums: Record<string, string>; checksumType: 'COMPOSITE' } {
  return { etag: `${md5(Buffer.from(parts.map((p) => p.etag).join('')))}-${parts.length}`, checksums: { CRC32: 'composite' }, checksumType: 'COMPOSITE' }
}

export function multipartCases(ctx: { store: () => ObjectStore }): void {
  test('upload, complete and read back across part boundaries', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({
      bucket: b,
      key: 'big/ob ject',
      attributes: attrs({ contentType: 'video/mp4', userMetadata: { a: '1' } }),
      checksumAlgorithm: 'CRC32',
      checksumType: 'COMPOSITE',
    })
    assert.equal(up.key, 'big/ob ject')
    assert.equal(up.checksumAlgorithm, 'CRC32')
    assert.deepEqual(await s.getUpload(b, up.uploadId), up)
    const data = [bytes(5 * MiB, 1), bytes(5 * MiB + 17, 2), bytes(1234, 3)]
    const infos = await Promise.all(data.map((d, i) => part(s, b, up.uploadId, i + 1, d)))
    assert.deepEqual(
      infos.map((p) => [p.partNumber, p.size, p.etag]),
      data.map((d, i) => [i + 1, d.length, md5(d)]),
    )
    const v = await s.completeUpload({
      bucket: b,
      uploadId: up.uploadId,
      parts: infos.map((p) => ({ partNumber: p.partNumber, etag: `"${p.etag}"` })),
      versioning: 'Unversioned',
      finalize,
    })
    const all = Buffer.concat(data)
    assert.equal(v.size, all.length)
    assert.match(v.etag, /-3$/)
    assert.equal(v.checksumType, 'COMPOSITE')
    assert.equal(v.contentType, 'video/mp4')
    assert.deepEqual(
      v.parts?.map((p) => [p.partNumber, p.size, p.etag, p.checksums.CRC32]),
      infos.map((p) => [p.partNumber, p.size, p.etag, `c${p.partNumber}`]),
    )
    const got = await getBytes(s, b, 'big/ob ject')
    assert.ok(got.bytes.equals(all))
    assert.deepEqual(got.version.userMetadata, { a: '1' })
    const edge = 5 * MiB
    for (const [start, end] of [
      [edge - 3, edge + 3],
      [edge - 1, edge - 1],
      [edge, edge],
      [0, all.length - 1],
      [edge - 10, all.length - 1],
      [2 * edge + 16, 2 * edge + 20],
      [all.length - 1, all.length - 1],
    ] as const) {
      assert.ok((await getBytes(s, b, 'big/ob ject', undefined, { start, end })).bytes.equals(all.subarray(start, end + 1)), `range ${start}-${end}`)
    }
    await rejectsWith(s.getUpload(b, up.uploadId), 'NoSuchUpload')
    assert.equal((await s.listUploads(b, { maxUploads: 10 })).uploads.length, 0)
  })

  test('re-uploading a part replaces it; unnamed parts are dropped', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    await part(s, b, up.uploadId, 1, bytes(100, 1))
    const p1 = await part(s, b, up.uploadId, 1, bytes(200, 2))
    await part(s, b, up.uploadId, 2, bytes(300, 3))
    const listed = await s.listParts(b, up.uploadId, { maxParts: 10 })
    assert.deepEqual(
      listed.parts.map((p) => [p.partNumber, p.size]),
      [
        [1, 200],
        [2, 300],
      ],
    )
    const v = await s.completeUpload({ bucket: b, uploadId: up.uploadId, parts: [{ partNumber: 1, etag: p1.etag }], versioning: 'Unversioned', finalize })
    assert.equal(v.size, 200)
    assert.ok((await getBytes(s, b, 'k')).bytes.equals(bytes(200, 2)))
    await rejectsWith(s.listParts(b, up.uploadId, { maxParts: 10 }), 'NoSuchUpload')
  })

  test('listParts pages by part number', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    for (const n of [3, 1, 10, 2, 7]) await part(s, b, up.uploadId, n, bytes(10, n))
    const seen: number[] = []
    let marker: number | undefined
    for (;;) {
      const r = await s.listParts(b, up.uploadId, { maxParts: 2, ...(marker !== undefined ? { partNumberMarker: marker } : {}) })
      seen.push(...r.parts.map((p) => p.partNumber))
      if (!r.isTruncated) break
      assert.equal(r.parts.length, 2)
      marker = r.nextPartNumberMarker
    }
    assert.deepEqual(seen, [1, 2, 3, 7, 10])
    const tail = await s.listParts(b, up.uploadId, { partNumberMarker: 7, maxParts: 5 })
    assert.deepEqual([tail.parts.map((p) => p.partNumber), tail.isTruncated], [[10], false])
  })

  test('complete rejects bad part lists and leaves the upload intact', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    const p1 = await part(s, b, up.uploadId, 1, bytes(5 * MiB, 1))
    const p2 = await part(s, b, up.uploadId, 2, bytes(1000, 2))
    const p3 = await part(s, b, up.uploadId, 3, bytes(1000, 3))
    const complete = (parts: { partNumber: number; etag: string }[]): Promise<ObjectVersion> =>
      s.completeUpload({ bucket: b, uploadId: up.uploadId, parts, versioning: 'Enabled', finalize })
    await rejectsWith(
      complete([
        { partNumber: 2, etag: p2.etag },
        { partNumber: 1, etag: p1.etag },
      ]),
      'InvalidPartOrder',
    )
    await rejectsWith(
      complete([
        { partNumber: 1, etag: p1.etag },
        { partNumber: 1, etag: p1.etag },
      ]),
      'InvalidPartOrder',
    )
    await rejectsWith(
      complete([
        { partNumber: 1, etag: p1.etag },
        { partNumber: 4, etag: p2.etag },
      ]),
      'InvalidPart',
    )
    await rejectsWith(
      complete([
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: md5(Buffer.from('wrong')) },
      ]),
      'InvalidPart',
    )
    await rejectsWith(
      complete([
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: p2.etag },
        { partNumber: 3, etag: p3.etag },
      ]),
      'EntityTooSmall',
    )
    await rejectsWith(s.completeUpload({ bucket: b, uploadId: 'nope', parts: [{ partNumber: 1, etag: p1.etag }], versioning: 'Enabled', finalize }), 'NoSuchUpload')
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey')
    assert.equal((await s.listParts(b, up.uploadId, { maxParts: 10 })).parts.length, 3)
    const v = await complete([
      { partNumber: 1, etag: p1.etag },
      { partNumber: 3, etag: p3.etag },
    ])
    assert.notEqual(v.versionId, 'null')
    assert.equal(v.size, 5 * MiB + 1000)
    assert.ok((await getBytes(s, b, 'k', v.versionId)).bytes.equals(Buffer.concat([bytes(5 * MiB, 1), bytes(1000, 3)])))
  })

  test('a write that fails does not fail writes committed alongside it', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    await part(s, b, up.uploadId, 1, bytes(10))
    const results = await Promise.allSettled([
      put(s, b, 'x', 'x'),
      s.completeUpload({ bucket: b, uploadId: up.uploadId, parts: [{ partNumber: 2, etag: 'nope' }], versioning: 'Unversioned', finalize }),
      put(s, b, 'y', 'y'),
      s.abortUpload(b, 'missing'),
      s.deleteObject(b, 'z', { versioning: 'Enabled' }),
    ])
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    )
    assert.equal((await getBytes(s, b, 'y')).bytes.toString(), 'y')
    assert.equal((await getBytes(s, b, 'x')).bytes.toString(), 'x')
    await rejectsWith(s.getObject(b, 'z'), 'NoSuchKey', { deleteMarker: 'true' })
    assert.equal((await s.listParts(b, up.uploadId, { maxParts: 10 })).parts.length, 1)
  })

  test('abort discards the upload; later calls see NoSuchUpload', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    await part(s, b, up.uploadId, 1, bytes(100))
    await s.abortUpload(b, up.uploadId)
    await rejectsWith(s.abortUpload(b, up.uploadId), 'NoSuchUpload')
    await rejectsWith(s.getUpload(b, up.uploadId), 'NoSuchUpload')
    await rejectsWith(part(s, b, up.uploadId, 2, bytes(100)), 'NoSuchUpload')
    await rejectsWith(s.abortUpload(b, 'never-existed'), 'NoSuchUpload')
    const other = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    await rejectsWith(s.getUpload(freshBucket(), other.uploadId), 'NoSuchUpload')
  })

  test('an abort while a part streams wins; the part is discarded', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    const pending = s.uploadPart({
      bucket: b,
      uploadId: up.uploadId,
      partNumber: 1,
      body: bodyOf(bytes(1000)),
      finalize: async () => {
        await s.abortUpload(b, up.uploadId)
        return { etag: 'x', checksums: {} }
      },
    })
    await rejectsWith(pending, 'NoSuchUpload')
  })

  test('parallel parts, an empty single part, and a failed part', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const up = await s.createUpload({ bucket: b, key: 'k', attributes: attrs() })
    await assert.rejects(
      s.uploadPart({
        bucket: b,
        uploadId: up.uploadId,
        partNumber: 9,
        body: bodyOf(bytes(10)),
        finalize: () => {
          throw new Error('bad digest')
        },
      }),
      /bad digest/,
    )
    const infos = await Promise.all(Array.from({ length: 8 }, (_, i) => part(s, b, up.uploadId, i + 1, bytes(1000 + i, i))))
    assert.equal((await s.listParts(b, up.uploadId, { maxParts: 100 })).parts.length, 8)
    assert.equal(new Set(infos.map((p) => p.etag)).size, 8)
    const e = await s.createUpload({ bucket: b, key: 'empty', attributes: attrs() })
    const p = await part(s, b, e.uploadId, 1, Buffer.alloc(0))
    const v = await s.completeUpload({ bucket: b, uploadId: e.uploadId, parts: [{ partNumber: 1, etag: p.etag }], versioning: 'Unversioned', finalize })
    assert.equal(v.size, 0)
    assert.equal((await getBytes(s, b, 'empty')).bytes.length, 0)
  })

  test('listUploads sorts by key then initiation and pages with markers', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const made: { key: string; uploadId: string }[] = []
    for (const key of ['b', 'a', 'b', 'dir/x', 'dir/y', 'c', 'a']) {
      made.push(await s.createUpload({ bucket: b, key, attributes: attrs() }))
    }
    const order = ['a', 'b', 'c', 'dir/x', 'dir/y'].flatMap((k) => made.filter((u) => u.key === k).map((u) => u.uploadId))
    const full = await s.listUploads(b, { maxUploads: 100 })
    assert.deepEqual(
      full.uploads.map((u) => u.uploadId),
      order,
    )
    for (const maxUploads of [1, 2, 3]) {
      const seen: string[] = []
      let keyMarker: string | undefined
      let uploadIdMarker: string | undefined
      for (;;) {
        const r = await s.listUploads(b, { maxUploads, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}) })
        seen.push(...r.uploads.map((u) => u.uploadId))
        if (!r.isTruncated) break
        keyMarker = r.nextKeyMarker
        uploadIdMarker = r.nextUploadIdMarker
      }
      assert.deepEqual(seen, order, `maxUploads ${maxUploads}`)
    }
    const rolled = await s.listUploads(b, { delimiter: '/', maxUploads: 100 })
    assert.deepEqual([rolled.uploads.map((u) => u.key), rolled.commonPrefixes], [['a', 'a', 'b', 'b', 'c'], ['dir/']])
    const pre = await s.listUploads(b, { prefix: 'dir/', maxUploads: 100 })
    assert.deepEqual(
      pre.uploads.map((u) => u.key),
      ['dir/x', 'dir/y'],
    )
    const after = await s.listUploads(b, { keyMarker: 'b', maxUploads: 100 })
    assert.deepEqual(
      after.uploads.map((u) => u.key),
      ['c', 'dir/x', 'dir/y'],
    )
    assert.deepEqual((await s.listUploads(b, { maxUploads: 0 })).uploads, [])
  })

  test('deleteBucket refuses while versions or markers remain and aborts uploads', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await s.createBucket(b)
    const v = await put(s, b, 'k', 'x', { versioning: 'Enabled' })
    await rejectsWith(s.deleteBucket(b), 'BucketNotEmpty')
    const m = await s.deleteObject(b, 'k', { versioning: 'Enabled' })
    await rejectsWith(s.deleteBucket(b), 'BucketNotEmpty')
    await s.deleteObject(b, 'k', { versionId: v.versionId, versioning: 'Enabled' })
    await rejectsWith(s.deleteBucket(b), 'BucketNotEmpty')
    await s.deleteObject(b, 'k', { versionId: m.versionId!, versioning: 'Enabled' })
    const up = await s.createUpload({ bucket: b, key: 'pending', attributes: attrs() })
    await part(s, b, up.uploadId, 1, bytes(10))
    await s.deleteBucket(b)
    await rejectsWith(s.getUpload(b, up.uploadId), 'NoSuchUpload')
    await s.createBucket(b)
    assert.deepEqual((await s.listObjects(b, { maxKeys: 10 })).objects, [])
  })
}

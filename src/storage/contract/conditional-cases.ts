/**
 * @module Contract cases: conditional writes (PutObjectInput/CompleteUploadInput `condition`),
 * judged by the store against the key's current version in the step that writes, so two
 * writers that both saw the key absent cannot both create it.
 */
import assert from 'node:assert/strict'
import type { Readable } from 'node:stream'
import { test } from 'node:test'
import type { ObjectStore, WriteCondition } from '../types.js'
import { attrs, bodyOf, bytes, freshBucket, getBytes, md5, put, rejectsWith, sha256 } from './helpers.js'

const MiB = 1024 * 1024

function putIf(
  s: ObjectStore,
  bucket: string,
  key: string,
  data: Buffer | string,
  condition: WriteCondition,
  versioning: 'Unversioned' | 'Enabled' = 'Unversioned',
  body?: Readable,
) {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  return s.putObject({
    bucket,
    key,
    versioning,
    attributes: attrs(),
    body: body ?? bodyOf(buf),
    condition,
    finalize: () => ({ etag: md5(buf), checksums: { SHA256: sha256(buf) }, checksumType: 'FULL_OBJECT' }),
  })
}

export function conditionalCases(ctx: { store: () => ObjectStore }): void {
  test('If-None-Match: a key with a current version refuses with ConditionalRequestConflict; a delete marker does not count', async () => {
    const s = ctx.store()
    const b = freshBucket('cond')
    await s.createBucket(b)
    await putIf(s, b, 'k', 'first', { ifNoneMatch: true }, 'Enabled')
    await rejectsWith(putIf(s, b, 'k', 'second', { ifNoneMatch: true }, 'Enabled'), 'ConditionalRequestConflict')
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'first')
    await s.deleteObject(b, 'k', { versioning: 'Enabled' })
    await putIf(s, b, 'k', 'after the marker', { ifNoneMatch: true }, 'Enabled')
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'after the marker')
  })

  test('If-Match: writes over the version with that ETag only', async () => {
    const s = ctx.store()
    const b = freshBucket('cond')
    await s.createBucket(b)
    const v1 = await put(s, b, 'k', 'one')
    await rejectsWith(putIf(s, b, 'absent', 'x', { ifMatch: `"${v1.etag}"` }), 'ConditionalRequestConflict')
    await rejectsWith(putIf(s, b, 'k', 'two', { ifMatch: '"0123456789abcdef0123456789abcdef"' }), 'ConditionalRequestConflict')
    const v2 = await putIf(s, b, 'k', 'two', { ifMatch: `"${v1.etag}"` })
    assert.equal(v2.etag, md5(Buffer.from('two')))
    await rejectsWith(putIf(s, b, 'k', 'three', { ifMatch: `"${v1.etag}"` }), 'ConditionalRequestConflict')
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'two')
  })

  test('concurrent If-None-Match writers of one new key: exactly one wins, whatever the body sizes', async () => {
    const s = ctx.store()
    const b = freshBucket('cond')
    await s.createBucket(b)
    const bodies = [bytes(10, 1), bytes(200_000, 2), bytes(30, 3), bytes(100_000, 4)]
    const results = await Promise.allSettled(bodies.map((d) => putIf(s, b, 'race', d, { ifNoneMatch: true })))
    const won = results.filter((r) => r.status === 'fulfilled')
    assert.equal(won.length, 1, 'one writer creates the key')
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'ConditionalRequestConflict')
    }
    const winner = (won[0] as PromiseFulfilledResult<{ etag: string }>).value
    const got = await getBytes(s, b, 'race')
    assert.equal(md5(got.bytes), winner.etag)
  })

  test('CompleteMultipartUpload with a condition that no longer holds leaves the key as it was', async () => {
    const s = ctx.store()
    const b = freshBucket('cond')
    await s.createBucket(b)
    const up = await s.createUpload({ bucket: b, key: 'mp', attributes: attrs() })
    const data = bytes(5 * MiB + 1, 9)
    const p = await s.uploadPart({ bucket: b, uploadId: up.uploadId, partNumber: 1, body: bodyOf(data), finalize: () => ({ etag: md5(data), checksums: {} }) })
    await put(s, b, 'mp', 'got there first')
    const complete = (condition: WriteCondition) =>
      s.completeUpload({
        bucket: b,
        uploadId: up.uploadId,
        parts: [{ partNumber: 1, etag: p.etag }],
        versioning: 'Unversioned',
        condition,
        finalize: (parts) => ({ etag: `${md5(Buffer.from(parts[0]!.etag))}-1`, checksums: {} }),
      })
    await rejectsWith(complete({ ifNoneMatch: true }), 'ConditionalRequestConflict')
    assert.equal((await getBytes(s, b, 'mp')).bytes.toString(), 'got there first')
    // The upload survives a refused completion, as S3's does (the client may complete it unconditionally).
    const v = await complete({ ifMatch: `"${md5(Buffer.from('got there first'))}"` })
    assert.equal(v.size, data.length)
  })
}

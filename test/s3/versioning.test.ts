/** Versioning: version ids, delete markers, ListObjectVersions, GET/HEAD/DELETE by versionId, suspended (null version). */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

describe('versioning', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer()
  })
  after(async () => {
    await s.stop()
  })

  async function versionedBucket(status: 'Enabled' | 'Suspended' = 'Enabled'): Promise<string> {
    const b = bucketName('ver')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    await s.client().send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: status } }))
    return b
  }

  test('each PUT makes a version; older versions stay readable by id', async () => {
    const b = await versionedBucket()
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'one' }))
    const v2 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'two' }))
    assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId)
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'two')
    const old = await c.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: v1.VersionId }))
    assert.equal(await old.Body!.transformToString(), 'one')
    assert.equal(old.VersionId, v1.VersionId)
    assert.equal((await c.send(new HeadObjectCommand({ Bucket: b, Key: 'k', VersionId: v1.VersionId }))).ContentLength, 3)
    const none = await failure(() => c.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: 'no-such-version' })))
    assert.ok(['NoSuchVersion', 'InvalidArgument'].includes(none.name), none.name)
  })

  test('DELETE leaves a delete marker; the key is gone from listings but versions remain', async () => {
    const b = await versionedBucket()
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'one' }))
    const del = await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }))
    assert.equal(del.DeleteMarker, true)
    assert.ok(del.VersionId)
    const e = await failure(() => c.send(new GetObjectCommand({ Bucket: b, Key: 'k' })))
    assert.equal(e.name, 'NoSuchKey')
    assert.equal((e.$response as { headers?: Record<string, string> } | undefined)?.headers?.['x-amz-delete-marker'] ?? 'true', 'true')
    assert.equal((await c.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount, 0)
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: b }))
    assert.deepEqual(
      versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]),
      [['k', v1.VersionId, false]],
    )
    assert.deepEqual(
      versions.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest]),
      [['k', del.VersionId, true]],
    )
    // GET of the marker by id is MethodNotAllowed; deleting the marker brings the object back.
    const m = await failure(() => c.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: del.VersionId })))
    assert.equal(m.$metadata.httpStatusCode, 405)
    await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: del.VersionId }))
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'one')
  })

  test('DELETE by versionId removes that version for good', async () => {
    const b = await versionedBucket()
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'one' }))
    const v2 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'two' }))
    const r = await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v2.VersionId }))
    assert.equal(r.VersionId, v2.VersionId)
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'one')
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: b }))
    assert.deepEqual(
      versions.Versions?.map((v) => v.VersionId),
      [v1.VersionId],
    )
    const multi = await c.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'k', VersionId: v1.VersionId }] } }))
    assert.equal(multi.Deleted?.[0]?.VersionId, v1.VersionId)
    assert.equal((await c.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions, undefined)
  })

  test('suspended versioning writes the null version in place and keeps older versions', async () => {
    const b = await versionedBucket()
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'versioned' }))
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }))
    const n1 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'null one' }))
    const n2 = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'null two' }))
    assert.equal(n1.VersionId, 'null')
    assert.equal(n2.VersionId, 'null')
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: b }))
    assert.deepEqual(
      versions.Versions?.map((v) => [v.VersionId, v.IsLatest]),
      [
        ['null', true],
        [v1.VersionId, false],
      ],
    )
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: 'null' }))).Body!.transformToString(), 'null two')
    const del = await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }))
    assert.equal(del.DeleteMarker, true)
    assert.equal(del.VersionId, 'null')
    const after = await c.send(new ListObjectVersionsCommand({ Bucket: b }))
    assert.deepEqual(
      after.Versions?.map((v) => v.VersionId),
      [v1.VersionId],
    )
    assert.deepEqual(
      after.DeleteMarkers?.map((m) => m.VersionId),
      ['null'],
    )
  })

  test('ListObjectVersions pages with key and version-id markers', async () => {
    const b = await versionedBucket()
    const c = s.client()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await c.send(new PutObjectCommand({ Bucket: b, Key: 'a', Body: String(i) }))).VersionId!)
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'b', Body: 'b' }))
    const p1 = await c.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2 }))
    assert.equal(p1.IsTruncated, true)
    assert.deepEqual(
      p1.Versions?.map((v) => v.VersionId),
      [ids[2], ids[1]],
    )
    const p2 = await c.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2, KeyMarker: p1.NextKeyMarker, VersionIdMarker: p1.NextVersionIdMarker }))
    assert.deepEqual(
      p2.Versions?.map((v) => [v.Key, v.VersionId ?? '']).map(([k]) => k),
      ['a', 'b'],
    )
    assert.equal(p2.Versions?.[0]?.VersionId, ids[0])
    assert.equal(p2.IsTruncated, false)
  })

  test('an unversioned bucket returns no version id and overwrites in place', async () => {
    const b = bucketName('unver')
    const c = s.client()
    await c.send(new CreateBucketCommand({ Bucket: b }))
    const p = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    assert.equal(p.VersionId, undefined)
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'y' }))
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: b }))
    assert.deepEqual(
      versions.Versions?.map((v) => v.VersionId),
      ['null'],
    )
  })
})

/**
 * @module The latest-version cache never serves a stale version: every write path of the embedded
 * store is followed by a read that must see it, with the key already cached before the write.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { bodyOf, getBytes, put, rejectsWith } from '../contract/helpers.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'
import { LatestCache } from './latest-cache.js'
import { toVersion, type VersionRow } from './rows.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-latest-cache-'))
after(() => rmSync(root, { recursive: true, force: true }))
let n = 0
async function store(): Promise<EmbeddedObjectStore> {
  const s = new EmbeddedObjectStore({ region: 'r', dir: join(root, String(++n)) })
  await s.open()
  await s.createBucket('b')
  return s
}
const text = async (s: EmbeddedObjectStore, key: string): Promise<string> => (await getBytes(s, 'b', key)).bytes.toString()

describe('latest-version cache in the embedded store', () => {
  test('overwrites, tag updates and deletes are seen by the next read', async () => {
    const s = await store()
    await put(s, 'b', 'k', 'one')
    assert.equal(await text(s, 'k'), 'one') // cached now
    await put(s, 'b', 'k', 'two')
    assert.equal(await text(s, 'k'), 'two')
    await s.updateObject('b', 'k', undefined, { tags: [{ Key: 't', Value: '1' }] })
    assert.deepEqual((await s.getObject('b', 'k')).version.tags, [{ Key: 't', Value: '1' }])
    await s.deleteObject('b', 'k', { versioning: 'Unversioned' })
    await rejectsWith(s.getObject('b', 'k'), 'NoSuchKey')
    await s.close()
  })

  test('versioned: a delete marker hides the key, deleting it (by version id) brings the previous back', async () => {
    const s = await store()
    const v1 = await put(s, 'b', 'k', 'one', { versioning: 'Enabled' })
    assert.equal(await text(s, 'k'), 'one')
    const del = await s.deleteObject('b', 'k', { versioning: 'Enabled' })
    await rejectsWith(s.getObject('b', 'k'), 'NoSuchKey', { deleteMarker: 'true', versionId: del.versionId! })
    await s.deleteObject('b', 'k', { versionId: del.versionId!, versioning: 'Enabled' })
    assert.equal((await s.getObject('b', 'k')).version.versionId, v1.versionId)
    const v2 = await put(s, 'b', 'k', 'two', { versioning: 'Enabled' })
    assert.equal(await text(s, 'k'), 'two')
    await s.deleteObject('b', 'k', { versionId: v2.versionId, versioning: 'Enabled' })
    assert.equal(await text(s, 'k'), 'one')
    await s.putDeleteMarker({ bucket: 'b', key: 'k', versionId: 'replica-marker', lastModified: new Date() })
    await rejectsWith(s.getObject('b', 'k'), 'NoSuchKey', { deleteMarker: 'true', versionId: 'replica-marker' })
    await s.close()
  })

  test('a completed multipart upload replaces a cached key; a deleted and re-created bucket starts empty', async () => {
    const s = await store()
    await put(s, 'b', 'k', 'small')
    assert.equal(await text(s, 'k'), 'small')
    const up = await s.createUpload({ bucket: 'b', key: 'k', attributes: { userMetadata: {}, tags: [] } })
    const p = await s.uploadPart({ bucket: 'b', uploadId: up.uploadId, partNumber: 1, body: bodyOf('multi'), finalize: () => ({ etag: 'e1', checksums: {} }) })
    await s.completeUpload({
      bucket: 'b',
      uploadId: up.uploadId,
      parts: [{ partNumber: 1, etag: p.etag }],
      versioning: 'Unversioned',
      finalize: () => ({ etag: 'x-1', checksums: {} }),
    })
    assert.equal(await text(s, 'k'), 'multi')
    await s.deleteObject('b', 'k', { versioning: 'Unversioned' })
    await s.deleteBucket('b')
    await s.createBucket('b')
    await rejectsWith(s.getObject('b', 'k'), 'NoSuchKey')
    await s.close()
  })

  test('a version handed out from the cache cannot be changed by its reader', async () => {
    const s = await store()
    await put(s, 'b', 'k', 'one', { attributes: { userMetadata: { a: '1' }, tags: [] } })
    await s.getObject('b', 'k')
    const v = (await s.getObject('b', 'k')).version
    assert.throws(() => {
      ;(v.userMetadata as Record<string, string>).a = '2'
    }, TypeError)
    assert.equal((await s.getObject('b', 'k')).version.userMetadata.a, '1')
    await s.close()
  })
})

describe('LatestCache limits', () => {
  const row = (seq: number, key: string, inline: number): VersionRow => ({
    seq,
    bucket: 'b',
    key,
    version_id: 'null',
    is_latest: 1,
    is_delete_marker: 0,
    size: inline,
    etag: 'e',
    last_modified_ms: 0,
    attrs: '{"userMetadata":{},"tags":[]}',
    checksums: '{}',
    checksum_type: null,
    inline: Buffer.alloc(inline),
    blob: null,
    manifest: null,
  })
  const entry = (seq: number, key: string, inline = 0) => {
    const r = row(seq, key, inline)
    return { row: r, version: toVersion(r) }
  }

  test('evicts the least recently used key past the entry limit', () => {
    const c = new LatestCache({ entries: 2, inlineBytes: 1 << 20 })
    c.set('b', 'x', entry(1, 'x'))
    c.set('b', 'y', entry(2, 'y'))
    assert.ok(c.get('b', 'x'))
    c.set('b', 'z', entry(3, 'z'))
    assert.ok(c.get('b', 'x'))
    assert.equal(c.get('b', 'y'), undefined)
    assert.equal(c.size, 2)
  })

  test('keeps inline bytes under their limit and forgets a row by its sequence number', () => {
    const c = new LatestCache({ entries: 100, inlineBytes: 1000 })
    c.set('b', 'big', entry(1, 'big', 2000))
    assert.equal(c.get('b', 'big'), undefined, 'larger than the whole budget: not cached')
    c.set('b', 'x', entry(2, 'x', 600))
    c.set('b', 'y', entry(3, 'y', 600))
    assert.equal(c.get('b', 'x'), undefined)
    assert.ok(c.get('b', 'y'))
    c.invalidateSeq(3)
    assert.equal(c.get('b', 'y'), undefined)
    assert.equal(c.size, 0)
  })
})

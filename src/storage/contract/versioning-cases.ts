/**
 * @module Contract cases: versioning Enabled / Suspended, delete markers, version ids and the
 * order of versions within a key.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ObjectStore } from '../types.js'
import { bytes, freshBucket, getBytes, put, rejectsWith } from './helpers.js'

export function versioningCases(ctx: { store: () => ObjectStore }): void {
  test('enabled: every PUT is a new version, newest first', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const ids: string[] = []
    for (const body of ['one', 'two', 'three']) ids.push((await put(s, b, 'k', body, { versioning: 'Enabled' })).versionId)
    assert.equal(new Set(ids).size, 3)
    assert.ok(!ids.includes('null'))
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'three')
    assert.equal((await getBytes(s, b, 'k', ids[0])).bytes.toString(), 'one')
    assert.equal((await getBytes(s, b, 'k', ids[1])).bytes.toString(), 'two')
    const vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => v.versionId),
      [...ids].reverse(),
    )
    assert.deepEqual(
      vs.versions.map((v) => v.isLatest),
      [true, false, false],
    )
    assert.equal((await getBytes(s, b, 'k', ids[0])).version.isLatest, false)
  })

  test('enabled: delete adds a marker that hides the key', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const v1 = await put(s, b, 'k', 'data', { versioning: 'Enabled' })
    const d = await s.deleteObject(b, 'k', { versioning: 'Enabled' })
    assert.equal(d.deleteMarker, true)
    assert.ok(d.versionId && d.versionId !== 'null' && d.versionId !== v1.versionId)
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey', { deleteMarker: 'true', versionId: d.versionId })
    await rejectsWith(s.getObject(b, 'k', d.versionId), 'MethodNotAllowed')
    await rejectsWith(s.updateObject(b, 'k', d.versionId, { tags: [] }), 'MethodNotAllowed')
    await rejectsWith(s.updateObject(b, 'k', undefined, { tags: [] }), 'NoSuchKey')
    assert.equal((await getBytes(s, b, 'k', v1.versionId)).bytes.toString(), 'data')
    assert.deepEqual((await s.listObjects(b, { maxKeys: 10 })).objects, [])
    const vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => [v.versionId, v.isDeleteMarker, v.isLatest]),
      [
        [d.versionId, true, true],
        [v1.versionId, false, false],
      ],
    )
    // Deleting a key that never existed still writes a marker, as S3 does.
    assert.equal((await s.deleteObject(b, 'ghost', { versioning: 'Enabled' })).deleteMarker, true)
  })

  test('putDeleteMarker (replication): a marker with a given id and time becomes the newest version', async (t) => {
    const s = ctx.store()
    const b = freshBucket()
    if (!s.putDeleteMarker) {
      t.diagnostic('this backend has no putDeleteMarker')
      return
    }
    const v1 = await put(s, b, 'k', 'data', { versioning: 'Enabled' })
    const when = new Date('2024-01-02T03:04:05.000Z')
    const m = await s.putDeleteMarker({
      bucket: b,
      key: 'k',
      versionId: 'replicated-marker-id',
      lastModified: when,
      attributes: { userMetadata: {}, tags: [], replicationStatus: 'REPLICA' },
    })
    assert.equal(m.isDeleteMarker, true)
    assert.equal(m.versionId, 'replicated-marker-id')
    assert.equal(m.lastModified.getTime(), when.getTime())
    assert.equal(m.replicationStatus, 'REPLICA')
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey', { deleteMarker: 'true', versionId: 'replicated-marker-id' })
    const vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => [v.versionId, v.isDeleteMarker, v.isLatest]),
      [
        ['replicated-marker-id', true, true],
        [v1.versionId, false, false],
      ],
    )
  })

  test('delete by version id is permanent, for markers too', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const v1 = await put(s, b, 'k', 'one', { versioning: 'Enabled' })
    const v2 = await put(s, b, 'k', bytes(100_000), { versioning: 'Enabled' })
    const m = await s.deleteObject(b, 'k', { versioning: 'Enabled' })
    assert.deepEqual(await s.deleteObject(b, 'k', { versionId: m.versionId!, versioning: 'Enabled' }), { versionId: m.versionId, deleteMarker: true })
    assert.ok((await getBytes(s, b, 'k')).bytes.equals(bytes(100_000)))
    assert.deepEqual(await s.deleteObject(b, 'k', { versionId: v2.versionId, versioning: 'Enabled' }), { versionId: v2.versionId, deleteMarker: false })
    await rejectsWith(s.getObject(b, 'k', v2.versionId), 'NoSuchVersion')
    const latest = await getBytes(s, b, 'k')
    assert.equal(latest.bytes.toString(), 'one')
    assert.equal(latest.version.versionId, v1.versionId)
    assert.equal(latest.version.isLatest, true)
    await s.deleteObject(b, 'k', { versionId: v1.versionId, versioning: 'Enabled' })
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey')
    assert.equal((await s.listVersions(b, { maxKeys: 10 })).versions.length, 0)
    // An absent version id deletes nothing and succeeds.
    assert.equal((await s.deleteObject(b, 'k', { versionId: v1.versionId, versioning: 'Enabled' })).deleteMarker, false)
  })

  test('suspended: the null version is replaced in place and becomes latest', async () => {
    const s = ctx.store()
    const b = freshBucket()
    await put(s, b, 'k', 'unversioned-era')
    const e1 = await put(s, b, 'k', 'enabled-1', { versioning: 'Enabled' })
    let vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => v.versionId),
      [e1.versionId, 'null'],
    )
    const n = await put(s, b, 'k', 'suspended-1', { versioning: 'Suspended' })
    assert.equal(n.versionId, 'null')
    vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => [v.versionId, v.isLatest]),
      [
        ['null', true],
        [e1.versionId, false],
      ],
    )
    assert.equal((await getBytes(s, b, 'k', 'null')).bytes.toString(), 'suspended-1')
    await put(s, b, 'k', 'suspended-2', { versioning: 'Suspended' })
    vs = await s.listVersions(b, { maxKeys: 10 })
    assert.equal(vs.versions.length, 2)
    assert.equal((await getBytes(s, b, 'k')).bytes.toString(), 'suspended-2')
    const d = await s.deleteObject(b, 'k', { versioning: 'Suspended' })
    assert.deepEqual(d, { versionId: 'null', deleteMarker: true })
    vs = await s.listVersions(b, { maxKeys: 10 })
    assert.deepEqual(
      vs.versions.map((v) => [v.versionId, v.isDeleteMarker]),
      [
        ['null', true],
        [e1.versionId, false],
      ],
    )
    await rejectsWith(s.getObject(b, 'k'), 'NoSuchKey', { deleteMarker: 'true', versionId: 'null' })
    await rejectsWith(s.getObject(b, 'k', 'null'), 'MethodNotAllowed')
    assert.equal((await getBytes(s, b, 'k', e1.versionId)).bytes.toString(), 'enabled-1')
  })

  test('updateObject addresses one version', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const v1 = await put(s, b, 'k', 'one', { versioning: 'Enabled' })
    const v2 = await put(s, b, 'k', 'two', { versioning: 'Enabled' })
    await s.updateObject(b, 'k', v1.versionId, { tags: [{ Key: 'old', Value: '1' }] })
    assert.deepEqual((await s.getObject(b, 'k', v1.versionId)).version.tags, [{ Key: 'old', Value: '1' }])
    assert.deepEqual((await s.getObject(b, 'k', v2.versionId)).version.tags, [])
    await rejectsWith(s.updateObject(b, 'k', 'missing', { tags: [] }), 'NoSuchVersion')
  })

  test('versions of many keys list keys ascending, newest first within each', async () => {
    const s = ctx.store()
    const b = freshBucket()
    const expected: [string, string][] = []
    for (const key of ['b', 'a', 'c']) {
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await put(s, b, key, `${key}${i}`, { versioning: 'Enabled' })).versionId)
      if (key !== 'c') ids.push((await s.deleteObject(b, key, { versioning: 'Enabled' })).versionId!)
      expected.push(...ids.reverse().map((id): [string, string] => [key, id]))
    }
    expected.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    const vs = await s.listVersions(b, { maxKeys: 100 })
    assert.deepEqual(
      vs.versions.map((v) => [v.key, v.versionId]),
      expected,
    )
    assert.deepEqual(
      (await s.listObjects(b, { maxKeys: 10 })).objects.map((o) => o.key),
      ['c'],
    )
  })
}

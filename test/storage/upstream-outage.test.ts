/**
 * The upstream store when its engine dies and comes back: the RGW daemons are SIGKILLed
 * (scripts/ceph-rgw.sh down), every call then fails with ServiceUnavailable (503, what the request
 * path turns into "region down") and healthy() is false; a new cluster on the same port makes
 * healthy() true again without restarting mrap's store.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { attrs, getBytes, put, rejectsWith } from '../../src/storage/contract/helpers.js'
import { UpstreamObjectStore } from '../../src/storage/upstream/upstream-object-store.js'
import { type CephCluster, startCeph } from '../helpers/ceph.js'

const state = mkdtempSync(join(tmpdir(), 'mrap-upstream-outage-'))
let ceph: CephCluster | undefined
after(async () => {
  await ceph?.down()
  rmSync(state, { recursive: true, force: true })
})

test('an engine killed is a region down; the same endpoint answering again is a region up', async () => {
  ceph = await startCeph('outage')
  const store = new UpstreamObjectStore({ region: 'eu-west-1', engine: ceph.config(), stateDir: state })
  await store.open()
  try {
    await put(store, 'b1', 'k', 'before')
    assert.equal(await store.healthy(), true)

    await ceph.down()
    const t0 = Date.now()
    await rejectsWith(store.getObject('b1', 'k'), 'ServiceUnavailable', { Region: 'eu-west-1' })
    await rejectsWith(put(store, 'b1', 'k2', 'during'), 'ServiceUnavailable')
    await rejectsWith(store.listObjects('b1', { maxKeys: 10 }), 'ServiceUnavailable')
    await rejectsWith(store.createUpload({ bucket: 'b1', key: 'm', attributes: attrs() }), 'ServiceUnavailable')
    // Answered from mrap's own records, yet it fails like the rest while the engine is down.
    await rejectsWith(store.listUploads('b1', { maxUploads: 10 }), 'ServiceUnavailable')
    await rejectsWith(store.deleteObject('b1', 'k', { versioning: 'Unversioned' }), 'ServiceUnavailable')
    assert.ok(Date.now() - t0 < 5000, 'a refused connection fails fast, not after a timeout')
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(await store.healthy(), false)

    await ceph.up()
    console.log(`# cluster restart took ${ceph.startSeconds.toFixed(1)} s`)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(await store.healthy(), true)
    // A fresh (memstore) cluster is empty: the write path creates the engine bucket again.
    await put(store, 'b1', 'k', 'after')
    assert.equal((await getBytes(store, 'b1', 'k')).bytes.toString(), 'after')
  } finally {
    await store.close()
  }
})

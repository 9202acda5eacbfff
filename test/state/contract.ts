/**
 * The behaviour every StateStore backend must meet (like src/storage/contract for ObjectStore).
 * A backend's test file calls `runStateContract(name, open)`, where `open()` returns a new store
 * instance over the same persistent state (so reopening shows what was committed).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { BucketRecord, StateChange, StateStore } from '../../src/state/state-store.js'

export type OpenStore = () => Promise<StateStore>

export const bucket = (name: string, extra: Partial<BucketRecord> = {}): BucketRecord => ({
  name,
  region: 'us-east-1',
  owner: '111122223333',
  createdAt: new Date('2026-01-02T03:04:05.678Z'),
  versioning: 'Unversioned',
  configs: {},
  ...extra,
})

export function runStateContract(name: string, open: OpenStore): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore
    before(async () => {
      store = await open()
    })
    after(async () => {
      await store.close()
    })

    it('puts, gets, lists (sorted, per namespace) and deletes records', async () => {
      await store.put('c.a', 'k2', 'two')
      await store.put('c.a', 'k1', 'one')
      await store.put('c.b', 'k1', 'other namespace')
      assert.equal(store.get('c.a', 'k1'), 'one')
      assert.deepEqual(store.list('c.a'), [
        { key: 'k1', value: 'one' },
        { key: 'k2', value: 'two' },
      ])
      await store.put('c.a', 'k1', 'uno')
      assert.equal(store.get('c.a', 'k1'), 'uno')
      await store.delete('c.a', 'k1')
      assert.equal(store.get('c.a', 'k1'), undefined)
      assert.deepEqual(store.list('c.a'), [{ key: 'k2', value: 'two' }])
      assert.equal(store.get('c.b', 'k1'), 'other namespace')
      assert.deepEqual(store.list('c.none'), [])
    })

    it('keeps bucket records field for field, dates included', async () => {
      const full = bucket('contract-full', {
        versioning: 'Enabled',
        policy: '{"Version":"2012-10-17","Statement":[]}',
        tags: [{ Key: 'a', Value: 'b' }],
        publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false },
        replication: '<ReplicationConfiguration/>',
        configs: { cors: '<CORSConfiguration/>' },
      })
      await store.putBucket(full)
      await store.putBucket(bucket('contract-a'))
      assert.deepEqual(store.getBucket('contract-full'), full)
      const names = store
        .listBuckets()
        .map((b) => b.name)
        .filter((n) => n.startsWith('contract-'))
      assert.deepEqual(names, ['contract-a', 'contract-full'])
      const reopened = await open()
      try {
        assert.deepEqual(reopened.getBucket('contract-full'), full)
        assert.ok(reopened.getBucket('contract-full')?.createdAt instanceof Date)
      } finally {
        await reopened.close()
      }
    })

    it('patches a bucket as stored: undefined removes a field; a missing bucket gives undefined', async () => {
      await store.putBucket(bucket('contract-patch', { policy: 'p', tags: [{ Key: 't', Value: 'v' }] }))
      const next = await store.updateBucket('contract-patch', { versioning: 'Enabled', policy: undefined })
      assert.equal(next?.versioning, 'Enabled')
      assert.equal('policy' in (next ?? {}), false)
      assert.deepEqual(store.getBucket('contract-patch')?.tags, [{ Key: 't', Value: 'v' }])
      assert.equal(store.getBucket('contract-patch')?.policy, undefined)
      assert.equal(await store.updateBucket('contract-nope', { versioning: 'Enabled' }), undefined)
      assert.equal(store.getBucket('contract-nope'), undefined)
      await store.deleteBucket('contract-patch')
      assert.equal(store.getBucket('contract-patch'), undefined)
    })

    it('patches configs key by key: two calls on different configurations both hold', async () => {
      await store.putBucket(bucket('contract-configs', { configs: { lifecycle: '<L/>' } }))
      await Promise.all([store.updateBucket('contract-configs', { configs: { cors: '<C/>' } }), store.updateBucket('contract-configs', { configs: { 'object-lock': '<O/>' } })])
      assert.deepEqual(store.getBucket('contract-configs')?.configs, { lifecycle: '<L/>', cors: '<C/>', 'object-lock': '<O/>' })
      await store.updateBucket('contract-configs', { configs: { cors: undefined } })
      assert.deepEqual(store.getBucket('contract-configs')?.configs, { lifecycle: '<L/>', 'object-lock': '<O/>' })
      await store.deleteBucket('contract-configs')
    })

    it('applies a batch all or nothing, guarded by expect and expectBucket', async () => {
      assert.equal(
        await store.write([
          { op: 'expect', ns: 'c.alias', key: 'x', value: undefined },
          { op: 'put', ns: 'c.alias', key: 'x', value: '1' },
          { op: 'putBucket', bucket: bucket('contract-batch') },
        ]),
        true,
      )
      assert.equal(store.get('c.alias', 'x'), '1')
      // The guard fails: neither the put nor the bucket delete may happen.
      assert.equal(
        await store.write([
          { op: 'expect', ns: 'c.alias', key: 'x', value: undefined },
          { op: 'put', ns: 'c.alias', key: 'x', value: '2' },
          { op: 'deleteBucket', name: 'contract-batch' },
        ]),
        false,
      )
      assert.equal(store.get('c.alias', 'x'), '1')
      assert.ok(store.getBucket('contract-batch'))
      assert.equal(
        await store.write([
          { op: 'expectBucket', name: 'contract-batch', exists: false },
          { op: 'put', ns: 'c.alias', key: 'y', value: 'y' },
        ]),
        false,
      )
      assert.equal(store.get('c.alias', 'y'), undefined)
      assert.equal(
        await store.write([
          { op: 'expect', ns: 'c.alias', key: 'x', value: '1' },
          { op: 'expectBucket', name: 'contract-batch', exists: true },
          { op: 'delete', ns: 'c.alias', key: 'x' },
          { op: 'deleteBucket', name: 'contract-batch' },
        ]),
        true,
      )
      assert.equal(store.get('c.alias', 'x'), undefined)
      assert.equal(store.getBucket('contract-batch'), undefined)
    })

    it('reports its own changes as local events, and stops after unsubscribe', async () => {
      const seen: StateChange[] = []
      const off = store.onChange((c) => seen.push(c))
      await store.put('c.ev', 'k', 'v')
      await store.putBucket(bucket('contract-ev'))
      await store.deleteBucket('contract-ev')
      await store.delete('c.ev', 'k')
      off()
      await store.put('c.ev', 'after', 'unsubscribed')
      const mine = seen.filter((c) => c.kind !== 'reload')
      assert.deepEqual(
        mine.map((c) => [c.kind, c.kind === 'record' ? c.value : c.bucket?.name, c.local]),
        [
          ['record', 'v', true],
          ['bucket', 'contract-ev', true],
          ['bucket', undefined, true],
          ['record', undefined, true],
        ],
      )
    })

    it('survives a throwing listener: the write still resolves and others are told', async () => {
      const seen: string[] = []
      const off1 = store.onChange(() => {
        throw new Error('consumer bug')
      })
      const off2 = store.onChange((c) => {
        if (c.kind === 'record') seen.push(c.key)
      })
      await store.put('c.ev', 'robust', '1')
      off1()
      off2()
      assert.deepEqual(seen, ['robust'])
      assert.equal(store.get('c.ev', 'robust'), '1')
    })
  })
}

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type BucketRecord, ControlStore } from './control-store.js'

function withStore(fn: (c: ControlStore, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'mrap-control-'))
  const c = new ControlStore(dir)
  try {
    fn(c, dir)
  } finally {
    c.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const bucket = (name: string, extra: Partial<BucketRecord> = {}): BucketRecord => ({
  name,
  region: 'us-east-1',
  owner: '123456789012',
  createdAt: new Date(0),
  versioning: 'Unversioned',
  configs: {},
  ...extra,
})

test('a transaction that throws leaves the bucket map as SQLite leaves its rows', () => {
  withStore((c, dir) => {
    c.putBucket(bucket('kept', { policy: 'old' }))
    c.putBucket(bucket('doomed'))
    assert.throws(
      () =>
        c.transaction(() => {
          c.putBucket(bucket('new'))
          c.updateBucket('kept', { policy: 'new' })
          c.deleteBucket('doomed')
          throw new Error('a later step of a world apply failed')
        }),
      /later step/,
    )
    assert.equal(c.getBucket('new'), undefined)
    assert.equal(c.getBucket('kept')?.policy, 'old')
    assert.ok(c.getBucket('doomed'))
    // What a restart reads from disk agrees with what the running server serves.
    const fresh = new ControlStore(dir)
    try {
      assert.deepEqual(
        fresh.listBuckets().map((b) => b.name),
        c.listBuckets().map((b) => b.name),
      )
    } finally {
      fresh.close()
    }
  })
})

test('a nested transaction that throws undoes only its own changes; the outer one commits', () => {
  withStore((c) => {
    c.transaction(() => {
      c.putBucket(bucket('outer'))
      assert.throws(() =>
        c.transaction(() => {
          c.putBucket(bucket('inner'))
          throw new Error('inner')
        }),
      )
    })
    assert.ok(c.getBucket('outer'))
    assert.equal(c.getBucket('inner'), undefined)
  })
})

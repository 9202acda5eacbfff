/**
 * @module The embedded store behind the state seam: ControlStore (one node, one SQLite file) seen
 * as a StateStore. Writes are synchronous in SQLite, so the promises are already settled when
 * returned; every change is local, so events are emitted here and never arrive from elsewhere.
 */
import type { BucketRecord } from './control-store.js'
import { ControlStore } from './control-store.js'
import { type BucketPatch, ChangeFeed, patchBucket, type StateChange, type StateOp, type StateStore } from './state-store.js'

export class SqliteStateStore implements StateStore {
  readonly backend = 'sqlite' as const
  private readonly feed = new ChangeFeed()

  constructor(private readonly control: ControlStore) {}

  static open(dataDir: string): SqliteStateStore {
    return new SqliteStateStore(new ControlStore(dataDir))
  }

  getBucket(name: string): BucketRecord | undefined {
    return this.control.getBucket(name)
  }
  listBuckets(): BucketRecord[] {
    return this.control.listBuckets()
  }
  get(ns: string, key: string): string | undefined {
    return this.control.kvGet(ns, key)
  }
  list(ns: string): { key: string; value: string }[] {
    return this.control.kvList(ns).map(({ k, v }) => ({ key: k, value: v }))
  }

  async put(ns: string, key: string, value: string): Promise<void> {
    await this.write([{ op: 'put', ns, key, value }])
  }
  async delete(ns: string, key: string): Promise<void> {
    await this.write([{ op: 'delete', ns, key }])
  }
  async putBucket(bucket: BucketRecord): Promise<void> {
    await this.write([{ op: 'putBucket', bucket }])
  }
  async deleteBucket(name: string): Promise<void> {
    await this.write([{ op: 'deleteBucket', name }])
  }

  async updateBucket(name: string, patch: BucketPatch): Promise<BucketRecord | undefined> {
    const cur = this.control.getBucket(name)
    if (!cur) return undefined
    const next = patchBucket(cur, patch)
    this.control.putBucket(next)
    this.feed.emit({ kind: 'bucket', name, bucket: next, local: true })
    return next
  }

  async write(ops: StateOp[]): Promise<boolean> {
    const changes: StateChange[] = []
    const ok = this.control.transaction(() => {
      for (const o of ops) {
        if (o.op === 'expect' && this.control.kvGet(o.ns, o.key) !== o.value) return false
        if (o.op === 'expectBucket' && (this.control.getBucket(o.name) !== undefined) !== o.exists) return false
      }
      for (const o of ops) {
        switch (o.op) {
          case 'put':
            this.control.kvPut(o.ns, o.key, o.value)
            changes.push({ kind: 'record', ns: o.ns, key: o.key, value: o.value, local: true })
            break
          case 'delete':
            this.control.kvDelete(o.ns, o.key)
            changes.push({ kind: 'record', ns: o.ns, key: o.key, value: undefined, local: true })
            break
          case 'putBucket':
            this.control.putBucket(o.bucket)
            changes.push({ kind: 'bucket', name: o.bucket.name, bucket: o.bucket, local: true })
            break
          case 'deleteBucket':
            this.control.deleteBucket(o.name)
            changes.push({ kind: 'bucket', name: o.name, bucket: undefined, local: true })
            break
          default:
            break
        }
      }
      return true
    })
    for (const c of changes) this.feed.emit(c)
    return ok
  }

  onChange(listener: (change: StateChange) => void): () => void {
    return this.feed.on(listener)
  }
  async close(): Promise<void> {
    this.control.close()
  }
}

/**
 * @module A bounded cache of each key's latest version row, decoded, for reads without a version id.
 *
 * Why: a small GET spent ~25 µs in SQLite and JSON decoding per request, more than everything else
 * the store does. The store is the only writer of its database (one server per data dir), so
 * write-through invalidation is exact: MetaDb drops a key's entry in every statement that changes
 * the key's rows, before the statement runs. Entries are filled only outside transactions, so a
 * rolled-back write can never leave its rows here. Decoded versions are deep-frozen: a caller that
 * tried to change a shared one would throw instead of corrupting later reads.
 */
import type { ObjectVersion } from '../types.js'
import type { VersionRow } from './rows.js'

export interface CachedLatest {
  row: VersionRow
  version: ObjectVersion
}

interface Slot {
  entry: CachedLatest
  hot: boolean
}

export interface LatestCacheLimits {
  /** At most this many keys. */
  entries: number
  /** At most this many bytes of inline object data in all entries together. */
  inlineBytes: number
}

export const DEFAULT_LATEST_CACHE: LatestCacheLimits = { entries: 8192, inlineBytes: 8 * 1024 * 1024 }

export class LatestCache {
  // Second-chance eviction: a hit only marks its slot; eviction walks from the oldest insertion and
  // gives marked slots another round. Moving each hit to the end of the Map (true LRU) rebuilt the
  // Map's table every few reads.
  private readonly byKey = new Map<string, Slot>()
  private readonly keyOfSeq = new Map<number, string>()
  private inlineBytes = 0

  constructor(private readonly limits: LatestCacheLimits = DEFAULT_LATEST_CACHE) {}

  get size(): number {
    return this.byKey.size
  }

  get(bucket: string, key: string): CachedLatest | undefined {
    const slot = this.byKey.get(cacheKey(bucket, key))
    if (!slot) return undefined
    slot.hot = true
    return slot.entry
  }

  set(bucket: string, key: string, entry: CachedLatest): void {
    if (this.limits.entries <= 0) return
    const bytes = entry.row.inline?.length ?? 0
    if (bytes > this.limits.inlineBytes) return
    const k = cacheKey(bucket, key)
    this.drop(k)
    deepFreeze(entry.version)
    this.byKey.set(k, { entry, hot: false })
    this.keyOfSeq.set(entry.row.seq, k)
    this.inlineBytes += bytes
    while (this.byKey.size > this.limits.entries || this.inlineBytes > this.limits.inlineBytes) {
      const oldest = this.byKey.entries().next().value
      if (oldest === undefined) break
      const [ok, slot] = oldest
      if (slot.hot && slot.entry !== entry) {
        slot.hot = false
        this.byKey.delete(ok)
        this.byKey.set(ok, slot)
        continue
      }
      this.drop(ok)
    }
  }

  /** The key's rows are about to change. */
  invalidateKey(bucket: string, key: string): void {
    this.drop(cacheKey(bucket, key))
  }

  /** A row is about to change or go; only the latest row of a key is ever cached. */
  invalidateSeq(seq: number): void {
    const k = this.keyOfSeq.get(seq)
    if (k !== undefined) this.drop(k)
  }

  clear(): void {
    this.byKey.clear()
    this.keyOfSeq.clear()
    this.inlineBytes = 0
  }

  private drop(k: string): void {
    const slot = this.byKey.get(k)
    if (!slot) return
    this.byKey.delete(k)
    this.keyOfSeq.delete(slot.entry.row.seq)
    this.inlineBytes -= slot.entry.row.inline?.length ?? 0
  }
}

// Bucket names cannot contain NUL, so the pair maps to one string without ambiguity.
function cacheKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`
}

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== 'object' || Object.isFrozen(o) || o instanceof Date || Buffer.isBuffer(o)) return o
  for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v)
  return Object.freeze(o)
}

/**
 * @module The state seam: the control state every node needs (buckets, namespaced records such as
 * MRAPs, VPCs, IAM and async operations) behind one interface, so the embedded SQLite store and
 * the shared PostgreSQL store are interchangeable (docs/decisions/shared-state.md).
 *
 * Reads are synchronous and come from memory: the S3 hot path must never wait on a database.
 * Writes are asynchronous and resolve only after the write committed; when they resolve, this
 * node's reads already show them (read-your-writes). Other nodes' writes arrive as change events.
 */
import type { BucketRecord } from './control-store.js'

export type { BlockPublicAccess, BucketRecord } from './control-store.js'

/**
 * One step of an all-or-nothing batch. `expect` and `expectBucket` are guards: if one does not
 * hold when the batch runs (under the store's write lock), nothing is written and `write`
 * resolves to false. They give callers compare-and-set across nodes (an alias not yet taken, an
 * async operation still in the state the caller saw).
 */
export type StateOp =
  | { op: 'put'; ns: string; key: string; value: string }
  | { op: 'delete'; ns: string; key: string }
  | { op: 'expect'; ns: string; key: string; value: string | undefined }
  | { op: 'putBucket'; bucket: BucketRecord }
  | { op: 'deleteBucket'; name: string }
  | { op: 'expectBucket'; name: string; exists: boolean }

/**
 * A change as the cache saw it. `local` is true for this node's own writes. `reload` means the
 * store re-read everything (it could not tell what changed, e.g. after a long disconnection), so
 * a consumer that keeps derived state must rebuild it from the store's reads.
 */
export type StateChange =
  | { kind: 'record'; ns: string; key: string; value: string | undefined; local: boolean }
  | { kind: 'bucket'; name: string; bucket: BucketRecord | undefined; local: boolean }
  | { kind: 'reload' }

/**
 * `configs` is patched key by key (an undefined value removes the key): each configuration call
 * (CORS, Object Lock, ...) names only its own entry, so two of them on one bucket, or on two
 * nodes, never undo each other.
 */
export type BucketPatch = Partial<Omit<BucketRecord, 'name' | 'configs'>> & { configs?: Record<string, string | undefined> }

export interface StateStore {
  readonly backend: 'sqlite' | 'postgres'

  getBucket(name: string): BucketRecord | undefined
  /** Sorted by name. */
  listBuckets(): BucketRecord[]
  get(ns: string, key: string): string | undefined
  /** Sorted by key. */
  list(ns: string): { key: string; value: string }[]

  put(ns: string, key: string, value: string): Promise<void>
  delete(ns: string, key: string): Promise<void>
  putBucket(bucket: BucketRecord): Promise<void>
  /**
   * Applies `patch` to the bucket as stored (not as cached), so two nodes patching different
   * fields of one bucket do not undo each other. A key whose value is undefined is removed.
   * Resolves to undefined when the bucket does not exist.
   */
  updateBucket(name: string, patch: BucketPatch): Promise<BucketRecord | undefined>
  deleteBucket(name: string): Promise<void>
  /** Runs the ops in one transaction; false when a guard failed (then nothing was written). */
  write(ops: StateOp[]): Promise<boolean>

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: (change: StateChange) => void): () => void
  close(): Promise<void>
}

/** Merges a patch the way ControlStore.updateBucket does: undefined removes the field. */
export function patchBucket(cur: BucketRecord, patch: BucketPatch): BucketRecord {
  const { configs, ...fields } = patch
  const next: BucketRecord = { ...cur, ...fields }
  for (const [k, v] of Object.entries(fields)) if (v === undefined) delete (next as unknown as Record<string, unknown>)[k]
  if (configs) {
    const merged = { ...cur.configs }
    for (const [k, v] of Object.entries(configs)) {
      if (v === undefined) delete merged[k]
      else merged[k] = v
    }
    next.configs = merged
  }
  return next
}

/** A small fan-out both stores share; a throwing listener must not stop the others or the write. */
export class ChangeFeed {
  private readonly listeners = new Set<(c: StateChange) => void>()
  on(listener: (c: StateChange) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
  emit(change: StateChange): void {
    for (const l of this.listeners) {
      try {
        l(change)
      } catch {
        /* a consumer's bug is its own; the write already committed */
      }
    }
  }
}

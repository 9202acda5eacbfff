/**
 * @module What the upstream store's parts (reads.ts, writes.ts, deletes.ts, listings.ts,
 * multipart.ts) need from the store itself. It sits below upstream-object-store.ts so that the
 * store can use its parts without the parts importing the store (scripts/import-cycles.mjs).
 */

import type { WriteCondition } from '../types.js'
import type { EngineBuckets } from './buckets.js'
import type { Engine } from './engine.js'
import type { Sidecar } from './sidecar.js'

export interface StoreCore {
  readonly region: string
  readonly engine: Engine
  readonly buckets: EngineBuckets
  /** Bodies and objects up to this size travel in one buffer. */
  readonly smallLimit: number
  /** Where bodies of unknown size are spooled. */
  readonly tmpDir: string
  /** The sidecar, or ServiceUnavailable while the store is down or not open. */
  live(): Sidecar
  engineBucket(bucket: string): string
  /** The engine's id for an mrap version id: a preserved (replica) id maps through the sidecar. */
  engineVid(bucket: string, key: string, versionId: string): Promise<string>
  /**
   * Called before a write can replace or remove what `key` holds on the engine: readers that
   * have not opened their bytes yet get them pinned first (readers.ts).
   */
  pinReaders(engineBucket: string, key: string): Promise<void>
  /** Enters a write of `key` (judging `condition` first); the returned function leaves it. */
  enterKey(bucket: string, key: string, condition: WriteCondition | undefined): Promise<() => void>
}

/**
 * @module A world bucket's default encryption (`encryption:`), applied to and exported from the
 * bucket record's configs as PutBucketEncryption keeps them (src/s3/ops/encryption.ts), so that S3,
 * `mrap explain` and `mrap lint` read one shape.
 */
import { ENCRYPTION_CONFIG, type StoredEncryption } from '../s3/ops/encryption.js'
import type { BucketRecord } from '../state/control-store.js'
import type { WorldBucket } from './schema.js'

/** What PutBucketEncryption would store for the world's `encryption:`; undefined when it is left out. */
export function worldEncryption(b: Pick<WorldBucket, 'encryption'>): StoredEncryption | undefined {
  const e = b.encryption
  if (e === undefined) return undefined
  if (e === 'AES256') return { bucketKeyEnabled: false }
  return { bucketKeyEnabled: e.bucketKey, algorithm: e.algorithm, ...(e.key !== undefined ? { kmsKeyId: e.key } : {}) }
}

/** Sets `next`'s default encryption from the world bucket, where the world says one. */
export function applyBucketEncryption(b: WorldBucket, next: BucketRecord): void {
  const stored = worldEncryption(b)
  if (stored) next.configs = { ...next.configs, [ENCRYPTION_CONFIG]: JSON.stringify(stored) }
}

/** The world form of a bucket's default encryption; nothing for a bucket on S3's default. */
export function exportBucketEncryption(rec: BucketRecord, out: Record<string, unknown>): void {
  const raw = rec.configs[ENCRYPTION_CONFIG]
  if (raw === undefined) return
  const s = JSON.parse(raw) as StoredEncryption
  // SSE-S3 exports as `AES256` even with BucketKeyEnabled: S3 keeps that flag there but does nothing with it.
  out.encryption = s.algorithm === undefined ? 'AES256' : { algorithm: s.algorithm, ...(s.kmsKeyId !== undefined ? { key: s.kmsKeyId } : {}), bucketKey: s.bucketKeyEnabled }
}

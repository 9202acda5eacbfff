/**
 * @module Applying a world to the running state: creates what it declares and does not exist yet.
 * Applying the same world twice changes nothing.
 */
import type { Services } from '../services.js'
import type { World } from './schema.js'

const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }

export async function applyWorld(s: Services, world: World): Promise<void> {
  for (const b of world.buckets) {
    if (s.control.getBucket(b.name)) continue
    const store = s.stores.get(b.region)
    if (!store) throw new Error(`bucket ${b.name}: region ${b.region} is not declared in the world`)
    await store.createBucket(b.name)
    const rec = {
      name: b.name, region: b.region, owner: b.owner, createdAt: s.clock(),
      versioning: b.versioning ?? 'Unversioned', configs: {},
      publicAccessBlock: b.blockPublicAccess ?? ALL_ON,
    } as const
    s.control.putBucket({ ...rec })
    if (b.policy !== undefined) {
      const text = typeof b.policy === 'string' ? b.policy : JSON.stringify(b.policy)
      const verdict = s.validateBucketPolicy ? s.validateBucketPolicy(text, b.name) : undefined
      if (verdict) s.log.warn({ bucket: b.name, reason: verdict }, 'the world\'s bucket policy is one S3 would refuse; the bucket runs without it (mrap lint explains)')
      else s.control.updateBucket(b.name, { policy: text })
    }
  }
}

/**
 * @module MRAPs declared in a world file (`mraps:`), created directly (no async operation) and
 * idempotently: an MRAP whose name the owner already has is left alone, and an alias that was ever
 * retired is never brought back (aliases are "unique throughout time"), so applying the world on
 * every start changes nothing once it is in place.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-naming.html
 */
import { z } from 'zod'
import type { Services } from '../services.js'
import type { MrapRecord } from '../mrap/registry.js'
import { mrapArn } from '../mrap/registry.js'
import { MRAP_NAME } from './requests.js'
import { resolveBuckets } from './worker.js'

const bpa = z.object({
  BlockPublicAcls: z.boolean().default(false),
  IgnorePublicAcls: z.boolean().default(false),
  BlockPublicPolicy: z.boolean().default(false),
  RestrictPublicBuckets: z.boolean().default(false),
})

const bucketRef = z.union([
  z.string().min(3),
  z.object({ bucket: z.string().min(3), bucketAccountId: z.string().regex(/^\d{12}$/).optional(), trafficDialPercentage: z.union([z.literal(0), z.literal(100)]).optional() }),
])

export const worldMrapSchema = z.object({
  name: z.string().regex(MRAP_NAME, 'an MRAP name is 3-50 lower-case letters, digits and hyphens'),
  alias: z.string().regex(/^[a-z][a-z0-9]{1,57}\.mrap$/, 'an alias looks like mfzwi23gnjvgw.mrap').optional(),
  owner: z.string().regex(/^\d{12}$/),
  buckets: z.array(bucketRef).min(1),
  blockPublicAccess: bpa.optional(),
  policy: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
}).passthrough()

export type WorldMrap = z.infer<typeof worldMrapSchema>

/** Synchronous, so that the world's apply can run it inside its one transaction. */
export function applyWorldMraps(s: Services, declared: readonly unknown[] | undefined): void {
  for (const [i, raw] of (declared ?? []).entries()) {
    const parsed = worldMrapSchema.safeParse(raw)
    if (!parsed.success) throw new Error(`world: mraps[${i}]: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`)
    const m = parsed.data
    if (s.mraps.byName(m.owner, m.name)) continue
    if (m.alias !== undefined && s.mraps.known(m.alias)) {
      s.log.warn({ mrap: m.name, alias: m.alias }, 'the world declares an MRAP whose alias was retired; aliases are never reissued, so it is not recreated')
      continue
    }
    const refs = m.buckets.map((b) => (typeof b === 'string' ? { bucket: b } : b))
    const regions = resolveBuckets(s, m.owner, refs.map((r) => {
      const owner = r.bucketAccountId ?? s.control.getBucket(r.bucket)?.owner
      return owner !== undefined && owner !== m.owner ? { bucket: r.bucket, bucketAccountId: owner } : { bucket: r.bucket }
    }))
    if (!Array.isArray(regions)) throw new Error(`world: MRAP ${m.name}: ${regions.code}: ${regions.message}${regions.resource ? ` (${regions.resource})` : ''}`)
    for (const r of refs) {
      if (typeof r === 'object' && 'trafficDialPercentage' in r && r.trafficDialPercentage !== undefined) {
        const route = regions.find((x) => x.bucket === r.bucket)
        if (route) route.trafficDialPercentage = r.trafficDialPercentage
      }
    }
    const rec: MrapRecord = {
      name: m.name, alias: m.alias ?? s.mraps.newAlias(), owner: m.owner, createdAt: s.clock().toISOString(), status: 'READY',
      // As through the API: no settings given means every setting on.
      publicAccessBlock: m.blockPublicAccess ?? { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions,
    }
    if (m.policy !== undefined) {
      const text = typeof m.policy === 'string' ? m.policy : JSON.stringify(m.policy)
      const problem = s.policies.problems(text, { kind: 'mrap', mrapArn: mrapArn(rec, s.world.partition) })[0]
      const blocked = (rec.publicAccessBlock.BlockPublicPolicy || s.accountBpa?.(rec.owner)?.BlockPublicPolicy === true) && s.policies.isPublic(text, 'mrap')
      if (problem) s.log.warn({ mrap: m.name, reason: problem.message }, 'the world\'s MRAP policy is one S3 would refuse; the MRAP runs without it (mrap lint explains)')
      else if (blocked) s.log.warn({ mrap: m.name }, 'the world\'s MRAP policy is public and Block Public Access blocks public policies; the MRAP runs without it')
      else rec.policy = text
    }
    s.mraps.put(rec)
  }
}

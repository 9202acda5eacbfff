/**
 * @module MRAPs declared in a world file (`mraps:`, shape in src/world/schema.ts), applied directly
 * (no async operation) and idempotently, as part of the world's one batch of writes:
 * - missing → created, with the declared alias if there is one;
 * - present → its policy and routes brought to what the world says (the bucket set and Block
 *   Public Access are fixed at creation, as in AWS, so a different declaration is only a warning);
 * - an alias that was ever retired is never brought back (aliases are "unique throughout time").
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-naming.html
 */
import type { Core } from '../core/core.js'
import { type MrapRecord, mrapArn } from '../mrap/registry.js'
import type { BucketRecord } from '../state/control-store.js'
import type { StateOp } from '../state/state-store.js'
import { mrapSchema, type WorldMrap } from '../world/schema.js'
import { blocksPublicPolicy, resolveBuckets } from './worker.js'

/** `ops`: the writes, for the world's batch (nothing is written here). A new MRAP's are guarded (alias never issued). */
export interface WorldMrapsResult {
  created: string[]
  updated: string[]
  warnings: string[]
  ops: StateOp[]
}

const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }

/**
 * Throws on a world S3 would refuse outright. `pending`: the world's buckets written in the same
 * batch, which an MRAP of the world may name although they are not stored yet.
 */
export function applyWorldMraps(core: Core, declared: readonly unknown[] | undefined, pending: ReadonlyMap<string, BucketRecord> = new Map()): WorldMrapsResult {
  const s = withPending(core, pending)
  const out: WorldMrapsResult = { created: [], updated: [], warnings: [], ops: [] }
  for (const [i, raw] of (declared ?? []).entries()) {
    const parsed = mrapSchema.safeParse(raw)
    if (!parsed.success) throw new Error(`world: mraps[${i}]: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`)
    const m = parsed.data
    const cur = s.mraps.byName(m.owner, m.name)
    if (cur) {
      reconcile(s, cur, m, out)
      continue
    }
    if (m.alias !== undefined && s.mraps.known(m.alias)) {
      out.warnings.push(`MRAP ${m.name}: the alias ${m.alias} was retired and is never reissued; the MRAP is not recreated`)
      continue
    }
    // A world may name another account's bucket with or without `account:`; the declared owner is checked.
    const refs = m.buckets.map((b) => (typeof b === 'string' ? { bucket: b } : { bucket: b.bucket, ...(b.account !== undefined ? { bucketAccountId: b.account } : {}) }))
    const regions = resolveBuckets(
      s,
      m.owner,
      refs.map((r) => {
        const owner = r.bucketAccountId ?? s.state.getBucket(r.bucket)?.owner
        return owner !== undefined && owner !== m.owner ? { bucket: r.bucket, bucketAccountId: owner } : { bucket: r.bucket }
      }),
    )
    if (!Array.isArray(regions)) throw new Error(`world: MRAP ${m.name}: ${regions.code}: ${regions.message}${regions.resource ? ` (${regions.resource})` : ''}`)
    let rec: MrapRecord = {
      name: m.name,
      alias: m.alias ?? s.mraps.newAlias(),
      owner: m.owner,
      createdAt: s.clock().toISOString(),
      status: 'READY',
      // As through the API: no settings given means every setting on.
      publicAccessBlock: m.blockPublicAccess ? { ...ALL_ON, ...m.blockPublicAccess } : ALL_ON,
      regions,
    }
    rec = withRoutes(rec, m, out)
    rec = withPolicy(s, rec, m, out)
    out.ops.push(...s.mraps.createOps(rec))
    out.created.push(`MRAP ${m.name} (${rec.alias})`)
  }
  return out
}

/** The core as seen from inside the batch: the pending buckets exist. */
function withPending(s: Core, pending: ReadonlyMap<string, BucketRecord>): Core {
  if (pending.size === 0) return s
  type Buckets = { getBucket(name: string): BucketRecord | undefined }
  const over = <T extends Buckets>(store: T): T => Object.create(store, { getBucket: { value: (name: string) => pending.get(name) ?? store.getBucket(name) } }) as T
  return { ...s, state: over(s.state) }
}

function reconcile(s: Core, cur: MrapRecord, m: WorldMrap, out: WorldMrapsResult): void {
  if (m.alias !== undefined && m.alias !== cur.alias) out.warnings.push(`MRAP ${m.name}: it exists with the alias ${cur.alias}; an alias cannot be changed`)
  const declared = new Set(m.buckets.map((b) => (typeof b === 'string' ? b : b.bucket)))
  if (declared.size !== cur.regions.length || cur.regions.some((r) => !declared.has(r.bucket))) {
    out.warnings.push(`MRAP ${m.name}: its buckets are fixed at creation; delete and recreate it to change them`)
  }
  const next = withPolicy(s, withRoutes(cur, m, out), m, out)
  if (JSON.stringify(next) !== JSON.stringify(cur)) {
    out.ops.push(...s.mraps.putOps(next))
    out.updated.push(`MRAP ${m.name}`)
  }
}

function withRoutes(rec: MrapRecord, m: WorldMrap, out: WorldMrapsResult): MrapRecord {
  if (!m.routes) return rec
  const regions = rec.regions.map((r) => ({ ...r, trafficDialPercentage: m.routes?.[r.region] ?? r.trafficDialPercentage }))
  if (regions.every((r) => r.trafficDialPercentage === 0)) {
    out.warnings.push(`MRAP ${m.name}: routes would make every Region passive, which S3 refuses; routes left as they were`)
    return rec
  }
  return { ...rec, regions }
}

function withPolicy(s: Core, rec: MrapRecord, m: WorldMrap, out: WorldMrapsResult): MrapRecord {
  if (m.policy === undefined) return rec
  const text = typeof m.policy === 'string' ? m.policy : JSON.stringify(m.policy)
  if (text === rec.policy) return rec
  const problem = s.policies.problems(text, { kind: 'mrap', mrapArn: mrapArn(rec, s.world.partition) })[0]
  if (problem) {
    out.warnings.push(`MRAP ${m.name}: the world's MRAP policy is one S3 would refuse (${problem.message}); the MRAP runs without it (mrap lint explains)`)
    return rec
  }
  if (blocksPublicPolicy(s, rec) && s.policies.isPublic(text, 'mrap')) {
    out.warnings.push(`MRAP ${m.name}: the world's MRAP policy is public and Block Public Access blocks public policies; the MRAP runs without it`)
    return rec
  }
  return { ...rec, policy: text }
}

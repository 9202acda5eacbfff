/**
 * @module The work behind the asynchronous MRAP operations: what S3 checks against the state of the
 * world once it has accepted a request (buckets exist and belong to whom the request says, one bucket
 * per Region, limits, Block Public Access for a new policy), and the changes themselves.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRestrictions.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-block-public-access.html
 */
import type { Core } from '../core/core.js'
import type { MrapRecord } from '../mrap/registry.js'
import type { StateOp } from '../state/state-store.js'
import type { AsyncErrorDetails, AsyncOperationRecord, AsyncWorker, CreateParams, StepPlan } from './async-ops.js'
import type { ControlConfig } from './config.js'

const fail = (code: string, message: string, resource?: string): StepPlan => {
  const error: AsyncErrorDetails = { code, message }
  if (resource !== undefined) error.resource = resource
  return { outcome: { next: 'failed', error }, ops: [] }
}
const go = (ops: StateOp[] = []): StepPlan => ({ outcome: { next: 'continue' }, ops })
const done = (ops: StateOp[] = []): StepPlan => ({ outcome: { next: 'done' }, ops })

/** The buckets of a create request with their Regions, or why they cannot form an MRAP. */
export function resolveBuckets(s: Core, account: string, regions: CreateParams['regions']): MrapRecord['regions'] | AsyncErrorDetails {
  const out: MrapRecord['regions'] = []
  for (const r of regions) {
    const b = s.state.getBucket(r.bucket)
    if (!b) return { code: 'NoSuchBucket', message: 'The specified bucket does not exist', resource: r.bucket }
    // A bucket of another account must be named with BucketAccountId, and must really be that account's.
    const expected = r.bucketAccountId ?? account
    if (b.owner !== expected) return { code: 'AccessDenied', message: 'Access Denied', resource: r.bucket }
    const clash = out.find((x) => x.region === b.region)
    if (clash) {
      return {
        code: 'InvalidRequest',
        message: `A Multi-Region Access Point can have only one bucket per Region; ${clash.bucket} and ${b.name} are both in ${b.region}.`,
        resource: b.name,
      }
    }
    if (!s.stores.has(b.region)) return { code: 'InvalidRequest', message: `The Region ${b.region} is not supported for Multi-Region Access Points.`, resource: b.name }
    out.push({ bucket: b.name, bucketAccountId: b.owner, region: b.region, trafficDialPercentage: 100 })
  }
  return out
}

/** Whether Block Public Access forbids storing a public policy on this MRAP (its own or its owner account's setting). */
export function blocksPublicPolicy(s: Core, rec: MrapRecord): boolean {
  return rec.publicAccessBlock.BlockPublicPolicy || s.checks.accountBpa(rec.owner)?.BlockPublicPolicy === true
}

/**
 * Each step returns the MRAP change it makes; the runner commits it in one batch with the
 * operation's transition. A change to an MRAP that exists is guarded by the record as this node
 * saw it, so a route flip or another operation committed meanwhile on another node is not undone:
 * the batch fails and the step is re-planned from fresh state.
 */
export function mrapWorker(s: Core, config: () => ControlConfig): AsyncWorker {
  const update = (rec: MrapRecord): StateOp[] => [...s.mraps.expectOps(rec.alias), ...s.mraps.putOps(rec)]
  return {
    begin(op: AsyncOperationRecord): StepPlan {
      const p = op.params
      if (p.operation === 'CreateMultiRegionAccessPoint') {
        // Resumed with the record already written (a record from before steps were atomic): go straight on.
        if (op.alias !== undefined && s.mraps.byAlias(op.alias)) return go()
        const { name } = p.create
        if (s.mraps.byName(op.account, name)) return fail('AccessPointAlreadyOwnedByYou', `A Multi-Region Access Point named ${name} already exists in your account.`, name)
        if (s.mraps.list(op.account).length >= config().maxMrapsPerAccount) {
          return fail('InvalidRequest', `You have reached the limit of ${config().maxMrapsPerAccount} Multi-Region Access Points per account.`, name)
        }
        const regions = resolveBuckets(s, op.account, p.create.regions)
        if (!Array.isArray(regions)) return { outcome: { next: 'failed', error: regions }, ops: [] }
        const rec: MrapRecord = {
          name,
          alias: s.mraps.newAlias(),
          owner: op.account,
          createdAt: s.clock().toISOString(),
          status: 'CREATING',
          publicAccessBlock: { ...p.create.publicAccessBlock },
          regions,
        }
        op.alias = rec.alias
        op.regions = regions.map((r) => ({ name: r.region, status: 'IN_PROGRESS' }))
        // Guarded: if another node created this name (or drew this alias) meanwhile, the step is re-planned and fails above.
        return go(s.mraps.createOps(rec))
      }
      const rec = op.alias !== undefined ? s.mraps.byAlias(op.alias) : s.mraps.byName(op.account, p.name)
      if (!rec) {
        // A delete resumed after its record was already removed has nothing left to do.
        if (p.operation === 'DeleteMultiRegionAccessPoint' && op.alias !== undefined) return done()
        return fail('NoSuchMultiRegionAccessPoint', 'The specified Multi-Region Access Point does not exist.', p.name)
      }
      op.alias = rec.alias
      op.regions = rec.regions.map((r) => ({ name: r.region, status: 'IN_PROGRESS' }))
      if (p.operation === 'DeleteMultiRegionAccessPoint') return go(update({ ...rec, status: 'DELETING' }))
      // BlockPublicPolicy: "PUT access point policy calls fail if the specified policy allows public access".
      if (blocksPublicPolicy(s, rec) && s.policies.isPublic(p.policy, 'mrap')) return fail('AccessDenied', 'Access Denied', p.name)
      return go(update({ ...rec, proposedPolicy: p.policy }))
    },

    finish(op: AsyncOperationRecord): StepPlan {
      const p = op.params
      const rec = op.alias !== undefined ? s.mraps.byAlias(op.alias) : undefined
      if (p.operation === 'DeleteMultiRegionAccessPoint') return done(rec ? [...s.mraps.expectOps(rec.alias), ...s.mraps.retireOps(rec.alias)] : [])
      if (!rec)
        return fail(
          'NoSuchMultiRegionAccessPoint',
          'The specified Multi-Region Access Point does not exist.',
          p.operation === 'CreateMultiRegionAccessPoint' ? p.create.name : p.name,
        )
      if (p.operation === 'CreateMultiRegionAccessPoint') return done(update({ ...rec, status: 'READY' }))
      const next: MrapRecord = { ...rec, policy: p.policy }
      delete next.proposedPolicy
      return done(update(next))
    },
  }
}

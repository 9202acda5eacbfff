/**
 * @module The work behind the asynchronous MRAP operations: what S3 checks against the state of the
 * world once it has accepted a request (buckets exist and belong to whom the request says, one bucket
 * per Region, limits, Block Public Access for a new policy), and the changes themselves.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRestrictions.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-block-public-access.html
 */
import type { Core } from '../core/core.js'
import type { MrapRecord } from '../mrap/registry.js'
import type { AsyncErrorDetails, AsyncOperationRecord, AsyncWorker, CreateParams, StepOutcome } from './async-ops.js'
import type { ControlConfig } from './config.js'

const fail = (code: string, message: string, resource?: string): StepOutcome => {
  const error: AsyncErrorDetails = { code, message }
  if (resource !== undefined) error.resource = resource
  return { next: 'failed', error }
}

/** The buckets of a create request with their Regions, or why they cannot form an MRAP. */
export function resolveBuckets(s: Core, account: string, regions: CreateParams['regions']): MrapRecord['regions'] | AsyncErrorDetails {
  const out: MrapRecord['regions'] = []
  for (const r of regions) {
    const b = s.control.getBucket(r.bucket)
    if (!b) return { code: 'NoSuchBucket', message: 'The specified bucket does not exist', resource: r.bucket }
    // A bucket of another account must be named with BucketAccountId, and must really be that account's.
    const expected = r.bucketAccountId ?? account
    if (b.owner !== expected) return { code: 'AccessDenied', message: 'Access Denied', resource: r.bucket }
    const clash = out.find((x) => x.region === b.region)
    if (clash) {
      return { code: 'InvalidRequest', message: `A Multi-Region Access Point can have only one bucket per Region; ${clash.bucket} and ${b.name} are both in ${b.region}.`, resource: b.name }
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

export function mrapWorker(s: Core, config: () => ControlConfig): AsyncWorker {
  const put = (rec: MrapRecord) => s.mraps.put(rec)
  return {
    begin(op: AsyncOperationRecord): StepOutcome {
      const p = op.params
      if (p.operation === 'CreateMultiRegionAccessPoint') {
        // Resumed after a restart with the record already written: go straight on.
        if (op.alias !== undefined && s.mraps.byAlias(op.alias)) return { next: 'continue' }
        const { name } = p.create
        if (s.mraps.byName(op.account, name)) return fail('AccessPointAlreadyOwnedByYou', `A Multi-Region Access Point named ${name} already exists in your account.`, name)
        if (s.mraps.list(op.account).length >= config().maxMrapsPerAccount) {
          return fail('InvalidRequest', `You have reached the limit of ${config().maxMrapsPerAccount} Multi-Region Access Points per account.`, name)
        }
        const regions = resolveBuckets(s, op.account, p.create.regions)
        if (!Array.isArray(regions)) return { next: 'failed', error: regions }
        const rec: MrapRecord = {
          name, alias: s.mraps.newAlias(), owner: op.account, createdAt: s.clock().toISOString(), status: 'CREATING',
          publicAccessBlock: { ...p.create.publicAccessBlock }, regions,
        }
        put(rec)
        op.alias = rec.alias
        op.regions = regions.map((r) => ({ name: r.region, status: 'IN_PROGRESS' }))
        return { next: 'continue' }
      }
      const rec = op.alias !== undefined ? s.mraps.byAlias(op.alias) : s.mraps.byName(op.account, p.name)
      if (!rec) {
        // A delete resumed after its record was already removed has nothing left to do.
        if (p.operation === 'DeleteMultiRegionAccessPoint' && op.alias !== undefined) return { next: 'done' }
        return fail('NoSuchMultiRegionAccessPoint', 'The specified Multi-Region Access Point does not exist.', p.name)
      }
      op.alias = rec.alias
      op.regions = rec.regions.map((r) => ({ name: r.region, status: 'IN_PROGRESS' }))
      if (p.operation === 'DeleteMultiRegionAccessPoint') {
        put({ ...rec, status: 'DELETING' })
        return { next: 'continue' }
      }
      // BlockPublicPolicy: "PUT access point policy calls fail if the specified policy allows public access".
      if (blocksPublicPolicy(s, rec) && s.policies.isPublic(p.policy, 'mrap')) return fail('AccessDenied', 'Access Denied', p.name)
      put({ ...rec, proposedPolicy: p.policy })
      return { next: 'continue' }
    },

    finish(op: AsyncOperationRecord): StepOutcome {
      const p = op.params
      const rec = op.alias !== undefined ? s.mraps.byAlias(op.alias) : undefined
      if (p.operation === 'DeleteMultiRegionAccessPoint') {
        if (rec) s.mraps.delete(rec.alias)
        return { next: 'done' }
      }
      if (!rec) return fail('NoSuchMultiRegionAccessPoint', 'The specified Multi-Region Access Point does not exist.', p.operation === 'CreateMultiRegionAccessPoint' ? p.create.name : p.name)
      if (p.operation === 'CreateMultiRegionAccessPoint') {
        put({ ...rec, status: 'READY' })
        return { next: 'done' }
      }
      const next: MrapRecord = { ...rec, policy: p.policy }
      delete next.proposedPolicy
      put(next)
      return { next: 'done' }
    },
  }
}

/**
 * @module A world bucket's Object Ownership and ACL (`objectOwnership:`, `acl:`), applied to and
 * exported from the bucket record's configs as the S3 operations keep them (src/s3/acl.ts).
 */
import { ALL_USERS, AUTHENTICATED_USERS, BUCKET_ACL_KEY, type CannedAcl, cannedGrants, type Grant, grantsBeyondOwner, LOG_DELIVERY, OWNERSHIP_KEY, ownerOnly } from '../s3/acl.js'
import type { BucketRecord } from '../state/control-store.js'
import type { WorldBucket } from './schema.js'

const GROUP_NAMES: Record<string, string> = { AllUsers: ALL_USERS, AuthenticatedUsers: AUTHENTICATED_USERS, LogDelivery: LOG_DELIVERY }

/** The grants a world bucket's `acl:` names (a canned ACL, or grants that add to the owner's FULL_CONTROL). */
export function worldGrants(b: Pick<WorldBucket, 'acl' | 'owner'>): Grant[] | undefined {
  const acl = b.acl
  if (acl === undefined) return undefined
  if (typeof acl === 'string') return cannedGrants(acl as CannedAcl, b.owner, b.owner, false)
  const out = ownerOnly(b.owner)
  for (const g of acl) out.push({ grantee: /^\d{12}$/.test(g.grantee) ? { account: g.grantee } : { group: GROUP_NAMES[g.grantee]! }, permission: g.permission })
  return out
}

/** Sets `next`'s ownership and ACL from the world bucket; a warning when S3 would refuse the ACL. */
export function applyBucketAcl(b: WorldBucket, next: BucketRecord, created: boolean, warnings: string[]): void {
  const configs = { ...next.configs }
  if (b.objectOwnership !== undefined) configs[OWNERSHIP_KEY] = b.objectOwnership
  else if (created) configs[OWNERSHIP_KEY] = 'BucketOwnerEnforced'
  const grants = worldGrants(b)
  const enforced = configs[OWNERSHIP_KEY] === undefined || configs[OWNERSHIP_KEY] === 'BucketOwnerEnforced'
  if (grants && grantsBeyondOwner(grants, b.owner)) {
    if (enforced)
      warnings.push(`bucket ${b.name}: the world gives it an ACL, but its Object Ownership is BucketOwnerEnforced (ACLs disabled); the bucket runs without it (mrap lint explains)`)
    else configs[BUCKET_ACL_KEY] = JSON.stringify(grants)
  } else if (grants) delete configs[BUCKET_ACL_KEY]
  next.configs = configs
}

/** The world form of a bucket's ownership and ACL. */
export function exportBucketAcl(rec: BucketRecord, out: Record<string, unknown>): void {
  const o = rec.configs[OWNERSHIP_KEY]
  if (o !== undefined && o !== 'BucketOwnerEnforced') out.objectOwnership = o
  const raw = rec.configs[BUCKET_ACL_KEY]
  if (raw === undefined) return
  const names = Object.fromEntries(Object.entries(GROUP_NAMES).map(([k, v]) => [v, k]))
  out.acl = (JSON.parse(raw) as Grant[])
    .filter((g) => !('account' in g.grantee && g.grantee.account === rec.owner && g.permission === 'FULL_CONTROL'))
    .map((g) => ({ grantee: 'account' in g.grantee ? g.grantee.account : names[g.grantee.group], permission: g.permission }))
}

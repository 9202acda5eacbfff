/**
 * @module What the replication role may do, asked of the policy engine as S3 asks IAM: S3 assumes
 * the role (its trust policy must allow the service principal s3.amazonaws.com), reads the source
 * version with the role's identity policies and the source bucket's policy, and writes the replica
 * with the role's identity policies and the destination bucket's policy; across accounts both the
 * role's policy and the destination bucket policy must allow.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-walkthrough-2.html
 */

import type { Core } from '../core/core.js'
import type { Principal } from '../iam/identities.js'
import { type AuthzPrincipal, authorize, bucketArn, buildS3Context, type Layers } from '../policy/index.js'
import { identityLayers } from '../s3/authorize.js'
import type { BucketRecord } from '../state/control-store.js'

const SERVICE = 's3.amazonaws.com'

export interface RoleView {
  principal: Principal
  /** Why S3 could not assume the role, if it could not. */
  problem?: string
}

/** The role as the replication session S3 opens with it, or why there is none. */
export function roleSession(s: Core, roleArn: string): RoleView | { problem: string } {
  const m = /^arn:([\w-]+):iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn)
  if (!m) return { problem: `invalid role ARN ${roleArn}` }
  const account = m[2]!,
    name = m[3]!
  const role = [...s.identities.store.roles.values()].find((r) => r.account === account && r.name.toLowerCase() === name.toLowerCase())
  if (!role) return { problem: `role ${roleArn} does not exist` }
  const trust = s.policies.get(role.trust, 'trust', `trust policy of ${roleArn}`)
  const svc: AuthzPrincipal = { type: 'Service', arn: SERVICE, accountId: account, service: SERVICE }
  const d = authorize(
    {
      principal: svc,
      action: 'sts:AssumeRole',
      resources: { bucket: { arn: roleArn, ownerAccount: account } },
      context: buildS3Context({ principal: svc, timeMs: s.clock().getTime(), secureTransport: true }),
    },
    { identity: [], ...(trust ? { bucket: { policy: trust } } : {}) },
  )
  if (d.effect !== 'Allow') return { problem: `the trust policy of ${roleArn} does not let ${SERVICE} assume it` }
  const principal = s.identities.sessionPrincipal({
    id: 'replication',
    account,
    role: role.name,
    sessionName: 's3-replication',
    secret: '',
    token: '',
    issuedAt: '',
    expiresAt: '',
    tags: {},
    callerArn: SERVICE,
    issuer: 'global',
  })
  return { principal }
}

/** Whether the role session may do `action` on `bucket/key` (identity, boundary and bucket policy). */
export function roleMay(s: Core, principal: Principal, action: string, bucket: BucketRecord, key: string): boolean {
  const p: AuthzPrincipal = { type: 'AssumedRole', arn: principal.arn, accountId: principal.accountId, userId: principal.userId, tags: principal.tags }
  if (principal.roleArn !== undefined) p.roleArn = principal.roleArn
  const layers: Layers = { ...identityLayers(s, principal), accountBlockPublicAccess: s.accountBpaMap() }
  const bucketLayer: NonNullable<Layers['bucket']> = {}
  if (bucket.policy) {
    const c = s.policies.get(bucket.policy, 'bucket', `bucket policy of ${bucket.name}`)
    if (c) bucketLayer.policy = c
  }
  if (bucket.publicAccessBlock) bucketLayer.blockPublicAccess = bucket.publicAccessBlock
  layers.bucket = bucketLayer
  const context = buildS3Context({ principal: p, timeMs: s.clock().getTime(), secureTransport: true })
  const d = authorize(
    { principal: p, action, resources: { bucket: { arn: bucketArn(s.world.partition, bucket.name, key), ownerAccount: bucket.owner, bucketName: bucket.name } }, context },
    layers,
  )
  return d.effect === 'Allow'
}

/** The actions a replication of `kind` needs on the source and on the destination. */
export function actionsFor(kind: 'object' | 'marker' | 'metadata'): { source: string[]; destination: string[] } {
  if (kind === 'object') return { source: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionTagging'], destination: ['s3:ReplicateObject', 's3:ReplicateTags'] }
  if (kind === 'marker') return { source: ['s3:GetObjectVersionForReplication'], destination: ['s3:ReplicateDelete'] }
  return { source: ['s3:GetObjectVersionTagging'], destination: ['s3:ReplicateTags'] }
}

/**
 * @module ACL findings: a world that gives a bucket ACL to a BucketOwnerEnforced bucket (S3 refuses
 * it, InvalidBucketAclWithObjectOwnership: "Bucket cannot have ACLs set with ObjectOwnership's
 * BucketOwnerEnforced setting"), and bucket ACLs that grant to everyone (AllUsers) or to every AWS
 * account (AuthenticatedUsers), which Block Public Access judges public.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 */
import { BUCKET_ACL_KEY, describeGrant, type Grant, grantsBeyondOwner, isPublicGrant, OWNERSHIP_KEY } from '../s3/acl.js'
import { worldGrants } from '../world/bucket-acl.js'
import type { RawFinding, RuleFamily } from './types.js'

export const aclRules: RuleFamily = {
  rules: [
    { id: 'acl-owner-enforced', severity: 'error', summary: 'ACLs given to a bucket whose Object Ownership is BucketOwnerEnforced (ACLs disabled).' },
    { id: 'acl-public-grant', severity: 'warning', summary: 'A bucket ACL grants to AllUsers or AuthenticatedUsers (public).' },
  ],
  run(ctx) {
    const out: RawFinding[] = []
    for (const [i, b] of (ctx.world?.buckets ?? []).entries()) {
      const grants = worldGrants(b)
      const ownership = b.objectOwnership ?? 'BucketOwnerEnforced'
      if (!grants || ownership !== 'BucketOwnerEnforced' || !grantsBeyondOwner(grants, b.owner)) continue
      out.push({
        severity: 'error',
        rule: 'acl-owner-enforced',
        policy: { kind: 'world', owner: `bucket ${b.name}`, name: 'acl' },
        path: ['buckets', i, 'acl'],
        message: `bucket ${b.name} is BucketOwnerEnforced (ACLs disabled${b.objectOwnership === undefined ? ', the default' : ''}), so S3 refuses its ACL (InvalidBucketAclWithObjectOwnership) and the bucket runs without it`,
        fix: 'grant through the bucket policy instead, or set objectOwnership: ObjectWriter (or BucketOwnerPreferred) if ACLs are really needed',
      })
    }
    const bpaOf = (id: string) => ctx.model.accounts.find((a) => a.id === id)?.blockPublicAccess
    for (const b of ctx.model.buckets) {
      const raw = b.configs?.[BUCKET_ACL_KEY]
      if (raw === undefined || b.configs?.[OWNERSHIP_KEY] === 'BucketOwnerEnforced') continue
      const pub = (JSON.parse(raw) as Grant[]).filter(isPublicGrant)
      if (pub.length === 0) continue
      const ignored = b.blockPublicAccess?.IgnorePublicAcls === true || bpaOf(b.owner)?.IgnorePublicAcls === true
      out.push({
        severity: ignored ? 'info' : 'warning',
        rule: 'acl-public-grant',
        policy: { kind: 'world', owner: `bucket ${b.name}`, name: 'acl' },
        path: b.path ? [...b.path, 'acl'] : undefined,
        message: `the ACL of bucket ${b.name} grants ${pub.map(describeGrant).join(', ')}: public${ignored ? ', but IgnorePublicAcls makes S3 ignore it' : ''}`,
        fix: 'remove the public grant (acl: private) and grant named principals in the bucket policy',
      })
    }
    return out
  },
}

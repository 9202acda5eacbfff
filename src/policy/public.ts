/**
 * @module When S3 judges a resource policy "public" (Block Public Access, Get*PolicyStatus).
 * S3 assumes public, then looks at every Allow statement: it is non-public only if it names
 * specific principals, or is limited by a condition with fixed values (no wildcard, no policy
 * variable) on one of the keys below. One public statement makes the whole policy public.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-points-policies.html
 */

import { parseArn } from './arn.js'
import type { CompiledCondition, CompiledPolicy, CompiledStatement, PolicyKind } from './types.js'

export interface PublicReason {
  statement: number | string
  reason: string
}

export interface PublicStatus {
  isPublic: boolean
  reasons: PublicReason[]
}

// Keys whose fixed values limit a grant to non-public callers.
const FIXED_VALUE_KEYS = new Set([
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceowner',
  'aws:sourceaccount',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
  'aws:principalorgid',
  's3:dataaccesspointaccount',
])

const LIMITING_OPERATORS = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'ArnEquals', 'ArnLike'])

function isFixed(v: string): boolean {
  return !v.includes('*') && !v.includes('?') && !v.includes('${')
}

/** Does this condition restrict the statement to non-public callers? */
function limits(c: CompiledCondition, kind: PolicyKind): boolean {
  // IfExists, ForAllValues and negated operators all let a request without the key through.
  if (c.ifExists || c.qualifier === 'ForAllValues') return false
  const key = c.keyLower
  if (key === 'aws:sourceip') {
    if (c.operator !== 'IpAddress' || c.prepared.kind !== 'ip') return false
    // Ranges broader than /8 (IPv4) or /32 (IPv6) are public, except RFC 1918 private ranges.
    return c.prepared.items.every((cidr) => (cidr.v6 ? cidr.prefix >= 32 : cidr.prefix >= 8 || isPrivateV4(cidr.bytes, cidr.prefix)))
  }
  if (!LIMITING_OPERATORS.has(c.operator) || c.values.length === 0) return false
  if (key === 'aws:userid') {
    // A role's sessions (`AROLEID:*`) are a set of callers: only fixed user ids qualify.
    return c.values.every(isFixed)
  }
  if (key === 's3:dataaccesspointarn') {
    if (c.values.every(isFixed)) return true
    // In a bucket policy a wildcard access point name under a fixed account stays non-public;
    // in an access point or MRAP policy a set of access points is public.
    if (kind !== 'bucket') return false
    return c.values.every((v) => {
      const a = parseArn(v)
      return a !== undefined && isFixed(a.account) && /^\d{12}$/.test(a.account) && !v.includes('${')
    })
  }
  if (FIXED_VALUE_KEYS.has(key)) return c.values.every(isFixed)
  return false
}

function isPrivateV4(bytes: Uint8Array, prefix: number): boolean {
  const a = bytes[0] as number
  const b = bytes[1] as number
  return (a === 10 && prefix >= 8) || (a === 172 && (b & 0xf0) === 16 && prefix >= 12) || (a === 192 && b === 168 && prefix >= 16)
}

function statementPublic(st: CompiledStatement, kind: PolicyKind): string | undefined {
  if (st.effect !== 'Allow') return undefined
  if (st.notPrincipal !== undefined) {
    if (st.conditions.some((c) => limits(c, kind))) return undefined
    return 'Allow with NotPrincipal grants to everyone not listed'
  }
  const p = st.principal
  if (p === undefined) return undefined // grants nobody in a resource policy
  const federated = p.federated.size > 0
  if (!p.wildcard && !federated) return undefined
  if (st.conditions.some((c) => limits(c, kind))) return undefined
  return p.wildcard ? 'Principal "*" without a condition that fixes the source, principal or access point' : 'Principal Federated grants to every user of the identity provider'
}

/** Judges a resource policy as S3 does; `kind` matters for s3:DataAccessPointArn. */
export function publicStatus(policy: CompiledPolicy, kind: PolicyKind = 'bucket'): PublicStatus {
  const reasons: PublicReason[] = []
  for (const st of policy.statements) {
    const r = statementPublic(st, kind)
    if (r !== undefined) reasons.push({ statement: st.sid !== undefined && st.sid !== '' ? st.sid : st.index, reason: r })
  }
  return { isPublic: reasons.length > 0, reasons }
}

export function isPublic(policy: CompiledPolicy, kind: PolicyKind = 'bucket'): boolean {
  return publicStatus(policy, kind).isPublic
}

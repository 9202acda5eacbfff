/**
 * @module Who may use a KMS key: the key policy and the caller's IAM policies, through the policy
 * engine. KMS differs from S3 on one point: "Unless the key policy explicitly allows it, you cannot
 * use IAM policies to allow access to a KMS key" ("Key policies in AWS KMS",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html). So an identity Allow
 * counts only when the key policy allows the caller's account (the default key policy's "Enable IAM
 * User Permissions" statement names the account root); a key policy statement naming the caller
 * (or a role, or `*`) grants alone within the key's account; across accounts both sides must allow
 * ("Allowing users in other accounts to use a KMS key",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
 * An explicit Deny anywhere wins.
 *
 * Grants are the third source ("Authentication and access control for AWS KMS",
 * https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html: key policies, IAM
 * policies and grants): when the policies do not allow, a grant of the key whose grantee is the
 * caller, whose operations include the action and whose constraints hold for the request's
 * encryption context allows it. A grant never denies, and an explicit Deny still wins over one
 * ("Grants in AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/grants.html). A grant
 * to an account root covers that account's principals whose IAM policies allow the action, as a key
 * policy naming the account does.
 */
import type { Principal } from '../iam/identities.js'
import { ACCOUNT, ALLOW, DENY, evaluatePolicy } from '../policy/evaluate.js'
import { authorize } from '../policy/index.js'
import { RequestScope } from '../policy/scope.js'
import { authzPrincipal, identityLayers, type S3AuthzEnv } from '../s3/authorize.js'
import { type GrantAsk, grantPermits, type KmsGrant, principalCovers } from './grants.js'
import type { KmsKeyRecord } from './keys.js'

export interface KmsDecision {
  allowed: boolean
  /** Which layer decided, for the error message, the decision log and explain. */
  reason: 'key-policy-deny' | 'identity-deny' | 'key-policy' | 'key-policy-and-identity' | 'grant' | 'no-key-policy-allow' | 'no-identity-allow'
  /** The grant that allowed (reason `grant`). */
  grant?: Pick<KmsGrant, 'grantId' | 'granteePrincipal' | 'operations'>
}

/**
 * The key's grants for a decision: read only when the policies did not allow (the common SSE-KMS
 * request never lists them), with what the grant is asked (the request's encryption context, and
 * for CreateGrant the grant being made).
 */
export interface GrantInput {
  grants: () => readonly KmsGrant[]
  ask: Omit<GrantAsk, 'operation'>
  partition?: string
}

/** The decision for `action` (`kms:Decrypt`) on `key` with the request context keys `context`. */
export function authorizeKms(
  s: Pick<S3AuthzEnv, 'policies'>,
  principal: Principal,
  action: string,
  key: KmsKeyRecord,
  context: Record<string, string[]>,
  grants?: GrantInput,
): KmsDecision {
  const who = authzPrincipal(principal)
  if (key.tags) context = { ...context, ...resourceTags(key.tags) }
  const identity = identityEffect(s, principal, action, key.arn, context)
  if (identity === 'ExplicitDeny') return { allowed: false, reason: 'identity-deny' }
  const policy = s.policies.get(key.policy, 'resource', `key policy of ${key.keyId}`)
  const code = policy ? evaluatePolicy(policy, new RequestScope(context, key.account, action.toLowerCase(), key.arn, who, false), 'required') : 0
  if (code & DENY) return { allowed: false, reason: 'key-policy-deny' }
  const sameAccount = who.accountId === key.account
  if (code & ALLOW) {
    if (sameAccount && (code & ACCOUNT) === 0) return { allowed: true, reason: 'key-policy' }
    if (identity === 'Allow') return { allowed: true, reason: 'key-policy-and-identity' }
  }
  const grant = grants ? grantFor(grants, principal, action, identity === 'Allow') : undefined
  if (grant) return { allowed: true, reason: 'grant', grant: { grantId: grant.grantId, granteePrincipal: grant.granteePrincipal, operations: grant.operations } }
  return { allowed: false, reason: (code & ALLOW) === 0 ? 'no-key-policy-allow' : 'no-identity-allow' }
}

/**
 * aws:ResourceTag/<key> for each of the key's tags, in every decision on the key, wherever it is
 * asked from (the KMS API, S3's SSE-KMS path, explain): "ABAC for AWS KMS"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/abac.html).
 */
function resourceTags(tags: Record<string, string>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of Object.entries(tags)) out[`aws:resourcetag/${k.toLowerCase()}`] = [v]
  return out
}

/** The first grant that allows the caller `action`, if any. */
function grantFor(input: GrantInput, principal: Principal, action: string, iamAllows: boolean): KmsGrant | undefined {
  if (!action.toLowerCase().startsWith('kms:')) return undefined
  const ask: GrantAsk = { ...input.ask, operation: action.slice(4) }
  const partition = input.partition ?? principal.arn.split(':')[1] ?? 'aws'
  for (const g of input.grants()) {
    const covers = principalCovers(g.granteePrincipal, principal, partition)
    if (covers === undefined || (covers === 'account' && !iamAllows)) continue
    if (grantPermits(g, ask)) return g
  }
  return undefined
}

/**
 * The caller's identity-based policies alone for `action` on `resource`: RetireGrant, which the
 * grant authorizes and IAM can only deny or delegate within an account, and no key policy decides
 * ("Retiring and revoking grants", https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html).
 */
export function identityEffect(
  s: Pick<S3AuthzEnv, 'policies'>,
  principal: Principal,
  action: string,
  resource: string,
  context: Record<string, string[]>,
): 'Allow' | 'ExplicitDeny' | 'ImplicitDeny' {
  const who = authzPrincipal(principal)
  const d = authorize({ principal: who, action, resources: { bucket: { arn: resource, ownerAccount: who.accountId } }, context }, { ...identityLayers(s, principal) })
  return d.effect === 'Allow' ? 'Allow' : d.effect === 'ExplicitDeny' ? 'ExplicitDeny' : 'ImplicitDeny'
}

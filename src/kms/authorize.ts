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
 */
import type { Principal } from '../iam/identities.js'
import { ACCOUNT, ALLOW, DENY, evaluatePolicy } from '../policy/evaluate.js'
import { authorize } from '../policy/index.js'
import { RequestScope } from '../policy/scope.js'
import { authzPrincipal, identityLayers, type S3AuthzEnv } from '../s3/authorize.js'
import type { KmsKeyRecord } from './keys.js'

export interface KmsDecision {
  allowed: boolean
  /** Which layer decided, for the error message, the decision log and explain. */
  reason: 'key-policy-deny' | 'identity-deny' | 'key-policy' | 'key-policy-and-identity' | 'no-key-policy-allow' | 'no-identity-allow'
}

/** The decision for `action` (`kms:Decrypt`) on `key` with the request context keys `context`. */
export function authorizeKms(s: Pick<S3AuthzEnv, 'policies'>, principal: Principal, action: string, key: KmsKeyRecord, context: Record<string, string[]>): KmsDecision {
  const who = authzPrincipal(principal)
  const identity = authorize({ principal: who, action, resources: { bucket: { arn: key.arn, ownerAccount: who.accountId } }, context }, { ...identityLayers(s, principal) })
  if (identity.effect === 'ExplicitDeny') return { allowed: false, reason: 'identity-deny' }
  const policy = s.policies.get(key.policy, 'resource', `key policy of ${key.keyId}`)
  const code = policy ? evaluatePolicy(policy, new RequestScope(context, key.account, action.toLowerCase(), key.arn, who, false), 'required') : 0
  if (code & DENY) return { allowed: false, reason: 'key-policy-deny' }
  if ((code & ALLOW) === 0) return { allowed: false, reason: 'no-key-policy-allow' }
  const sameAccount = who.accountId === key.account
  if (sameAccount && (code & ACCOUNT) === 0) return { allowed: true, reason: 'key-policy' }
  return identity.effect === 'Allow' ? { allowed: true, reason: 'key-policy-and-identity' } : { allowed: false, reason: 'no-identity-allow' }
}

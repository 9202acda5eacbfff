/**
 * @module Principal / NotPrincipal: compiling the element and matching the caller.
 * - `"*"` and `{"AWS": "*"}` match everyone, anonymous included.
 * - An account id (or `arn:aws:iam::<id>:root`) matches every principal of that account; it
 *   delegates to the account, whose identity policies then decide, in the same account as across
 *   accounts ("AWS account principals").
 * - A role ARN matches the role's sessions; a user or session ARN matches that principal only.
 * - NotPrincipal excludes the caller only when every identity AWS may evaluate for it is listed:
 *   account, then role, then session (the documented reason to list all three with Deny).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
 */

import type { AuthzPrincipal } from './request.js'
import type { CompiledPrincipal } from './types.js'

const ACCOUNT_RE = /^\d{12}$/
const ROOT_RE = /^arn:aws[a-z-]*:iam::(\d{12}):root$/
// IAM users, roles, federated users and assumed-role sessions; no wildcards allowed.
const AWS_ARN_RE = /^arn:aws[a-z-]*:(iam::\d{12}:(user|role|group)(\/[^*?]*)?\/[^/*?]+|sts::\d{12}:(assumed-role\/[^/*?]+\/[^*?]+|federated-user\/[^*?]+))$/

/** Compiles a Principal element value; returns an error message when it is invalid. */
export function compilePrincipal(value: unknown): CompiledPrincipal | string {
  const invalid = 'Invalid principal in policy'
  if (value === '*') {
    return { wildcard: true, raw: '*', accounts: new Set(), arns: new Set(), services: new Set(), federated: new Set(), canonicalUsers: new Set() }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return invalid
  const raw: Record<string, string[]> = {}
  const accounts = new Set<string>()
  const arns = new Set<string>()
  const services = new Set<string>()
  const federated = new Set<string>()
  const canonicalUsers = new Set<string>()
  let wildcard = false
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length === 0) return invalid
  for (const [type, v] of entries) {
    const list = typeof v === 'string' ? [v] : Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? (v as string[]) : null
    if (!list) return invalid
    raw[type] = list
    for (const item of list) {
      if (type === 'AWS') {
        if (item === '*') wildcard = true
        else if (ACCOUNT_RE.test(item)) accounts.add(item)
        else {
          const root = ROOT_RE.exec(item)
          if (root) accounts.add(root[1] as string)
          else if (AWS_ARN_RE.test(item)) arns.add(item)
          else return invalid
        }
      } else if (type === 'Service') {
        if (!/^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$|^[a-z0-9.-]+\.amazon\.com$/.test(item) && item !== '*') return invalid
        services.add(item)
      } else if (type === 'Federated') {
        if (item.length === 0) return invalid
        federated.add(item)
      } else if (type === 'CanonicalUser') {
        if (!/^[0-9a-f]{64}$/.test(item)) return invalid
        canonicalUsers.add(item)
      } else {
        return invalid
      }
    }
  }
  return { wildcard, raw, accounts, arns, services, federated, canonicalUsers }
}

/**
 * How a Principal element matched the caller: `direct` = named the user or session itself,
 * `account` = only through the caller's account (a delegation to the account's identity
 * policies, see authorize.ts). The strongest match wins: direct, role, wildcard, account.
 */
export type PrincipalMatch = 'none' | 'wildcard' | 'account' | 'role' | 'direct' | 'service' | 'federated' | 'canonical'

export function matchPrincipal(p: CompiledPrincipal, who: AuthzPrincipal): PrincipalMatch {
  switch (who.type) {
    case 'Anonymous':
      return p.wildcard ? 'wildcard' : 'none'
    case 'Service':
      if (who.service !== undefined && (p.services.has(who.service) || p.services.has('*'))) return 'service'
      return p.wildcard ? 'wildcard' : 'none'
    case 'WebIdentityUser':
    case 'SAMLUser':
      if (who.provider !== undefined && p.federated.has(who.provider)) return 'federated'
      break
    default:
      break
  }
  if (who.canonicalId !== undefined && p.canonicalUsers.has(who.canonicalId)) return 'canonical'
  if (p.arns.has(who.arn)) return 'direct'
  if (who.roleArn !== undefined && p.arns.has(who.roleArn)) return 'role'
  if (p.wildcard) return 'wildcard'
  if (p.accounts.has(who.accountId)) return 'account'
  return 'none'
}

/** True when NotPrincipal lists every identity in the caller's chain (so the caller is excluded). */
export function notPrincipalExcludes(p: CompiledPrincipal, who: AuthzPrincipal): boolean {
  if (p.wildcard) return true
  if (who.type === 'Anonymous') return false
  if (who.type === 'Service') return who.service !== undefined && p.services.has(who.service)
  if (who.type === 'Account') return p.accounts.has(who.accountId)
  if (!p.accounts.has(who.accountId)) return false
  if (who.roleArn !== undefined && !p.arns.has(who.roleArn)) return false
  return p.arns.has(who.arn)
}

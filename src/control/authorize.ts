/**
 * @module Authorization of S3 Control MRAP calls through the policy engine. The caller's identity
 * policies (within boundary and session policies) must allow the action on the resource: the MRAP
 * ARN, the async-request ARN for Describe, `*` for List. The MRAP policy governs data access
 * through the MRAP, not its management, so no resource policy takes part and a principal of another
 * account is never allowed (the handler refuses those earlier anyway).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { AuthResult } from '../auth/index.js'
import { requestFacts } from '../authz/request-facts.js'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import type { Principal } from '../iam/identities.js'
import { type AuthzRequest, authorize, buildS3Context, type Decision, type Layers } from '../policy/index.js'
import { authzPrincipal, identityLayers } from '../s3/authorize.js'

export interface ControlAuthzInput {
  principal: Principal
  auth: AuthResult
  origin: Origin
  headers: IncomingHttpHeaders
  action: string
  resource: string
  /** The account the call is about (the resource owner). */
  account: string
}

export interface ControlDecision {
  allowed: boolean
  reason: string
  decision?: Decision
}

export function authorizeControl(s: Core, input: ControlAuthzInput): ControlDecision {
  const principal = authzPrincipal(input.principal)
  const facts = requestFacts(input.origin, input.auth, principal, s.clock().getTime())
  const req: AuthzRequest = {
    principal,
    action: input.action,
    context: buildS3Context(facts),
    resources: { bucket: { arn: input.resource, ownerAccount: input.account } },
  }
  const layers: Layers = { ...identityLayers(s, input.principal) }
  const d = authorize(req, layers)
  return d.effect === 'Allow'
    ? { allowed: true, reason: `${input.action}: allowed by ${d.decidedBy}`, decision: d }
    : { allowed: false, reason: `${input.action} on ${input.resource}: ${d.effect} by ${d.decidedBy}`, decision: d }
}

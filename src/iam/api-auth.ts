/**
 * @module Authentication and authorization of IAM and STS API calls. They are authorized by the
 * policy engine like any other request: action `iam:<Action>` / `sts:<Action>`, resource the ARN
 * the call acts on, identity-side layers of the caller (identity policies, boundary, session
 * policy). IAM calls act on the caller's own account, so the context is same-account.
 * Errors use IAM's codes: an unknown key is InvalidClientTokenId (S3 says InvalidAccessKeyId).
 */

import { headerValue, sha256Hex } from '../auth/canonical.js'
import type { SignedAuth } from '../auth/index.js'
import { requestFacts } from '../authz/request-facts.js'
import type { Core } from '../core/core.js'
import type { HandlerContext } from '../http/handler.js'
import { authenticateRequest } from '../pipeline/credentials.js'
import { authorize, buildS3Context, type Decision } from '../policy/index.js'
import { authzPrincipal, identityLayers } from '../s3/authorize.js'
import { S3Error, s3Error } from '../shared/errors.js'
import type { Principal } from './identities.js'
import type { Params } from './query.js'

export interface ApiCall {
  s: Core
  ctx: HandlerContext
  params: Params
  auth: SignedAuth
  principal: Principal
  now: Date
}

export function authenticateApi(s: Core, ctx: HandlerContext, body: Buffer, service: 'iam' | 'sts' | 'ec2' | 'kms'): { auth: SignedAuth; principal: Principal } {
  // For these services the canonical request ends with the hash of the body received (AWS
  // General Reference, "Create a canonical request for Signature Version 4": HexEncode(Hash(
  // RequestPayload))); only S3 lets x-amz-content-sha256 stand in for it (UNSIGNED-PAYLOAD,
  // streaming). Trusting a declared value would let a captured signed ListUsers carry a CreateUser
  // body, so any declared value other than the body's own hash fails as the signature would on AWS.
  const declared = headerValue(ctx.view.headers, 'x-amz-content-sha256')
  if (declared !== undefined && declared !== sha256Hex(body)) throw apiAuthError(s3Error('SignatureDoesNotMatch'))
  let auth: ReturnType<typeof authenticateRequest>
  try {
    auth = authenticateRequest(s, ctx.view, { service, bufferedBody: body })
  } catch (e) {
    throw apiAuthError(e)
  }
  if (auth.kind !== 'signed') throw s3Error('MissingAuthenticationToken')
  // IAM signs in us-east-1; a regional STS host takes its own region (the custom endpoint: any).
  const t = ctx.target
  const region = t.kind === 'api' ? (t.service === 'iam' ? 'us-east-1' : t.region) : undefined
  if (region !== undefined && auth.region !== undefined && auth.region !== region) {
    throw s3Error('SignatureDoesNotMatch', { message: `Credential should be scoped to a valid region, not '${auth.region}'. ` })
  }
  const key = s.identities.findKey(auth.accessKeyId)
  if (!key) throw s3Error('InvalidClientTokenId')
  ctx.info.principal = key.principal.arn
  return { auth, principal: key.principal }
}

function apiAuthError(e: unknown): unknown {
  if (!(e instanceof S3Error)) return e
  switch (e.code) {
    case 'InvalidAccessKeyId':
      return s3Error('InvalidClientTokenId')
    case 'InvalidToken':
      return s3Error('InvalidClientTokenId')
    case 'ExpiredToken':
      return s3Error('ExpiredToken', { message: 'The security token included in the request is expired' })
    // The S3 error carries the canonical request and string to sign; IAM's does not.
    case 'SignatureDoesNotMatch':
      return s3Error('SignatureDoesNotMatch', {
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      })
    default:
      return e
  }
}

/** The decision for `action` on `resourceArn` (in `resourceAccount`, default the caller's). */
export function decide(
  call: ApiCall,
  principal: Principal,
  action: string,
  resourceArn: string,
  opts: { resourceAccount?: string; context?: Record<string, string[]> } = {},
): Decision {
  const { s, ctx } = call
  const who = authzPrincipal(principal)
  const facts = requestFacts(ctx.origin, call.auth, who, call.now.getTime())
  const context = { ...buildS3Context(facts), ...(opts.context ?? {}) }
  return authorize(
    { principal: who, action, resources: { bucket: { arn: resourceArn, ownerAccount: opts.resourceAccount ?? principal.accountId } }, context },
    { ...identityLayers(s, principal) },
  )
}

/** Throws AccessDenied (with IAM's wording) unless the caller may do `action` on `resourceArn`. */
export function requireAllowed(call: ApiCall, action: string, resourceArn: string, context?: Record<string, string[]>): void {
  const d = decide(call, call.principal, action, resourceArn, context ? { context } : {})
  if (d.effect === 'Allow') return
  call.s.decisions.remember(call.ctx.requestId, d)
  throw accessDenied(
    call.principal,
    action,
    resourceArn,
    d.effect === 'ExplicitDeny' ? 'with an explicit deny in an identity-based policy' : 'because no identity-based policy allows the ' + action + ' action',
  )
}

export function accessDenied(p: Principal, action: string, resource: string, why: string): S3Error {
  return s3Error('AccessDenied', { message: `User: ${p.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}` })
}

/** aws:RequestTag/* and aws:TagKeys for calls that set tags. */
export function tagContext(tags: Record<string, string>): Record<string, string[]> {
  const c: Record<string, string[]> = {}
  const keys = Object.keys(tags)
  if (keys.length === 0) return c
  for (const [k, v] of Object.entries(tags)) c[`aws:requesttag/${k.toLowerCase()}`] = [v]
  c['aws:tagkeys'] = keys
  return c
}

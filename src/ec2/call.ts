/**
 * @module One EC2 call as its operations see it, and what every operation does with it: authorize
 * the action on a resource, honour DryRun, name resources by ARN. Below the handler and the
 * operations both, so neither imports the other for these.
 */

import type { Core } from '../core/core.js'
import type { HandlerContext } from '../http/handler.js'
import { type ApiCall, decide } from '../iam/api-auth.js'
import type { Principal } from '../iam/identities.js'
import { type Ec2Params, ec2Error } from './query.js'

export interface Ec2Call {
  s: Core
  ctx: HandlerContext
  params: Ec2Params
  principal: Principal
  region: string
  /** For the shared decision helper. */
  api: ApiCall
}

/** Returns the inner XML of the response. */
export type Ec2Op = (call: Ec2Call) => string | Promise<string>

/**
 * Authorizes `ec2:<action>` on `resourceArn` (owned by `owner`, default the caller's account);
 * with DryRun=true, ends the call with DryRunOperation (allowed) instead of running it.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-api-permissions.html
 */
export function authorizeEc2(call: Ec2Call, action: string, resourceArn: string, owner?: string): void {
  const d = decide(call.api, call.principal, `ec2:${action}`, resourceArn, owner !== undefined ? { resourceAccount: owner } : {})
  if (d.effect !== 'Allow') {
    call.s.decisions.remember(call.ctx.requestId, d)
    throw ec2Error(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User: ${call.principal.arn} is not authorized to perform: ec2:${action} on resource: ${resourceArn}`,
      403,
    )
  }
}

/** Ends a DryRun call that would have succeeded (after authorization and validation). */
export function dryRunCheck(call: Ec2Call): void {
  if (call.params.bool('DryRun') === true) throw ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412)
}

export function ec2Arn(call: Ec2Call, kind: 'vpc' | 'vpc-endpoint' | 'subnet' | 'security-group', id: string, account = call.principal.accountId): string {
  return `arn:${call.s.world.partition}:ec2:${call.region}:${account}:${kind}/${id}`
}

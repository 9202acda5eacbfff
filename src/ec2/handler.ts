/**
 * @module The EC2 API (VPCs and VPC endpoints): read the form, authenticate (SigV4, service `ec2`,
 * with the IAM engineer's helpers), dispatch on `Action`, authorize each call through the policy
 * engine (`ec2:<Action>` on the resource's ARN, identity-side layers), honour DryRun, and render
 * errors in EC2's envelope. EC2 is regional: the region is the host's (`ec2.<region>...`) or, on a
 * custom endpoint, the signature's scope.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 */
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import type { Services } from '../services.js'
import { S3Error } from '../shared/errors.js'
import { authenticateApi, decide, type ApiCall } from '../iam/api-auth.js'
import { Params, readQueryCall } from '../iam/query.js'
import type { Principal } from '../iam/identities.js'
import { Ec2Params, ec2Error, ec2Response } from './query.js'
import { vpcOps } from './vpc-ops.js'
import { endpointOps } from './endpoint-ops.js'

export interface Ec2Call {
  s: Services
  ctx: HandlerContext
  params: Ec2Params
  principal: Principal
  region: string
  /** For the shared decision helper. */
  api: ApiCall
}

/** Returns the inner XML of the response. */
export type Ec2Op = (call: Ec2Call) => string

const OPS: Record<string, Ec2Op> = { ...vpcOps, ...endpointOps }

export function ec2Handler(s: Services): ServiceHandler {
  return {
    envelope: 'ec2',
    handle: async (ctx: HandlerContext): Promise<WireResult> => {
      const { body, form } = await readQueryCall(ctx.req, ctx.view.method, ctx.view.rawQuery)
      const params = new Ec2Params(form)
      const action = params.action
      ctx.info.op = `ec2:${action ?? '?'}`
      let authed
      try {
        authed = authenticateApi(s, ctx, body, 'ec2')
      } catch (e) {
        throw ec2AuthError(e)
      }
      if (action === undefined) throw ec2Error('MissingAction', 'The request must contain the parameter Action')
      const op = Object.hasOwn(OPS, action) ? OPS[action] : undefined
      if (!op) throw ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`)
      const t = ctx.target
      const region = (t.kind === 'api' ? t.region : undefined) ?? authed.auth.region ?? 'us-east-1'
      if (!s.world.regions.some((r) => r.name === region)) {
        throw ec2Error('AuthFailure', `AWS was not able to validate the provided access credentials (the region ${region} is not one of this world's regions)`, 401)
      }
      const api: ApiCall = { s, ctx, params: new Params(form), auth: authed.auth, principal: authed.principal, now: s.clock() }
      return ec2Response(action, op({ s, ctx, params, principal: authed.principal, region, api }), ctx.requestId)
    },
  }
}

/** EC2 says AuthFailure where IAM says InvalidClientTokenId / SignatureDoesNotMatch. */
function ec2AuthError(e: unknown): unknown {
  if (!(e instanceof S3Error)) return e
  switch (e.code) {
    case 'InvalidClientTokenId':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
      return ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
    case 'MissingAuthenticationToken':
      return ec2Error('MissingAuthenticationToken', 'Request is missing Authentication Token', 401)
    case 'RequestTimeTooSkewed':
      return ec2Error('RequestExpired', 'Request has expired.')
    default: return e
  }
}

/**
 * Authorizes `ec2:<action>` on `resourceArn` (owned by `owner`, default the caller's account);
 * with DryRun=true, ends the call with DryRunOperation (allowed) instead of running it.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-api-permissions.html
 */
export function authorizeEc2(call: Ec2Call, action: string, resourceArn: string, owner?: string): void {
  const d = decide(call.api, call.principal, `ec2:${action}`, resourceArn, owner !== undefined ? { resourceAccount: owner } : {})
  if (d.effect !== 'Allow') {
    call.s.decisions.remember(call.ctx.requestId, d)
    throw ec2Error('UnauthorizedOperation', `You are not authorized to perform this operation. User: ${call.principal.arn} is not authorized to perform: ec2:${action} on resource: ${resourceArn}`, 403)
  }
}

/** Ends a DryRun call that would have succeeded (after authorization and validation). */
export function dryRunCheck(call: Ec2Call): void {
  if (call.params.bool('DryRun') === true) throw ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412)
}

export function ec2Arn(call: Ec2Call, kind: 'vpc' | 'vpc-endpoint', id: string, account = call.principal.accountId): string {
  return `arn:${call.s.world.partition}:ec2:${call.region}:${account}:${kind}/${id}`
}

/**
 * @module The EC2 API (VPCs and VPC endpoints): read the form, authenticate (SigV4, service `ec2`,
 * through the Query-protocol authentication IAM and STS use), dispatch on `Action`, authorize each call through the policy
 * engine (`ec2:<Action>` on the resource's ARN, identity-side layers), honour DryRun, and render
 * errors in EC2's envelope. EC2 is regional: the region is the host's (`ec2.<region>...`) or, on a
 * custom endpoint, the signature's scope.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 */

import type { Core } from '../core/core.js'
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import { type ApiCall, authenticateApi } from '../iam/api-auth.js'
import { Params, readQueryCall } from '../iam/query.js'
import { S3Error } from '../shared/errors.js'
import type { Ec2Op } from './call.js'
import { endpointOps } from './endpoint-ops.js'
import { eniOps } from './eni-ops.js'
import { groupOps } from './group-ops.js'
import { Ec2Params, ec2Error, ec2Response } from './query.js'
import { subnetOps } from './subnet-ops.js'
import { vpcOps } from './vpc-ops.js'

const OPS: Record<string, Ec2Op> = { ...vpcOps, ...endpointOps, ...subnetOps, ...groupOps, ...eniOps }

export function ec2Handler(s: Core): ServiceHandler {
  return {
    envelope: 'ec2',
    handle: async (ctx: HandlerContext): Promise<WireResult> => {
      const { body, form } = await readQueryCall(ctx.req, ctx.view.method, ctx.view.rawQuery)
      const params = new Ec2Params(form)
      const action = params.action
      ctx.info.op = `ec2:${action ?? '?'}`
      let authed: ReturnType<typeof authenticateApi>
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
        throw ec2Error(
          'AuthFailure',
          `AWS was not able to validate the provided access credentials (the region ${region} is not one of this world's regions: ${s.world.regions.map((r) => r.name).join(', ')})`,
          401,
        )
      }
      const api: ApiCall = { s, ctx, params: new Params(form), auth: authed.auth, principal: authed.principal, now: s.clock() }
      return ec2Response(action, await op({ s, ctx, params, principal: authed.principal, region, api }), ctx.requestId)
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
    default:
      return e
  }
}

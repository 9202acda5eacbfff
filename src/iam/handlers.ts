/**
 * @module The IAM and STS service handlers: read the form, authenticate (SigV4 with service `iam`
 * or `sts`), dispatch on `Action`, wrap the result in the Query-protocol envelope. Errors render
 * in the `iam` envelope (`<ErrorResponse><Error><Type/><Code/><Message/>`).
 */

import type { Core } from '../core/core.js'
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import { s3Error } from '../shared/errors.js'
import { type ApiCall, authenticateApi } from './api-auth.js'
import type { Op } from './iam-common.js'
import { roleOps } from './iam-roles.js'
import { userOps } from './iam-users.js'
import { ConcurrentChangeError } from './identities.js'
import { IAM_NS, Params, queryResponse, readQueryCall, STS_NS } from './query.js'
import { stsOps } from './sts.js'

const IAM_OPS: Record<string, Op> = { ...userOps, ...roleOps }

function handler(s: Core, service: 'iam' | 'sts', ops: Record<string, Op>, ns: string, version: string): ServiceHandler {
  return {
    envelope: 'iam',
    handle: async (ctx: HandlerContext): Promise<WireResult> => {
      const { body, form } = await readQueryCall(ctx.req, ctx.view.method, ctx.view.rawQuery)
      const params = new Params(form)
      const action = params.action
      ctx.info.op = `${service}:${action ?? '?'}`
      const { auth, principal } = authenticateApi(s, ctx, body, service)
      if (action === undefined) throw s3Error('MissingParameter', { message: 'The request must contain the parameter Action.' })
      const op = Object.hasOwn(ops, action) ? ops[action] : undefined
      if (!op) throw s3Error('InvalidAction', { message: `Could not find operation ${action} for version ${version}` })
      const call: ApiCall = { s, ctx, params, auth, principal, now: s.clock() }
      try {
        // One call at a time per node: each reads what the one before it wrote (Identities.serially).
        return queryResponse(ns, action, await s.identities.serially(() => op(call)), ctx.requestId)
      } catch (e) {
        // Another node changed the same record meanwhile; the caller retries, as IAM asks.
        if (e instanceof ConcurrentChangeError) throw s3Error('ConcurrentModification')
        throw e
      }
    },
  }
}

export function iamHandlers(s: Core): { iam: ServiceHandler; sts: ServiceHandler } {
  return { iam: handler(s, 'iam', IAM_OPS, IAM_NS, '2010-05-08'), sts: handler(s, 'sts', stsOps, STS_NS, '2011-06-15') }
}

/**
 * @module The S3 Control service handler for Multi-Region Access Points: resolve the operation from
 * method and path, authenticate (SigV4, signing name `s3`), check the control-plane Region, the
 * account (host prefix, `x-amz-account-id`, the signer's account), Content-MD5 and authorization,
 * then run the operation (operations.ts). Errors use the `<ErrorResponse>` envelope.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingMultiRegionAccessPoints.html
 */
import { createHash } from 'node:crypto'
import { type AuthResult, decodeBody } from '../auth/index.js'
import type { Core } from '../core/core.js'
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import { stripPort } from '../http/target.js'
import { authenticateRequest, principalOf } from '../pipeline/credentials.js'
import { readSmallBody } from '../s3/context.js'
import { header } from '../s3/headers.js'
import { s3Error } from '../shared/errors.js'
import type { PgStateStore } from '../state/postgres/pg-state.js'
import { AsyncOperations } from './async-ops.js'
import { authorizeControl } from './authorize.js'
import { type ControlConfig, controlConfigFrom } from './config.js'
import { runOperation } from './operations.js'
import { type ControlOperationName, isRouteOperation, matchControlPath } from './paths.js'
import { RouteApplier } from './routes.js'
import { mrapWorker } from './worker.js'

/** Request bodies here are small XML documents (a policy is at most 20 KB). */
const MAX_BODY = 256 * 1024

/** How a node of a fleet takes part in running async operations (shared state only). */
export interface FleetOptions {
  /** How long a claimed step stays with a node that stopped answering (default 30 s). */
  leaseMs?: number
  /** How often an idle node looks for ready steps (default 100 ms, about the operations' own delays). */
  pollMs?: number
}

export class ControlHandler implements ServiceHandler {
  readonly envelope = 'control' as const
  readonly asyncOps: AsyncOperations
  readonly routes: RouteApplier

  constructor(
    readonly services: Core,
    public config: ControlConfig,
    fleet: FleetOptions = {},
  ) {
    const s = services
    const lease = s.state.backend === 'postgres' ? { pool: (s.state as PgStateStore).pool, leaseMs: fleet.leaseMs ?? 30_000, pollMs: fleet.pollMs ?? 100 } : undefined
    this.asyncOps = new AsyncOperations(
      s.state,
      mrapWorker(s, () => this.config),
      { config, clock: s.clock, log: s.log, partition: s.world.partition, ...(lease ? { lease } : {}) },
    )
    this.routes = new RouteApplier(s.mraps, s.state, { delayMs: () => this.config.routeDelayMs, clock: s.clock, log: s.log })
  }

  /** Carries on with work a previous run left unfinished. */
  start(): this {
    this.asyncOps.resume()
    this.routes.resume()
    return this
  }

  close(): void {
    this.asyncOps.close()
    this.routes.close()
  }

  async handle(ctx: HandlerContext): Promise<WireResult> {
    const s = this.services
    const { view, req } = ctx
    const op = matchControlPath(view.method, view.rawPath)
    if (!op) {
      req.resume()
      throw s3Error('NotImplemented', { message: 'This server implements only the Multi-Region Access Point operations of S3 Control.' })
    }
    ctx.info.op = op.name
    const auth = authenticateRequest(s, view)
    // "Anonymous requests are not supported" (MultiRegionAccessPointRestrictions).
    if (auth.kind === 'anonymous') throw s3Error('AccessDenied')
    const principal = principalOf(s, auth)
    ctx.info.principal = principal.arn
    this.checkRegion(op.name, ctx, auth)
    const account = this.accountOf(ctx)
    if (principal.accountId !== account) throw s3Error('AccessDenied')

    let body: Buffer = Buffer.alloc(0)
    if (view.method === 'POST' || view.method === 'PATCH') {
      body = await readSmallBody(decodeBody(view, auth, req), MAX_BODY)
    } else if (!req.readableEnded) {
      req.resume()
    }
    // Every MRAP operation is httpChecksumRequired: clients send Content-MD5, and a wrong one is refused.
    const md5 = header(req.headers, 'content-md5')
    if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) throw s3Error('BadDigest')

    const result = await runOperation({
      s,
      op,
      account,
      body,
      requestId: ctx.requestId,
      handler: this,
      log: ctx.log,
      allow: (action, resource) => {
        const d = authorizeControl(s, { principal, auth, origin: ctx.origin, headers: req.headers, action, resource, account })
        if (!d.allowed) {
          ctx.log.info({ why: d.reason }, 'access denied')
          if (d.decision) s.decisions.remember(ctx.requestId, d)
          throw s3Error('AccessDenied')
        }
      },
    })
    return result
  }

  /**
   * Management calls answer only in us-west-2, routes calls in five Regions; elsewhere a 301
   * PermanentRedirect (the wording AWS returns since 2024). The Region is the host's for AWS host
   * names, else the signature's credential scope (custom endpoints).
   */
  private checkRegion(name: ControlOperationName, ctx: HandlerContext, auth: AuthResult): void {
    const t = ctx.target
    const region = (t.kind === 'control' || t.kind === 'service' ? t.region : undefined) ?? (auth.kind === 'signed' ? auth.region : undefined)
    const allowed = isRouteOperation(name) ? this.config.routeRegions : this.config.managementRegions
    if (region !== undefined && allowed.includes(region)) return
    // AWS's message; for a region the world lacks, the world's regions too (docs/decisions/unserved-regions.md).
    const world = this.services.world.regions.map((r) => r.name)
    const outside = region !== undefined && !world.includes(region) ? ` (${region} is not a region of this server's world, which has ${world.join(', ')}.)` : ''
    throw s3Error('PermanentRedirect', {
      message: `This API operation is only available in the following Regions: ${allowed.join(', ')}. Make sure to send all future requests to a supported Region.${outside}`,
    })
  }

  /**
   * The account the call is about: `x-amz-account-id` (required by the model) and the
   * `<account>.` host prefix the endpoint rules add must agree when both are there.
   */
  private accountOf(ctx: HandlerContext): string {
    const fromHeader = header(ctx.req.headers, 'x-amz-account-id')
    let fromHost: string | undefined
    if (ctx.target.kind === 'control') fromHost = ctx.target.accountId
    else {
      const first = stripPort((header(ctx.req.headers, 'host') ?? '').toLowerCase()).split('.')[0] ?? ''
      if (/^\d{12}$/.test(first)) fromHost = first
    }
    if (fromHeader !== undefined && !/^\d{12}$/.test(fromHeader)) {
      throw s3Error('InvalidRequest', { message: `The x-amz-account-id header ${JSON.stringify(fromHeader)} is not a 12-digit account ID.` })
    }
    if (fromHeader !== undefined && fromHost !== undefined && fromHeader !== fromHost) throw s3Error('AccessDenied')
    const account = fromHeader ?? fromHost
    if (account === undefined) throw s3Error('InvalidRequest', { message: 'Missing required header for this request: x-amz-account-id' })
    return account
  }
}

export function createControlHandler(s: Core, config: ControlConfig = controlConfigFrom(s.world), fleet: FleetOptions = {}): ControlHandler {
  return new ControlHandler(s, config, fleet).start()
}

/**
 * @module The ten S3 Control MRAP operations, once the handler has authenticated the call and
 * checked its Region and account. Create, Delete and PutPolicy validate what the request alone
 * shows, authorize, and return a RequestTokenARN; the rest answer at once.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_AWS_S3_Control.html
 */
import type { Logger } from 'pino'
import type { Core } from '../core/core.js'
import type { WireResult } from '../http/respond.js'
import { type MrapRecord, mrapArn } from '../mrap/registry.js'
import type { XmlObject } from '../s3/xml.js'
import { s3Error } from '../shared/errors.js'
import type { AsyncOperations, AsyncParams } from './async-ops.js'
import type { ControlConfig } from './config.js'
import type { ControlOperation } from './paths.js'
import { asyncOperationOf, policyDocumentOf, reportOf, routesOf } from './render.js'
import { checkName, parseCreate, parseDelete, parsePutPolicy } from './requests.js'
import type { RouteApplier } from './routes.js'
import { parseRouteUpdates } from './routes.js'
import { renderControl } from './xml.js'

/** The S3 Control state the operations act on (the handler holds it); not the handler itself. */
export interface ControlState {
  readonly config: ControlConfig
  readonly asyncOps: AsyncOperations
  readonly routes: RouteApplier
}

export interface OperationInput {
  s: Core
  op: ControlOperation
  account: string
  body: Buffer
  requestId: string
  /** What the operations keep between calls: the configuration, the async operations, the route applier. */
  handler: ControlState
  log: Logger
  /** Throws AccessDenied unless the caller may perform `action` on `resource`. */
  allow(action: string, resource: string): void
}

function xml(root: string, content: XmlObject): WireResult {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: renderControl(root, content) }
}

/**
 * "To manage Multi-Region Access Points you need s3:ListAllMyBuckets as well" (docs/aws/mrap.md §Control API): every
 * management call checks it besides its own action; the routes calls (failover controls) do not.
 */
function allowManagement(input: OperationInput, action: string, resource: string): void {
  input.allow(action, resource)
  input.allow('s3:ListAllMyBuckets', '*')
}

function noSuchMrap(name: string) {
  return s3Error('NoSuchMultiRegionAccessPoint', { message: `The specified Multi-Region Access Point does not exist: ${name}` })
}

/** The MRAP ARN for authorization; before an MRAP exists (or for an unknown name) every MRAP of the account. */
function resourceOf(s: Core, account: string, rec: MrapRecord | undefined): string {
  return rec ? mrapArn(rec, s.world.partition) : `arn:${s.world.partition}:s3::${account}:accesspoint/*`
}

export async function runOperation(input: OperationInput): Promise<WireResult> {
  const { s, op, account, handler } = input
  switch (op.name) {
    case 'CreateMultiRegionAccessPoint': {
      const { clientToken, create } = parseCreate(input.body, handler.config.maxRegionsPerMrap)
      allowManagement(input, 's3:CreateMultiRegionAccessPoint', resourceOf(s, account, undefined))
      return submitted(input, op.name, clientToken, { operation: op.name, create })
    }
    case 'DeleteMultiRegionAccessPoint': {
      const { clientToken, name } = parseDelete(input.body)
      const rec = s.mraps.byName(account, name)
      allowManagement(input, 's3:DeleteMultiRegionAccessPoint', resourceOf(s, account, rec))
      if (!rec && !replay(input, op.name, clientToken)) throw noSuchMrap(name)
      return submitted(input, op.name, clientToken, { operation: op.name, name })
    }
    case 'PutMultiRegionAccessPointPolicy': {
      const { clientToken, name, policy } = parsePutPolicy(input.body)
      const rec = s.mraps.byName(account, name)
      allowManagement(input, 's3:PutMultiRegionAccessPointPolicy', resourceOf(s, account, rec))
      if (!rec) throw noSuchMrap(name)
      // Syntax and resource errors are refused at once (docs/aws/mrap.md §Where AWS is silent), with the engine's message.
      const problem = s.policies.problems(policy, { kind: 'mrap', mrapArn: mrapArn(rec, s.world.partition) })[0]
      if (problem) throw s3Error('MalformedPolicy', { message: problem.message })
      return submitted(input, op.name, clientToken, { operation: op.name, name, policy })
    }
    case 'DescribeMultiRegionAccessPointOperation': {
      allowManagement(input, 's3:DescribeMultiRegionAccessPointOperation', op.requestTokenArn)
      const token = tokenOf(op.requestTokenArn, account)
      const rec = token !== undefined ? handler.asyncOps.get(token) : undefined
      if (!rec || rec.account !== account || rec.arn !== op.requestTokenArn) {
        throw s3Error('NoSuchAsyncRequest', { message: `The specified async request does not exist: ${op.requestTokenArn}` })
      }
      return xml('DescribeMultiRegionAccessPointOperationResult', { AsyncOperation: asyncOperationOf(rec) })
    }
    case 'ListMultiRegionAccessPoints': {
      allowManagement(input, 's3:ListMultiRegionAccessPoints', '*')
      // maxResults and nextToken are "Not currently used": one page holds them all (at most 100).
      return xml('ListMultiRegionAccessPointsResult', { AccessPoints: { AccessPoint: s.mraps.list(account).map(reportOf) } })
    }
    case 'GetMultiRegionAccessPoint':
    case 'GetMultiRegionAccessPointPolicy':
    case 'GetMultiRegionAccessPointPolicyStatus': {
      const name = checkName(op.mrapName)
      const rec = s.mraps.byName(account, name)
      allowManagement(input, `s3:${op.name}`, resourceOf(s, account, rec))
      if (!rec) throw noSuchMrap(name)
      if (op.name === 'GetMultiRegionAccessPoint') return xml('GetMultiRegionAccessPointResult', { AccessPoint: reportOf(rec) })
      if (op.name === 'GetMultiRegionAccessPointPolicy') return xml('GetMultiRegionAccessPointPolicyResult', { Policy: policyDocumentOf(rec) })
      // IsPublic of the *established* policy, as the policy engine judges it (docs/aws/authorization.md §Public policies).
      const isPublic = rec.policy !== undefined && s.policies.isPublic(rec.policy, 'mrap')
      return xml('GetMultiRegionAccessPointPolicyStatusResult', { Established: { IsPublic: isPublic } })
    }
    case 'GetMultiRegionAccessPointRoutes':
    case 'SubmitMultiRegionAccessPointRoutes': {
      const rec = mrapById(s, account, op.mrap)
      input.allow(`s3:${op.name}`, resourceOf(s, account, rec))
      if (!rec) throw noSuchMrap(op.mrap)
      if (op.name === 'GetMultiRegionAccessPointRoutes') {
        return xml('GetMultiRegionAccessPointRoutesResult', { Mrap: op.mrap, Routes: { Route: routesOf(rec) } })
      }
      const dials = await handler.routes.submit(rec.alias, parseRouteUpdates(input.body))
      input.log.info({ alias: rec.alias, dials }, 'mrap routes submitted')
      return xml('SubmitMultiRegionAccessPointRoutesResult', {})
    }
  }
}

/** Whether this ClientToken already started this operation (a retried Delete must get its token back). */
function replay(input: OperationInput, operation: AsyncParams['operation'], clientToken: string): boolean {
  return input.handler.asyncOps.findByClientToken(input.account, operation, clientToken) !== undefined
}

async function submitted(input: OperationInput, root: AsyncParams['operation'], clientToken: string, params: AsyncParams): Promise<WireResult> {
  const op = await input.handler.asyncOps.submit(input.account, clientToken, params, input.requestId)
  input.log.info({ operation: root, token: op.token }, 'mrap async operation accepted')
  return xml(`${root}Result`, { RequestTokenARN: op.arn })
}

/** The token of `arn:<partition>:s3:us-west-2:<account>:async-request/mrap/<kind>/<token>`. */
function tokenOf(arn: string, account: string): string | undefined {
  const m = arn.match(/^arn:[^:]+:s3:[^:]*:(\d{12}):async-request\/mrap\/(?:create|delete|put-policy)\/([^/]+)$/)
  return m && m[1] === account ? m[2] : undefined
}

/**
 * The `{Mrap}` label of the routes calls: the MRAP ARN (`arn:aws:s3::<acct>:accesspoint/<alias>`,
 * or the `accesspoint:<alias>` form the SDKs also accept), or the bare alias. An ARN of another
 * account is refused; anything else unparseable is a 400.
 */
function mrapById(s: Core, account: string, id: string): MrapRecord | undefined {
  let alias = id
  if (id.startsWith('arn:')) {
    const m = id.match(/^arn:[^:]+:s3::(\d{12}):accesspoint[/:]([a-z][a-z0-9]*\.mrap)$/)
    if (!m) throw s3Error('InvalidRequest', { message: `${id} is not a valid Multi-Region Access Point ARN.` })
    if (m[1] !== account) throw s3Error('AccessDenied')
    alias = m[2]!
  } else if (!/^[a-z][a-z0-9]*\.mrap$/.test(id)) {
    throw s3Error('InvalidRequest', { message: `${id} is not a valid Multi-Region Access Point ARN.` })
  }
  const rec = s.mraps.byAlias(alias)
  return rec && rec.owner === account ? rec : undefined
}

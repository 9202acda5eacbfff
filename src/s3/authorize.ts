/**
 * @module Stage "authorize" for S3 requests: gathers the policy inputs (identity policies, the
 * bucket's policy and Block Public Access, the request context) and asks the pure policy engine.
 * Every request goes through it; there is no owner short-cut.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { PolicyCache } from '../authz/policy-cache.js'
import { type AuthFacts, requestFacts } from '../authz/request-facts.js'
import type { Origin } from '../core/origin.js'
import type { Principal } from '../iam/identities.js'
import { type MrapRecord, mrapArn } from '../mrap/registry.js'
import {
  type AuthzPrincipal,
  type AuthzRequest,
  authorize,
  bucketArn,
  buildS3Context,
  type CompiledPolicy,
  type Decision,
  type Layers,
  type S3RequestFacts,
} from '../policy/index.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'
import { aclInput, aclsEnabled, foreignObjectRefusal } from './acl.js'
import type { Operation } from './classify.js'
import { type LockFacts, lockFactsFromHeaders } from './ops/object-lock.js'

/**
 * What authorizing an S3 request needs from the server. `Services` is one; `mrap explain` builds
 * another from a world file or a running server's state, so both decide through this one module.
 */
export interface S3AuthzEnv {
  policies: Pick<PolicyCache, 'get'>
  accountBpaMap(): Record<string, BlockPublicAccess>
  clock(): Date
  world: { partition: string }
}

/** The authentication facts authorization reads (an AuthResult is one). */
export type S3AuthFacts = AuthFacts

export interface S3AuthzInput {
  principal: Principal
  op: Operation
  actions: string[]
  bucket?: BucketRecord | undefined
  bucketName?: string | undefined
  key?: string | undefined
  auth: S3AuthFacts
  origin: Origin
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** Through a Multi-Region Access Point: adds the MRAP context (both must allow). */
  mrap?: MrapRecord | undefined
  /** Object Lock values read from the body (PutObjectRetention, PutObjectLegalHold); else from headers. */
  objectLock?: LockFacts | undefined
  /** The object's stored ACL, read before authorization where the bucket's ACLs are enabled (objectAclFor). */
  objectAcl?: ObjectAcl | undefined
}

export interface S3Decision {
  allowed: boolean
  /** For the log and for `mrap explain`; never sent to the client. */
  reason: string
  decision?: Decision
  /** What was decided and when, so `mrap explain --request-id` can replay it with the explanation. */
  input?: S3AuthzInput
  timeMs?: number
}

// Principals are rebuilt (new objects) whenever IAM state changes, so one view per object stays true.
const authzViews = new WeakMap<Principal, AuthzPrincipal>()

export function authzPrincipal(p: Principal): AuthzPrincipal {
  let out = authzViews.get(p)
  if (out) return out
  if (p.type === 'Anonymous') out = { type: 'Anonymous', arn: '*', accountId: 'anonymous' }
  else {
    out = { type: p.type, arn: p.arn, accountId: p.accountId, userId: p.userId, tags: p.tags }
    if (p.username !== undefined) out.username = p.username
    if (p.roleArn !== undefined) out.roleArn = p.roleArn
  }
  authzViews.set(p, out)
  return out
}

type IdentityLayers = Pick<Layers, 'identity' | 'boundary' | 'session'>
// Per principal object (rebuilt on every IAM change) and per policy cache: the same inputs give the same layers.
const identityViews = new WeakMap<Principal, { cache: object; layers: IdentityLayers }>()

/** The caller's identity-side layers, compiled once per policy text. */
export function identityLayers(s: Pick<S3AuthzEnv, 'policies'>, p: Principal): IdentityLayers {
  const known = identityViews.get(p)
  if (known && known.cache === s.policies) return known.layers
  const layers = buildIdentityLayers(s, p)
  identityViews.set(p, { cache: s.policies, layers })
  return layers
}

function buildIdentityLayers(s: Pick<S3AuthzEnv, 'policies'>, p: Principal): IdentityLayers {
  const identity: CompiledPolicy[] = []
  for (const d of p.identityPolicies) {
    const c = s.policies.get(d.document, 'identity', d.name)
    if (c) identity.push(c)
  }
  const out: Pick<Layers, 'identity' | 'boundary' | 'session'> = { identity }
  if (p.permissionsBoundary) {
    const b = s.policies.get(p.permissionsBoundary, 'boundary')
    if (b) out.boundary = b
  }
  if (p.sessionPolicy) {
    const sp = s.policies.get(p.sessionPolicy, 'session')
    if (sp) out.session = [sp]
  }
  return out
}

/** SSE-C keys are secrets, not condition keys: kept out of the context (and of what explain and the decision log hold). */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['x-amz-server-side-encryption-customer-key', 'x-amz-copy-source-server-side-encryption-customer-key'])

function amzHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) {
    if (!k.startsWith('x-amz-') || v === undefined || k === 'x-amz-security-token' || k === 'x-amz-content-sha256' || k === 'x-amz-date' || SECRET_HEADERS.has(k)) continue
    out[k] = Array.isArray(v) ? v.join(',') : v
  }
  return out
}

export function s3Facts(s: Pick<S3AuthzEnv, 'clock'>, input: S3AuthzInput, principal: AuthzPrincipal, timeMs = s.clock().getTime()): S3RequestFacts {
  const facts = requestFacts(input.origin, input.auth, principal, timeMs)
  const headers = amzHeaders(input.headers)
  facts.amzHeaders = headers
  // s3:if-none-match and s3:if-match, the keys a bucket policy enforces conditional writes with
  // ("Enforce conditional writes on Amazon S3 buckets",
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html).
  if (input.op.name === 'PutObject' || input.op.name === 'CompleteMultipartUpload') {
    for (const n of ['if-none-match', 'if-match']) {
      const v = input.headers[n]
      if (typeof v === 'string') headers[n] = v
    }
  }
  const q = input.query
  if (input.op.name === 'ListObjects' || input.op.name === 'ListObjectsV2' || input.op.name === 'ListObjectVersions') {
    facts.prefix = q.get('prefix') ?? ''
    const d = q.get('delimiter')
    if (d !== null) facts.delimiter = d
    const m = q.get('max-keys')
    if (m !== null && /^\d+$/.test(m)) facts.maxKeys = Number(m)
  }
  const v = q.get('versionId')
  if (v !== null) facts.versionId = v
  const lock = input.objectLock ?? lockFactsFromHeaders(input.op.name, input.headers)
  if (lock) facts.objectLock = lock
  return facts
}

/** The request's condition keys (lower-case), as the policy engine sees them. */
export function s3RequestContext(
  s: Pick<S3AuthzEnv, 'clock' | 'world'>,
  input: S3AuthzInput,
  principal: AuthzPrincipal,
  timeMs?: number,
): { context: Record<string, string[]>; timeMs: number } {
  const facts = s3Facts(s, input, principal, timeMs)
  const m = input.mrap
  if (m) facts.dataAccessPoint = { arn: mrapArn(m, s.world.partition), account: m.owner }
  return { context: buildS3Context(facts), timeMs: facts.timeMs }
}

export function authorizeS3(s: S3AuthzEnv, input: S3AuthzInput, opts: { explain?: boolean } = {}): S3Decision {
  const principal = authzPrincipal(input.principal)
  const timeMs = s.clock().getTime()
  let built: Record<string, string[]> | undefined
  const context = (): Record<string, string[]> => (built ??= s3RequestContext(s, input, principal, timeMs).context)
  const m = input.mrap
  const idl = identityLayers(s, input.principal)
  const layers: Layers = { identity: idl.identity, accountBlockPublicAccess: s.accountBpaMap() }
  if (idl.boundary) layers.boundary = idl.boundary
  if (idl.session) layers.session = idl.session
  if (input.origin.vpc && input.origin.endpointPolicy) layers.endpoint = { id: input.origin.vpc.endpointId, policy: input.origin.endpointPolicy }
  const b = input.bucket
  const name = b?.name ?? input.bucketName
  const req: AuthzRequest = { principal, action: '', resources: {}, context }
  if (name !== undefined && input.op.level !== 'service') {
    req.resources.bucket = {
      arn: bucketArn(s.world.partition, name, input.key),
      ownerAccount: b?.owner ?? input.principal.accountId,
      bucketName: name,
    }
    const bucketLayer: NonNullable<Layers['bucket']> = {}
    if (b?.policy) {
      const p = s.policies.get(b.policy, 'bucket', `bucket policy of ${b.name}`)
      if (p) bucketLayer.policy = p
    }
    if (b?.publicAccessBlock) bucketLayer.blockPublicAccess = b.publicAccessBlock
    layers.bucket = bucketLayer
  }
  if (m) {
    const arn = mrapArn(m, s.world.partition)
    req.resources.mrap = { arn: input.key !== undefined && input.op.level === 'object' ? `${arn}/object/${input.key}` : arn, ownerAccount: m.owner }
    const mrapLayer: NonNullable<Layers['mrap']> = { blockPublicAccess: m.publicAccessBlock }
    if (m.policy) {
      const p = s.policies.get(m.policy, 'mrap', `policy of ${m.alias}`)
      if (p) mrapLayer.policy = p
    }
    layers.mrap = mrapLayer
  }
  // Only a bucket whose ACLs are enabled has ACL work to do; the default (BucketOwnerEnforced) allocates nothing here.
  const aclBucket = b !== undefined && layers.bucket !== undefined && aclsEnabled(b) ? b : undefined
  const caller = aclBucket ? { account: input.principal.type === 'Anonymous' ? undefined : input.principal.accountId } : undefined
  for (const action of input.actions) {
    req.action = action
    if (aclBucket && caller && layers.bucket) {
      const acl = aclInput(aclBucket, input.objectAcl, action, caller)
      if (acl) layers.bucket.acl = acl
      const foreign = foreignObjectRefusal(aclBucket, input.objectAcl, action, caller)
      if (foreign) return { allowed: false, reason: foreign, input, timeMs }
    }
    const d = authorize(req, layers, opts.explain ? { explain: true } : {})
    if (d.effect !== 'Allow') return { allowed: false, reason: `${action}: ${d.effect} by ${d.decidedBy}`, decision: d, input, timeMs }
    if (input.actions.length === 1) return { allowed: true, reason: `${action}: allowed by ${d.decidedBy}`, decision: d, input, timeMs }
  }
  return { allowed: true, reason: 'allowed', input, timeMs }
}

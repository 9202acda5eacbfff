/**
 * @module `mrap explain`'s evaluation: one request, every bucket it could be routed to (active or
 * passive: a failover can route anywhere), decided by the server's own `authorizeS3` with the
 * explanation on. The model is turned into the records the server holds (BucketRecord, MrapRecord,
 * an Origin with the VPC endpoint's policy), so what explain says is what the server does.
 */

import { PolicyCache } from '../authz/policy-cache.js'
import type { Origin } from '../core/origin.js'
import { ANONYMOUS, type Principal } from '../iam/identities.js'
import type { MrapRecord } from '../mrap/registry.js'
import { chooseEndpoint, type EndpointTarget, regionalS3Service, S3_GLOBAL_SERVICE } from '../network/endpoint-choice.js'
import { DENY_ALL_ENDPOINT_POLICY } from '../network/vpcs.js'
import { bucketArn, type Catalog, type ContextExplain, type Decision, findAction } from '../policy/index.js'
import { LatencyTable } from '../routing/latency.js'
import { chooseRoutes } from '../routing/mrap-router.js'
import { authorizeS3, authzPrincipal, type S3AuthzEnv, type S3AuthzInput, s3RequestContext } from '../s3/authorize.js'
import type { Operation, OperationName } from '../s3/classify.js'
import { objectAclDecides } from '../s3/ops/acl.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import { aclCell, type Cell, type Column, routeCells, routeWhy } from './cells.js'
import { KMS_LEGEND, type KmsRefusal, kmsLayer } from './kms.js'
import { type AuthzModel, findBucket, findMrap, findPrincipal, findVpc, type ModelBucket, type ModelMrap, type ModelPrincipal, mrapArnOf } from './model.js'
import { missingAnswer, type ObjectQuestion, objectAclOf, type RouteObject, readsVersion, routeObject, withSource } from './objects.js'

export interface ExplainQuery {
  /** Principal ref, user name, ARN, or `anonymous` (direct bucket requests only). */
  as: string
  action: string
  mrap?: string | undefined
  bucket?: string | undefined
  key?: string | undefined
  vpc?: string | undefined
  versionId?: string | undefined
  timeMs: number
}

export interface ExplainNetwork {
  kind: 'internet' | 'vpc-endpoint' | 'vpc-internet' | 'unreachable'
  region: string
  sourceIp: string
  vpcId?: string
  vpcName?: string
  endpointId?: string
  note?: string
}

export interface RouteResult {
  bucket: string
  region: string
  account: string
  /** 100 active, 0 passive (failover only); null for a direct bucket request. */
  dial: number | null
  /** Preference order of the active routes from the request's origin (1 = where it goes now). */
  rank: number | null
  /** `KeyUnusable`: S3's layers allow, and the KMS key is disabled, pending deletion or not found. */
  effect: Decision['effect'] | 'Unreachable' | 'KeyUnusable'
  status: number
  code?: string
  /** Which rule let each context allow (or `none`). */
  rules: Partial<Record<'mrap' | 'bucket', string>>
  cells: Record<Column, Cell>
  /** Where the bucket's ACLs are enabled: what its ACL said (src/explain/cells.ts aclCell). */
  acl?: Cell
  /** Where the object's own ACL takes part (./objects.ts): its stored ACL was read, the bucket has no such object, or it is not known. */
  object?: RouteObject['kind']
  /** Where S3 calls KMS for the caller (SSE-KMS default encryption): the key's decision (src/explain/kms.ts). */
  kms?: Cell
  why: string
  trace?: ContextExplain[]
  /** The key policy's request context (verbose, with a KMS layer). */
  kmsContext?: Record<string, string[]>
  /** Set when the KMS layer is what refuses the route (S3's layers allowed): what refused, for fix advice. */
  kmsRefusal?: KmsRefusal
}

export interface ExplainResult {
  source: string
  request: {
    principal: { ref: string; arn: string; accountId: string }
    action: string
    key?: string
    target: { kind: 'mrap'; name: string; alias: string; arn: string } | { kind: 'bucket'; name: string }
    resource: string
    network: ExplainNetwork
    time: string
    /** The request's condition keys, as the policy engine sees them (verbose). */
    context?: Record<string, string[]>
  }
  routes: RouteResult[]
  allAllowed: boolean
  notes: string[]
}

const INTERNET_IP = '203.0.113.10'
const NAT_IP = '198.51.100.10'

/** S3 operations named by their permission where the name matters to the request facts. */
const OPERATION: Record<string, OperationName> = {
  's3:getobject': 'GetObject',
  's3:getobjectversion': 'GetObject',
  's3:putobject': 'PutObject',
  's3:deleteobject': 'DeleteObject',
  's3:deleteobjectversion': 'DeleteObject',
  's3:listbucket': 'ListObjectsV2',
  's3:listbucketmultipartuploads': 'ListMultipartUploads',
  's3:getobjecttagging': 'GetObjectTagging',
  's3:getobjectversiontagging': 'GetObjectTagging',
  's3:putobjecttagging': 'PutObjectTagging',
  's3:putobjectversiontagging': 'PutObjectTagging',
  's3:deleteobjecttagging': 'DeleteObjectTagging',
  's3:deleteobjectversiontagging': 'DeleteObjectTagging',
  's3:getobjectacl': 'GetObjectAcl',
  's3:getobjectversionacl': 'GetObjectAcl',
  's3:putobjectacl': 'PutObjectAcl',
  's3:putobjectversionacl': 'PutObjectAcl',
  's3:getobjectattributes': 'GetObjectAttributes',
  's3:getobjectversionattributes': 'GetObjectAttributes',
  's3:abortmultipartupload': 'AbortMultipartUpload',
  's3:listmultipartuploadparts': 'ListParts',
  // Object Lock (src/s3/classify.ts names the same operations for these permissions).
  's3:getobjectretention': 'GetObjectRetention',
  's3:putobjectretention': 'PutObjectRetention',
  's3:getobjectlegalhold': 'GetObjectLegalHold',
  's3:putobjectlegalhold': 'PutObjectLegalHold',
  's3:getbucketobjectlockconfiguration': 'GetObjectLockConfiguration',
  's3:putbucketobjectlockconfiguration': 'PutObjectLockConfiguration',
  // Asked beside s3:DeleteObject(Version) or s3:PutObjectRetention by a request that bypasses GOVERNANCE.
  's3:bypassgovernanceretention': 'DeleteObject',
}

export function operationFor(action: string, catalog: Catalog | undefined, hasKey: boolean): Operation {
  const a = catalog ? findAction(catalog, action) : undefined
  const object = a ? a.resourceTypes.includes('object') : hasKey
  const level: Operation['level'] = object ? 'object' : a && a.resourceTypes.length === 0 ? 'service' : 'bucket'
  return { name: OPERATION[action.toLowerCase()] ?? (object ? 'GetObject' : 'HeadBucket'), level, body: 'none' }
}

/**
 * The operation an action names, when explain knows it (not the GetObject/HeadBucket stand-in
 * operationFor gives an action it does not list): only these are known to read a version.
 */
export function namedOperation(action: string): OperationName | undefined {
  return OPERATION[action.toLowerCase()]
}

/** The version a question reads: a version action names one (`null` when none is given); else the current one. */
export function questionVersionId(action: string, op: Operation, versionId: string | undefined): string | undefined {
  return /version/i.test(action) && op.level === 'object' ? (versionId ?? 'null') : undefined
}

/**
 * The objects a question needs read before it can be answered as the server answers it: its key on
 * each bucket it may be routed to whose ACLs decide the operation (src/s3/ops/acl.ts
 * objectAclDecides), or where the operation reads the version it names, which answers its own
 * error when the bucket has no such object (./objects.ts readsVersion). None without a key:
 * explain's placeholder `k` names no object.
 */
export function objectQuestion(
  model: AuthzModel,
  catalog: Catalog | undefined,
  q: Pick<ExplainQuery, 'action' | 'mrap' | 'bucket' | 'key' | 'versionId'>,
): ObjectQuestion | undefined {
  if (q.key === undefined) return undefined
  const op = operationFor(q.action, catalog, true)
  if (op.level !== 'object') return undefined
  const names = q.mrap !== undefined ? findMrap(model, q.mrap).routes.map((r) => r.bucket) : [findBucket(model, q.bucket ?? '').name]
  const buckets = names.filter((n) => {
    const b = model.buckets.find((x) => x.name === n)
    if (b === undefined) return false
    const rec = bucketRecord(b)
    return objectAclDecides(rec, op.name) || readsVersion(namedOperation(q.action), rec)
  })
  if (buckets.length === 0) return undefined
  const versionId = questionVersionId(q.action, op, q.versionId)
  return { key: q.key, ...(versionId !== undefined ? { versionId } : {}), buckets }
}

/** The server-side records of the model's bucket and MRAP (only policies in force). */
export function bucketRecord(b: ModelBucket): BucketRecord {
  const rec: BucketRecord = { name: b.name, region: b.region, owner: b.owner, createdAt: new Date(0), versioning: b.versioning, configs: { ...b.configs } }
  if (b.blockPublicAccess) rec.publicAccessBlock = b.blockPublicAccess
  if (b.policy && !b.policy.refusal) rec.policy = b.policy.text
  return rec
}

export function mrapRecord(m: ModelMrap): MrapRecord {
  const rec: MrapRecord = { name: m.name, alias: m.alias, owner: m.owner, createdAt: '', status: 'READY', publicAccessBlock: m.blockPublicAccess, regions: m.routes }
  if (m.policy && !m.policy.refusal) rec.policy = m.policy.text
  return rec
}

export function authzEnv(model: AuthzModel, catalog: Catalog | undefined, timeMs: number): S3AuthzEnv {
  const bpa: Record<string, BlockPublicAccess> = {}
  for (const a of model.accounts) if (a.blockPublicAccess) bpa[a.id] = a.blockPublicAccess
  const policies = new PolicyCache(catalog)
  return { policies, accountBpaMap: () => bpa, clock: () => new Date(timeMs), world: { partition: model.partition } }
}

/** Where the request comes from: the internet, or a VPC (through its endpoint, or its internet path). */
export function networkOf(model: AuthzModel, env: S3AuthzEnv, vpcRef: string | undefined, target: EndpointTarget): { network: ExplainNetwork; origin: Origin | undefined } {
  const service = target.kind === 'mrap' ? S3_GLOBAL_SERVICE : regionalS3Service(target.region ?? '')
  if (vpcRef === undefined) {
    return { network: { kind: 'internet', region: model.frontDoorRegion, sourceIp: INTERNET_IP }, origin: { sourceIp: INTERNET_IP, secure: true, region: model.frontDoorRegion } }
  }
  const vpc = findVpc(model, vpcRef)
  const base = { vpcId: vpc.id, ...(vpc.name ? { vpcName: vpc.name } : {}), region: vpc.region }
  // The server's own rule (src/network/endpoint-choice.ts), so explain and the VPC proxies agree.
  const ep = chooseEndpoint(vpc.region, vpc.endpoints, target)
  if (ep) {
    const sourceIp = hostIn(vpc.cidr)
    // As the server does for a policy that does not compile: the endpoint denies, it never lets all through.
    const policy = (ep.policy.refusal ? undefined : env.policies.get(ep.policy.text, 'endpoint', ep.policy.name)) ?? env.policies.get(DENY_ALL_ENDPOINT_POLICY, 'endpoint')!
    const origin: Origin = { sourceIp, secure: true, region: vpc.region, vpc: { endpointId: ep.id, vpcId: vpc.id, sourceIp }, endpointPolicy: policy }
    return { network: { kind: 'vpc-endpoint', ...base, sourceIp, endpointId: ep.id }, origin }
  }
  if (vpc.internet) {
    return {
      network: {
        kind: 'vpc-internet',
        ...base,
        sourceIp: NAT_IP,
        note: `no ${service} endpoint with private DNS in ${vpc.id}: the request leaves through the VPC's internet path`,
      },
      origin: { sourceIp: NAT_IP, secure: true, region: vpc.region },
    }
  }
  return {
    network: { kind: 'unreachable', ...base, sourceIp: '', note: `${vpc.id} has no ${service} endpoint and no internet path: the connection is refused` },
    origin: undefined,
  }
}

function hostIn(cidr: string): string {
  const [ip] = cidr.split('/')
  const o = (ip ?? '10.0.0.0').split('.').map(Number)
  return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) + 10}`
}

function principalFor(model: AuthzModel, as: string): ModelPrincipal {
  if (as.toLowerCase() === 'anonymous') return { ref: 'anonymous', name: 'anonymous', principal: ANONYMOUS }
  return findPrincipal(model, as)
}

export function explainRequest(model: AuthzModel, catalog: Catalog | undefined, q: ExplainQuery, opts: { verbose?: boolean } = {}): ExplainResult {
  const who = principalFor(model, q.as)
  const env = authzEnv(model, catalog, q.timeMs)
  const op = operationFor(q.action, catalog, q.key !== undefined)
  const key = op.level === 'object' ? (q.key ?? 'k') : undefined
  const query = new URLSearchParams()
  const versionId = questionVersionId(q.action, op, q.versionId)
  if (versionId !== undefined) query.set('versionId', versionId)
  if (op.name === 'ListObjectsV2') query.set('prefix', '')
  const notes: string[] = []
  const mrap = q.mrap !== undefined ? findMrap(model, q.mrap) : undefined
  const bucketOnly = mrap ? undefined : findBucket(model, q.bucket ?? '')
  const { network, origin } = networkOf(model, env, q.vpc, mrap ? { kind: 'mrap' } : { kind: 'bucket', region: bucketOnly!.region })
  if (network.note) notes.push(network.note)
  if (mrap && who.principal.type === 'Anonymous')
    notes.push('Multi-Region Access Points refuse anonymous requests (400 InvalidRequest): every request through one is SigV4A-signed')
  const auth: S3AuthzInput['auth'] =
    who.principal.type === 'Anonymous'
      ? { kind: 'anonymous' }
      : { kind: 'signed', algorithm: mrap ? 'AWS4-ECDSA-P256-SHA256' : 'AWS4-HMAC-SHA256', authType: 'REST-HEADER', signatureAgeMs: 0 }
  const mrapRec = mrap ? mrapRecord(mrap) : undefined
  const mrapArn = mrap ? mrapArnOf(mrap, model.partition) : undefined
  const targets = mrap ? mrap.routes.map((r) => ({ route: r, bucket: model.buckets.find((b) => b.name === r.bucket) })) : [{ route: undefined, bucket: bucketOnly }]
  const ranked = mrap ? chooseRoutes({ routes: mrap.routes, originRegion: network.region, isUp: () => true, latency: new LatencyTable(model.latencies ?? {}) }) : []
  for (const t of [mrap?.policy, ...targets.map((x) => x.bucket?.policy)]) {
    if (t?.refusal)
      notes.push(
        `${t.owner}: the world's policy is not in force: ${t.refusal.code === 'AccessDenied' ? 'Block Public Access (BlockPublicPolicy) refuses it' : 'AWS refuses to store it'} (${t.refusal.status} ${t.refusal.code}: ${t.refusal.message})`,
      )
  }
  const routes: RouteResult[] = []
  const unknownObjects: { bucket: string; object: RouteObject }[] = []
  let context: Record<string, string[]> | undefined
  for (const { route, bucket } of targets) {
    const name = bucket?.name ?? route?.bucket ?? '?'
    const base = {
      bucket: name,
      region: bucket?.region ?? route?.region ?? '?',
      account: bucket?.owner ?? route?.bucketAccountId ?? '?',
      dial: route ? route.trafficDialPercentage : null,
      rank: route ? (ranked.indexOf(route) >= 0 ? ranked.indexOf(route) + 1 : null) : null,
    }
    if (!bucket || !origin) {
      const why = !bucket ? `bucket ${name} does not exist` : (network.note ?? 'unreachable')
      routes.push({
        ...base,
        effect: 'Unreachable',
        status: !bucket ? 404 : 0,
        ...(!bucket ? { code: 'NoSuchBucket' } : {}),
        rules: {},
        cells: routeCells(undefined, who, model),
        why,
      })
      continue
    }
    const record = bucketRecord(bucket)
    // The object's own ACL where the server reads it before authorizing (src/pipeline/execute.ts);
    // elsewhere, where the operation reads the version it names and the model holds the objects (a
    // running server, a key given), whether the bucket has it: a missing one is the operation's answer.
    const decides = key !== undefined && objectAclDecides(record, op.name)
    const reads = key !== undefined && q.key !== undefined && model.objects !== undefined && readsVersion(namedOperation(q.action), record)
    const object = key !== undefined && (decides || reads) ? routeObject(model, bucket.name, key, versionId, q.key !== undefined) : undefined
    const objectAcl = decides && object ? objectAclOf(object) : undefined
    if (decides && object?.kind === 'unknown') unknownObjects.push({ bucket: bucket.name, object })
    const input: S3AuthzInput = {
      principal: who.principal,
      op,
      actions: [q.action],
      bucket: record,
      bucketName: bucket.name,
      ...(key !== undefined ? { key } : {}),
      auth,
      origin,
      query,
      headers: {},
      ...(mrapRec ? { mrap: mrapRec } : {}),
      ...(objectAcl ? { objectAcl } : {}),
    }
    const d = authorizeS3(env, input, { explain: true })
    if (opts.verbose && context === undefined) context = s3RequestContext(env, input, authzPrincipal(who.principal)).context
    if (!d.decision) {
      // An object another account owns (ObjectWriter), refused before the policy layers: only its
      // ACL speaks (src/s3/acl.ts foreignObjectRefusal).
      const acl: Cell = { result: 'no-match', blocking: true, ...(objectAcl ? { statement: `owner ${objectAcl.owner}` } : {}), detail: d.reason }
      routes.push({
        ...base,
        effect: 'ImplicitDeny',
        status: 403,
        code: 'AccessDenied',
        rules: {},
        cells: routeCells(undefined, who, model),
        acl: decides && object ? withSource(acl, object, bucket.owner) : acl,
        ...(object ? { object: object.kind } : {}),
        why: `denied before the policy layers: ${d.reason}`,
      })
      continue
    }
    const decision = d.decision
    const rules: RouteResult['rules'] = {}
    for (const c of decision.explain ?? []) rules[c.context] = c.rule
    const r: RouteResult = {
      ...base,
      effect: decision.effect,
      status: d.allowed ? 200 : 403,
      ...(d.allowed ? {} : { code: 'AccessDenied' }),
      rules,
      cells: routeCells(decision, who, model, { bucket, mrap }),
      why: routeWhy(decision, q.action, model, { bucket, mrap }),
    }
    const acl = aclCell(decision)
    if (acl) r.acl = decides && object ? withSource(acl, object, bucket.owner) : acl
    if (object) r.object = object.kind
    if (object?.kind === 'missing') {
      if (d.allowed) {
        const m = missingAnswer(env, input, object, bucket.name)
        r.status = m.status
        r.code = m.code
        if (m.effect) r.effect = m.effect
        r.why = `${r.why}; ${m.why}`
      } else if (decides) r.why = `${r.why}; no object ${object.name} in bucket ${bucket.name}: the server judged it without an object ACL`
    }
    // S3 calls KMS only after its own layers allowed; the cell shows the key's answer either way.
    const kms = kmsLayer(model, env, { principal: who.principal, origin, timeMs: q.timeMs }, q.action, bucket, key ?? 'k')
    if (kms) {
      r.kms = kms.cell
      if (opts.verbose && kms.context) r.kmsContext = kms.context
      // A missing object is answered before anything is decrypted: KMS is not asked.
      if (d.allowed && kms.refusal && object?.kind !== 'missing') {
        const f = kms.refusal
        r.kms.blocking = true
        r.effect = f.code !== 'AccessDenied' ? 'KeyUnusable' : f.explicit ? 'ExplicitDeny' : 'ImplicitDeny'
        r.status = f.status
        r.code = f.code
        r.why = `${r.why}; refused by the KMS layer (${f.status} ${f.code}): ${f.message}`
        r.kmsRefusal = f
      }
    }
    if (opts.verbose) r.trace = decision.explain ?? []
    routes.push(r)
  }
  if (routes.some((x) => x.kms)) notes.push(KMS_LEGEND)
  if (unknownObjects.length > 0) {
    const o = unknownObjects[0]!.object as Extract<RouteObject, { kind: 'unknown' }>
    notes.push(
      `the ACL of ${o.name} is not known on ${unknownObjects.map((x) => x.bucket).join(', ')} (${o.why}): the server reads the object's own ACL before it authorizes ${q.action} where a bucket's ACLs are enabled; explain judged the default ACL, private to the bucket owner`,
    )
  }
  const resource = mrapArn ? (key !== undefined ? `${mrapArn}/object/${key}` : mrapArn) : bucketArn(model.partition, bucketOnly!.name, key)
  const result: ExplainResult = {
    source: model.source,
    request: {
      principal: { ref: who.ref, arn: who.principal.arn, accountId: who.principal.accountId || 'anonymous' },
      action: q.action,
      ...(key !== undefined ? { key } : {}),
      target: mrap ? { kind: 'mrap', name: mrap.name, alias: mrap.alias, arn: mrapArn! } : { kind: 'bucket', name: bucketOnly!.name },
      resource,
      network,
      time: new Date(q.timeMs).toISOString(),
      ...(context ? { context } : {}),
    },
    routes,
    allAllowed: routes.length > 0 && routes.every((r) => r.effect === 'Allow'),
    notes,
  }
  return result
}

/** Principal refs explain covers when `--as` is not given: every user and role of the model. */
export function everyPrincipal(model: AuthzModel): string[] {
  return model.principals.map((p) => p.ref)
}

export type { Principal }

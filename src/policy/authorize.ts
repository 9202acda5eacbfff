/**
 * @module The layered decision. The only place where layers are combined.
 *
 * An MRAP request is two authorization contexts that must both allow (docs/aws/authorization.md
 * §Two contexts): the MRAP context (MRAP ARN, MRAP policy, MRAP owner) and the bucket
 * context (routed bucket's ARN, bucket policy, bucket owner). A direct request is the bucket
 * context alone. In each context:
 * - an explicit Deny in any policy (identity, boundary, session, endpoint, resource) wins;
 * - same account: an identity Allow (within boundary and session policy) or a resource-policy
 *   Allow suffices; a resource Allow naming the user or session ARN itself is not limited by
 *   the boundary or session policy, one naming the role (or `*`) is; one matching the caller only
 *   through its account delegates to the account's identity policies and grants nothing alone;
 * - a Deny with NotPrincipal applies to every principal with a permissions boundary;
 * - cross account: the identity side and the resource side must both allow;
 * - the VPC endpoint policy, when the request came through one, must allow (a limit, never a
 *   grant);
 * - Block Public Access: RestrictPublicBuckets drops grants of a public resource policy to
 *   anyone but AWS service principals and principals of the owner's account; IgnorePublicAcls
 *   drops public ACL grants. For MRAP requests S3 checks the MRAP's, the bucket's and both
 *   owner accounts' settings; any one applies.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
 * docs/decisions/policy-evaluation.md
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointPermissions.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-block-public-access.html
 */

import { ACCOUNT, ALLOW, DENY, DIRECT, evaluatePolicy, explainPolicy, type PolicyExplain, type Probe, statementOf } from './evaluate.js'
import type { AuthorizeOptions, AuthzRequest, AuthzResource, Layers } from './request.js'
import { RequestScope } from './scope.js'
import type { BlockPublicAccess, CompiledPolicy } from './types.js'

export type Layer = 'identity' | 'boundary' | 'session' | 'endpoint' | 'mrap-policy' | 'bucket-policy' | 'acl' | 'block-public-access'

export type ContextName = 'mrap' | 'bucket'

export interface StatementRef {
  context: ContextName
  layer: Layer
  /** The policy's name when it has one (e.g. a managed policy ARN). */
  policy?: string
  index: number
  sid?: string
  effect: 'Allow' | 'Deny'
}

/** Which rule let a context allow (explain names it: docs/aws/mrap.md §Where AWS is silent). */
export type ContextRule =
  | 'same-account-identity'
  | 'same-account-resource'
  | 'same-account-identity-on-mrap-arn'
  | 'cross-account-identity-and-resource'
  | 'resource-only-principal'
  | 'none'

export interface LayerExplain {
  layer: Layer
  result: 'Allow' | 'Deny' | 'NoMatch' | 'NotPresent' | 'Restricted'
  policies: PolicyExplain[]
  note?: string
}

export interface ContextExplain {
  context: ContextName
  resource: string
  owner: string
  sameAccount: boolean
  result: 'Allow' | 'ImplicitDeny' | 'ExplicitDeny'
  rule: ContextRule
  blockedBy: Layer[]
  layers: LayerExplain[]
}

export interface Decision {
  effect: 'Allow' | 'ImplicitDeny' | 'ExplicitDeny'
  /** The layer that decided: the granting one on Allow, the first blocking one otherwise. */
  decidedBy: Layer
  /** The context that decided (the failing one on deny). */
  context: ContextName
  blockedBy: Layer[]
  /** The statements that decided (denying, or granting). */
  matched: StatementRef[]
  explain?: ContextExplain[]
}

interface ContextOutcome {
  effect: Decision['effect']
  decidedBy: Layer
  blockedBy: Layer[]
  rule: ContextRule
  /** Identity side allowed (used by the §10 option for the bucket context). */
  identityAllowed: boolean
}

interface EffectiveBpa {
  restrictPublicBuckets: boolean
  ignorePublicAcls: boolean
}

function mergeBpa(list: (BlockPublicAccess | undefined)[]): EffectiveBpa {
  let rpb = false
  let ipa = false
  for (const b of list) {
    if (b === undefined) continue
    rpb ||= b.RestrictPublicBuckets === true
    ipa ||= b.IgnorePublicAcls === true
  }
  return { restrictPublicBuckets: rpb, ignorePublicAcls: ipa }
}

const NO_BPA: EffectiveBpa = { restrictPublicBuckets: false, ignorePublicAcls: false }

/** Authorizes a request against all layers. Pure: same inputs, same Decision. */
export function authorize(req: AuthzRequest, layers: Layers, opts: AuthorizeOptions = {}): Decision {
  const { mrap, bucket } = req.resources
  const action = req.action.toLowerCase()
  const acct = layers.accountBlockPublicAccess
  let bpa = NO_BPA
  if (layers.mrap?.blockPublicAccess || layers.bucket?.blockPublicAccess || acct !== undefined) {
    bpa = mergeBpa([
      mrap ? layers.mrap?.blockPublicAccess : undefined,
      mrap && acct ? acct[mrap.ownerAccount] : undefined,
      layers.bucket?.blockPublicAccess,
      bucket && acct ? acct[bucket.ownerAccount] : undefined,
    ])
  }
  const matched: StatementRef[] = []
  const explain: ContextExplain[] | undefined = opts.explain ? [] : undefined

  let mrapOutcome: ContextOutcome | undefined
  if (mrap) {
    mrapOutcome = evaluateContext('mrap', mrap, layers.mrap?.policy, req, layers, bpa, action, matched, explain, false)
  }
  // Requests without a bucket (e.g. ListAllMyBuckets) are evaluated against resource "*".
  const bucketRes: AuthzResource = bucket ?? { arn: '*', ownerAccount: req.principal.accountId }
  const mrapIdentity = opts.identityOnMrapSatisfiesBucket === true && mrapOutcome !== undefined && mrapOutcome.identityAllowed
  const bucketOutcome = evaluateContext('bucket', bucketRes, layers.bucket?.policy, req, layers, bpa, action, matched, explain, mrapIdentity)

  // Combine: explicit deny anywhere wins; then any implicit deny; else allow.
  const outcomes: [ContextName, ContextOutcome][] = mrapOutcome
    ? [
        ['mrap', mrapOutcome],
        ['bucket', bucketOutcome],
      ]
    : [['bucket', bucketOutcome]]
  let decided: [ContextName, ContextOutcome] | undefined = outcomes.find(([, o]) => o.effect === 'ExplicitDeny')
  decided ??= outcomes.find(([, o]) => o.effect === 'ImplicitDeny')
  const [context, outcome] = decided ?? (outcomes[outcomes.length - 1] as [ContextName, ContextOutcome])
  let blockedBy = outcome.blockedBy
  if (mrapOutcome && mrapOutcome.blockedBy.length > 0 && bucketOutcome.blockedBy.length > 0) {
    blockedBy = [...new Set([...mrapOutcome.blockedBy, ...bucketOutcome.blockedBy])]
  } else if (mrapOutcome && mrapOutcome.blockedBy.length > 0) blockedBy = mrapOutcome.blockedBy
  else if (bucketOutcome.blockedBy.length > 0) blockedBy = bucketOutcome.blockedBy
  const effect = decided ? outcome.effect : 'Allow'
  const d: Decision = {
    effect,
    decidedBy: outcome.decidedBy,
    context,
    blockedBy,
    // On deny only the denying (or, for implicit deny, no) statements matter.
    matched: effect === 'ExplicitDeny' ? matched.filter((m) => m.effect === 'Deny') : effect === 'Allow' ? matched : [],
  }
  if (explain) d.explain = explain
  return d
}

function ref(context: ContextName, layer: Layer, p: CompiledPolicy, code: number): StatementRef {
  const st = statementOf(p, code)
  const r: StatementRef = { context, layer, index: st ? st.index : -1, effect: code & DENY ? 'Deny' : 'Allow' }
  if (st?.sid !== undefined) r.sid = st.sid
  if (p.name !== undefined) r.policy = p.name
  return r
}

function evaluateContext(
  context: ContextName,
  res: AuthzResource,
  resourcePolicy: CompiledPolicy | undefined,
  req: AuthzRequest,
  layers: Layers,
  bpa: EffectiveBpa,
  action: string,
  matched: StatementRef[],
  explain: ContextExplain[] | undefined,
  identityOnMrapArn: boolean,
): ContextOutcome {
  const who = req.principal
  // Identity side. Anonymous callers and AWS services have no identity policies here.
  const hasIdentity = who.type !== 'Anonymous' && who.type !== 'Service'
  const probe: Probe = new RequestScope(req.context, res.ownerAccount, action, res.arn, who, hasIdentity && layers.boundary !== undefined)
  const resourceLayer: Layer = context === 'mrap' ? 'mrap-policy' : 'bucket-policy'
  const denied: Layer[] = []

  let identityCode = 0
  if (hasIdentity) {
    for (const p of layers.identity) {
      const c = evaluatePolicy(p, probe, 'implicit')
      if (c & DENY) {
        denied.push('identity')
        matched.push(ref(context, 'identity', p, c))
        identityCode = c
        break
      }
      if (c !== 0 && identityCode === 0) {
        identityCode = c
        matched.push(ref(context, 'identity', p, c))
      }
    }
  }
  const boundary = hasIdentity ? layers.boundary : undefined
  const boundaryCode = boundary ? evaluatePolicy(boundary, probe, 'implicit') : ALLOW
  if (boundaryCode & DENY && boundary) {
    denied.push('boundary')
    matched.push(ref(context, 'boundary', boundary, boundaryCode))
  }
  let sessionCode = ALLOW
  const sessions = hasIdentity ? layers.session : undefined
  if (sessions && sessions.length > 0) {
    sessionCode = 0
    for (const p of sessions) {
      const c = evaluatePolicy(p, probe, 'implicit')
      if (c & DENY) {
        denied.push('session')
        matched.push(ref(context, 'session', p, c))
        sessionCode = c
        break
      }
      if (c !== 0 && sessionCode === 0) sessionCode = c
    }
  }
  const endpoint = layers.endpoint?.policy
  const endpointCode = endpoint ? evaluatePolicy(endpoint, probe, 'required') : ALLOW
  if (endpoint && endpointCode !== 0) {
    matched.push(ref(context, 'endpoint', endpoint, endpointCode))
    if (endpointCode & DENY) denied.push('endpoint')
  }
  const resourceCode = resourcePolicy ? evaluatePolicy(resourcePolicy, probe, 'required') : 0
  if (resourcePolicy && resourceCode !== 0) {
    matched.push(ref(context, resourceLayer, resourcePolicy, resourceCode))
    if (resourceCode & DENY) denied.push(resourceLayer)
  }

  let effect: Decision['effect']
  let rule: ContextRule = 'none'
  let blockedBy: Layer[] = denied
  const isRoot = who.type === 'Account'
  const identityAllowed = hasIdentity && (isRoot || (identityCode & ALLOW) !== 0) && (isRoot || ((boundaryCode & ALLOW) !== 0 && (sessionCode & ALLOW) !== 0))
  if (denied.length > 0) {
    effect = 'ExplicitDeny'
  } else {
    const sameAccount = hasIdentity && who.accountId === res.ownerAccount
    const limitsOk = isRoot || ((boundaryCode & ALLOW) !== 0 && (sessionCode & ALLOW) !== 0)
    let resourceAllows = (resourceCode & ALLOW) !== 0
    let restricted = false
    // RestrictPublicBuckets: a public policy grants only to services and the owner's account.
    if (resourceAllows && bpa.restrictPublicBuckets && resourcePolicy?.isPublic === true && who.type !== 'Service' && !sameAccount) {
      resourceAllows = false
      restricted = true
    }
    const acl = context === 'bucket' ? layers.bucket?.acl : undefined
    let aclAllows = acl?.grants
    if (aclAllows && acl?.isPublic === true && bpa.ignorePublicAcls) {
      aclAllows = false
      restricted = true
    }
    const blockers: Layer[] = []
    if (!hasIdentity) {
      if (resourceAllows || aclAllows) rule = 'resource-only-principal'
      else blockers.push(restricted ? 'block-public-access' : resourceLayer)
    } else if (sameAccount) {
      const direct = (resourceCode & DIRECT) !== 0
      // Granted to the account: the identity side must allow, which it did not if we get here.
      if ((resourceCode & ACCOUNT) !== 0) resourceAllows = false
      if (identityAllowed) rule = 'same-account-identity'
      else if (resourceAllows && (direct || limitsOk)) rule = 'same-account-resource'
      else if (aclAllows && limitsOk) rule = 'same-account-resource'
      else if (identityOnMrapArn && context === 'bucket') rule = 'same-account-identity-on-mrap-arn'
      else {
        // Neither path allows: name what is missing on each side.
        if ((identityCode & ALLOW) !== 0) blockers.push((boundaryCode & ALLOW) === 0 ? 'boundary' : 'session')
        else blockers.push('identity')
        if (restricted) blockers.push('block-public-access')
        else if (resourceAllows) blockers.push((boundaryCode & ALLOW) === 0 ? 'boundary' : 'session')
        else if ((resourceCode & ACCOUNT) === 0) blockers.push(resourceLayer)
      }
    } else {
      if (!identityAllowed) blockers.push((identityCode & ALLOW) === 0 ? 'identity' : (boundaryCode & ALLOW) === 0 ? 'boundary' : 'session')
      if (!resourceAllows && !aclAllows) blockers.push(restricted ? 'block-public-access' : resourceLayer)
      if (blockers.length === 0) rule = 'cross-account-identity-and-resource'
    }
    // The endpoint policy limits every path (no Allow there: implicit deny).
    if (endpoint && (endpointCode & ALLOW) === 0) blockers.unshift('endpoint')
    if (blockers.length > 0) rule = 'none'
    effect = blockers.length > 0 ? 'ImplicitDeny' : 'Allow'
    blockedBy = blockers
  }
  const decidedBy: Layer =
    blockedBy[0] ??
    (rule === 'same-account-identity' || rule === 'same-account-identity-on-mrap-arn'
      ? 'identity'
      : layers.bucket?.acl?.grants && context === 'bucket' && (resourceCode & ALLOW) === 0
        ? 'acl'
        : resourceLayer)
  if (explain) {
    explain.push(explainContext(context, res, resourcePolicy, probe, layers, hasIdentity, effect, rule, blockedBy, bpa))
  }
  return { effect, decidedBy, blockedBy, rule, identityAllowed }
}

function explainContext(
  context: ContextName,
  res: AuthzResource,
  resourcePolicy: CompiledPolicy | undefined,
  probe: Probe,
  layers: Layers,
  hasIdentity: boolean,
  result: Decision['effect'],
  rule: ContextRule,
  blockedBy: Layer[],
  bpa: EffectiveBpa,
): ContextExplain {
  const out: LayerExplain[] = []
  const layer = (name: Layer, policies: readonly CompiledPolicy[] | undefined, mode: 'implicit' | 'required', note?: string): void => {
    if (!policies || policies.length === 0) {
      out.push({ layer: name, result: 'NotPresent', policies: [], ...(note ? { note } : {}) })
      return
    }
    const ex = policies.map((p) => explainPolicy(p, probe, mode))
    const r = ex.some((e) => e.result === 'Deny') ? 'Deny' : ex.some((e) => e.result === 'Allow') ? 'Allow' : 'NoMatch'
    out.push({ layer: name, result: r, policies: ex, ...(note ? { note } : {}) })
  }
  layer('identity', hasIdentity ? layers.identity : [], 'implicit', hasIdentity ? undefined : 'no identity policies for this principal')
  if (hasIdentity && layers.boundary) layer('boundary', [layers.boundary], 'implicit')
  if (hasIdentity && layers.session) layer('session', layers.session, 'implicit')
  if (layers.endpoint) layer('endpoint', [layers.endpoint.policy], 'required', `through ${layers.endpoint.id}`)
  const resourceLayer: Layer = context === 'mrap' ? 'mrap-policy' : 'bucket-policy'
  const sameAccount = hasIdentity && probe.principal.accountId === res.ownerAccount
  const notes: string[] = []
  if (resourcePolicy?.isPublic) notes.push('policy is public')
  if (sameAccount && resourcePolicy && (evaluatePolicy(resourcePolicy, probe, 'required') & ACCOUNT) !== 0) {
    notes.push('allows only through the account principal, which delegates to identity policies')
  }
  layer(resourceLayer, resourcePolicy ? [resourcePolicy] : [], 'required', notes.length > 0 ? notes.join('; ') : undefined)
  const acl = context === 'bucket' ? layers.bucket?.acl : undefined
  if (acl) {
    const ignored = acl.grants && acl.isPublic && bpa.ignorePublicAcls
    out.push({
      layer: 'acl',
      result: ignored ? 'Restricted' : acl.grants ? 'Allow' : 'NoMatch',
      policies: [],
      note: acl.grant ? `grant: ${acl.grant}${ignored ? ' (public, ignored by IgnorePublicAcls)' : ''}` : 'no grant allows this action',
    })
  }
  if (bpa.restrictPublicBuckets || bpa.ignorePublicAcls) {
    out.push({
      layer: 'block-public-access',
      result: blockedBy.includes('block-public-access') ? 'Restricted' : 'NoMatch',
      policies: [],
      note: `RestrictPublicBuckets=${bpa.restrictPublicBuckets} IgnorePublicAcls=${bpa.ignorePublicAcls}`,
    })
  }
  return { context, resource: res.arn, owner: res.ownerAccount, sameAccount, result, rule, blockedBy, layers: out }
}

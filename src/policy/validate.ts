/**
 * @module Write-time rules per policy kind (PutBucketPolicy, PutMultiRegionAccessPointPolicy,
 * CreateVpcEndpoint / ModifyVpcEndpoint, IAM Put*Policy / CreatePolicy). Parsing already
 * checked the grammar; these are the rules of the attachment point, with AWS's messages.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html (20 KB)
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (IAM sizes)
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html (endpoint policies)
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointPermissions.html
 */

import type { Catalog, CatalogAction, ServiceCatalog } from './catalog-types.js'
import { findConditionKey } from './catalog-types.js'
import { errorCodeFor } from './parse.js'
import { patternMeetsTemplate } from './resource-types.js'
import type { CompiledPolicy, CompiledStatement, IdentityAttachment, PolicyError, PolicyErrorCode, PolicyKind } from './types.js'
import { globOf, matchGlob } from './wildcard.js'

export interface ValidateOptions {
  kind: PolicyKind
  /** For kind 'bucket': the bucket the policy is attached to. */
  bucket?: string
  /** For kind 'mrap': the MRAP ARN `arn:aws:s3::<account>:accesspoint/<alias>`. */
  mrapArn?: string
  /** For kind 'identity': managed or inline (user / role / group), which sets the size quota. */
  attachment?: IdentityAttachment
  /** Name of the user / role / group, for IAM's inline size message. */
  entityName?: string
  /** Action catalogue; without it the action-level rules are skipped. */
  catalog?: Catalog
}

const IAM_KINDS: ReadonlySet<PolicyKind> = new Set(['identity', 'boundary', 'session'])

/** Returns every rule the policy breaks for its attachment point (empty: it may be stored). */
export function validatePolicy(policy: CompiledPolicy, opts: ValidateOptions): PolicyError[] {
  const code = errorCodeFor(opts.kind)
  const errors: PolicyError[] = []
  const err = (message: string, st?: CompiledStatement, element?: string, c: PolicyErrorCode = code): void => {
    const e: PolicyError = { code: c, message }
    if (st) e.statement = st.sid !== undefined && st.sid !== '' ? st.sid : st.index
    if (element) e.element = element
    errors.push(e)
  }
  checkSize(policy, opts, err)

  for (const st of policy.statements) {
    const hasPrincipal = st.principal !== undefined || st.notPrincipal !== undefined
    const hasResource = st.resources !== undefined || st.notResources !== undefined
    if (IAM_KINDS.has(opts.kind)) {
      if (hasPrincipal) err('Policy document should not specify a principal.', st, st.principal ? 'Principal' : 'NotPrincipal')
      if (!hasResource) err('Missing required field Resource', st, 'Resource')
      if (st.sid !== undefined && !/^[0-9A-Za-z]*$/.test(st.sid)) {
        err('Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*', st, 'Sid')
      }
      continue
    }
    if (!hasPrincipal) err('Missing required field Principal', st, 'Principal')
    if (opts.kind === 'trust') {
      if (hasResource) err('Has prohibited field Resource', st, 'Resource')
      continue
    }
    if (!hasResource) err('Missing required field Resource', st, 'Resource')
    if (opts.kind === 'bucket' || opts.kind === 'mrap') checkS3Statement(st, opts, err)
  }
  return errors
}

type Err = (message: string, st?: CompiledStatement, element?: string, c?: PolicyErrorCode) => void

function checkSize(policy: CompiledPolicy, opts: ValidateOptions, err: Err): void {
  const { bytes, chars, nonWhitespace } = policy.size
  switch (opts.kind) {
    case 'bucket':
    case 'mrap':
    case 'resource':
      // "Bucket policies are limited to 20 KB in size." Access point policies share the limit.
      if (bytes > 20 * 1024) err('Policy exceeds the maximum allowed document size.', undefined, undefined, 'PolicySizeExceeded')
      break
    case 'endpoint':
      // Endpoint policies: at most 20,480 characters, whitespace included.
      if (chars > 20480) err('Policy document exceeds the maximum length of 20480 characters.', undefined, undefined, 'PolicySizeExceeded')
      break
    case 'trust':
      // IAM counts non-whitespace characters; the default trust policy quota is 2,048.
      if (nonWhitespace > 2048) err('Cannot exceed quota for ACLSizePerRole: 2048', undefined, undefined, 'LimitExceeded')
      break
    case 'session':
      if (chars > 2048) err('Session policy exceeds the maximum of 2048 characters.', undefined, undefined, 'LimitExceeded')
      break
    case 'boundary':
    case 'identity': {
      const a = opts.kind === 'boundary' ? 'managed' : (opts.attachment ?? 'managed')
      if (a === 'managed') {
        if (nonWhitespace > 6144) err('Cannot exceed quota for PolicySize: 6144', undefined, undefined, 'LimitExceeded')
      } else {
        const [limit, what] = a === 'inline-user' ? [2048, 'user'] : a === 'inline-role' ? [10240, 'role'] : [5120, 'group']
        if (nonWhitespace > limit) {
          err(`Maximum policy size of ${limit} bytes exceeded for ${what} ${opts.entityName ?? ''}`.trimEnd(), undefined, undefined, 'LimitExceeded')
        }
      }
      break
    }
  }
}

function checkS3Statement(st: CompiledStatement, opts: ValidateOptions, err: Err): void {
  // Resources must belong to the bucket (or MRAP) the policy is attached to.
  for (const r of st.resources?.raw ?? st.notResources?.raw ?? []) {
    if (!ownResource(r, opts)) err('Policy has invalid resource', st, st.resources ? 'Resource' : 'NotResource')
  }
  // Actions must be S3 actions (known ones, when the catalogue is at hand).
  const actions = st.actions ?? st.notActions
  const element = st.actions ? 'Action' : 'NotAction'
  const s3 = opts.catalog?.services.get('s3')
  const known = s3 ? [...s3.actions.keys()].map((a) => `s3:${a}`) : undefined
  for (const a of actions?.raw ?? []) {
    if (a === '*') continue
    if (!/^s3:/i.test(a)) {
      err('Policy has invalid action', st, element)
      continue
    }
    if (known) {
      const g = globOf(a, true)
      if (!known.some((k) => matchGlob(g, k))) err('Policy has invalid action', st, element)
    }
  }
  if (opts.catalog) {
    for (const c of st.conditions) {
      if (!findConditionKey(opts.catalog, c.key)) err('Policy has an invalid condition key', st, 'Condition')
    }
  }
  // "Action does not apply to any resource(s) in statement"
  if (s3 && st.actions && st.resources && !st.resources.any) {
    const applicable = applicableActions(st, s3)
    const resources = st.resources.raw
    const applies = applicable.some((a) => {
      if (a.resourceTypes.length === 0) return false // wildcard-only actions need "*"
      return a.resourceTypes.some((rt) => {
        const t = s3.resourceTypes.get(rt)
        return t !== undefined && resources.some((r) => patternMeetsTemplate(r, t.arn))
      })
    })
    if (applicable.length > 0 && !applies) err('Action does not apply to any resource(s) in statement', st, 'Action')
  }
}

function applicableActions(st: CompiledStatement, s3: ServiceCatalog): CatalogAction[] {
  const m = st.actions
  if (!m) return []
  const out: CatalogAction[] = []
  for (const [lower, a] of s3.actions) {
    const full = `s3:${lower}`
    if (m.any || m.exact.has(full) || m.wild.some((g) => matchGlob(g, full))) out.push(a)
  }
  return out
}

/** Does a Resource pattern stay within the bucket or the MRAP this policy is attached to? */
function ownResource(r: string, opts: ValidateOptions): boolean {
  if (opts.kind === 'bucket') {
    if (opts.bucket === undefined) return /^arn:aws[a-z-]*:s3:::[^*?/]+(\/.*)?$/.test(r)
    const m = /^arn:aws[a-z-]*:s3:::([^/]+)(\/.*)?$/.exec(r)
    return m !== null && m[1] === opts.bucket
  }
  if (opts.mrapArn === undefined) return /^arn:aws[a-z-]*:s3::\d{12}:accesspoint\/[^*?/]+(\/object\/.*)?$/.test(r)
  return r === opts.mrapArn || r.startsWith(`${opts.mrapArn}/object/`)
}

/**
 * @module Every policy of a model, with what it is attached to, and helpers the rule families
 * share: statement paths for line numbers, and request evaluation through `mrap explain`'s own
 * evaluator (so lint's route findings are the decisions the server would make).
 */

import type { Column } from '../explain/cells.js'
import { type ExplainResult, explainRequest, type RouteResult } from '../explain/evaluate.js'
import type { AuthzModel, ModelBucket, ModelMrap, ModelPolicy, WorldPath } from '../explain/model.js'
import type { LintContext, RawFinding } from './types.js'

export interface PolicyAt {
  policy: ModelPolicy
  bucket?: string
  mrap?: ModelMrap
}

export function allPolicies(model: AuthzModel): PolicyAt[] {
  const out: PolicyAt[] = model.identityPolicies.map((policy) => ({ policy }))
  for (const b of model.buckets) if (b.policy) out.push({ policy: b.policy, bucket: b.name })
  for (const m of model.mraps) if (m.policy) out.push({ policy: m.policy, mrap: m })
  for (const v of model.vpcs) for (const e of v.endpoints) out.push({ policy: e.policy })
  return out
}

export function statementPath(p: ModelPolicy, index: number): WorldPath | undefined {
  return p.path ? [...p.path, 'Statement', index] : undefined
}

export interface Network {
  label: string
  vpc?: string
}

/** The internet, and each VPC of the model. */
export function networks(model: AuthzModel): Network[] {
  return [{ label: 'the internet' }, ...model.vpcs.map((v) => ({ label: `VPC ${v.name ?? v.id}`, vpc: v.id }))]
}

export function evaluate(ctx: LintContext, as: string, action: string, mrap: ModelMrap, net: Network): ExplainResult {
  return explainRequest(ctx.model, ctx.catalog, { as, action, mrap: mrap.alias, key: 'k', vpc: net.vpc, timeMs: ctx.timeMs })
}

/**
 * The policy behind a denied route: the first blocking layer's. KMS is asked only after S3's layers
 * allowed, so a route it refuses blames the bucket's default encryption key, never a bucket policy
 * that allowed.
 */
export function blamedPolicy(
  ctx: LintContext,
  r: ExplainResult,
  route: RouteResult,
  mrap: ModelMrap,
): { policy: RawFinding['policy']; path?: WorldPath | undefined; column: Column | 'kms' } {
  const bucket: ModelBucket | undefined = ctx.model.buckets.find((b) => b.name === route.bucket)
  const k = route.kmsRefusal
  if (k) {
    const name =
      k.code !== 'AccessDenied' ? `key state (${k.keyState})` : k.reason === 'identity-deny' || k.reason === 'no-identity-allow' ? "callers' identity-based policies" : 'key policy'
    return { policy: { kind: 'kms-key', owner: `KMS key ${k.key}`, name }, path: bucket?.path, column: 'kms' }
  }
  const order: Column[] = ['endpoint', 'bpa', 'mrap', 'bucket', 'identity']
  const col = order.find((c) => route.cells[c].blocking) ?? 'bucket'
  switch (col) {
    case 'endpoint': {
      const ep = ctx.model.vpcs.flatMap((v) => v.endpoints).find((e) => e.id === r.request.network.endpointId)
      if (ep) return { policy: { kind: 'endpoint', owner: ep.policy.owner, name: ep.policy.name }, path: ep.policy.path, column: col }
      break
    }
    case 'mrap':
      return {
        policy: { kind: 'mrap', owner: `MRAP ${mrap.name}`, name: mrap.policy?.name ?? `policy of ${mrap.alias} (none)` },
        path: mrap.policy?.path ?? mrap.path,
        column: col,
      }
    case 'identity':
      return { policy: { kind: 'identity', owner: `principal ${r.request.principal.ref}`, name: 'identity policies' }, column: col }
    case 'bpa':
      return { policy: { kind: 'world', owner: `MRAP ${mrap.name}`, name: 'Block Public Access' }, path: mrap.path, column: col }
    default:
      break
  }
  return {
    policy: { kind: 'bucket', owner: `bucket ${route.bucket}`, name: bucket?.policy?.name ?? `bucket policy of ${route.bucket} (none)` },
    path: bucket?.policy?.path ?? bucket?.path,
    column: 'bucket',
  }
}

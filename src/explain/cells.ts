/**
 * @module From a Decision's explanation to the matrix cells of one route: per layer (identity,
 * VPC endpoint, MRAP policy, bucket policy, Block Public Access) what it said, the statement that
 * said it (or what is missing), and whether it is why the route is denied; plus one sentence that
 * names the blocking layers in AWS's own words ("no identity-based policy allows ...").
 */
import type { ContextExplain, Decision, Layer, LayerExplain, PolicyExplain, StatementExplain } from '../policy/index.js'
import type { AuthzModel, ModelBucket, ModelMrap, ModelPrincipal } from './model.js'

export type Column = 'identity' | 'endpoint' | 'mrap' | 'bucket' | 'bpa'
export const COLUMNS: readonly Column[] = ['identity', 'endpoint', 'mrap', 'bucket', 'bpa']

export interface Cell {
  /** `unusable`: the KMS layer's key is disabled, pending deletion or not found (src/explain/kms.ts). */
  result: 'allow' | 'deny' | 'no-match' | 'none' | 'restricted' | 'on' | 'off' | 'n/a' | 'unusable'
  /** This layer is (one reason) why the route is denied. */
  blocking: boolean
  /** The statement behind the result: `Sid`, or `policy[index]`. */
  statement?: string
  /** What is missing, or per-context results when the two contexts differ. */
  detail?: string
}

const RANK: Record<Cell['result'], number> = { deny: 6, unusable: 5, restricted: 5, 'no-match': 4, none: 3, on: 2, allow: 1, off: 0, 'n/a': 0 }

const COLUMN_LAYERS: Record<Column, Layer[]> = {
  identity: ['identity', 'boundary', 'session'],
  endpoint: ['endpoint'],
  mrap: ['mrap-policy'],
  bucket: ['bucket-policy'],
  bpa: ['block-public-access'],
}

function stmtName(p: PolicyExplain, st: StatementExplain, withPolicy: boolean): string {
  const id = st.sid !== undefined && st.sid !== '' ? st.sid : `[${st.index}]`
  if (!withPolicy || p.name === undefined) return id
  const name = p.name.replace(/^inline /, '').replace(/^arn:[^:]+:iam::[^:]*:policy\//, '')
  return st.sid !== undefined && st.sid !== '' ? `${name}: ${st.sid}` : `${name}${id}`
}

/** The first statement that decided the layer's result; for no match, the nearest miss. */
function statementBehind(l: LayerExplain, withPolicy: boolean): { statement?: string; detail?: string } {
  const want = l.result === 'Deny' ? 'Deny' : 'Allow'
  for (const p of l.policies) {
    const st = p.statements.find((s) => s.applies && s.effect === want)
    if (st && (l.result === 'Allow' || l.result === 'Deny')) return { statement: stmtName(p, st, withPolicy) }
  }
  if (l.result !== 'NoMatch') return {}
  // Nearest miss: an Allow statement whose action matched, and why it did not apply.
  for (const p of l.policies) {
    for (const st of p.statements) {
      if (st.effect !== 'Allow' || !st.action.matched) continue
      const why = !st.resource.matched ? st.resource.detail : !st.principal.matched ? st.principal.detail : st.conditions.find((c) => !c.matched)
      const text = typeof why === 'string' ? why : why ? `condition ${why.operator} ${why.key}: ${why.reason}` : 'does not apply'
      return { detail: `${stmtName(p, st, withPolicy)}: ${text}` }
    }
  }
  return { detail: 'no statement for this action' }
}

function layerResult(l: LayerExplain): Cell['result'] {
  switch (l.result) {
    case 'Allow':
      return 'allow'
    case 'Deny':
      return 'deny'
    case 'NoMatch':
      return 'no-match'
    case 'NotPresent':
      return 'none'
    case 'Restricted':
      return 'restricted'
  }
}

export function routeCells(
  d: Decision | undefined,
  who: ModelPrincipal,
  model: AuthzModel,
  ctx: { bucket?: ModelBucket | undefined; mrap?: ModelMrap | undefined } = {},
): Record<Column, Cell> {
  const out = {} as Record<Column, Cell>
  for (const col of COLUMNS) out[col] = { result: 'n/a', blocking: false }
  if (!d) return out
  const contexts = d.explain ?? []
  for (const col of COLUMNS) {
    const pieces: { ctx: ContextExplain; layer: LayerExplain }[] = []
    for (const c of contexts) {
      if (col === 'mrap' && c.context !== 'mrap') continue
      if (col === 'bucket' && c.context !== 'bucket') continue
      // The identity column shows the identity policies; a boundary or session policy shows only when it limits.
      for (const l of c.layers)
        if (COLUMN_LAYERS[col].includes(l.layer) && (l.layer === 'identity' || col !== 'identity' || l.result !== 'Allow')) pieces.push({ ctx: c, layer: l })
    }
    const blocking = contexts.some((c) => c.blockedBy.some((b) => COLUMN_LAYERS[col].includes(b)))
    if (col === 'bpa') {
      out.bpa = bpaCell(
        pieces.map((p) => p.layer),
        blocking,
        who,
        model,
        ctx,
      )
      continue
    }
    if (pieces.length === 0) {
      out[col] = { result: 'n/a', blocking }
      continue
    }
    const cells = pieces.map(({ ctx: c, layer }) => ({ ctx: c.context, res: layerResult(layer), ...statementBehind(layer, col === 'identity'), layer }))
    const worst = cells.reduce((a, b) => (RANK[b.res] > RANK[a.res] ? b : a))
    const same = cells.every((c) => c.res === worst.res && c.statement === worst.statement)
    const cell: Cell = { result: worst.res, blocking }
    if (same) {
      if (worst.statement) cell.statement = worst.statement
      let detail = worst.detail
      if (worst.res === 'none') detail = noneDetail(col, who, ctx)
      if (detail) cell.detail = detail
    } else {
      if (worst.statement) cell.statement = worst.statement
      cell.detail = cells.map((c) => `${c.ctx}: ${c.res}${c.statement ? ` ${c.statement}` : ''}${c.detail ? ` (${c.detail})` : ''}`).join('; ')
    }
    out[col] = cell
  }
  return out
}

function noneDetail(col: Column, who: ModelPrincipal, ctx: { bucket?: ModelBucket | undefined; mrap?: ModelMrap | undefined }): string | undefined {
  if (col === 'identity') return who.principal.type === 'Anonymous' ? 'anonymous: no identity' : `${who.ref} has no identity policies`
  const p = col === 'bucket' ? ctx.bucket?.policy : col === 'mrap' ? ctx.mrap?.policy : undefined
  if (p?.refusal) return `the world's policy is refused (${p.refusal.status} ${p.refusal.code}: ${p.refusal.message})`
  return col === 'bucket' ? 'no bucket policy' : col === 'mrap' ? 'no MRAP policy' : undefined
}

function bpaCell(layers: LayerExplain[], blocking: boolean, who: ModelPrincipal, model: AuthzModel, ctx: { bucket?: ModelBucket | undefined; mrap?: ModelMrap | undefined }): Cell {
  const restricted = layers.some((l) => l.result === 'Restricted')
  const where: string[] = []
  if (ctx.mrap?.blockPublicAccess.RestrictPublicBuckets) where.push(`MRAP ${ctx.mrap.name}`)
  if (ctx.bucket?.blockPublicAccess?.RestrictPublicBuckets) where.push(`bucket ${ctx.bucket.name}`)
  for (const id of new Set([ctx.mrap?.owner, ctx.bucket?.owner])) {
    if (id !== undefined && model.accounts.find((a) => a.id === id)?.blockPublicAccess?.RestrictPublicBuckets) where.push(`account ${id}`)
  }
  if (restricted)
    return {
      result: 'restricted',
      blocking: true,
      statement: 'RestrictPublicBuckets',
      detail: `a public policy grants only to ${ctx.bucket?.owner ?? ''} and AWS services (set on ${where.join(', ')}); ${who.ref} is outside`,
    }
  if (layers.length > 0 || where.length > 0) return { result: 'on', blocking, detail: `RestrictPublicBuckets on ${where.join(', ')}` }
  return { result: 'off', blocking }
}

/**
 * The ACL cell of a route: present only where the bucket's ACLs are enabled (the engine then has an
 * `acl` layer); `statement` names the grant that allowed (`READ to AllUsers`). Kept beside the fixed
 * columns, so the matrix grows an ACL column only when an ACL takes part.
 */
export function aclCell(d: Decision | undefined): Cell | undefined {
  const l = d?.explain?.find((c) => c.context === 'bucket')?.layers.find((x) => x.layer === 'acl')
  if (!l) return undefined
  const cell: Cell = { result: layerResult(l), blocking: false }
  const grant = l.note?.match(/^grant: ([^(]+?)(?: \(|$)/)?.[1]
  if (grant) cell.statement = grant
  if (l.note && l.result !== 'Allow') cell.detail = l.note
  return cell
}

/** The ACL cell of a route whose bucket has no ACL part, in a matrix that shows the ACL column. */
export const NO_ACL: Cell = { result: 'n/a', blocking: false }

/**
 * Whether a matrix shows the ACL column: only when an ACL took part in a decision (a bucket with
 * ACLs enabled and a grant that allowed, a public one IgnorePublicAcls set aside, or an object
 * another account owns whose ACL refused). `mrap explain` and the console's matrix both ask this,
 * so they show the column on the same results.
 */
export function showsAclColumn(routes: readonly { acl?: Cell | undefined }[]): boolean {
  return routes.some((x) => x.acl !== undefined && (x.acl.result === 'allow' || x.acl.result === 'restricted' || x.acl.blocking))
}

const LAYER_WORDS: Record<Layer, string> = {
  identity: 'identity-based policy',
  boundary: 'permissions boundary',
  session: 'session policy',
  endpoint: 'VPC endpoint policy',
  'mrap-policy': 'resource-based policy (the MRAP policy)',
  'bucket-policy': 'resource-based policy (the bucket policy)',
  acl: 'ACL',
  'block-public-access': 'Block Public Access',
}

/** One sentence: allowed by which rule, or denied because of which layers, on which resource. */
export function routeWhy(d: Decision, action: string, _model: AuthzModel, ctx: { bucket?: ModelBucket | undefined; mrap?: ModelMrap | undefined }): string {
  const contexts = d.explain ?? []
  if (d.effect === 'Allow') return `allowed: ${contexts.map((c) => `${c.context} context by ${c.rule}`).join(', ')}`
  const c = contexts.find((x) => x.context === d.context) ?? contexts[contexts.length - 1]
  if (!c) return `${d.effect} by ${d.decidedBy}`
  const resource = c.resource
  if (d.effect === 'ExplicitDeny') {
    const m = d.matched.find((x) => x.effect === 'Deny')
    return `denied in the ${c.context} context: explicit deny in a ${LAYER_WORDS[d.decidedBy]}${m ? ` (${m.sid ?? `statement ${m.index}`})` : ''}`
  }
  const parts = c.blockedBy.map((b) => {
    if (b === 'block-public-access') return "Block Public Access (RestrictPublicBuckets) drops the public policy's grant to a principal of another account"
    let s = `no ${LAYER_WORDS[b]} allows ${action} on ${resource}`
    const p = b === 'bucket-policy' ? ctx.bucket?.policy : b === 'mrap-policy' ? ctx.mrap?.policy : undefined
    if (p?.refusal) s += ` (the world's ${p.kind === 'bucket' ? 'bucket' : 'MRAP'} policy is not in force: ${p.refusal.code}: ${p.refusal.message})`
    return s
  })
  const rule = c.sameAccount ? 'same account: an identity or a resource policy must allow' : 'cross account: the identity and the resource policy must both allow'
  return `denied in the ${c.context} context (${rule}): ${parts.join('; and ')}`
}

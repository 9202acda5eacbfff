/**
 * @module Rules on each policy by itself: grammar; what S3, IAM or EC2 would refuse to store
 * (with their error); an action that applies to no resource in its statement (the seed's
 * `DOC-EXAMPLE-BUCKET1` without `/*`); foreign resources in a bucket or MRAP policy; unknown
 * actions and condition keys; condition keys that never appear for the statement's actions (the
 * IAM data set lists each action's keys and its resource types' keys).
 */

import { type ModelPolicy, mrapArnOf } from '../explain/model.js'
import {
  type Catalog,
  type CatalogAction,
  type CompiledPolicy,
  type CompiledStatement,
  findAction,
  findConditionKey,
  lintPolicy,
  type PolicyError,
  parsePolicy,
  patternMeetsTemplate,
  validatePolicy,
} from '../policy/index.js'
import { allPolicies, type PolicyAt, statementPath } from './policies.js'
import type { LintContext, RawFinding, RuleFamily } from './types.js'

const S3_KINDS = new Set(['bucket', 'mrap'])

export const policyRules: RuleFamily = {
  rules: [
    { id: 'grammar', severity: 'error', summary: 'The policy is not valid policy JSON or grammar.' },
    { id: 'write-time', severity: 'error', summary: 'S3, IAM or EC2 would refuse to store the policy.' },
    { id: 'action-resource', severity: 'error', summary: 'An action applies to no resource in its statement.' },
    { id: 'foreign-resource', severity: 'error', summary: 'A bucket or MRAP policy names resources of another bucket or MRAP.' },
    { id: 'unknown-action', severity: 'warning', summary: 'An action that does not exist.' },
    { id: 'unknown-condition-key', severity: 'warning', summary: 'A condition key that does not exist.' },
    { id: 'condition-key-not-applicable', severity: 'warning', summary: "A condition key that never appears in requests for the statement's actions." },
  ],
  run(ctx) {
    const out: RawFinding[] = []
    for (const at of allPolicies(ctx.model)) out.push(...lintOne(at, ctx))
    return out
  },
}

function ref(p: ModelPolicy): RawFinding['policy'] {
  return { kind: p.kind, owner: p.owner, name: p.name }
}

function indexOf(policy: CompiledPolicy | undefined, s: number | string | undefined): number | undefined {
  if (s === undefined) return undefined
  if (typeof s === 'number') return s
  return policy?.statements.find((x) => x.sid === s)?.index
}

function lintOne(at: PolicyAt, ctx: LintContext): RawFinding[] {
  const p = at.policy
  const out: RawFinding[] = []
  const parsed = parsePolicy(p.text, { kind: p.kind, name: p.name })
  const who = S3_KINDS.has(p.kind) ? 'S3' : p.kind === 'endpoint' ? 'EC2' : 'IAM'
  const add = (f: Omit<RawFinding, 'policy' | 'path'>, idx?: number): void => {
    out.push({ ...f, policy: ref(p), path: idx !== undefined ? statementPath(p, idx) : p.path })
  }
  if (!parsed.ok) {
    for (const e of parsed.errors)
      add(
        {
          severity: 'error',
          rule: 'grammar',
          message: `${who} would refuse it: 400 ${e.code}: ${e.message}`,
          ...(e.statement !== undefined ? { statement: e.statement } : {}),
          fix: "fix the policy document's syntax (JSON, Version, Statement, Effect, Action, Resource)",
        },
        indexOf(undefined, e.statement),
      )
    return out
  }
  const policy = parsed.policy
  const errors = validatePolicy(policy, {
    kind: p.kind,
    catalog: ctx.catalog,
    ...(p.kind === 'bucket' ? { bucket: at.bucket } : {}),
    ...(p.kind === 'mrap' && at.mrap ? { mrapArn: mrapArnOf(at.mrap, ctx.model.partition) } : {}),
    ...(p.attachment ? { attachment: p.attachment } : {}),
  })
  const seen = new Set<string>()
  for (const e of errors) {
    const idx = indexOf(policy, e.statement)
    const st = idx !== undefined ? policy.statements[idx] : undefined
    const k = `${e.message}|${String(e.statement)}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(refusalFinding(p, e, st, who, ctx, at))
  }
  // Advice beyond refusals. S3 already refuses unknown actions and keys in its own policies.
  if (!S3_KINDS.has(p.kind)) {
    for (const f of lintPolicy(policy, { kind: p.kind, catalog: ctx.catalog })) {
      if (f.rule !== 'unknown-action' && f.rule !== 'unknown-condition-key') continue
      add(
        {
          severity: 'warning',
          rule: f.rule,
          message: f.message,
          ...(f.statement !== undefined ? { statement: f.statement } : {}),
          fix:
            f.rule === 'unknown-action'
              ? 'check the spelling against the Service Authorization Reference'
              : "check the key's spelling; an unknown key is absent from every request, so the condition never matches",
        },
        indexOf(policy, f.statement),
      )
    }
    for (const st of policy.statements) {
      const f = actionResourceMismatch(st, ctx.catalog)
      if (f)
        add(
          {
            severity: 'warning',
            rule: 'action-resource',
            message: `${f.actions} applies to no resource in this statement (${f.resources}): the statement grants nothing`,
            statement: sidOr(st),
            fix: f.fix,
          },
          st.index,
        )
    }
  }
  for (const st of policy.statements) {
    for (const f of inapplicableKeys(st, ctx.catalog))
      add(
        {
          severity: 'warning',
          rule: 'condition-key-not-applicable',
          message: f,
          statement: sidOr(st),
          fix: 'use a key the actions support (see the Service Authorization Reference), or move the condition to a statement for actions that have the key',
        },
        st.index,
      )
  }
  return out
}

function sidOr(st: CompiledStatement): number | string {
  return st.sid !== undefined && st.sid !== '' ? st.sid : st.index
}

function refusalFinding(p: ModelPolicy, e: PolicyError, st: CompiledStatement | undefined, who: string, ctx: LintContext, at: PolicyAt): RawFinding {
  const status = e.code === 'LimitExceeded' ? 409 : 400
  const base = { policy: ref(p), path: st ? statementPath(p, st.index) : p.path, ...(e.statement !== undefined ? { statement: e.statement } : {}) }
  const said = `${who} would refuse to store it: ${status} ${e.code} "${e.message}"`
  if (e.message === 'Action does not apply to any resource(s) in statement' && st) {
    const f = actionResourceMismatch(st, ctx.catalog)
    return {
      ...base,
      severity: 'error',
      rule: 'action-resource',
      message: `${f ? `${f.actions} applies to no resource in this statement (${f.resources}); ` : ''}${said}`,
      fix: f?.fix ?? 'list resources the actions apply to',
    }
  }
  if (e.message === 'Policy has invalid resource' && st) {
    const own = p.kind === 'bucket' ? at.bucket : at.mrap ? mrapArnOf(at.mrap, ctx.model.partition) : undefined
    const foreign = (st.resources?.raw ?? st.notResources?.raw ?? []).filter((r) => !ownsResource(p.kind, own, r))
    const fix =
      p.kind === 'bucket'
        ? `a bucket policy may name only its own bucket: attach a separate policy to each bucket, and keep here only arn:aws:s3:::${own} and arn:aws:s3:::${own}/*`
        : `an MRAP policy may name only this MRAP: ${own} and ${own}/object/*`
    return {
      ...base,
      severity: 'error',
      rule: 'foreign-resource',
      message: `names resources that are not ${p.kind === 'bucket' ? `bucket ${own}'s` : "this MRAP's"}: ${foreign.join(', ')}; ${said}`,
      fix,
    }
  }
  return { ...base, severity: 'error', rule: 'write-time', message: said, fix: 'change the policy so the service accepts it; until then the resource runs without it' }
}

function ownsResource(kind: string, own: string | undefined, r: string): boolean {
  if (own === undefined) return true
  if (kind === 'bucket') {
    const m = /^arn:aws[a-z-]*:s3:::([^/]+)(\/.*)?$/.exec(r)
    return m !== null && m[1] === own
  }
  return r === own || r.startsWith(`${own}/object/`)
}

/** The S3 actions of a statement (wildcards expanded against the catalogue). */
export function statementActions(st: CompiledStatement, catalog: Catalog): CatalogAction[] {
  const s3 = catalog.services.get('s3')
  const m = st.actions
  if (!m || !s3) return []
  if (m.any) return []
  const out: CatalogAction[] = []
  for (const raw of m.raw) {
    if (!/^s3:/i.test(raw)) continue
    if (!raw.includes('*') && !raw.includes('?')) {
      const a = findAction(catalog, raw)
      if (a) out.push(a)
      continue
    }
    const re = new RegExp(
      `^${raw
        .slice(3)
        .toLowerCase()
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    )
    for (const [k, a] of s3.actions) if (re.test(k)) out.push(a)
  }
  return out
}

function actionResourceMismatch(st: CompiledStatement, catalog: Catalog): { actions: string; resources: string; fix: string } | undefined {
  const s3 = catalog.services.get('s3')
  if (!s3 || !st.resources || st.resources.any || st.effect !== 'Allow') return undefined
  const actions = statementActions(st, catalog)
  if (actions.length === 0 || (st.actions?.raw ?? []).some((a) => !/^s3:/i.test(a))) return undefined
  const resources = st.resources.raw
  const applies = actions.some((a) =>
    a.resourceTypes.some((rt) => {
      const t = s3.resourceTypes.get(rt)
      return t !== undefined && resources.some((r) => patternMeetsTemplate(r, t.arn))
    }),
  )
  if (applies) return undefined
  const objectLevel = actions.every((a) => a.resourceTypes.includes('object'))
  const bucketArns = resources.filter((r) => /^arn:aws[a-z-]*:s3:::[^/]+$/.test(r))
  const fix =
    objectLevel && bucketArns.length > 0
      ? `object actions apply to objects, not buckets: use ${bucketArns.map((r) => `"${r}/*"`).join(', ')}`
      : 'list resources the actions apply to (object actions: arn:aws:s3:::bucket/*; bucket actions: arn:aws:s3:::bucket)'
  return { actions: (st.actions?.raw ?? []).join(', '), resources: resources.join(', '), fix }
}

function normKey(k: string): string {
  const slash = k.indexOf('/')
  return (slash === -1 ? k : k.slice(0, slash + 1)).toLowerCase()
}

function inapplicableKeys(st: CompiledStatement, catalog: Catalog): string[] {
  const actions = statementActions(st, catalog)
  if (actions.length === 0 || (st.actions?.raw ?? []).some((a) => !/^s3:/i.test(a))) return []
  const s3 = catalog.services.get('s3')!
  const keys = new Set<string>()
  for (const a of actions) {
    for (const k of a.conditionKeys) keys.add(normKey(k))
    for (const rt of a.resourceTypes) for (const k of s3.resourceTypes.get(rt)?.conditionKeys ?? []) keys.add(normKey(k))
  }
  const out: string[] = []
  for (const c of st.conditions) {
    const k = normKey(c.key)
    if (!k.startsWith('s3:') || !findConditionKey(catalog, c.key) || keys.has(k)) continue
    out.push(`condition key ${c.key} never appears in requests for ${(st.actions?.raw ?? []).join(', ')}: the condition is always ${c.negated || c.ifExists ? 'true' : 'false'}`)
  }
  return out
}

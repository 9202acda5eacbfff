/**
 * @module Findings for `mrap lint`: what a policy says that is probably not what was meant.
 * Unlike validatePolicy these are advice, not refusals (except where AWS refuses too).
 */

import type { Catalog } from './catalog-types.js'
import { findAction, findConditionKey } from './catalog-types.js'
import { publicStatus } from './public.js'
import type { CompiledPolicy, PolicyKind } from './types.js'
import { type ValidateOptions, validatePolicy } from './validate.js'
import { globOf, matchGlob } from './wildcard.js'

export interface LintFinding {
  rule: 'unknown-action' | 'unknown-condition-key' | 'public-policy' | 'write-time-error'
  message: string
  statement?: number | string
}

export function lintPolicy(policy: CompiledPolicy, opts: ValidateOptions & { catalog: Catalog }): LintFinding[] {
  const out: LintFinding[] = []
  for (const e of validatePolicy(policy, opts)) {
    const f: LintFinding = { rule: 'write-time-error', message: e.message }
    if (e.statement !== undefined) f.statement = e.statement
    out.push(f)
  }
  for (const st of policy.statements) {
    const where = st.sid !== undefined && st.sid !== '' ? st.sid : st.index
    for (const a of (st.actions ?? st.notActions)?.raw ?? []) {
      if (a === '*') continue
      const svc = opts.catalog.services.get(a.slice(0, a.indexOf(':')).toLowerCase())
      if (!svc) continue // service not loaded: nothing to say
      const g = globOf(a, true)
      const known = g.shape === 'exact' ? findAction(opts.catalog, a) !== undefined : [...svc.actions.keys()].some((k) => matchGlob(g, `${svc.prefix.toLowerCase()}:${k}`))
      if (!known) out.push({ rule: 'unknown-action', message: `unknown action \`${a}\``, statement: where })
    }
    for (const c of st.conditions) {
      if (!findConditionKey(opts.catalog, c.key)) out.push({ rule: 'unknown-condition-key', message: `unknown condition key \`${c.key}\``, statement: where })
    }
  }
  if (isResourceKind(opts.kind)) {
    for (const r of publicStatus(policy, opts.kind).reasons) out.push({ rule: 'public-policy', message: r.reason, statement: r.statement })
  }
  return out
}

function isResourceKind(k: PolicyKind): boolean {
  return k === 'bucket' || k === 'mrap' || k === 'resource'
}

/**
 * @module One policy against one request in one context. The fast path returns a small integer
 * and allocates nothing; explainPolicy walks the same element matchers and records every step.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */

import { compileArnPattern, matchArn } from './arn.js'
import { type ConditionExplain, evaluateCondition, explainCondition } from './conditions.js'
import { matchPrincipal, notPrincipalExcludes, type PrincipalMatch } from './principal.js'
import type { RequestScope } from './scope.js'
import type { ActionMatcher, CompiledPolicy, CompiledStatement, Glob, ResourceMatcher } from './types.js'
import { resolveTemplate } from './variables.js'
import { matchGlob } from './wildcard.js'

/**
 * How a policy's statements apply to the caller: identity-like policies (identity, boundary,
 * session) ignore Principal; resource-like ones (bucket, MRAP, endpoint) require it to match.
 */
export type PrincipalMode = 'implicit' | 'required'

/** What the engine evaluates in one context (action, resource, principal, context keys). */
export type Probe = RequestScope

// Result encoding of evaluatePolicy: 0 = no statement applies; otherwise
// ((statement index + 1) << 4) | ALLOW | DENY | DIRECT | ACCOUNT.
export const ALLOW = 1
export const DENY = 2
/** The allowing statement named the caller itself (user or session ARN): see authorize.ts. */
export const DIRECT = 4
/** The only allowing statements matched the caller through its account principal: see authorize.ts. */
export const ACCOUNT = 8
const SHIFT = 4

export function actionMatches(m: ActionMatcher, action: string): boolean {
  if (m.any || m.exact.has(action)) return true
  const w = m.wild
  for (let i = 0; i < w.length; i++) if (matchGlob(w[i] as Glob, action)) return true
  return false
}

/** Returns the pattern that matched, or undefined. */
export function resourceMatch(m: ResourceMatcher, arn: string, probe: Probe): string | undefined {
  if (m.any) return '*'
  const items = m.items
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as ResourceMatcher['items'][number]
    if (it.arn !== null) {
      if (matchArn(it.arn, arn)) return it.raw
    } else {
      const r = resolveTemplate(it.template, probe.scope)
      if (r !== null && matchArn(compileArnPattern(r), arn)) return it.raw
    }
  }
  return undefined
}

/**
 * 0 when the statement does not apply; otherwise 1, 2 when the principal was named directly, 3
 * when it matched only through the caller's account.
 */
function statementApplies(st: CompiledStatement, probe: Probe, mode: PrincipalMode): number {
  if (st.actions !== undefined) {
    if (!actionMatches(st.actions, probe.action)) return 0
  } else if (st.notActions !== undefined && actionMatches(st.notActions, probe.action)) return 0
  if (st.resources !== undefined) {
    if (resourceMatch(st.resources, probe.resource, probe) === undefined) return 0
  } else if (st.notResources !== undefined && resourceMatch(st.notResources, probe.resource, probe) !== undefined) return 0
  let how = 1
  if (mode === 'required') {
    if (st.principal !== undefined) {
      const pm = matchPrincipal(st.principal, probe.principal)
      if (pm === 'none') return 0
      if (pm === 'direct') how = 2
      else if (pm === 'account') how = 3
    } else if (st.notPrincipal !== undefined) {
      // "Permissions boundaries for IAM entities": a Deny with NotPrincipal always denies a
      // principal that has a boundary, whatever NotPrincipal lists.
      if (notPrincipalExcludes(st.notPrincipal, probe.principal) && !(probe.hasBoundary && st.effect === 'Deny')) return 0
    } else return 0 // a resource policy statement without a principal grants nobody
  }
  const cs = st.conditions
  for (let i = 0; i < cs.length; i++) if (!evaluateCondition(cs[i] as CompiledStatement['conditions'][number], probe.scope)) return 0
  return how
}

/** Evaluates every statement: an applying Deny wins; otherwise the best applying Allow. */
export function evaluatePolicy(p: CompiledPolicy, probe: Probe, mode: PrincipalMode): number {
  let allow = 0
  const sts = p.statements
  // Only statements that can match the action: one map lookup instead of a test per statement.
  const candidates = p.actionIndex.byAction.get(probe.action) ?? p.actionIndex.other
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k] as number
    const st = sts[i] as CompiledStatement
    // Once an Allow is known only a Deny can change the answer (or, for resource policies, an
    // Allow naming the caller directly, which authorize.ts treats differently).
    if (st.effect === 'Allow' && allow !== 0 && (mode === 'implicit' || (allow & DIRECT) !== 0)) continue
    const how = statementApplies(st, probe, mode)
    if (how === 0) continue
    if (st.effect === 'Deny') return ((i + 1) << SHIFT) | DENY
    // Keep the strongest grant: naming the caller, then role / wildcard / other, then account only.
    if (allow === 0 || how === 2 || (how === 1 && (allow & ACCOUNT) !== 0)) {
      allow = ((i + 1) << SHIFT) | ALLOW | (how === 2 ? DIRECT : how === 3 ? ACCOUNT : 0)
    }
  }
  return allow
}

export function statementOf(p: CompiledPolicy, code: number): CompiledStatement | undefined {
  return code === 0 ? undefined : p.statements[(code >> SHIFT) - 1]
}

// ---------------------------------------------------------------------------------------------
// Explanation (only when asked for)

export interface ElementExplain {
  matched: boolean
  /** The pattern or principal entry that matched, or why not. */
  detail: string
}

export interface StatementExplain {
  index: number
  sid?: string
  effect: 'Allow' | 'Deny'
  action: ElementExplain
  resource: ElementExplain
  principal: ElementExplain
  conditions: ConditionExplain[]
  /** Did the statement apply to this request? */
  applies: boolean
}

export interface PolicyExplain {
  name?: string
  statements: StatementExplain[]
  /** 'Allow' | 'Deny' | 'NoMatch': what this policy said on its own. */
  result: 'Allow' | 'Deny' | 'NoMatch'
}

function explainAction(st: CompiledStatement, action: string): ElementExplain {
  const m = st.actions ?? st.notActions
  const element = st.actions ? 'Action' : 'NotAction'
  if (!m) return { matched: false, detail: 'no Action element' }
  const hit = m.any ? '*' : m.exact.has(action) ? action : m.wild.find((g) => matchGlob(g, action))?.text
  if (st.actions) return hit !== undefined ? { matched: true, detail: `Action ${hit}` } : { matched: false, detail: `${action} not in Action` }
  return hit !== undefined ? { matched: false, detail: `${element} lists ${hit}` } : { matched: true, detail: `${action} not in NotAction` }
}

function explainResource(st: CompiledStatement, probe: Probe): ElementExplain {
  if (st.resources) {
    const hit = resourceMatch(st.resources, probe.resource, probe)
    return hit !== undefined ? { matched: true, detail: `Resource ${hit}` } : { matched: false, detail: `${probe.resource} not in Resource [${st.resources.raw.join(', ')}]` }
  }
  if (st.notResources) {
    const hit = resourceMatch(st.notResources, probe.resource, probe)
    return hit === undefined ? { matched: true, detail: `${probe.resource} not in NotResource` } : { matched: false, detail: `NotResource lists ${hit}` }
  }
  return { matched: true, detail: 'no Resource element' }
}

function explainPrincipal(st: CompiledStatement, probe: Probe, mode: PrincipalMode): ElementExplain {
  if (mode === 'implicit') return { matched: true, detail: 'identity-based: applies to the caller' }
  if (st.principal) {
    const pm: PrincipalMatch = matchPrincipal(st.principal, probe.principal)
    return pm === 'none' ? { matched: false, detail: `${probe.principal.arn} not in Principal` } : { matched: true, detail: `Principal (${pm})` }
  }
  if (st.notPrincipal) {
    const ex = notPrincipalExcludes(st.notPrincipal, probe.principal)
    if (ex && probe.hasBoundary && st.effect === 'Deny')
      return { matched: true, detail: 'listed in NotPrincipal, but a Deny with NotPrincipal applies to every principal with a permissions boundary' }
    return ex ? { matched: false, detail: 'excluded by NotPrincipal' } : { matched: true, detail: 'not excluded by NotPrincipal' }
  }
  return { matched: false, detail: 'resource-based statement without Principal grants nobody' }
}

export function explainPolicy(p: CompiledPolicy, probe: Probe, mode: PrincipalMode): PolicyExplain {
  const statements: StatementExplain[] = p.statements.map((st) => {
    const action = explainAction(st, probe.action)
    const resource = explainResource(st, probe)
    const principal = explainPrincipal(st, probe, mode)
    const conditions = st.conditions.map((c) => explainCondition(c, probe.scope))
    const applies = statementApplies(st, probe, mode) !== 0
    const e: StatementExplain = { index: st.index, effect: st.effect, action, resource, principal, conditions, applies }
    if (st.sid !== undefined) e.sid = st.sid
    return e
  })
  const code = evaluatePolicy(p, probe, mode)
  const out: PolicyExplain = { statements, result: code & DENY ? 'Deny' : code & ALLOW ? 'Allow' : 'NoMatch' }
  if (p.name !== undefined) out.name = p.name
  return out
}

/**
 * @module Policy text → CompiledPolicy. Grammar only (the rules every kind shares); the rules of
 * a particular attachment point live in validate.ts. Errors name the statement and element and
 * use AWS's wording where AWS has one.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 */

import { compileArnPattern } from './arn.js'
import { compileCondition } from './conditions.js'
import { compilePrincipal } from './principal.js'
import { publicStatus } from './public.js'
import type {
  ActionMatcher,
  CompiledPolicy,
  CompiledResource,
  CompiledStatement,
  Effect,
  Glob,
  PolicyError,
  PolicyErrorCode,
  PolicyKind,
  PolicyVersion,
  ResourceMatcher,
} from './types.js'
import { parseTemplate } from './variables.js'
import { globOf } from './wildcard.js'

export interface ParseOptions {
  kind: PolicyKind
  /** A label for explanations (e.g. a managed policy ARN). */
  name?: string
}

export type ParseResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] }

const S3_KINDS: ReadonlySet<PolicyKind> = new Set(['bucket', 'mrap', 'resource'])

/** S3 answers MalformedPolicy; IAM, STS and EC2 answer MalformedPolicyDocument. */
export function errorCodeFor(kind: PolicyKind): PolicyErrorCode {
  return S3_KINDS.has(kind) ? 'MalformedPolicy' : 'MalformedPolicyDocument'
}

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement'])
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'])

/** Parses and compiles a policy document. */
export function parsePolicy(text: string, opts: ParseOptions): ParseResult {
  const code = errorCodeFor(opts.kind)
  const errors: PolicyError[] = []
  const fail = (message: string, extra: Partial<PolicyError> = {}): void => {
    errors.push({ code, message, ...extra })
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    doc = undefined
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || text.trimStart()[0] !== '{') {
    return { ok: false, errors: [{ code, message: "Policies must be valid JSON and the first byte must be '{'" }] }
  }
  return compileDocument(doc as Record<string, unknown>, text, opts, fail, errors)
}

/** Compiles an already-parsed JSON document (used by parsePolicy and by tests). */
function compileDocument(doc: Record<string, unknown>, text: string, opts: ParseOptions, fail: (m: string, e?: Partial<PolicyError>) => void, errors: PolicyError[]): ParseResult {
  for (const k of Object.keys(doc)) if (!TOP_LEVEL.has(k)) fail(`Unknown field ${k}`, { element: k })
  let version: PolicyVersion
  if (doc.Version !== undefined) {
    if (doc.Version === '2012-10-17' || doc.Version === '2008-10-17') version = doc.Version
    else fail('The policy must contain a valid version string', { element: 'Version' })
  }
  let id: string | undefined
  if (doc.Id !== undefined) {
    if (typeof doc.Id === 'string') id = doc.Id
    else fail('Id must be a string', { element: 'Id' })
  }
  const raw = doc.Statement
  const statementIsObject = raw !== null && typeof raw === 'object' && !Array.isArray(raw)
  const list: unknown[] = Array.isArray(raw) ? raw : statementIsObject ? [raw] : []
  if (raw === undefined) fail('Missing required field Statement', { element: 'Statement' })
  else if (!Array.isArray(raw) && !statementIsObject) fail('Statement must be an object or an array of objects', { element: 'Statement' })
  else if (list.length === 0) fail('Missing required field Statement', { element: 'Statement' })

  const statements: CompiledStatement[] = []
  const sids = new Set<string>()
  list.forEach((s, index) => {
    const st = compileStatement(s, index, version === '2012-10-17', fail)
    if (st) {
      if (st.sid !== undefined) {
        if (sids.has(st.sid)) fail('Statement IDs (SID) in a single policy must be unique.', { statement: st.sid, element: 'Sid' })
        sids.add(st.sid)
      }
      statements.push(st)
    }
  })
  if (errors.length > 0) return { ok: false, errors }
  const base = {
    version,
    id,
    statementIsObject,
    statements,
    size: measure(text),
    name: opts.name,
    kind: opts.kind,
    isPublic: false,
    actionIndex: indexActions(statements),
  }
  return { ok: true, policy: { ...base, isPublic: publicStatus(base, opts.kind).isPublic } }
}

function compileStatement(s: unknown, index: number, variables: boolean, fail: (m: string, e?: Partial<PolicyError>) => void): CompiledStatement | undefined {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) {
    fail('Statement must be an object', { statement: index, element: 'Statement' })
    return undefined
  }
  const o = s as Record<string, unknown>
  const sid = typeof o.Sid === 'string' ? o.Sid : undefined
  const where = sid !== undefined && sid !== '' ? sid : index
  let failures = 0
  const f = (m: string, element: string): void => {
    failures++
    fail(m, { statement: where, element })
  }
  for (const k of Object.keys(o)) if (!STATEMENT_KEYS.has(k)) f(`Unknown field ${k}`, k)
  if (o.Sid !== undefined && typeof o.Sid !== 'string') f('Sid must be a string', 'Sid')

  let effect: Effect = 'Deny'
  if (o.Effect === undefined) f('Missing required field Effect', 'Effect')
  else if (o.Effect === 'Allow' || o.Effect === 'Deny') effect = o.Effect
  else f(`Invalid effect: ${String(o.Effect)}`, 'Effect')

  const pair = (a: string, b: string, required: boolean): void => {
    if (o[a] !== undefined && o[b] !== undefined) f(`Statement cannot contain both ${a} and ${b}`, a)
    else if (required && o[a] === undefined && o[b] === undefined) f(`Missing required field ${a}`, a)
  }
  pair('Principal', 'NotPrincipal', false)
  pair('Action', 'NotAction', true)
  pair('Resource', 'NotResource', false) // required except in trust policies: validate.ts

  const principal = compileOptionalPrincipal(o.Principal, 'Principal', f)
  const notPrincipal = compileOptionalPrincipal(o.NotPrincipal, 'NotPrincipal', f)
  const actions = compileActions(o.Action, 'Action', f)
  const notActions = compileActions(o.NotAction, 'NotAction', f)
  const resources = compileResources(o.Resource, 'Resource', variables, f)
  const notResources = compileResources(o.NotResource, 'NotResource', variables, f)

  const conditions = []
  if (o.Condition !== undefined) {
    if (o.Condition === null || typeof o.Condition !== 'object' || Array.isArray(o.Condition)) f('Condition must be an object', 'Condition')
    else {
      for (const [op, block] of Object.entries(o.Condition as Record<string, unknown>)) {
        if (block === null || typeof block !== 'object' || Array.isArray(block)) {
          f(`Invalid Condition block for ${op}`, 'Condition')
          continue
        }
        for (const [key, v] of Object.entries(block as Record<string, unknown>)) {
          const values = toStringList(v, true)
          if (!values) {
            f(`Invalid value for condition key ${key}`, 'Condition')
            continue
          }
          const c = compileCondition(op, key, values, variables)
          if (typeof c === 'string') f(c, 'Condition')
          else conditions.push(c)
        }
      }
    }
  }
  if (failures > 0) return undefined
  return {
    index,
    sid,
    effect,
    principal,
    notPrincipal,
    actions,
    notActions,
    resources,
    notResources,
    conditions,
    source: o,
  }
}

function compileOptionalPrincipal(v: unknown, element: string, f: (m: string, e: string) => void) {
  if (v === undefined) return undefined
  const p = compilePrincipal(v)
  if (typeof p === 'string') {
    f(p, element)
    return undefined
  }
  return p
}

/** Strings or lists of strings; condition values may also be numbers or booleans (JSON). */
function toStringList(v: unknown, scalarsOk = false): string[] | undefined {
  const one = (x: unknown): string | undefined => (typeof x === 'string' ? x : scalarsOk && (typeof x === 'number' || typeof x === 'boolean') ? String(x) : undefined)
  if (Array.isArray(v)) {
    const out: string[] = []
    for (const x of v) {
      const s = one(x)
      if (s === undefined) return undefined
      out.push(s)
    }
    return out.length > 0 || scalarsOk ? out : undefined
  }
  const s = one(v)
  return s === undefined ? undefined : [s]
}

function compileActions(v: unknown, element: string, f: (m: string, e: string) => void): ActionMatcher | undefined {
  if (v === undefined) return undefined
  const raw = toStringList(v)
  if (!raw) {
    f(`${element} must be a string or a list of strings`, element)
    return undefined
  }
  const exact = new Set<string>()
  const wild: Glob[] = []
  let any = false
  for (const a of raw) {
    if (a === '*') {
      any = true
      continue
    }
    // "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc." (IAM wording)
    if (!/^[a-zA-Z0-9-]+:[a-zA-Z0-9*?-]*$/.test(a)) {
      f('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.', element)
      continue
    }
    const g = globOf(a, true)
    if (g.shape === 'exact') exact.add(g.text)
    else wild.push(g)
  }
  return { raw, exact, wild, any }
}

function compileResources(v: unknown, element: string, variables: boolean, f: (m: string, e: string) => void): ResourceMatcher | undefined {
  if (v === undefined) return undefined
  const raw = toStringList(v)
  if (!raw) {
    f(`${element} must be a string or a list of strings`, element)
    return undefined
  }
  const items: CompiledResource[] = []
  let any = false
  for (const r of raw) {
    if (r === '*') any = true
    else if (!/^arn:[^:]*:[^:]*:[^:]*:[^:]*:./.test(r) && !/^arn:[^:]*:[^:]*:.*\*/.test(r)) {
      f('Policy has invalid resource', element)
      continue
    }
    const template = parseTemplate(r, variables)
    items.push({ raw: r, template, arn: template.fixed ? compileArnPattern(template.fixed) : null })
  }
  return { raw, items, any }
}

/** Builds the per-action candidate lists (see CompiledPolicy.actionIndex). */
function indexActions(statements: readonly CompiledStatement[]): CompiledPolicy['actionIndex'] {
  const other: number[] = []
  const exact = new Map<string, number[]>()
  statements.forEach((st, i) => {
    const a = st.actions
    if (a === undefined || a.any || a.wild.length > 0) other.push(i)
    if (a !== undefined && !a.any) {
      for (const name of a.exact) {
        const list = exact.get(name) ?? []
        list.push(i)
        exact.set(name, list)
      }
    }
  })
  const byAction = new Map<string, readonly number[]>()
  for (const [name, list] of exact) {
    byAction.set(
      name,
      [...new Set([...list, ...other])].sort((x, y) => x - y),
    )
  }
  return { byAction, other }
}

/** Size measures for quotas: characters, UTF-8 bytes and non-whitespace characters. */
function measure(text: string): { chars: number; bytes: number; nonWhitespace: number } {
  let bytes = 0
  let nonWhitespace = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4
      i++
    } else bytes += 3
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) nonWhitespace++
  }
  return { chars: text.length, bytes, nonWhitespace }
}

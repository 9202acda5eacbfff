/**
 * @module Condition operators: compiled once, evaluated per request, explained on demand.
 * Rules (all from the IAM reference):
 * - operators AND together, keys AND together, values of one key OR together;
 * - a missing key fails every operator except negated ones (StringNotEquals, NotIpAddress, ...),
 *   which succeed, `...IfExists`, which succeeds, and Null;
 * - `ForAllValues:` succeeds when every request value matches (also when there is none);
 *   `ForAnyValue:` succeeds when at least one does (never when there is none);
 * - negated operators are the negation of their positive form over all request values.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */

import { compileArnPattern, matchArn } from './arn.js'
import { cidrContains, parseCidr, parseIp } from './ip.js'
import type { CompiledCondition, ConditionQualifier, OperatorName, PreparedValues } from './types.js'
import { type KeyLookup, parseTemplate, resolveTemplate } from './variables.js'
import { compileGlob, matchGlob } from './wildcard.js'

interface OperatorInfo {
  family: PreparedValues['kind']
  negated: boolean
  /** Which comparison, for number and date families. */
  cmp?: 'eq' | 'lt' | 'le' | 'gt' | 'ge'
  ignoreCase?: boolean
  /** Variables are allowed in string and ARN values only. */
  variables: boolean
}

const OPERATORS: Readonly<Record<OperatorName, OperatorInfo>> = {
  StringEquals: { family: 'string', negated: false, variables: true },
  StringNotEquals: { family: 'string', negated: true, variables: true },
  StringEqualsIgnoreCase: { family: 'string', negated: false, ignoreCase: true, variables: true },
  StringNotEqualsIgnoreCase: { family: 'string', negated: true, ignoreCase: true, variables: true },
  StringLike: { family: 'glob', negated: false, variables: true },
  StringNotLike: { family: 'glob', negated: true, variables: true },
  NumericEquals: { family: 'number', negated: false, cmp: 'eq', variables: false },
  NumericNotEquals: { family: 'number', negated: true, cmp: 'eq', variables: false },
  NumericLessThan: { family: 'number', negated: false, cmp: 'lt', variables: false },
  NumericLessThanEquals: { family: 'number', negated: false, cmp: 'le', variables: false },
  NumericGreaterThan: { family: 'number', negated: false, cmp: 'gt', variables: false },
  NumericGreaterThanEquals: { family: 'number', negated: false, cmp: 'ge', variables: false },
  DateEquals: { family: 'date', negated: false, cmp: 'eq', variables: false },
  DateNotEquals: { family: 'date', negated: true, cmp: 'eq', variables: false },
  DateLessThan: { family: 'date', negated: false, cmp: 'lt', variables: false },
  DateLessThanEquals: { family: 'date', negated: false, cmp: 'le', variables: false },
  DateGreaterThan: { family: 'date', negated: false, cmp: 'gt', variables: false },
  DateGreaterThanEquals: { family: 'date', negated: false, cmp: 'ge', variables: false },
  Bool: { family: 'bool', negated: false, variables: false },
  BinaryEquals: { family: 'binary', negated: false, variables: false },
  IpAddress: { family: 'ip', negated: false, variables: false },
  NotIpAddress: { family: 'ip', negated: true, variables: false },
  ArnEquals: { family: 'arn', negated: false, variables: true },
  ArnLike: { family: 'arn', negated: false, variables: true },
  ArnNotEquals: { family: 'arn', negated: true, variables: true },
  ArnNotLike: { family: 'arn', negated: true, variables: true },
  Null: { family: 'null', negated: false, variables: false },
}

export const OPERATOR_NAMES = Object.keys(OPERATORS) as OperatorName[]

export function isNegatedOperator(op: OperatorName): boolean {
  return OPERATORS[op].negated
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; undefined for unknown operators. */
export function parseOperator(raw: string): { operator: OperatorName; qualifier: ConditionQualifier; ifExists: boolean } | undefined {
  let name = raw
  let qualifier: ConditionQualifier = 'none'
  const colon = name.indexOf(':')
  if (colon !== -1) {
    const q = name.slice(0, colon).toLowerCase()
    if (q === 'foranyvalue') qualifier = 'ForAnyValue'
    else if (q === 'forallvalues') qualifier = 'ForAllValues'
    else return undefined
    name = name.slice(colon + 1)
  }
  let ifExists = false
  if (name.toLowerCase().endsWith('ifexists') && name.length > 8) {
    ifExists = true
    name = name.slice(0, -8)
  }
  // Operator names are matched case-insensitively, as IAM accepts e.g. "stringequals".
  const op = OPERATOR_NAMES.find((n) => n.toLowerCase() === name.toLowerCase())
  if (op === undefined) return undefined
  if (op === 'Null' && ifExists) return undefined // IfExists cannot be added to Null
  return { operator: op, qualifier, ifExists }
}

/** Parses a date as IAM does: ISO 8601 or epoch seconds; NaN when invalid. */
export function parseDate(v: string): number {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v) * 1000
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return NaN
  return Date.parse(v)
}

function parseNumber(v: string): number {
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return NaN
  return Number(v)
}

/** Compiles values for an operator. Returns an error message for values the operator rejects. */
export function compileCondition(rawOperator: string, key: string, values: string[], variablesEnabled: boolean): CompiledCondition | string {
  const parsed = parseOperator(rawOperator)
  if (!parsed) return `Invalid Condition type : ${rawOperator}`
  const info = OPERATORS[parsed.operator]
  const vars = variablesEnabled && info.variables
  let prepared: PreparedValues
  switch (info.family) {
    case 'string':
      prepared = {
        kind: 'string',
        items: values.map((v) => {
          const t = parseTemplate(v, vars)
          return { t, text: t.fixed?.text ?? v, lower: (t.fixed?.text ?? v).toLowerCase() }
        }),
      }
      break
    case 'glob':
      prepared = {
        kind: 'glob',
        items: values.map((v) => {
          const t = parseTemplate(v, vars)
          return { t, glob: t.fixed ? compileGlob(t.fixed) : null }
        }),
      }
      break
    case 'arn':
      prepared = {
        kind: 'arn',
        items: values.map((v) => {
          const t = parseTemplate(v, vars)
          return { t, arn: t.fixed ? compileArnPattern(t.fixed) : null }
        }),
      }
      break
    case 'number': {
      const items = values.map(parseNumber)
      if (items.some(Number.isNaN)) return `Invalid numeric value for ${rawOperator} on ${key}`
      prepared = { kind: 'number', items }
      break
    }
    case 'date': {
      const items = values.map(parseDate)
      if (items.some(Number.isNaN)) return `Invalid date value for ${rawOperator} on ${key}`
      prepared = { kind: 'date', items }
      break
    }
    case 'bool':
    case 'null': {
      const lower = values.map((v) => v.toLowerCase())
      if (lower.some((v) => v !== 'true' && v !== 'false')) return `Invalid boolean value for ${rawOperator} on ${key}`
      prepared = { kind: info.family, items: lower.map((v) => v === 'true') }
      break
    }
    case 'binary':
      prepared = { kind: 'binary', items: values }
      break
    case 'ip': {
      const items = values.map(parseCidr)
      if (items.some((c) => c === undefined)) return `Invalid IP address or CIDR for ${rawOperator} on ${key}`
      prepared = { kind: 'ip', items: items as NonNullable<(typeof items)[number]>[] }
      break
    }
  }
  return {
    rawOperator,
    operator: parsed.operator,
    qualifier: parsed.qualifier,
    ifExists: parsed.ifExists,
    key,
    keyLower: key.toLowerCase(),
    values,
    prepared,
    negated: info.negated,
    ignoreCase: info.ignoreCase === true,
    cmp: info.cmp,
  }
}

/** Does one request value match any of the policy values (positive form of the operator)? */
function valueMatches(c: CompiledCondition, v: string, scope: KeyLookup): boolean {
  const p = c.prepared
  switch (p.kind) {
    case 'string': {
      const ic = c.ignoreCase
      const vv = ic ? v.toLowerCase() : v
      for (const it of p.items) {
        if (it.t.fixed) {
          if ((ic ? it.lower : it.text) === vv) return true
        } else {
          const r = resolveTemplate(it.t, scope)
          if (r && (ic ? r.text.toLowerCase() : r.text) === vv) return true
        }
      }
      return false
    }
    case 'glob':
      for (const it of p.items) {
        if (it.glob) {
          if (matchGlob(it.glob, v)) return true
        } else {
          const r = resolveTemplate(it.t, scope)
          if (r && matchGlob(compileGlob(r), v)) return true
        }
      }
      return false
    case 'arn':
      // ARN operators need an ARN-shaped request value (six colon-separated parts).
      if (v.charCodeAt(0) !== 97 || v.charCodeAt(3) !== 58) return false // 'a', ':' of "arn:"
      for (const it of p.items) {
        if (it.arn) {
          if (matchArn(it.arn, v)) return true
        } else {
          const r = resolveTemplate(it.t, scope)
          if (r && matchArn(compileArnPattern(r), v)) return true
        }
      }
      return false
    case 'number':
    case 'date': {
      const n = p.kind === 'number' ? parseNumber(v) : parseDate(v)
      if (Number.isNaN(n)) return false
      const cmp = c.cmp
      for (const x of p.items) {
        if (cmp === 'eq' ? n === x : cmp === 'lt' ? n < x : cmp === 'le' ? n <= x : cmp === 'gt' ? n > x : n >= x) return true
      }
      return false
    }
    case 'bool': {
      const b = v.toLowerCase()
      if (b !== 'true' && b !== 'false') return false
      return p.items.includes(b === 'true')
    }
    case 'binary':
      return p.items.includes(v)
    case 'ip': {
      const ip = parseIp(v)
      if (!ip) return false
      for (const cidr of p.items) if (cidrContains(cidr, ip)) return true
      return false
    }
    case 'null':
      return false // handled by evaluateCondition
  }
}

/** Evaluates one (operator, key) condition. */
export function evaluateCondition(c: CompiledCondition, scope: KeyLookup): boolean {
  const vals = scope.get(c.keyLower)
  const present = vals !== undefined && vals.length > 0
  if (c.prepared.kind === 'null') {
    // Null: "true" means the key must be absent, "false" that it must be present.
    return c.prepared.items.some((wantAbsent) => wantAbsent !== present)
  }
  const negated = c.negated
  if (c.qualifier === 'ForAllValues') {
    if (!present) return true
    for (const v of vals) if (valueMatches(c, v, scope) === negated) return false
    return true
  }
  if (c.qualifier === 'ForAnyValue') {
    if (!present) return c.ifExists
    for (const v of vals) if (valueMatches(c, v, scope) !== negated) return true
    return false
  }
  if (!present) return c.ifExists || negated
  let any = false
  for (const v of vals) {
    if (valueMatches(c, v, scope)) {
      any = true
      break
    }
  }
  return negated ? !any : any
}

/** What explain reports for one condition. */
export interface ConditionExplain {
  operator: string
  key: string
  policyValues: readonly string[]
  /** Request values, or null when the key is absent. */
  requestValues: readonly string[] | null
  /** Policy values after variable substitution (null entries: variable without a value). */
  resolvedValues?: (string | null)[]
  matched: boolean
  /** Why, in plain words (e.g. "key absent: negated operator succeeds"). */
  reason: string
}

export function explainCondition(c: CompiledCondition, scope: KeyLookup): ConditionExplain {
  const vals = scope.get(c.keyLower)
  const present = vals !== undefined && vals.length > 0
  const matched = evaluateCondition(c, scope)
  let reason: string
  if (c.prepared.kind === 'null') reason = present ? 'key present' : 'key absent'
  else if (!present) {
    reason =
      c.qualifier === 'ForAllValues'
        ? 'key absent: ForAllValues succeeds on an empty set'
        : c.qualifier === 'ForAnyValue'
          ? 'key absent: ForAnyValue fails on an empty set'
          : c.ifExists
            ? 'key absent: IfExists succeeds'
            : OPERATORS[c.operator].negated
              ? 'key absent: negated operator succeeds'
              : 'key absent'
  } else reason = matched ? 'values match' : 'values do not match'
  const out: ConditionExplain = {
    operator: c.rawOperator,
    key: c.key,
    policyValues: c.values,
    requestValues: present ? vals : null,
    matched,
    reason,
  }
  const p = c.prepared
  if (p.kind === 'string' || p.kind === 'glob' || p.kind === 'arn') {
    const items = p.items as readonly { t: import('./types.js').Template }[]
    if (items.some((i) => !i.t.fixed)) out.resolvedValues = items.map((i) => resolveTemplate(i.t, scope)?.text ?? null)
  }
  return out
}

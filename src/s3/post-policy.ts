/**
 * @module The POST policy of a browser form upload: its document (expiration, conditions), its
 * conditions against the form, and the SigV4 signature over it. Pure: no I/O, the time passed in.
 * Sources and S3's observed answers: docs/aws/cors.md §POST Object.
 */
import { type S3Error, s3Error } from '../shared/errors.js'

export type PolicyCondition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; raw: unknown[] }
  | { op: 'content-length-range'; min: unknown; max: unknown; raw: unknown[] }

export interface PostPolicy {
  expiration: Date
  conditions: PolicyCondition[]
}

/** The form as the policy sees it: names lower-cased ("post parameters are case insensitive"). */
export interface PolicyForm {
  /** Lower-cased name → value (after `${filename}`), for the fields before the file. */
  values: Map<string, string>
  /** The names as sent, for "Extra input fields". */
  names: string[]
  /** The bucket the form was posted to: a `bucket` condition names it. */
  bucket: string
}

const invalid = (detail: string): S3Error => s3Error('InvalidPolicyDocument', { message: `Invalid Policy: ${detail}` })
const denied = (detail: string): S3Error => s3Error('AccessDenied', { message: `Invalid according to Policy: ${detail}` })

// ISO 8601 in UTC ("2013-08-01T12:00:00.000Z"); S3 refuses an offset or a space for the T.
const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/

/** The policy field (base64 JSON) → the policy, refused with S3's InvalidPolicyDocument wording. */
export function parsePostPolicy(b64: string): PostPolicy {
  const compact = b64.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw invalid('invalid Base64 encoding.')
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'))
  } catch {
    throw invalid('Invalid JSON.')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('Invalid JSON.')
  const o = doc as Record<string, unknown>
  for (const k of Object.keys(o)) if (k !== 'expiration' && k !== 'conditions') throw invalid(`Unexpected: '${k.toLowerCase()}'`)
  if (!('expiration' in o)) throw invalid('Policy missing expiration.')
  const exp = o.expiration
  const when = typeof exp === 'string' && EXPIRATION.test(exp) ? new Date(exp) : undefined
  if (!when || Number.isNaN(when.getTime())) throw invalid(`Invalid 'expiration' value: '${typeof exp === 'string' ? exp : JSON.stringify(exp)}'`)
  if (!('conditions' in o)) throw invalid('Policy missing conditions.')
  if (!Array.isArray(o.conditions)) throw invalid("Invalid 'conditions' value: must be a List.")
  return { expiration: when, conditions: o.conditions.map(parseCondition) }
}

function parseCondition(c: unknown): PolicyCondition {
  if (Array.isArray(c)) {
    if (c.length === 0 || typeof c[0] !== 'string') throw invalid('Invalid Condition: missing operation identifier.')
    const op = c[0].toLowerCase()
    if (op !== 'eq' && op !== 'starts-with' && op !== 'content-length-range') throw invalid(`Invalid Condition: unknown operation '${c[0]}'.`)
    if (c.length !== 3) throw invalid(`Invalid ${op}: wrong number of arguments.`)
    if (op === 'content-length-range') {
      // A fractional bound is "Invalid JSON." on S3 (observed); other non-numbers fail as conditions.
      if (c.slice(1).some((v) => typeof v === 'number' && !Number.isInteger(v))) throw invalid('Invalid JSON.')
      return { op, min: c[1], max: c[2], raw: c }
    }
    if (typeof c[1] !== 'string' || typeof c[2] !== 'string') throw invalid('Invalid JSON.')
    return { op, field: c[1], value: c[2], raw: c }
  }
  if (typeof c === 'object' && c !== null) {
    const entries = Object.entries(c)
    if (entries.length !== 1) throw invalid('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.')
    const [name, value] = entries[0]!
    if (typeof value !== 'string') throw invalid('Invalid Simple-Condition: value must be a string.')
    // S3 prints a simple condition as the eq it stands for.
    return { op: 'eq', field: `$${name}`, value, raw: ['eq', `$${name}`, value] }
  }
  throw invalid('Invalid condition test: must be a List or Object.')
}

/** `["eq", "$key", "x"]` as S3 prints a failed condition. */
function show(raw: unknown[]): string {
  return `[${raw.map((v) => JSON.stringify(v)).join(', ')}]`
}

/** A size bound as S3 reads it: a non-negative integer, or a string of one. */
function bound(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined
  if (typeof v === 'string' && /^\d{1,15}$/.test(v.trim())) return Number(v.trim())
  return undefined
}

/** Fields no condition need name: `x-amz-signature`, `file`, `policy` and `x-ignore-*` (POST policy page). */
function exempt(lower: string): boolean {
  return lower === 'x-amz-signature' || lower === 'file' || lower === 'policy' || lower.startsWith('x-ignore-')
}

/**
 * Checks the policy against the form: not expired, every condition met, every field named by a
 * condition. Returns the allowed size range of the file (content-length-range; all of them hold).
 */
export function checkPostPolicy(policy: PostPolicy, form: PolicyForm, nowMs: number): { min: number; max: number } {
  if (nowMs > policy.expiration.getTime()) throw denied('Policy expired.')
  const covered = new Set<string>()
  let min = 0
  let max = Number.MAX_SAFE_INTEGER
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      const lo = bound(c.min)
      const hi = bound(c.max)
      if (lo === undefined || hi === undefined) throw denied(`Policy Condition failed: ${show(c.raw)}`)
      min = Math.max(min, lo)
      max = Math.min(max, hi)
      continue
    }
    if (!c.field.startsWith('$')) throw denied(`Policy Condition failed: ${show(c.raw)}`)
    const name = c.field.slice(1).toLowerCase()
    covered.add(name)
    const actual = name === 'bucket' ? form.bucket : form.values.get(name)
    if (actual === undefined || !conditionHolds(c.op, name, actual, c.value)) throw denied(`Policy Condition failed: ${show(c.raw)}`)
  }
  const extra = form.names.filter((n) => !exempt(n.toLowerCase()) && !covered.has(n.toLowerCase()))
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(', ')}`)
  return { min, max }
}

function conditionHolds(op: 'eq' | 'starts-with', name: string, actual: string, expected: string): boolean {
  if (op === 'eq') return actual === expected
  // "Content-Types values for a starts-with condition that include commas are interpreted as
  // lists. Each value in the list must meet the condition" (POST Policy page).
  if (name === 'content-type') return actual.split(',').every((v) => v.trim().startsWith(expected))
  return actual.startsWith(expected)
}

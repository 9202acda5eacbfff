/**
 * @module Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the
 * specials `${*}`, `${?}`, `${$}`. Only under Version 2012-10-17; otherwise `${...}` is literal
 * text. A variable whose key is absent (and has no default) makes the value null: it matches
 * nothing. Substituted values are literal: their `*` and `?` are not wildcards.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import type { PatternText, Template, TemplatePart } from './types.js'

/** Resolves a lower-cased context key to its values (undefined when absent). */
export interface KeyLookup {
  get(keyLower: string): readonly string[] | undefined
}

const VAR_RE = /\$\{([^}]*)\}/g
const DEFAULT_RE = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/

/** Splits a policy value into text and variables. `enabled` is false before 2012-10-17. */
export function parseTemplate(raw: string, enabled: boolean): Template {
  if (!enabled || raw.indexOf('${') === -1) {
    const parts: TemplatePart[] = [{ kind: 'text', text: raw }]
    return { raw, parts, fixed: resolveParts(parts, noLookup) }
  }
  const parts: TemplatePart[] = []
  let last = 0
  let hasVar = false
  for (const m of raw.matchAll(VAR_RE)) {
    const at = m.index ?? 0
    if (at > last) parts.push({ kind: 'text', text: raw.slice(last, at) })
    const inner = (m[1] ?? '').trim()
    if (inner === '*' || inner === '?' || inner === '$') {
      parts.push({ kind: 'lit', text: inner })
    } else {
      const d = DEFAULT_RE.exec(inner)
      const key = d ? (d[1] as string) : inner
      parts.push({ kind: 'var', key, keyLower: key.toLowerCase(), fallback: d ? d[2] : undefined, raw: m[0] })
      hasVar = true
    }
    last = at + m[0].length
  }
  if (last < raw.length) parts.push({ kind: 'text', text: raw.slice(last) })
  return { raw, parts, fixed: hasVar ? null : resolveParts(parts, noLookup) }
}

const noLookup: KeyLookup = { get: () => undefined }

/** Resolves a template; null when a variable has no value (AWS: the comparison fails). */
export function resolveTemplate(t: Template, lookup: KeyLookup): PatternText | null {
  return t.fixed ?? resolveParts(t.parts, lookup)
}

function resolveParts(parts: readonly TemplatePart[], lookup: KeyLookup): PatternText | null {
  let text = ''
  const mask: number[] = []
  for (const p of parts) {
    let piece: string
    let active = false
    if (p.kind === 'text') {
      piece = p.text
      active = true
    } else if (p.kind === 'lit') {
      piece = p.text
    } else {
      const v = lookup.get(p.keyLower)
      // Multivalued keys cannot be used as variables; treat them as absent.
      if (v !== undefined && v.length === 1) piece = v[0] as string
      else if (p.fallback !== undefined) piece = p.fallback
      else return null
    }
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i)
      mask.push(active && (c === 42 || c === 63) ? 1 : 0)
    }
    text += piece
  }
  return { text, wild: Uint8Array.from(mask) }
}

/** Variable keys a template refers to (for data needs and validation). */
export function templateKeys(t: Template): string[] {
  const out: string[] = []
  for (const p of t.parts) if (p.kind === 'var') out.push(p.key)
  return out
}

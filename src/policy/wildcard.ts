/**
 * @module Wildcard patterns (`*` any run, `?` one character) compiled once into a fast matcher.
 * Most policy patterns are exact, `*`, `prefix*` or `*suffix`; those never run the general loop.
 * Matching takes a [start, end) window so ARN segments are matched without slicing strings.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
import type { Glob, PatternText } from './types.js'

const STAR = 42 // '*'
const QMARK = 63 // '?'

/** Marks every `*` and `?` of plain policy text as active. */
export function activeWildcards(text: string): PatternText {
  const wild = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === STAR || c === QMARK) wild[i] = 1
  }
  return { text, wild }
}

/** Compiles text whose active wildcards are given by `wild` (variables and `${*}` are inactive). */
export function compileGlob(src: PatternText, lowerCase = false): Glob {
  const text = lowerCase ? src.text.toLowerCase() : src.text
  const wild = src.wild
  let count = 0
  let stars = 0
  for (let i = 0; i < wild.length; i++) {
    if (wild[i]) {
      count++
      if (text.charCodeAt(i) === STAR) stars++
    }
  }
  if (count === 0) return { text, shape: 'exact', lit: text, wild: null }
  if (text.length === 1 && stars === 1) return { text, shape: 'any', lit: '', wild: null }
  if (count === 1 && stars === 1) {
    if (wild[text.length - 1]) return { text, shape: 'prefix', lit: text.slice(0, -1), wild: null }
    if (wild[0]) return { text, shape: 'suffix', lit: text.slice(1), wild: null }
  }
  return { text, shape: 'general', lit: '', wild: Uint8Array.from(wild) }
}

/** Convenience: compile plain policy text. */
export function globOf(text: string, lowerCase = false): Glob {
  return compileGlob(activeWildcards(text), lowerCase)
}

/** True when `s[start, end)` matches the glob. Allocation-free. */
export function matchGlob(g: Glob, s: string, start = 0, end = s.length): boolean {
  switch (g.shape) {
    case 'any':
      return true
    case 'exact':
      if (end - start !== g.text.length) return false
      return start === 0 && end === s.length ? s === g.text : startsAt(s, g.text, start)
    case 'prefix':
      return end - start >= g.lit.length && startsAt(s, g.lit, start)
    case 'suffix':
      return end - start >= g.lit.length && startsAt(s, g.lit, end - g.lit.length)
    default:
      return matchGeneral(g.text, g.wild as Uint8Array, s, start, end)
  }
}

/**
 * `s.startsWith(lit, at)` without the builtin: on Node 20 startsWith is not inlined and costs
 * ~60 ns a call, while this loop over charCodeAt is inlined (measured in bench/policy.ts).
 */
export function startsAt(s: string, lit: string, at: number): boolean {
  const n = lit.length
  if (s.length - at < n) return false
  for (let i = 0; i < n; i++) if (s.charCodeAt(at + i) !== lit.charCodeAt(i)) return false
  return true
}

/**
 * Classic greedy matcher with one backtrack point: linear in practice, no regex, no allocation.
 */
function matchGeneral(p: string, w: Uint8Array, s: string, si: number, se: number): boolean {
  const pe = p.length
  let pi = 0
  let star = -1
  let mark = 0
  while (si < se) {
    if (pi < pe) {
      const pc = p.charCodeAt(pi)
      if (w[pi] === 1 && pc === STAR) {
        star = pi++
        mark = si
        continue
      }
      if ((w[pi] === 1 && pc === QMARK) || pc === s.charCodeAt(si)) {
        pi++
        si++
        continue
      }
    }
    if (star !== -1) {
      pi = star + 1
      si = ++mark
      continue
    }
    return false
  }
  while (pi < pe && w[pi] === 1 && p.charCodeAt(pi) === STAR) pi++
  return pi === pe
}

/** True when the glob has an active wildcard (used by isPublic and validation). */
export function hasWildcard(g: Glob): boolean {
  return g.shape !== 'exact'
}

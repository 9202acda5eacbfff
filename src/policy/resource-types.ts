/**
 * @module Could a policy Resource pattern name any resource of a type? Decides "Action does not
 * apply to any resource(s) in statement": S3 refuses a statement none of whose actions applies
 * to any of its resources (e.g. s3:GetObject on `arn:aws:s3:::bucket`, which lacks `/*`).
 * Both sides are small regular languages (the policy glob; the ARN template of the resource
 * type with its `${...}` placeholders), so we test their intersection on a product automaton.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */

type TTok = { lit: number } | { min: 0 | 1; seg: boolean }
type PTok = { lit: number } | { star: true } | { one: true }

const SEGMENT_NAMES = new Set(['BucketName', 'AccessPointName', 'AccessPointAlias', 'Partition'])
const COLON = 58
const SLASH = 47

function templateTokens(template: string): TTok[] {
  const out: TTok[] = []
  for (let i = 0; i < template.length; ) {
    if (template.startsWith('${', i)) {
      const end = template.indexOf('}', i)
      const name = template.slice(i + 2, end)
      const last = end === template.length - 1
      // Region and Account may be empty (MRAP ARNs have no Region); ObjectName (and other
      // trailing paths) may contain `/` and `:`; bucket and access point names may not.
      if (name === 'Region' || name === 'Account') out.push({ min: 0, seg: true })
      else out.push({ min: 1, seg: !(name === 'ObjectName' || (last && !SEGMENT_NAMES.has(name))) })
      i = end + 1
    } else {
      out.push({ lit: template.charCodeAt(i) })
      i++
    }
  }
  return out
}

function patternTokens(pattern: string): PTok[] {
  const out: PTok[] = []
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i)
    out.push(c === 42 ? { star: true } : c === 63 ? { one: true } : { lit: c })
  }
  return out
}

/** True when some ARN matches both the policy pattern and the resource type's template. */
export function patternMeetsTemplate(pattern: string, template: string): boolean {
  if (pattern === '*') return true
  const t = templateTokens(template)
  const p = patternTokens(pattern)
  // Alphabet: every literal of either side, the separators, and one character used by neither.
  const alphabet = new Set<number>([COLON, SLASH, 0x1])
  for (const x of t) if ('lit' in x) alphabet.add(x.lit)
  for (const x of p) if ('lit' in x) alphabet.add(x.lit)
  const tClose = (i: number, n: number, acc: [number, number][]): void => {
    acc.push([i, n])
    const tok = t[i]
    if (tok && 'min' in tok && (tok.min === 0 || n === 1)) tClose(i + 1, 0, acc)
  }
  const pClose = (j: number, acc: number[]): void => {
    acc.push(j)
    const tok = p[j]
    if (tok && 'star' in tok) pClose(j + 1, acc)
  }
  const seen = new Set<string>()
  const queue: [number, number, number][] = []
  const push = (i: number, n: number, j: number): void => {
    const ts: [number, number][] = []
    tClose(i, n, ts)
    const ps: number[] = []
    pClose(j, ps)
    for (const [ti, tn] of ts) {
      for (const pj of ps) {
        const k = `${ti},${tn},${pj}`
        if (!seen.has(k)) {
          seen.add(k)
          queue.push([ti, tn, pj])
        }
      }
    }
  }
  push(0, 0, 0)
  while (queue.length > 0) {
    const [i, , j] = queue.shift() as [number, number, number]
    if (i === t.length && j === p.length) return true
    const tt = t[i]
    const pt = p[j]
    if (!tt || !pt) continue
    for (const c of alphabet) {
      let ti = -1
      let tn = 0
      if ('lit' in tt) {
        if (tt.lit === c) ti = i + 1
      } else if (!tt.seg || (c !== COLON && c !== SLASH)) {
        ti = i
        tn = 1
      }
      if (ti === -1) continue
      let pj = -1
      if ('lit' in pt) {
        if (pt.lit === c) pj = j + 1
      } else if ('one' in pt) pj = j + 1
      else pj = j
      if (pj === -1) continue
      push(ti, tn, pj)
    }
  }
  return false
}

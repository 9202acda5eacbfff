/**
 * @module Rendering an ExplainResult: the matrix (one row per bucket/region, one column per
 * layer), the reasons for each denied route, and with --verbose the full trace (every context,
 * layer, policy, statement and condition with its key, request values and policy values). Colour
 * only when asked (a TTY); the plain text is what golden tests compare.
 */
import type { ContextExplain } from '../policy/index.js'
import { type Cell, COLUMNS, type Column, NO_ACL, showsAclColumn } from './cells.js'
import type { ExplainResult, RouteResult } from './evaluate.js'

export interface Style {
  color: boolean
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const
export function paint(style: Style, c: keyof typeof CODES, s: string): string {
  return style.color ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s
}

const HEAD: Record<Column, string> = { identity: 'IDENTITY', endpoint: 'VPC ENDPOINT', mrap: 'MRAP POLICY', bucket: 'BUCKET POLICY', bpa: 'BPA' }

function cellText(c: Cell): string {
  const mark = c.blocking ? '✗ ' : ''
  const word = c.result === 'no-match' ? 'no match' : c.result
  return `${mark}${word}${c.statement ? ` ${c.statement}` : ''}`
}

function cellColor(c: Cell): keyof typeof CODES {
  if (c.blocking || c.result === 'deny' || c.result === 'restricted') return 'red'
  if (c.result === 'allow') return 'green'
  if (c.result === 'n/a' || c.result === 'off') return 'dim'
  return 'yellow'
}

function routeLabel(r: RouteResult): string {
  const where = `${r.bucket} (${r.region})`
  if (r.dial === null) return where
  return r.dial === 0 ? `${where} passive` : `${where} #${r.rank ?? '-'}`
}

function resultText(r: RouteResult): string {
  // Allowed, and the bucket has no such object (src/explain/objects.ts): the status S3 answers.
  if (r.effect === 'Allow') return r.status === 200 ? 'allow (200)' : `allow, ${r.status} ${r.code ?? ''}`.trim()
  if (r.effect === 'Unreachable') return r.status === 0 ? 'unreachable' : `${r.status} ${r.code ?? ''}`.trim()
  return `${r.status} ${r.code ?? ''}${r.effect === 'ExplicitDeny' ? ' (explicit deny)' : ''}`
}

export function networkText(r: ExplainResult): string {
  const n = r.request.network
  const vpc = n.vpcId ? `${n.vpcId}${n.vpcName ? ` (${n.vpcName})` : ''}, ${n.region}` : ''
  switch (n.kind) {
    case 'internet':
      return `the internet (source ${n.sourceIp}, origin region ${n.region})`
    case 'vpc-endpoint':
      return `${vpc}, through ${n.endpointId} (source ${n.sourceIp})`
    case 'vpc-internet':
      return `${vpc}, through its internet path (no endpoint for this service)`
    case 'unreachable':
      return `${vpc}: unreachable (no endpoint, no internet path)`
  }
}

/** Pads to a width measured without colour codes. */
function pad(s: string, plain: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - [...plain].length))
}

export function renderTable(r: ExplainResult, style: Style): string {
  const lines: string[] = []
  const p = r.request.principal
  lines.push(`${paint(style, 'bold', 'explain')}  ${p.ref} (${p.arn})  ${r.request.action}  ${r.request.resource}`)
  lines.push(`network  ${networkText(r)}`)
  lines.push(`source   ${r.source}`)
  lines.push('')
  const withAcl = showsAclColumn(r.routes)
  const aclCells = (x: (typeof r.routes)[number]) => (withAcl ? [{ text: cellText(x.acl ?? NO_ACL), color: cellColor(x.acl ?? NO_ACL) }] : [])
  // A KMS column only where S3 calls KMS for this action (a bucket with SSE-KMS default encryption).
  const withKms = r.routes.some((x) => x.kms !== undefined)
  const kmsCells = (x: (typeof r.routes)[number]) => (withKms ? [{ text: cellText(x.kms ?? NO_ACL), color: cellColor(x.kms ?? NO_ACL) }] : [])
  const header = ['ROUTE', ...COLUMNS.map((c) => HEAD[c]), ...(withAcl ? ['ACL'] : []), ...(withKms ? ['KMS'] : []), 'RESULT']
  const rows = r.routes.map((x) => [
    { text: routeLabel(x), color: undefined as keyof typeof CODES | undefined },
    ...COLUMNS.map((c) => ({ text: cellText(x.cells[c]), color: cellColor(x.cells[c]) })),
    ...aclCells(x),
    ...kmsCells(x),
    { text: resultText(x), color: (x.effect === 'Allow' ? 'green' : 'red') as keyof typeof CODES },
  ])
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((row) => [...row[i]!.text].length)))
  lines.push(
    header
      .map((h, i) => (i === header.length - 1 ? h : pad(h, h, widths[i]!)))
      .join('  ')
      .trimEnd(),
  )
  for (const row of rows) {
    lines.push(
      row
        .map((c, i) => {
          const painted = c.color ? paint(style, c.color, c.text) : c.text
          return i === row.length - 1 ? painted : pad(painted, c.text, widths[i]!)
        })
        .join('  ')
        .trimEnd(),
    )
  }
  lines.push('')
  const details: string[] = []
  for (const x of r.routes) {
    details.push(`  ${routeLabel(x)}: ${x.why}`)
    for (const c of COLUMNS) {
      const cell = x.cells[c]
      if (cell.detail && (cell.blocking || cell.result !== 'allow')) details.push(`    ${HEAD[c].toLowerCase()}: ${cell.detail}`)
    }
    if (x.acl?.detail) details.push(`    acl: ${x.acl.detail}`)
    if (x.kms?.detail) details.push(`    kms: ${x.kms.detail}`)
  }
  lines.push('why', ...details)
  if (r.notes.length > 0) lines.push('', 'notes', ...r.notes.map((n) => `  - ${n}`))
  lines.push('', summary(r, style))
  return lines.join('\n') + '\n'
}

export function summary(r: ExplainResult, style: Style): string {
  const denied = r.routes.filter((x) => x.effect !== 'Allow').length
  const n = r.routes.length
  // Allowed where the bucket has no such object: S3's answer is still not the object.
  const missing = r.routes.filter((x) => x.effect === 'Allow' && x.status !== 200).map((x) => `${x.bucket} answers ${x.status} ${x.code ?? ''}`.trim())
  if (denied === 0 && missing.length > 0)
    return paint(style, 'yellow', `${n === 1 ? 'allowed' : `allowed through all ${n} routes`}, but the object is missing: ${missing.join(', ')}.`)
  if (denied === 0) return paint(style, 'green', n === 1 ? 'allowed.' : `allowed through all ${n} routes.`)
  if (denied === n) return paint(style, 'red', n === 1 ? 'denied.' : `denied through all ${n} routes.`)
  return paint(style, 'red', `denied through ${denied} of ${n} routes: the answer depends on where the MRAP routes the request (proximity, failover).`)
}

function contextTrace(c: ContextExplain, out: string[]): void {
  out.push(
    `    ${c.context} context: ${c.resource} (owner ${c.owner}, ${c.sameAccount ? 'same account' : 'cross account'}) → ${c.result}${c.rule !== 'none' ? ` by ${c.rule}` : ''}${c.blockedBy.length ? `; blocked by ${c.blockedBy.join(', ')}` : ''}`,
  )
  for (const l of c.layers) {
    out.push(`      ${l.layer}: ${l.result}${l.note ? ` (${l.note})` : ''}`)
    for (const p of l.policies) {
      out.push(`        policy ${p.name ?? '(unnamed)'}: ${p.result}`)
      for (const st of p.statements) {
        out.push(`          statement ${st.sid !== undefined ? `${st.sid} ` : ''}[${st.index}] ${st.effect}: ${st.applies ? 'applies' : 'does not apply'}`)
        out.push(`            action:    ${st.action.matched ? 'match' : 'no match'} (${st.action.detail})`)
        out.push(`            resource:  ${st.resource.matched ? 'match' : 'no match'} (${st.resource.detail})`)
        out.push(`            principal: ${st.principal.matched ? 'match' : 'no match'} (${st.principal.detail})`)
        for (const cond of st.conditions) {
          const req = cond.requestValues === null ? 'absent' : `[${cond.requestValues.join(', ')}]`
          out.push(
            `            condition ${cond.operator} ${cond.key}: request ${req}, policy [${cond.policyValues.join(', ')}] → ${cond.matched ? 'true' : 'false'} (${cond.reason})`,
          )
        }
      }
    }
  }
}

export function renderVerbose(r: ExplainResult, style: Style): string {
  const out: string[] = [renderTable(r, style).trimEnd(), '', 'trace']
  if (r.request.context) {
    out.push('  request context keys:')
    for (const [k, v] of Object.entries(r.request.context).sort(([a], [b]) => a.localeCompare(b))) out.push(`    ${k} = ${v.join(', ')}`)
  }
  for (const x of r.routes) {
    out.push(`  route ${routeLabel(x)}: ${resultText(x)}`)
    for (const c of x.trace ?? []) contextTrace(c, out)
    if (x.kmsContext) {
      out.push(`    kms: ${x.kms?.detail ?? ''}`)
      for (const [k, v] of Object.entries(x.kmsContext).sort(([a], [b]) => a.localeCompare(b))) out.push(`      ${k} = ${v.join(', ')}`)
    }
  }
  return out.join('\n') + '\n'
}

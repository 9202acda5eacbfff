/**
 * @module Lint output: text for people (colour on a TTY), JSON for scripts, SARIF 2.1.0 for CI
 * code-scanning (one run, the rules as reportingDescriptors, each finding a result with its file
 * and line when known, the policy as a logical location, and the fix as text).
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 */
import { paint, type Style } from '../explain/render.js'
import type { Finding, RuleMeta } from './types.js'

function where(f: Finding): string {
  const stmt = f.statement !== undefined ? ` statement ${typeof f.statement === 'number' ? `[${f.statement}]` : f.statement}` : ''
  return `${f.policy.owner}: ${f.policy.name}${stmt}`
}

export function renderText(findings: readonly Finding[], source: string, style: Style): string {
  const lines: string[] = []
  for (const f of findings) {
    const sev = paint(style, f.severity === 'error' ? 'red' : f.severity === 'warning' ? 'yellow' : 'dim', f.severity)
    const loc = f.file ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}` : source
    lines.push(`${loc}: ${sev} [${f.rule}] ${where(f)}`)
    lines.push(`  ${f.message}`)
    lines.push(`  fix: ${f.fix}`)
  }
  const n = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length
  lines.push(`${findings.length === 0 ? 'no findings' : `${n('error')} error(s), ${n('warning')} warning(s), ${n('info')} info`} in ${source}`)
  return lines.join('\n') + '\n'
}

export function renderJson(findings: readonly Finding[], source: string): string {
  return JSON.stringify({ source, errors: findings.filter((f) => f.severity === 'error').length, findings }, null, 2) + '\n'
}

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const

export function renderSarif(findings: readonly Finding[], source: string, rules: readonly RuleMeta[]): string {
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'mrap lint',
            informationUri: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html',
            rules: rules.map((r) => ({ id: r.id, shortDescription: { text: r.summary }, defaultConfiguration: { level: LEVEL[r.severity] } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: rules.findIndex((r) => r.id === f.rule),
          level: LEVEL[f.severity],
          message: { text: `${where(f)}: ${f.message}. Fix: ${f.fix}` },
          locations: [
            {
              ...(f.file ? { physicalLocation: { artifactLocation: { uri: f.file }, ...(f.line !== undefined ? { region: { startLine: f.line } } : {}) } } : {}),
              logicalLocations: [{ fullyQualifiedName: `${f.policy.owner}/${f.policy.name}${f.statement !== undefined ? `/${f.statement}` : ''}`, kind: 'resource' }],
            },
          ],
          properties: { policy: f.policy, ...(f.statement !== undefined ? { statement: f.statement } : {}), fix: f.fix, source },
        })),
      },
    ],
  }
  return JSON.stringify(sarif, null, 2) + '\n'
}

/**
 * @module `mrap lint`: every rule family over a model, findings located in the world file when
 * there is one, in a stable order (severity, then file position, then rule).
 */

import { worldLocation } from '../world/load.js'
import type { World } from '../world/schema.js'
import { aclRules } from './acl-rules.js'
import { policyRules } from './policy-rules.js'
import { publicRules } from './public-rules.js'
import { readRules } from './read-rules.js'
import { replicationRules } from './replication-rules.js'
import { routeRules } from './route-rules.js'
import type { Finding, LintContext, RuleFamily, RuleMeta, Severity } from './types.js'
import { worldRules } from './world-rules.js'

export type { Finding, RuleMeta, Severity } from './types.js'

export const FAMILIES: readonly RuleFamily[] = [worldRules, policyRules, publicRules, aclRules, routeRules, readRules, replicationRules]
export const RULES: readonly RuleMeta[] = FAMILIES.flatMap((f) => f.rules)

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 }

export function runLint(ctx: LintContext): Finding[] {
  const out: Finding[] = []
  const world: World | undefined = ctx.world
  for (const family of FAMILIES) {
    for (const raw of family.run(ctx)) {
      const { path, ...f } = raw
      const finding: Finding = { ...f }
      const loc = world && path ? worldLocation(world, path) : undefined
      if (loc) {
        finding.file = loc.file
        if (loc.line !== undefined) finding.line = loc.line
      }
      out.push(finding)
    }
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.line ?? 1e9) - (b.line ?? 1e9) || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message))
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error')
}

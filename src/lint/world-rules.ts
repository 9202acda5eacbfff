/**
 * @module What the world loader checks beyond policies (names declared twice, references to
 * undeclared regions, accounts, buckets, groups, managed policies), reported as findings so one
 * `mrap lint` run shows everything. Policy problems are left to the policy rules (with AWS's error).
 */
import { checkWorld } from '../world/check.js'
import type { RawFinding, RuleFamily } from './types.js'

const POLICY_FIELDS = new Set(['document', 'policy', 'trustPolicy'])

export const worldRules: RuleFamily = {
  rules: [{ id: 'world-reference', severity: 'error', summary: 'A name declared twice or a reference to something the world does not declare.' }],
  run(ctx) {
    if (!ctx.world) return []
    const out: RawFinding[] = []
    for (const issue of checkWorld(ctx.world)) {
      if (POLICY_FIELDS.has(String(issue.path[issue.path.length - 1]))) continue
      out.push({
        severity: 'error',
        rule: 'world-reference',
        policy: { kind: 'world', owner: issue.path.join('.'), name: 'world' },
        path: issue.path,
        message: issue.message,
        fix: 'declare what is referenced, or correct the name',
      })
    }
    return out
  },
}

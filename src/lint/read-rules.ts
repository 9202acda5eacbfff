/**
 * @module Reads that will not behave as expected (docs/aws/authorization.md §Reads of missing keys, §The seed page item 6): a missing key
 * answers 403 AccessDenied instead of 404 NoSuchKey when s3:ListBucket is not allowed on the
 * routed bucket (and ListObjectsV2 through the MRAP is denied too); versioned reads (GetObject
 * with a versionId, which the MRAP routing guide recommends) need s3:GetObjectVersion.
 */
import { blamedPolicy, evaluate, networks } from './policies.js'
import { grouped } from './route-rules.js'
import type { LintContext, RawFinding, RuleFamily } from './types.js'

export const readRules: RuleFamily = {
  rules: [
    { id: 'missing-key-403', severity: 'warning', summary: 'A missing key answers 403 instead of 404 because s3:ListBucket is not allowed.' },
    { id: 'versioned-read-denied', severity: 'warning', summary: 'GetObject is allowed but versioned reads (s3:GetObjectVersion) are denied.' },
  ],
  run(ctx: LintContext) {
    const groups = new Map<string, { finding: RawFinding; items: string[] }>()
    for (const m of ctx.model.mraps) {
      for (const net of networks(ctx.model)) {
        for (const p of ctx.model.principals) {
          const get = evaluate(ctx, p.ref, 's3:GetObject', m, net)
          const readable = get.routes.filter((x) => x.effect === 'Allow').map((x) => x.bucket)
          if (readable.length === 0) continue
          const list = evaluate(ctx, p.ref, 's3:ListBucket', m, net)
          for (const route of list.routes) {
            if (!readable.includes(route.bucket) || route.effect === 'Allow') continue
            const blame = blamedPolicy(ctx, list, route, m)
            grouped(
              groups,
              `403|${m.alias}|${blame.policy.owner}|${blame.policy.name}`,
              () => ({
                severity: 'warning',
                rule: 'missing-key-403',
                policy: blame.policy,
                path: blame.path,
                message: `through MRAP ${m.name}, a GetObject for a key that does not exist answers 403 AccessDenied, not 404 NoSuchKey, because s3:ListBucket is not allowed (blocked by the ${blame.column} layer); ListObjectsV2 through the MRAP is denied as well. Affected`,
                fix:
                  blame.column === 'endpoint'
                    ? `allow s3:ListBucket on the MRAP ARN and on each bucket ARN (without /*) in the endpoint policy`
                    : `allow s3:ListBucket on the MRAP ARN and on each bucket ARN (without /*) for these callers`,
              }),
              `${p.ref} from ${net.label} (${route.bucket})`,
            )
          }
          const ver = evaluate(ctx, p.ref, 's3:GetObjectVersion', m, net)
          for (const route of ver.routes) {
            if (!readable.includes(route.bucket) || route.effect === 'Allow') continue
            const bucket = ctx.model.buckets.find((b) => b.name === route.bucket)
            const blame = blamedPolicy(ctx, ver, route, m)
            grouped(
              groups,
              `ver|${m.alias}|${blame.policy.owner}|${blame.policy.name}`,
              () => ({
                severity: 'warning',
                rule: 'versioned-read-denied',
                policy: blame.policy,
                path: blame.path,
                message: `through MRAP ${m.name}, GetObject is allowed but GetObject/HeadObject with a versionId is denied (s3:GetObjectVersion is not allowed; blocked by the ${blame.column} layer)${bucket?.versioning === 'Enabled' ? '; the buckets are versioned, and the MRAP routing guide recommends versioned reads' : ''}. Affected`,
                fix: 'allow s3:GetObjectVersion wherever s3:GetObject is allowed (endpoint, MRAP, bucket and identity policies)',
              }),
              `${p.ref} from ${net.label} (${route.bucket})`,
            )
          }
        }
      }
    }
    return [...groups.values()].map((g) => ({ ...g.finding, message: `${g.finding.message}: ${g.items.join('; ')}` }))
  },
}

/**
 * @module An MRAP does no replication of its own (docs/aws/mrap.md §Replication): without replication rules
 * between its buckets, an object written through one route is missing through the others (404 or
 * 403 after a route change or a failover). One finding per MRAP naming the missing directions.
 */
import type { RuleFamily } from './types.js'

export const replicationRules: RuleFamily = {
  rules: [{ id: 'replication-missing', severity: 'warning', summary: 'Buckets of an MRAP without replication rules between them.' }],
  run(ctx) {
    const { model } = ctx
    const out = []
    for (const m of model.mraps) {
      if (m.routes.length < 2) continue
      const missing: string[] = []
      for (const a of m.routes) {
        const conf = model.buckets.find((b) => b.name === a.bucket)?.replication ?? ''
        for (const b of m.routes) {
          if (a === b) continue
          // A destination appears as the bucket's ARN in the rule (world YAML or stored XML).
          if (!conf.includes(`arn:${model.partition}:s3:::${b.bucket}`)) missing.push(`${a.bucket} → ${b.bucket}`)
        }
      }
      if (missing.length === 0) continue
      out.push({
        severity: 'warning' as const,
        rule: 'replication-missing',
        policy: { kind: 'world' as const, owner: `MRAP ${m.name}`, name: 'buckets' },
        path: m.path ? [...m.path, 'buckets'] : undefined,
        message: `MRAP ${m.name} does not replicate, and its buckets have no replication rules for ${missing.join(', ')}: an object written through one route is not readable through the others after a route change or failover`,
        fix: 'add two-way replication between the buckets (PutBucketReplication on each, with replica modification sync), or accept per-region data',
      })
    }
    return out
  },
}

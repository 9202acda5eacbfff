/**
 * @module An MRAP does no replication of its own (docs/aws/mrap.md §Replication): without replication rules
 * between its buckets, an object written through one route is missing through the others (404 or
 * 403 after a route change or a failover). One finding per MRAP naming the missing directions.
 */
import type { RuleFamily } from './types.js'

export const replicationRules: RuleFamily = {
  rules: [
    { id: 'replication-missing', severity: 'warning', summary: 'Buckets of an MRAP without replication rules between them.' },
    { id: 'replication-kms', severity: 'warning', summary: "An MRAP bucket encrypts with a KMS key by default: its objects' replicas cannot use that key." },
  ],
  run(ctx) {
    const { model } = ctx
    const out = []
    for (const m of model.mraps) {
      if (m.routes.length < 2) continue
      // SSE-KMS by default: KMS keys are regional, so a replica in another region needs a key of its
      // own (ReplicaKmsKeyID, "Replicating encrypted objects",
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html),
      // and mrap does not replicate SSE-KMS objects at all (docs/decisions/encryption.md §SSE-KMS).
      for (const r of m.routes) {
        const enc = model.buckets.find((b) => b.name === r.bucket)?.configs?.encryption
        const kms = enc === undefined ? undefined : (JSON.parse(enc) as { algorithm?: string; kmsKeyId?: string })
        if (kms?.algorithm !== 'aws:kms') continue
        out.push({
          severity: 'warning' as const,
          rule: 'replication-kms',
          policy: { kind: 'world' as const, owner: `MRAP ${m.name}`, name: 'buckets' },
          path: m.path ? [...m.path, 'buckets'] : undefined,
          message: `bucket ${r.bucket} of MRAP ${m.name} encrypts new objects with KMS key ${kms.kmsKeyId ?? 'aws/s3'} (${r.region}) by default: the other regions' replicas cannot use that regional key, and mrap stores such objects FAILED for replication, so they are missing through the other routes`,
          fix: 'use SSE-S3 (the default) on the buckets of a replicating MRAP, or accept that SSE-KMS objects stay in their region',
        })
      }

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

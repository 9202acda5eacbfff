/**
 * @module An MRAP does no replication of its own (docs/aws/mrap.md §Replication): without replication rules
 * between its buckets, an object written through one route is missing through the others (404 or
 * 403 after a route change or a failover). One finding per MRAP naming the missing directions.
 */
import { PolicyCache } from '../authz/policy-cache.js'
import type { AuthzModel } from '../explain/model.js'
import { authorizeKms } from '../kms/authorize.js'
import { kmsContext } from '../kms/context.js'
import { buildS3Context } from '../policy/index.js'
import { parseReplication, type ReplicationConfig, type ReplicationRule } from '../replication/config.js'
import { authzPrincipal } from '../s3/authorize.js'
import type { LintContext, RuleFamily } from './types.js'

/**
 * Why the replication role may not kms:Encrypt with the rule's replica key, or undefined when it
 * may (or when lint cannot tell: an alias, a key or role the model does not hold). The key policy,
 * the role's IAM policies and the key's grants decide, as on the server (`replication/kms.ts`).
 * The object ARN in the encryption context is the rule's prefix, so a key policy conditioned on it
 * with StringLike `<bucket>/<prefix>*` matches as the replication of a real object would (a grant
 * constrained to one object's ARN does not: lint cannot know the objects).
 */
function replicaKeyRefusal(ctx: LintContext, policies: PolicyCache, role: string, rule: ReplicationRule, destRegion: string): string | undefined {
  const model: AuthzModel = ctx.model
  const id = rule.replicaKmsKeyId!
  const key = model.kmsKeys?.find((k) => k.arn === id || k.keyId === id)
  if (!key) return undefined
  const m = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(role)
  const who = m && model.principals.find((p) => p.ref.toLowerCase() === `${m[1]}/role/${m[2]}`.toLowerCase())
  if (!who) return undefined
  if (key.keyState !== 'Enabled') return `its replica key ${key.arn} is ${key.keyState}`
  const base = buildS3Context({ principal: authzPrincipal(who.principal), timeMs: ctx.timeMs, secureTransport: true }) as Record<string, string[]>
  const ec = { 'aws:s3:arn': `arn:aws:s3:::${rule.destBucket}/${rule.prefix}` }
  const context = kmsContext(base, who.principal.accountId, ec, `s3.${destRegion}.amazonaws.com`)
  const grants = { grants: () => (model.kmsGrants ?? []).filter((g) => g.keyId === key.keyId), ask: { ec } }
  const d = authorizeKms({ policies }, who.principal, 'kms:Encrypt', { ...key, description: '', creationDate: 0, material: '', keyState: 'Enabled' }, context, grants)
  return d.allowed ? undefined : `the replication role ${role} may not kms:Encrypt with its replica key ${key.arn} (${d.reason})`
}

function parsed(text: string | undefined): ReplicationConfig | undefined {
  if (text === undefined) return undefined
  try {
    return parseReplication(text)
  } catch {
    return undefined // not XML (a world file's rules) or refused: replication-missing speaks for it
  }
}

export const replicationRules: RuleFamily = {
  rules: [
    { id: 'replication-missing', severity: 'warning', summary: 'Buckets of an MRAP without replication rules between them.' },
    {
      id: 'replication-kms',
      severity: 'warning',
      summary: 'An MRAP bucket encrypts with a KMS key by default, and its replication rule to another route does not replicate SSE-KMS objects.',
    },
  ],
  run(ctx) {
    const { model } = ctx
    const out = []
    const policies = new PolicyCache(ctx.catalog)
    for (const m of model.mraps) {
      if (m.routes.length < 2) continue
      // SSE-KMS by default: S3 replicates such objects only under a rule with SseKmsEncryptedObjects
      // and a ReplicaKmsKeyID in the destination's Region ("Replicating encrypted objects",
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html);
      // a rule without them leaves the objects out, so they are missing through the other routes.
      // A bucket with no rule at all to another route is replication-missing's finding, not this one.
      for (const r of m.routes) {
        const bucket = model.buckets.find((b) => b.name === r.bucket)
        const enc = bucket?.configs?.encryption
        const kms = enc === undefined ? undefined : (JSON.parse(enc) as { algorithm?: string; kmsKeyId?: string })
        // DSSE-KMS objects are selected by the same opt-in (docs/decisions/encryption.md §DSSE-KMS).
        if (kms?.algorithm !== 'aws:kms' && kms?.algorithm !== 'aws:kms:dsse') continue
        const kind = kms.algorithm === 'aws:kms' ? 'SSE-KMS' : 'DSSE-KMS'
        const cfg = parsed(bucket?.replication)
        if (!cfg) continue
        const problems: string[] = []
        for (const other of m.routes) {
          if (other === r) continue
          const rules = cfg.rules.filter((x) => x.enabled && x.destBucket === other.bucket)
          if (rules.length === 0) continue
          const opted = rules.filter((x) => x.sseKmsObjects && x.replicaKmsKeyId !== undefined)
          if (opted.length === 0) {
            problems.push(`its rule to ${other.bucket} has no SseKmsEncryptedObjects/ReplicaKmsKeyID, so its ${kind} objects are not replicated there`)
            continue
          }
          const keyRegion = /^arn:[^:]+:kms:([^:]+):/.exec(opted[0]!.replicaKmsKeyId!)?.[1]
          if (keyRegion !== undefined && keyRegion !== other.region) {
            problems.push(`its ReplicaKmsKeyID for ${other.bucket} is a key of ${keyRegion}, not of the destination's Region ${other.region}, so replication FAILS`)
            continue
          }
          const refused = replicaKeyRefusal(ctx, policies, cfg.role, opted[0]!, other.region)
          if (refused) problems.push(`${refused}, so replication to ${other.bucket} FAILS`)
        }
        if (problems.length === 0) continue
        out.push({
          severity: 'warning' as const,
          rule: 'replication-kms',
          policy: { kind: 'world' as const, owner: `MRAP ${m.name}`, name: 'buckets' },
          path: m.path ? [...m.path, 'buckets'] : undefined,
          message: `bucket ${r.bucket} of MRAP ${m.name} encrypts new objects with KMS key ${kms.kmsKeyId ?? 'aws/s3'} (${r.region}, ${kind}) by default, and ${problems.join('; ')}: they are missing through the other routes`,
          fix: "enable SourceSelectionCriteria SseKmsEncryptedObjects in the rule and name a key of the destination's Region in Destination EncryptionConfiguration ReplicaKmsKeyID (the replication role needs kms:Decrypt on the source key and kms:Encrypt on it)",
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

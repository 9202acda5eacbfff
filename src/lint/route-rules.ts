/**
 * @module Rules on an MRAP's routes as a whole (docs/aws/authorization.md §The seed page): callers and actions allowed
 * through some routes and denied through others (clients see intermittent 403s as routing follows
 * proximity and failover), and endpoint policies that allow the MRAP but not all of its buckets
 * (the seed page: the endpoint policy "must allow access both to the Multi-Region Access Point and
 * to each underlying bucket"). Decisions come from `mrap explain`'s evaluator.
 */

import type { RouteResult } from '../explain/evaluate.js'
import { KMS_REASONS, type KmsRefusal } from '../explain/kms.js'
import { mrapArnOf, S3_GLOBAL_SERVICE } from '../explain/model.js'
import { authorize, buildS3Context, parsePolicy } from '../policy/index.js'
import { blamedPolicy, evaluate, networks } from './policies.js'
import type { LintContext, RawFinding, RuleFamily } from './types.js'

/** The actions lint asks about for every principal: the seed's read, and the common neighbours. */
export const ROUTE_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket']

interface Group {
  finding: RawFinding
  items: string[]
}

export function grouped(groups: Map<string, Group>, key: string, make: () => RawFinding, item: string): void {
  let g = groups.get(key)
  if (!g) {
    g = { finding: make(), items: [] }
    groups.set(key, g)
  }
  if (!g.items.includes(item)) g.items.push(item)
}

export const routeRules: RuleFamily = {
  rules: [
    { id: 'route-inconsistent', severity: 'error', summary: "A caller and action are allowed through some of an MRAP's routes and denied through others." },
    { id: 'endpoint-missing-bucket', severity: 'error', summary: 'An endpoint policy allows an action on the MRAP but not on all of its buckets.' },
  ],
  run(ctx) {
    return [...inconsistent(ctx), ...endpointCoverage(ctx)]
  },
}

function inconsistent(ctx: LintContext): RawFinding[] {
  const groups = new Map<string, Group>()
  for (const m of ctx.model.mraps) {
    if (m.routes.length < 2) continue
    for (const net of networks(ctx.model)) {
      for (const p of ctx.model.principals) {
        for (const action of ROUTE_ACTIONS) {
          const r = evaluate(ctx, p.ref, action, m, net)
          const allowed = r.routes.filter((x) => x.effect === 'Allow')
          const denied = r.routes.filter((x) => x.effect !== 'Allow')
          if (allowed.length === 0 || denied.length === 0) continue
          for (const d of denied) {
            const blame = blamedPolicy(ctx, r, d, m)
            const kms = d.kmsRefusal
            grouped(
              groups,
              `${m.alias}|${action}|${blame.policy.owner}|${d.bucket}`,
              () => ({
                severity: 'error',
                rule: 'route-inconsistent',
                policy: blame.policy,
                path: blame.path,
                message: kms
                  ? `${action} through MRAP ${m.name} is allowed when routed to ${allowed.map((x) => x.bucket).join(', ')} and refused (${d.status} ${d.code}) when routed to ${d.bucket} (${d.region}) by the KMS key ${kms.key} of the bucket's default encryption (${kms.encryption}): ${kmsProblem(kms)}; the answer depends on proximity and failover. Affected`
                  : `${action} through MRAP ${m.name} is allowed when routed to ${allowed.map((x) => x.bucket).join(', ')} and denied (403) when routed to ${d.bucket} (${d.region}); the answer depends on proximity and failover. ${d.why}.${aclCaveat(r.routes)} Affected`,
                fix: kms
                  ? kmsFix(kms, d.bucket, d.region)
                  : blame.column === 'bucket'
                    ? `give bucket ${d.bucket} the same grant its sibling buckets have (for object actions: arn:aws:s3:::${d.bucket}/*), or delegate every bucket to the MRAP with s3:DataAccessPointArn`
                    : blame.column === 'endpoint'
                      ? `allow ${action} on arn:aws:s3:::${d.bucket} (and /*) in the endpoint policy`
                      : "make every route's policies grant the same access",
              }),
              `${p.ref} from ${net.label}`,
            )
          }
        }
      }
    }
  }
  return [...groups.values()].map((g) => ({ ...g.finding, message: `${g.finding.message}: ${g.items.join('; ')}` }))
}

/**
 * Lint judges no particular object: where a route's bucket has ACLs enabled, the object's own ACL
 * takes part in this action (src/explain/objects.ts), and lint judged the default one. Said, not assumed.
 */
function aclCaveat(routes: readonly RouteResult[]): string {
  const buckets = routes.filter((x) => x.object === 'unknown').map((x) => x.bucket)
  if (buckets.length === 0) return ''
  return ` This holds for objects whose ACL grants no one but their owner: ${buckets.join(', ')} ${buckets.length === 1 ? 'has' : 'have'} ACLs enabled, and an object's own ACL (which lint does not read) can grant the action where the policies do not, or refuse it on an object another account owns.`
}

/** What refused, in the key's terms: its policy (or IAM) for the KMS action, or its state. */
function kmsProblem(k: KmsRefusal): string {
  switch (k.keyState) {
    case 'NotFound':
      return `the key is missing: ${k.key} resolves to no key (${k.message})`
    case 'Disabled':
      return 'the key is disabled'
    case 'PendingDeletion':
      return 'the key is pending deletion'
    default:
      return `the key policy (or IAM) does not grant the caller ${k.action} (via S3): ${k.reason ? KMS_REASONS[k.reason] : k.message}`
  }
}

/**
 * Fix advice on the key, never the bucket policy: a bucket policy cannot grant KMS permissions.
 * A key pending deletion is Disabled once its deletion is cancelled ("Cancel key deletion",
 * https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-cancelling-key-deletion.html).
 */
function kmsFix(k: KmsRefusal, bucket: string, region: string): string {
  // A new default key helps new objects only: the ones stored under this key are read with it.
  const other = k.action === 'kms:GenerateDataKey' ? `, or make bucket ${bucket}'s default encryption (PutBucketEncryption) a key of ${region} the callers may use` : ''
  switch (k.keyState) {
    case 'NotFound':
      return `name a key of ${region} that exists in bucket ${bucket}'s default encryption (PutBucketEncryption), or create ${k.key}`
    case 'Disabled':
      return `enable the key (EnableKey ${k.key})${other}`
    case 'PendingDeletion':
      return `cancel the key's deletion (CancelKeyDeletion ${k.key}, which leaves it Disabled) and enable it (EnableKey); objects encrypted under it cannot be read once it is deleted`
    default:
      break
  }
  const via = `S3 calls it with kms:ViaService s3.${region}.amazonaws.com and kms:EncryptionContext:aws:s3:arn arn:aws:s3:::${bucket}/*`
  switch (k.reason) {
    case 'key-policy-deny':
      return `narrow the Deny of ${k.action} in the key policy of ${k.key} so it does not match these callers through S3 (${via})${other}`
    case 'identity-deny':
      return `narrow the Deny of ${k.action} on ${k.key} in the callers' identity-based policies (${via})${other}`
    case 'no-identity-allow':
      return `allow ${k.action} on ${k.key} in the callers' identity-based policies (the key policy delegates to IAM) or in the key policy (${via})${other}`
    default:
      return `allow these callers ${k.action} in the key policy of ${k.key} (${via})${other}`
  }
}

function endpointCoverage(ctx: LintContext): RawFinding[] {
  const out: RawFinding[] = []
  const { model } = ctx
  for (const v of model.vpcs) {
    for (const e of v.endpoints) {
      if (e.service !== S3_GLOBAL_SERVICE || e.policy.refusal) continue
      const parsed = parsePolicy(e.policy.text, { kind: 'endpoint', name: e.policy.name })
      if (!parsed.ok) continue
      for (const m of model.mraps) {
        const missing: string[] = []
        for (const action of ROUTE_ACTIONS) {
          const object = action !== 's3:ListBucket'
          const arn = mrapArnOf(m, model.partition)
          const who = { type: 'Account' as const, arn: `arn:${model.partition}:iam::${m.owner}:root`, accountId: m.owner }
          const context = buildS3Context({
            principal: who,
            timeMs: ctx.timeMs,
            secureTransport: true,
            vpc: { endpointId: e.id, vpcId: v.id, sourceIp: '10.0.0.10' },
            dataAccessPoint: { arn, account: m.owner },
          })
          let mrapAllows = false
          const bad: string[] = []
          for (const r of m.routes) {
            // Only the endpoint layer matters here; the account root passes the identity side.
            const d = authorize(
              {
                principal: who,
                action,
                context,
                resources: {
                  mrap: { arn: object ? `${arn}/object/k` : arn, ownerAccount: m.owner },
                  bucket: { arn: object ? `arn:${model.partition}:s3:::${r.bucket}/k` : `arn:${model.partition}:s3:::${r.bucket}`, ownerAccount: r.bucketAccountId },
                },
              },
              { identity: [], endpoint: { id: e.id, policy: parsed.policy } },
              { explain: true },
            )
            const layer = (c: 'mrap' | 'bucket') => d.explain?.find((x) => x.context === c)?.layers.find((l) => l.layer === 'endpoint')?.result
            if (layer('mrap') === 'Allow') mrapAllows = true
            if (layer('bucket') !== 'Allow') bad.push(r.bucket)
          }
          if (mrapAllows && bad.length > 0) missing.push(`${action} on ${bad.join(', ')}`)
        }
        if (missing.length === 0) continue
        out.push({
          severity: 'error',
          rule: 'endpoint-missing-bucket',
          policy: { kind: 'endpoint', owner: e.policy.owner, name: e.policy.name },
          path: e.policy.path,
          message: `allows MRAP ${m.name} but not its buckets: ${missing.join('; ')}; requests through ${e.id} routed there are denied for everyone`,
          fix: `an endpoint policy must allow both the MRAP and every bucket behind it: add ${m.routes.map((r) => `arn:${model.partition}:s3:::${r.bucket}/*`).join(', ')} (and the bucket ARNs for s3:ListBucket)`,
        })
      }
    }
  }
  return out
}

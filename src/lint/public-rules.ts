/**
 * @module Public grants and Block Public Access (docs/aws/authorization.md §Block Public Access, §Public policies, §The seed page items 3-5): public
 * bucket and MRAP policies; public policies that BlockPublicPolicy refuses; grants that
 * RestrictPublicBuckets neutralises (only the owner's account and AWS services keep them); and
 * public policies that work only because Block Public Access was turned off (for an MRAP, for
 * good: its settings are fixed at creation).
 */

import { type AuthzModel, type ModelPolicy, mrapArnOf, S3_GLOBAL_SERVICE } from '../explain/model.js'
import { parsePolicy, publicStatus } from '../policy/index.js'
import type { BlockPublicAccess } from '../state/control-store.js'
import { statementPath } from './policies.js'
import type { RawFinding, RuleFamily } from './types.js'

export const publicRules: RuleFamily = {
  rules: [
    { id: 'public-policy', severity: 'warning', summary: 'A bucket or MRAP policy is public (grants to everyone, without a qualifying fixed condition).' },
    { id: 'bpa-blocks-policy', severity: 'error', summary: 'Block Public Access (BlockPublicPolicy) refuses to store this public policy.' },
    { id: 'bpa-restricts-grants', severity: 'warning', summary: "RestrictPublicBuckets neutralises this public policy's grants to other accounts." },
    { id: 'bpa-off', severity: 'warning', summary: 'A public policy works only because Block Public Access is off.' },
  ],
  run(ctx) {
    const { model } = ctx
    const out: RawFinding[] = []
    const acct = (id: string): BlockPublicAccess | undefined => model.accounts.find((a) => a.id === id)?.blockPublicAccess
    const vpces = model.vpcs.flatMap((v) => v.endpoints.filter((e) => e.service === S3_GLOBAL_SERVICE).map((e) => e.id))
    const cond = vpces.length > 0 ? `"StringEquals": {"aws:SourceVpce": "${vpces[0]}"}` : '"StringEquals": {"aws:SourceVpc": "vpc-..."}'
    for (const b of model.buckets) {
      if (!b.policy) continue
      const settings: [string, BlockPublicAccess | undefined][] = [
        [`bucket ${b.name}`, b.blockPublicAccess],
        [`account ${b.owner}`, acct(b.owner)],
      ]
      // Every MRAP over the bucket carries traffic to it: naming only one would cut the others off.
      const holders = model.mraps.filter((m) => m.routes.some((r) => r.bucket === b.name)).map((m) => mrapArnOf(m, model.partition))
      const arns = holders.length === 1 ? `"${holders[0]}"` : `[${holders.map((a) => `"${a}"`).join(', ')}]`
      const fix =
        holders.length > 0
          ? `delegate to the ${holders.length === 1 ? 'MRAP' : 'MRAPs'} instead (not public): Principal {"AWS": "*"} with "StringEquals": {"s3:DataAccessPointArn": ${arns}}, or name the principals`
          : `name the principals, or add a fixed condition such as ${cond}`
      out.push(...check(b.policy, b.owner, settings, fix, model, 'bucket'))
    }
    for (const m of model.mraps) {
      if (!m.policy) continue
      const settings: [string, BlockPublicAccess | undefined][] = [
        [`MRAP ${m.name} (fixed at creation)`, m.blockPublicAccess],
        [`account ${m.owner}`, acct(m.owner)],
      ]
      for (const r of m.routes) {
        const b = model.buckets.find((x) => x.name === r.bucket)
        settings.push([`bucket ${r.bucket}`, b?.blockPublicAccess])
        if (r.bucketAccountId !== m.owner) settings.push([`account ${r.bucketAccountId}`, acct(r.bucketAccountId)])
      }
      out.push(
        ...check(
          m.policy,
          m.owner,
          settings,
          `grant to named principals, or add ${cond} (in an MRAP policy a condition on s3:DataAccessPointArn still counts as public)`,
          model,
          'mrap',
        ),
      )
    }
    return out
  },
}

function check(p: ModelPolicy, owner: string, settings: [string, BlockPublicAccess | undefined][], fix: string, _model: AuthzModel, kind: 'bucket' | 'mrap'): RawFinding[] {
  const parsed = parsePolicy(p.text, { kind })
  if (!parsed.ok) return []
  const status = publicStatus(parsed.policy, kind)
  if (!status.isPublic) return []
  const out: RawFinding[] = []
  const ref = { kind: p.kind, owner: p.owner, name: p.name }
  const meaning =
    kind === 'mrap'
      ? 'Principal "*" here means every AWS account, not anonymous users: MRAP requests are always signed (SigV4A), and any account\'s principals can use it from the internet, not only through your VPC endpoint'
      : 'anyone (other AWS accounts and, for direct requests, anonymous callers) is granted access'
  for (const r of status.reasons) {
    const idx = typeof r.statement === 'number' ? r.statement : parsed.policy.statements.find((s) => s.sid === r.statement)?.index
    out.push({
      severity: 'warning',
      rule: 'public-policy',
      policy: ref,
      statement: r.statement,
      path: idx !== undefined ? statementPath(p, idx) : p.path,
      message: `public: ${r.reason}; ${meaning}`,
      fix,
    })
  }
  const on = (k: keyof BlockPublicAccess): string[] => settings.filter(([, s]) => s?.[k] === true).map(([w]) => w)
  if (p.refusal?.code === 'AccessDenied') {
    const what = kind === 'mrap' ? 'PutMultiRegionAccessPointPolicy ends FAILED with AccessDenied' : 'PutBucketPolicy answers 403 AccessDenied'
    out.push({
      severity: 'error',
      rule: 'bpa-blocks-policy',
      policy: ref,
      path: p.path,
      message: `BlockPublicPolicy (${on('BlockPublicPolicy').join(', ')}) refuses this public policy: ${what}; the resource runs without it`,
      fix,
    })
    return out
  }
  // A policy refused for another reason (grammar, placement) is reported by the policy rules.
  if (p.refusal) return out
  const rpb = on('RestrictPublicBuckets')
  if (rpb.length > 0) {
    out.push({
      severity: 'warning',
      rule: 'bpa-restricts-grants',
      policy: ref,
      path: p.path,
      message: `RestrictPublicBuckets (${rpb.join(', ')}) neutralises this public policy: only principals of ${owner} and AWS services keep its grants; every other account's requests are denied`,
      fix,
    })
  }
  // A level without a configuration blocks nothing (docs/aws/authorization.md §Block Public Access).
  const everyOff = settings.every(([, s]) => s === undefined || (!s.BlockPublicPolicy && !s.RestrictPublicBuckets))
  if (everyOff) {
    out.push({
      severity: 'warning',
      rule: 'bpa-off',
      policy: ref,
      path: p.path,
      message: `works only because Block Public Access is off (${settings.map(([w, v]) => (v ? w : `${w}: not configured`)).join(', ')}); with AWS's defaults (all on) the policy would be refused${kind === 'mrap' ? ", and an MRAP's settings cannot be changed after creation" : ''}`,
      fix: `make the policy non-public (${fix}) so Block Public Access can stay on`,
    })
  }
  return out
}

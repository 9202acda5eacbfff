/**
 * @module The explain requests of the admin socket: the running state as an evaluation model
 * (`explain.model`), and a recent decision replayed with its explanation (`explain.request`).
 * The server remembers denied requests by request id with the inputs it decided on (principal
 * and policies as they were, network origin, time), so the replay uses the same authorizeS3 and
 * the same inputs; only account-level Block Public Access is read as it is now.
 */

import type { AdminResponse } from '../admin/protocol.js'
import type { Core } from '../core/core.js'
import { mrapArn } from '../mrap/registry.js'
import { bucketArn } from '../policy/index.js'
import { authorizeS3, type S3Decision } from '../s3/authorize.js'
import { routeCells, routeWhy } from './cells.js'
import type { ExplainResult } from './evaluate.js'
import { modelFromServices, objectsFromServices } from './from-services.js'
import { KMS_REASONS } from './kms.js'
import type { ModelBucket, ModelMrap, ModelPrincipal } from './model.js'

export async function explainAdmin(
  s: Core,
  req: { op: 'explain.model' } | { op: 'explain.objects'; key: string; versionId?: string; buckets: string[] } | { op: 'explain.request'; requestId: string },
): Promise<AdminResponse> {
  if (req.op === 'explain.objects') {
    // The line is JSON from whoever holds the socket: its shape is checked, never assumed.
    const { key, versionId, buckets } = req as { key: unknown; versionId?: unknown; buckets: unknown }
    if (typeof key !== 'string' || (versionId !== undefined && typeof versionId !== 'string') || !Array.isArray(buckets) || !buckets.every((b) => typeof b === 'string'))
      return { ok: false, error: 'explain.objects takes key (a string), versionId (a string, optional) and buckets (strings)' }
    return { ok: true, objects: await objectsFromServices(s, { key, ...(versionId !== undefined ? { versionId } : {}), buckets }) }
  }
  const model = modelFromServices(s, `server ${s.config.dataDir}`)
  if (req.op === 'explain.model') return { ok: true, model }
  const entry = s.decisions.get(req.requestId) as S3Decision | undefined
  // Refused by the KMS layer (SSE-KMS, s3/sse-kms.ts): the S3 layers allowed it; the key decided.
  const kms = (entry as { kms?: { action: string; key: string; reason: string; principal: string } } | undefined)?.kms
  if (kms)
    return {
      ok: false,
      error: `request ${req.requestId} was allowed by S3's layers and refused by the KMS layer: ${kms.action} on ${kms.key} for ${kms.principal} (${KMS_REASONS[kms.reason as keyof typeof KMS_REASONS] ?? kms.reason})`,
    }
  if (!entry?.input || entry.timeMs === undefined) {
    return { ok: false, error: `no decision recorded for request id ${req.requestId} (the server keeps its last 1000 denied requests; allowed ones need no explaining)` }
  }
  const input = entry.input
  const timeMs = entry.timeMs
  const d = authorizeS3({ policies: s.policies, accountBpaMap: () => s.accountBpaMap(), clock: () => new Date(timeMs), world: s.world }, input, { explain: true })
  const decision = d.decision
  if (!decision) return { ok: false, error: `request ${req.requestId} was not an S3 object or bucket request mrap can explain` }
  const p = input.principal
  // The same refs as the model's principals (`<account>/<user>`, `<account>/role/<role>`).
  const ref =
    p.type === 'User' && p.username !== undefined
      ? `${p.accountId}/${p.username}`
      : p.type === 'AssumedRole' && p.roleArn !== undefined
        ? `${p.accountId}/role/${p.roleArn.slice(p.roleArn.lastIndexOf('/') + 1)}`
        : p.arn
  const who: ModelPrincipal = { ref, name: p.username ?? ref, principal: p }
  const b = input.bucket
  const bucket: ModelBucket | undefined = b
    ? {
        name: b.name,
        region: b.region,
        owner: b.owner,
        versioning: b.versioning as ModelBucket['versioning'],
        ...(b.publicAccessBlock ? { blockPublicAccess: b.publicAccessBlock } : {}),
        ...(b.policy !== undefined ? { policy: { kind: 'bucket', owner: `bucket ${b.name}`, name: `bucket policy of ${b.name}`, text: b.policy } } : {}),
      }
    : undefined
  const m = input.mrap
  const mrap: ModelMrap | undefined = m
    ? {
        name: m.name,
        alias: m.alias,
        owner: m.owner,
        blockPublicAccess: m.publicAccessBlock,
        routes: m.regions,
        ...(m.policy !== undefined ? { policy: { kind: 'mrap', owner: `MRAP ${m.name}`, name: `policy of ${m.alias}`, text: m.policy } } : {}),
      }
    : undefined
  const o = input.origin
  const key = input.key
  const arn = m ? mrapArn(m, s.world.partition) : undefined
  const action = input.actions[0] ?? ''
  const route = m?.regions.find((r) => r.bucket === b?.name)
  const notes = [`replay of request ${req.requestId} as the server decided it at ${new Date(timeMs).toISOString()}`]
  if (d.allowed !== entry.allowed)
    notes.push(`the replay ${d.allowed ? 'allows' : 'denies'} it now; the server ${entry.allowed ? 'allowed' : 'denied'} it then (account-level Block Public Access changed since)`)
  const result: ExplainResult = {
    source: model.source,
    request: {
      principal: { ref: who.ref, arn: input.principal.arn, accountId: input.principal.accountId || 'anonymous' },
      action,
      ...(key !== undefined ? { key } : {}),
      target: m ? { kind: 'mrap', name: m.name, alias: m.alias, arn: arn! } : { kind: 'bucket', name: b?.name ?? input.bucketName ?? '' },
      resource: m ? (key !== undefined && input.op.level === 'object' ? `${arn}/object/${key}` : arn!) : bucketArn(s.world.partition, b?.name ?? input.bucketName ?? '', key),
      network: o.vpc
        ? { kind: 'vpc-endpoint', region: o.region ?? '', sourceIp: o.vpc.sourceIp, vpcId: o.vpc.vpcId, endpointId: o.vpc.endpointId }
        : { kind: 'internet', region: o.region ?? s.world.frontDoorRegion ?? '', sourceIp: o.sourceIp },
      time: new Date(timeMs).toISOString(),
    },
    routes: [
      {
        bucket: b?.name ?? input.bucketName ?? '',
        region: b?.region ?? '',
        account: b?.owner ?? '',
        dial: route ? route.trafficDialPercentage : null,
        rank: null,
        effect: decision.effect,
        status: d.allowed ? 200 : 403,
        ...(d.allowed ? {} : { code: 'AccessDenied' }),
        rules: Object.fromEntries((decision.explain ?? []).map((c) => [c.context, c.rule])),
        cells: routeCells(decision, who, model, { bucket, mrap }),
        why: routeWhy(decision, action, model, { bucket, mrap }),
        trace: decision.explain ?? [],
      },
    ],
    allAllowed: d.allowed,
    notes,
  }
  return { ok: true, result }
}

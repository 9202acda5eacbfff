/**
 * @module One-click fixes for `mrap lint` findings whose fix is a policy change. A finding's `fix`
 * is prose; for the rules below the console works out the policy text the prose asks for, checks
 * that lint on the model with that text no longer reports the finding (so "Apply" is offered only
 * where it works), and applies it through the API the principal would use (PutBucketPolicy,
 * ModifyVpcEndpoint, PutMultiRegionAccessPointPolicy), signed as the signed-in principal.
 */
import type { AuthzModel, ModelBucket, ModelMrap } from '../../explain/model.js'
import { mrapArnOf } from '../../explain/model.js'
import { FAMILIES, type Finding } from '../../lint/index.js'
import type { Catalog } from '../../policy/index.js'
import type { ConsoleApi } from '../page.js'

export type FixTarget =
  | { kind: 'bucket'; bucket: string; region: string }
  | { kind: 'endpoint'; endpointId: string; region: string }
  | { kind: 'mrap'; name: string; owner: string }

export interface FixPlan {
  /** What the change does, in one sentence. */
  summary: string
  /** The API call that makes it. */
  call: 'PutBucketPolicy' | 'ModifyVpcEndpoint' | 'PutMultiRegionAccessPointPolicy'
  target: FixTarget
  before?: string
  after: string
}

/** A finding's id across page views: what it is about, not the list of who it affects. */
export function findingId(f: Finding): string {
  const head = f.message.split(/[;:]/)[0] ?? ''
  const raw = [f.rule, f.policy.kind, f.policy.owner, String(f.statement ?? ''), head].join('|')
  let h = 5381
  for (let i = 0; i < raw.length; i++) h = (h * 33) ^ raw.charCodeAt(i)
  return `f${(h >>> 0).toString(36)}`
}

interface Doc {
  Version?: string
  Statement: Record<string, unknown>[]
  [k: string]: unknown
}

function docOf(text: string | undefined): Doc | undefined {
  if (text === undefined) return { Version: '2012-10-17', Statement: [] }
  try {
    const d = JSON.parse(text) as Record<string, unknown>
    const st = d.Statement
    return { ...d, Statement: (Array.isArray(st) ? st : st === undefined ? [] : [st]) as Record<string, unknown>[] }
  } catch {
    return undefined
  }
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)])

function bucketOf(model: AuthzModel, owner: string): ModelBucket | undefined {
  return owner.startsWith('bucket ') ? model.buckets.find((b) => b.name === owner.slice(7)) : undefined
}

function mrapOf(model: AuthzModel, owner: string): ModelMrap | undefined {
  return owner.startsWith('MRAP ') ? model.mraps.find((m) => m.name === owner.slice(5)) : undefined
}

function endpointOf(model: AuthzModel, owner: string) {
  if (!owner.startsWith('endpoint ')) return undefined
  const id = owner.slice(9)
  for (const v of model.vpcs) for (const e of v.endpoints) if (e.id === id) return { vpc: v, endpoint: e }
  return undefined
}

/** route-inconsistent on a bucket: give it its siblings' grants, their ARNs renamed to it. */
function copySiblingGrants(model: AuthzModel, bucket: ModelBucket): string | undefined {
  const siblings = new Set<string>()
  for (const m of model.mraps) if (m.routes.some((r) => r.bucket === bucket.name)) for (const r of m.routes) if (r.bucket !== bucket.name) siblings.add(r.bucket)
  const doc = docOf(bucket.policy?.text)
  if (!doc) return undefined
  const sids = new Set(doc.Statement.map((s) => s.Sid).filter((s) => s !== undefined))
  let added = 0
  for (const name of siblings) {
    const sib = docOf(model.buckets.find((b) => b.name === name)?.policy?.text)
    for (const st of sib?.Statement ?? []) {
      if (st.Effect !== 'Allow') continue
      const prefix = `:s3:::${name}`
      const res = list(st.Resource)
      if (!res.some((r) => r.includes(prefix))) continue
      const copy: Record<string, unknown> = { ...st, Resource: res.map((r) => r.split(prefix).join(`:s3:::${bucket.name}`)) }
      if (typeof st.Sid === 'string') {
        let sid = st.Sid
        for (let i = 2; sids.has(sid); i++) sid = `${st.Sid}${i}`
        sids.add(sid)
        copy.Sid = sid
      }
      const same = doc.Statement.some((x) => JSON.stringify({ ...x, Sid: undefined }) === JSON.stringify({ ...copy, Sid: undefined }))
      if (same) continue
      doc.Statement.push(copy)
      added += 1
    }
  }
  return added > 0 ? JSON.stringify(doc) : undefined
}

/** versioned-read-denied: s3:GetObjectVersion beside every allowed s3:GetObject. */
function addVersionRead(text: string | undefined): string | undefined {
  const doc = docOf(text)
  if (!doc || text === undefined) return undefined
  let changed = false
  for (const st of doc.Statement) {
    if (st.Effect !== 'Allow' || !('Action' in st)) continue
    const acts = list(st.Action)
    if (!acts.some((a) => a.toLowerCase() === 's3:getobject') || acts.some((a) => a.toLowerCase() === 's3:getobjectversion')) continue
    st.Action = [...acts, 's3:GetObjectVersion']
    changed = true
  }
  return changed ? JSON.stringify(doc) : undefined
}

/** missing-key-403 on an endpoint: allow s3:ListBucket on the MRAP and its buckets (not their objects). */
function addListBucket(model: AuthzModel, text: string): string | undefined {
  const doc = docOf(text)
  if (!doc) return undefined
  const resources = model.mraps.flatMap((m) => [mrapArnOf(m, model.partition), ...m.routes.map((r) => `arn:${model.partition}:s3:::${r.bucket}`)])
  if (resources.length === 0) return undefined
  doc.Statement.push({ Sid: 'AllowListBucketForNoSuchKey', Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: resources })
  return JSON.stringify(doc)
}

function candidate(model: AuthzModel, f: Finding): FixPlan | undefined {
  const bucket = bucketOf(model, f.policy.owner)
  const mrap = mrapOf(model, f.policy.owner)
  const ep = endpointOf(model, f.policy.owner)
  const planFor = (after: string | undefined, summary: string): FixPlan | undefined => {
    if (after === undefined) return undefined
    if (f.policy.kind === 'bucket' && bucket) {
      return { summary, call: 'PutBucketPolicy', target: { kind: 'bucket', bucket: bucket.name, region: bucket.region }, ...before(bucket.policy?.text), after }
    }
    if (f.policy.kind === 'endpoint' && ep) {
      return { summary, call: 'ModifyVpcEndpoint', target: { kind: 'endpoint', endpointId: ep.endpoint.id, region: ep.vpc.region }, before: ep.endpoint.policy.text, after }
    }
    if (f.policy.kind === 'mrap' && mrap) {
      return { summary, call: 'PutMultiRegionAccessPointPolicy', target: { kind: 'mrap', name: mrap.name, owner: mrap.owner }, ...before(mrap.policy?.text), after }
    }
    return undefined
  }
  switch (f.rule) {
    case 'route-inconsistent':
      return bucket ? planFor(copySiblingGrants(model, bucket), `Give bucket ${bucket.name} the grants its sibling buckets have, with their ARNs renamed to it.`) : undefined
    case 'versioned-read-denied': {
      const text = bucket?.policy?.text ?? mrap?.policy?.text ?? ep?.endpoint.policy.text
      return planFor(addVersionRead(text), 'Allow s3:GetObjectVersion in every statement that allows s3:GetObject.')
    }
    case 'missing-key-403':
      return ep ? planFor(addListBucket(model, ep.endpoint.policy.text), 'Allow s3:ListBucket on the MRAP and its buckets in the endpoint policy.') : undefined
    default:
      return undefined
  }
}

function before(text: string | undefined): { before?: string } {
  return text !== undefined ? { before: text } : {}
}

/** The model with the plan's policy in force. */
function withPlan(model: AuthzModel, plan: FixPlan): AuthzModel {
  const m = structuredClone(model)
  const t = plan.target
  if (t.kind === 'bucket') {
    const b = m.buckets.find((x) => x.name === t.bucket)!
    b.policy = { kind: 'bucket', owner: `bucket ${b.name}`, name: `bucket policy of ${b.name}`, text: plan.after }
  } else if (t.kind === 'endpoint') {
    for (const v of m.vpcs) for (const e of v.endpoints) if (e.id === t.endpointId) e.policy = { ...e.policy, text: plan.after }
  } else {
    const x = m.mraps.find((y) => y.name === t.name)!
    x.policy = { kind: 'mrap', owner: `MRAP ${x.name}`, name: `policy of ${x.alias}`, text: plan.after }
  }
  return m
}

/** A plan for the finding that lint confirms removes it, or undefined. */
export function fixPlan(model: AuthzModel, catalog: Catalog, timeMs: number, f: Finding): FixPlan | undefined {
  const plan = candidate(model, f)
  if (!plan) return undefined
  const id = findingId(f)
  // Only the rule's own family runs again: the others cannot bring this finding back.
  const family = FAMILIES.find((fam) => fam.rules.some((r) => r.id === f.rule))
  if (!family) return undefined
  const after = family.run({ model: withPlan(model, plan), catalog, timeMs })
  return after.some((x) => findingId({ ...x, fix: x.fix }) === id) ? undefined : plan
}

/** Makes the change through the API as the signed-in principal; SDK errors propagate to the caller. */
export async function applyPlan(api: ConsoleApi, plan: FixPlan): Promise<void> {
  const t = plan.target
  if (t.kind === 'bucket') {
    const { PutBucketPolicyCommand } = await import('@aws-sdk/client-s3')
    await (await api.s3(t.region)).send(new PutBucketPolicyCommand({ Bucket: t.bucket, Policy: plan.after }))
    return
  }
  if (t.kind === 'endpoint') {
    const { ModifyVpcEndpointCommand } = await import('@aws-sdk/client-ec2')
    await (await api.ec2(t.region)).send(new ModifyVpcEndpointCommand({ VpcEndpointId: t.endpointId, PolicyDocument: plan.after }))
    return
  }
  const { PutMultiRegionAccessPointPolicyCommand } = await import('@aws-sdk/client-s3-control')
  await (await api.s3control()).send(
    new PutMultiRegionAccessPointPolicyCommand({ AccountId: t.owner, ClientToken: `console-${Date.now()}`, Details: { Name: t.name, Policy: plan.after } }),
  )
}

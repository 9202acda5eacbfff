/**
 * @module The world file's `vpcs:` section: VPCs and their endpoints, checked as EC2 would check
 * them (before anything is written) and applied idempotently: a VPC is matched by id, else by its
 * owner, region and Name tag; an endpoint by id, else by type and service within its VPC. Applying
 * never deletes what the world does not mention (VPCs made later through EC2 survive restarts).
 */
import type { Core } from '../core/core.js'
import type { StateOp } from '../state/state-store.js'
import { policyText, type World, type WorldEndpoint, type WorldVpc } from '../world/schema.js'
import { checkEndpointRequest } from './endpoint-rules.js'
import { defaultEndpointPolicy, type EndpointRecord, parseCidr, putEndpointOp, putVpcOp, type VpcRecord } from './vpcs.js'

export interface WorldVpcIssue {
  path: (string | number)[]
  message: string
}

/** What EC2 would refuse about the world's VPCs and endpoints. */
export function checkWorldVpcs(s: Core, world: World): WorldVpcIssue[] {
  const issues: WorldVpcIssue[] = []
  world.vpcs.forEach((v, i) => {
    if (!parseCidr(v.cidr)) issues.push({ path: ['vpcs', i, 'cidr'], message: `${v.cidr} is not a valid CIDR block` })
    const seen: WorldEndpoint[] = []
    v.endpoints.forEach((e, j) => {
      const problem = checkEndpointRequest(s, {
        region: v.region,
        type: e.type,
        service: e.service,
        privateDns: e.privateDns,
        ...(e.privateDnsOnlyForInboundResolver !== undefined ? { privateDnsOnlyForInboundResolver: e.privateDnsOnlyForInboundResolver } : {}),
        policy: e.policy === undefined ? undefined : policyText(e.policy),
        subnets: e.subnets ?? [],
        routeTables: [],
        others: seen.map((x) => ({ type: x.type, service: x.service, privateDns: x.privateDns })),
      })
      if (problem) issues.push({ path: ['vpcs', i, 'endpoints', j], message: `${problem.code}: ${problem.message}` })
      seen.push(e)
    })
  })
  return issues
}

type Out = { created: string[]; updated: string[]; ops: StateOp[] }

/** The writes for the world's one batch (nothing is written here), and labels of what changes. */
export function applyWorldVpcs(s: Core, world: World): Out {
  const out: Out = { created: [], updated: [], ops: [] }
  const reg = s.vpcs
  const now = s.clock().toISOString()
  for (const v of world.vpcs) {
    const cur =
      (v.id !== undefined ? reg.vpc(v.id) : undefined) ??
      (v.id === undefined && v.tags.Name !== undefined ? reg.listVpcs({ owner: v.owner, region: v.region }).find((x) => x.tags.Name === v.tags.Name) : undefined)
    const rec: VpcRecord = {
      id: cur?.id ?? v.id ?? reg.newVpcId(),
      owner: v.owner,
      region: v.region,
      cidr: v.cidr,
      internet: v.internet,
      tags: { ...v.tags },
      createdAt: cur?.createdAt ?? now,
      // The world file does not declare DNS attributes: a VPC keeps those set through EC2.
      ...(cur?.dnsSupport !== undefined ? { dnsSupport: cur.dnsSupport } : {}),
      ...(cur?.dnsHostnames !== undefined ? { dnsHostnames: cur.dnsHostnames } : {}),
      ...(cur?.addressUsageMetrics !== undefined ? { addressUsageMetrics: cur.addressUsageMetrics } : {}),
    }
    if (!cur) {
      out.ops.push(putVpcOp(rec))
      out.created.push(`vpc ${rec.id}`)
    } else if (JSON.stringify(cur) !== JSON.stringify(rec)) {
      out.ops.push(putVpcOp(rec))
      out.updated.push(`vpc ${rec.id}`)
    }
    for (const e of v.endpoints) applyEndpoint(s, rec, v, e, now, out)
  }
  return out
}

function applyEndpoint(s: Core, vpc: VpcRecord, _v: WorldVpc, e: WorldEndpoint, now: string, out: Out): void {
  const reg = s.vpcs
  const inVpc = reg.listEndpoints({ vpcId: vpc.id })
  const cur = (e.id !== undefined ? reg.endpoint(e.id) : undefined) ?? (e.id === undefined ? inVpc.find((x) => x.type === e.type && x.service === e.service) : undefined)
  const fields = {
    vpcId: vpc.id,
    owner: vpc.owner,
    region: vpc.region,
    type: e.type,
    service: e.service,
    policy: e.policy === undefined ? defaultEndpointPolicy(e.type) : policyText(e.policy),
    privateDns: e.type === 'Interface' ? e.privateDns : false,
    ...(e.type === 'Interface' && e.privateDnsOnlyForInboundResolver !== undefined ? { privateDnsOnlyForInboundResolver: e.privateDnsOnlyForInboundResolver } : {}),
    subnets: e.subnets ?? [],
    securityGroups: [],
    routeTables: [],
    tags: {},
  }
  if (!cur) {
    const rec = reg.newEndpoint({ ...fields, ...(e.id !== undefined ? { id: e.id } : {}), createdAt: now })
    out.ops.push(putEndpointOp(rec))
    out.created.push(`vpc endpoint ${rec.id}`)
    return
  }
  const next: EndpointRecord = { ...cur, ...fields, tags: cur.tags, securityGroups: cur.securityGroups, routeTables: cur.routeTables }
  if (JSON.stringify(next) !== JSON.stringify(cur)) {
    out.ops.push(putEndpointOp(next))
    out.updated.push(`vpc endpoint ${cur.id}`)
  }
}

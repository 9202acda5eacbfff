/**
 * @module EC2 CreateVpcEndpoint, ModifyVpcEndpoint, DescribeVpcEndpoints, DeleteVpcEndpoints and
 * DescribeVpcEndpointServices for the services mrap offers (docs/aws/privatelink.md §EC2 API). Endpoints are
 * `available` at once; policies are validated by the policy engine when written; DescribeVpcEndpoints
 * lists the endpoint-specific DNS name (not usable directly: docs/aws/privatelink.md §DNS) and, with private DNS
 * on, the private name. Subnets and security groups are checked (src/ec2/subnet-ops.ts) and the
 * network interfaces and zonal DNS names follow the subnets; route tables are recorded, not modelled.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcEndpoint.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpoints.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpcEndpoints.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html
 */
import { createHash } from 'node:crypto'
import { checkEndpointPolicy, checkEndpointRequest, type EndpointProblem, offeredServices } from '../network/endpoint-rules.js'
import { defaultGroupOf, eniId } from '../network/subnets.js'
import { defaultEndpointPolicy, type EndpointRecord, type EndpointType, endpointDnsName, hostedZoneId, privateDnsNames, type VpcRecord } from '../network/vpcs.js'
import { esc } from '../s3/xml.js'
import { authorizeEc2, dryRunCheck, type Ec2Call, type Ec2Op, ec2Arn } from './call.js'
import { groupsOf } from './group-ops.js'
import { applyFilters, ec2Error, el, items, paginate, tagFilter, tagSet } from './query.js'
import { checkPlacement, endpointZones } from './subnet-ops.js'
import { vpcDns, vpcOf } from './vpc-ops.js'

const hex = (s: string, n = 17): string => createHash('sha256').update(s).digest('hex').slice(0, n)

function fail(p: EndpointProblem | undefined): void {
  if (p) throw ec2Error(p.code, p.message)
}

/**
 * The endpoint as DescribeVpcEndpoints lists it. An interface endpoint has a network interface per
 * subnet and DNS entries in this order: the regional endpoint-specific name, one zonal name per
 * subnet's Availability Zone, then the private names (API_DnsEntry; privatelink
 * "DNS hostnames" in https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html).
 */
export function endpointXml(call: Ec2Call, e: EndpointRecord): string {
  const dnsSuffix = call.s.world.dnsSuffix
  const iface = e.type === 'Interface'
  const regional = endpointDnsName(e, dnsSuffix)
  const label = `${e.id}-${e.dnsLabel}`
  const dns = iface
    ? [
        regional,
        ...endpointZones(call, e).map((az) => regional.replace(label, `${label}-${az}`)),
        ...(e.privateDns && !e.privateDnsOnlyForInboundResolver ? privateDnsNames(e.service, dnsSuffix) : []),
      ]
    : []
  const groups = groupsOf(call)
  // An interface endpoint always has a group: one from the world file (which names none) has the VPC's default.
  const vpc = call.s.vpcs.vpc(e.vpcId)
  const sgs = iface && e.securityGroups.length === 0 && vpc ? [defaultGroupOf(vpc).id] : e.securityGroups
  return (
    el('vpcEndpointId', e.id) +
    el('vpcEndpointType', e.type) +
    el('vpcId', e.vpcId) +
    el('serviceName', e.service) +
    el('state', 'available') +
    el('policyDocument', e.policy) +
    items(
      'routeTableIdSet',
      e.routeTables.map((r) => r),
    ) +
    items('subnetIdSet', e.subnets) +
    items(
      'groupSet',
      sgs.map((g) => el('groupId', g) + el('groupName', groups.find((x) => x.id === g)?.name ?? g)),
    ) +
    (iface ? el('ipAddressType', 'ipv4') : '') +
    (iface
      ? `<dnsOptions>${el('dnsRecordIpType', 'ipv4')}${e.privateDnsOnlyForInboundResolver !== undefined ? el('privateDnsOnlyForInboundResolverEndpoint', e.privateDnsOnlyForInboundResolver) : ''}</dnsOptions>`
      : '') +
    el('privateDnsEnabled', e.privateDns) +
    el('requesterManaged', false) +
    items('networkInterfaceIdSet', iface ? e.subnets.map((sn) => eniId(e.id, sn)) : []) +
    items(
      'dnsEntrySet',
      dns.map((n) => el('dnsName', n) + el('hostedZoneId', hostedZoneId(e.region))),
    ) +
    el('creationTimestamp', e.createdAt) +
    tagSet(e.tags) +
    el('ownerId', e.owner) +
    el('serviceRegion', e.region)
  )
}

/**
 * "To use a private hosted zone, you must set the following VPC attributes to true:
 * enableDnsHostnames and enableDnsSupport" (API_CreateVpcEndpoint, PrivateDnsEnabled); EC2's
 * answer otherwise, as observed, is this InvalidParameter.
 */
function requireDnsAttributes(vpc: VpcRecord): void {
  const dns = vpcDns(vpc)
  if (!dns.support || !dns.hostnames) {
    throw ec2Error('InvalidParameter', `Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for ${vpc.id}`)
  }
}

function checkEndpointId(id: string): void {
  if (!/^vpce-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidVpcEndpointId.Malformed', `Invalid Id: '${id}' (expecting 'vpce-...')`)
}

function notFound(id: string) {
  return ec2Error('InvalidVpcEndpointId.NotFound', `The Vpc Endpoint Id '${id}' does not exist`)
}

/** An endpoint of the caller's account in this region, or undefined. */
function mine(call: Ec2Call, id: string): EndpointRecord | undefined {
  const e = call.s.vpcs.endpoint(id)
  return e && e.owner === call.principal.accountId && e.region === call.region ? e : undefined
}

const createVpcEndpoint: Ec2Op = async (call) => {
  const { params: p, s } = call
  authorizeEc2(call, 'CreateVpcEndpoint', ec2Arn(call, 'vpc-endpoint', '*'))
  const vpc = vpcOf(call, p.req('VpcId'))
  const service = p.req('ServiceName')
  // "Default: Gateway" (API_CreateVpcEndpoint): an s3-global endpoint must say Interface.
  const type = p.opt('VpcEndpointType') ?? 'Gateway'
  const privateDnsGiven = p.bool('PrivateDnsEnabled')
  const privateDns = privateDnsGiven ?? type === 'Interface'
  const subnets = p.list('SubnetId')
  const routeTables = p.list('RouteTableId')
  const groups = p.list('SecurityGroupId')
  const inbound = p.bool('DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint')
  const policy = p.opt('PolicyDocument')
  const ipType = p.opt('IpAddressType')
  if (ipType !== undefined && ipType !== 'ipv4') throw ec2Error('InvalidParameter', `IpAddressType ${ipType} is not supported by the service ${service} in this world (ipv4 only).`)
  const tags = p.tagSpecs('vpc-endpoint')
  // A retry with the same ClientToken returns the endpoint it created (before any other check).
  const token = p.opt('ClientToken')
  const requestHash = hex(JSON.stringify([vpc.id, service, type, privateDns, policy ?? null, subnets, routeTables, groups, inbound ?? null, tags]), 32)
  if (token !== undefined) {
    const prior = s.vpcs.listEndpoints({ owner: call.principal.accountId }).find((e) => e.clientToken === token)
    if (prior) {
      if (prior.requestHash !== requestHash)
        throw ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already created with different parameters.')
      return `<vpcEndpoint>${endpointXml(call, prior)}</vpcEndpoint>${el('clientToken', token)}`
    }
  }
  const others = s.vpcs.listEndpoints({ vpcId: vpc.id })
  fail(
    checkEndpointRequest(s, {
      region: vpc.region,
      type,
      service,
      privateDns,
      policy,
      subnets,
      routeTables,
      ...(inbound !== undefined ? { privateDnsOnlyForInboundResolver: inbound } : {}),
      others,
    }),
  )
  if (type === 'Gateway' && groups.length > 0) throw ec2Error('InvalidParameter', 'Security group IDs are only supported for Interface type VPC Endpoint.')
  if (type === 'Interface') checkPlacement(call, vpc, subnets, groups)
  if (type === 'Interface' && privateDns) requireDnsAttributes(vpc)
  dryRunCheck(call)

  const rec = s.vpcs.newEndpoint({
    vpcId: vpc.id,
    owner: vpc.owner,
    region: vpc.region,
    type: type as EndpointType,
    service,
    policy: policy ?? defaultEndpointPolicy(type as EndpointType),
    privateDns,
    subnets,
    routeTables,
    tags,
    // Interface endpoints get the VPC's default security group when none is given.
    securityGroups: type === 'Interface' ? (groups.length > 0 ? groups : [defaultGroupOf(vpc).id]) : [],
    createdAt: s.clock().toISOString(),
    // S3 interface endpoints: with private DNS on and a gateway present, in-VPC traffic keeps using the gateway.
    ...(type === 'Interface' && service !== 'com.amazonaws.s3-global.accesspoint' && privateDns
      ? { privateDnsOnlyForInboundResolver: inbound ?? others.some((o) => o.type === 'Gateway' && o.service === service) }
      : {}),
    ...(token !== undefined ? { clientToken: token, requestHash } : {}),
  })
  await s.vpcs.putEndpoint(rec)
  return `<vpcEndpoint>${endpointXml(call, rec)}</vpcEndpoint>${el('clientToken', token)}`
}

const modifyVpcEndpoint: Ec2Op = async (call) => {
  const { params: p, s } = call
  const id = p.req('VpcEndpointId')
  checkEndpointId(id)
  authorizeEc2(call, 'ModifyVpcEndpoint', ec2Arn(call, 'vpc-endpoint', id))
  const cur = mine(call, id)
  if (!cur) throw notFound(id)
  const next: EndpointRecord = { ...cur }
  const reset = p.bool('ResetPolicy')
  const policy = p.opt('PolicyDocument')
  if (reset === true && policy !== undefined) throw ec2Error('InvalidParameterCombination', 'ResetPolicy and PolicyDocument cannot be specified together.')
  if (reset === true) next.policy = defaultEndpointPolicy(cur.type)
  if (policy !== undefined) {
    fail(checkEndpointPolicy(s, policy))
    next.policy = policy
  }
  const others = s.vpcs.listEndpoints({ vpcId: cur.vpcId }).filter((e) => e.id !== cur.id)
  const privateDns = p.bool('PrivateDnsEnabled')
  if (privateDns !== undefined) {
    if (cur.type !== 'Interface') throw ec2Error('InvalidParameter', 'Private DNS can only be enabled for Interface type VPC Endpoint.')
    if (privateDns && !cur.privateDns) {
      fail(checkEndpointRequest(s, { region: cur.region, type: cur.type, service: cur.service, privateDns: true, policy: undefined, subnets: [], routeTables: [], others }))
      const vpc = s.vpcs.vpc(cur.vpcId)
      if (vpc) requireDnsAttributes(vpc)
    }
    next.privateDns = privateDns
  }
  const inbound = p.bool('DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint')
  if (inbound !== undefined) {
    fail(
      checkEndpointRequest(s, {
        region: cur.region,
        type: cur.type,
        service: cur.service,
        privateDns: false,
        policy: undefined,
        subnets: [],
        routeTables: [],
        privateDnsOnlyForInboundResolver: inbound,
        others,
      }),
    )
    next.privateDnsOnlyForInboundResolver = inbound
  }
  const edit = (list: string[], add: string, remove: string, kind: EndpointType | undefined, what: string): string[] => {
    const a = p.list(add),
      r = p.list(remove)
    if ((a.length > 0 || r.length > 0) && kind !== undefined && cur.type !== kind) throw ec2Error('InvalidParameter', `${what} are only supported for ${kind} type VPC Endpoint.`)
    return [...list.filter((x) => !r.includes(x)), ...a.filter((x) => !list.includes(x))]
  }
  next.subnets = edit(cur.subnets, 'AddSubnetId', 'RemoveSubnetId', 'Interface', 'Subnet IDs')
  next.routeTables = edit(cur.routeTables, 'AddRouteTableId', 'RemoveRouteTableId', 'Gateway', 'Route table IDs')
  next.securityGroups = edit(cur.securityGroups, 'AddSecurityGroupId', 'RemoveSecurityGroupId', 'Interface', 'Security group IDs')
  const vpc = s.vpcs.vpc(cur.vpcId)
  if (vpc && cur.type === 'Interface') {
    // The added ones must exist in the VPC, and the subnets it ends with keep one per zone (subnet
    // ids a world file recorded without a subnet behind them are left as they are).
    const added = p.list('AddSubnetId')
    checkPlacement(
      call,
      vpc,
      next.subnets.filter((x) => added.includes(x) || s.vpcs.subnets.has(x)),
      p.list('AddSecurityGroupId'),
    )
  }
  dryRunCheck(call)
  if (JSON.stringify(next) !== JSON.stringify(cur)) await s.vpcs.putEndpoint(next)
  return el('return', true)
}

const ENDPOINT_FILTERS = ['service-name', 'vpc-id', 'vpc-endpoint-id', 'vpc-endpoint-state', 'vpc-endpoint-type', 'ip-address-type', 'service-region'] as const

const describeVpcEndpoints: Ec2Op = (call) => {
  const { params: p, s } = call
  authorizeEc2(call, 'DescribeVpcEndpoints', '*')
  dryRunCheck(call)
  const ids = p.list('VpcEndpointId')
  ids.forEach(checkEndpointId)
  const all = s.vpcs.listEndpoints({ owner: call.principal.accountId, region: call.region })
  let list = all
  if (ids.length > 0) {
    const missing = ids.find((id) => !all.some((e) => e.id === id))
    if (missing !== undefined) throw notFound(missing)
    list = all.filter((e) => ids.includes(e.id))
  }
  list = applyFilters(list, p.filters(), ENDPOINT_FILTERS, (name, e) => {
    switch (name) {
      case 'service-name':
        return [e.service]
      case 'vpc-id':
        return [e.vpcId]
      case 'vpc-endpoint-id':
        return [e.id]
      case 'vpc-endpoint-state':
        return ['available']
      case 'vpc-endpoint-type':
        return [e.type]
      case 'ip-address-type':
        return e.type === 'Interface' ? ['ipv4'] : []
      case 'service-region':
        return [e.region]
      default:
        return tagFilter(name, e.tags) ?? []
    }
  })
  const { page, next } = paginate(list, p.int('MaxResults'), p.opt('NextToken'), { min: 1, max: 1000 })
  return (
    items(
      'vpcEndpointSet',
      page.map((e) => endpointXml(call, e)),
    ) + el('nextToken', next)
  )
}

const deleteVpcEndpoints: Ec2Op = async (call) => {
  const { params: p, s } = call
  const ids = p.list('VpcEndpointId')
  if (ids.length === 0) throw ec2Error('MissingParameter', 'The request must contain the parameter VpcEndpointId')
  ids.forEach(checkEndpointId)
  for (const id of ids) authorizeEc2(call, 'DeleteVpcEndpoints', ec2Arn(call, 'vpc-endpoint', id))
  dryRunCheck(call)
  // Unknown ids do not fail the call: they are listed as unsuccessful (InvalidVpcEndpointId.NotFound).
  const unsuccessful: string[] = []
  for (const id of ids) {
    if (!mine(call, id)) {
      const e = notFound(id)
      unsuccessful.push(`<error>${el('code', e.code)}${el('message', e.message)}</error>${el('resourceId', id)}`)
      continue
    }
    await s.vpcs.deleteEndpoint(id)
  }
  return items('unsuccessful', unsuccessful)
}

const SERVICE_FILTERS = ['service-name', 'service-type', 'service-region', 'owner'] as const

const describeVpcEndpointServices: Ec2Op = (call) => {
  const { params: p, s } = call
  authorizeEc2(call, 'DescribeVpcEndpointServices', '*')
  dryRunCheck(call)
  const names = p.list('ServiceName')
  let list = offeredServices(s, call.region)
  for (const n of names) if (!list.some((x) => x.name === n)) throw ec2Error('InvalidServiceName', `The Vpc Endpoint Service '${n}' does not exist`)
  if (names.length > 0) list = list.filter((x) => names.includes(x.name))
  // EC2 lists one detail per (service, type): regional S3 appears as a Gateway and an Interface service.
  const details = list.flatMap((x) => x.types.map((t) => ({ ...x, type: t })))
  const filtered = applyFilters(details, p.filters(), SERVICE_FILTERS, (name, d) => {
    switch (name) {
      case 'service-name':
        return [d.name]
      case 'service-type':
        return [d.type]
      case 'service-region':
        return [call.region]
      case 'owner':
        return ['amazon']
      default:
        return []
    }
  })
  const { page, next } = paginate(filtered, p.int('MaxResults'), p.opt('NextToken'), { min: 5, max: 1000 })
  const azs = ['a', 'b', 'c'].map((z) => el('item', `${call.region}${z}`)).join('')
  const detail = (d: (typeof details)[number]): string => {
    const iface = d.type === 'Interface'
    const base = d.name === 'com.amazonaws.s3-global.accesspoint' ? `accesspoint.s3-global.${call.region}.vpce.${s.world.dnsSuffix}` : `s3.${call.region}.vpce.${s.world.dnsSuffix}`
    return (
      el('serviceName', d.name) +
      el('serviceId', `vpce-svc-${hex(`${d.name}:${d.type}:${call.region}`)}`) +
      items('serviceType', [el('serviceType', d.type)]) +
      el('serviceRegion', call.region) +
      `<availabilityZoneSet>${azs}</availabilityZoneSet>` +
      el('owner', 'amazon') +
      items('baseEndpointDnsNameSet', iface ? [esc(base)] : [esc(`s3.${call.region}.${s.world.dnsSuffix}`)]) +
      (iface && d.privateDnsName ? el('privateDnsName', d.privateDnsName) + items('privateDnsNameSet', [el('privateDnsName', d.privateDnsName)]) : '') +
      el('vpcEndpointPolicySupported', true) +
      el('acceptanceRequired', false) +
      el('managesVpcEndpoints', false) +
      items('supportedIpAddressTypeSet', [esc('ipv4')]) +
      tagSet({}) +
      (iface && d.privateDnsName ? el('privateDnsNameVerificationState', 'verified') : '')
    )
  }
  const serviceNames = [...new Set(page.map((d) => d.name))]
  return items('serviceNameSet', serviceNames.map(esc)) + items('serviceDetailSet', page.map(detail)) + el('nextToken', next)
}

/** Text content of an `<item>` (already inside the item element). */

export const endpointOps: Record<string, Ec2Op> = {
  CreateVpcEndpoint: createVpcEndpoint,
  ModifyVpcEndpoint: modifyVpcEndpoint,
  DescribeVpcEndpoints: describeVpcEndpoints,
  DeleteVpcEndpoints: deleteVpcEndpoints,
  DescribeVpcEndpointServices: describeVpcEndpointServices,
}

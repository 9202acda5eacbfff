/**
 * @module EC2 CreateSubnet, DescribeSubnets, DeleteSubnet, and the placement checks an interface
 * endpoint's subnets and security groups go through (CreateVpcEndpoint, ModifyVpcEndpoint).
 * A subnet is a CIDR block inside its VPC's, /16 to /28, in one Availability Zone of the region,
 * overlapping no other subnet of the VPC; AWS reserves five addresses of each.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
 */

import { availabilityZones, block, newNetId, overlaps, type SecurityGroupRecord, type SubnetRecord, within } from '../network/subnets.js'
import type { EndpointRecord, VpcRecord } from '../network/vpcs.js'
import { authorizeEc2, dryRunCheck, type Ec2Call, type Ec2Op, ec2Arn } from './call.js'
import { groupsOf } from './group-ops.js'
import { applyFilters, ec2Error, el, items, paginate, tagFilter, tagSet } from './query.js'
import { vpcOf } from './vpc-ops.js'

export function subnetArn(call: Ec2Call, sn: SubnetRecord): string {
  return `arn:${call.s.world.partition}:ec2:${sn.region}:${sn.owner}:subnet/${sn.id}`
}

function zoneId(sn: SubnetRecord): string {
  return availabilityZones(sn.region).find((z) => z.name === sn.availabilityZone)?.id ?? ''
}

function subnetXml(call: Ec2Call, sn: SubnetRecord): string {
  const b = block(sn.cidr)!
  // Each endpoint network interface in the subnet takes one of its addresses.
  const enis = call.s.vpcs.listEndpoints({ vpcId: sn.vpcId }).filter((e) => e.type === 'Interface' && e.subnets.includes(sn.id)).length
  return (
    el('subnetId', sn.id) +
    el('subnetArn', subnetArn(call, sn)) +
    el('state', 'available') +
    el('vpcId', sn.vpcId) +
    el('ownerId', sn.owner) +
    el('cidrBlock', sn.cidr) +
    items('ipv6CidrBlockAssociationSet', []) +
    el('availableIpAddressCount', b.size - 5 - enis) +
    el('availabilityZone', sn.availabilityZone) +
    el('availabilityZoneId', zoneId(sn)) +
    el('defaultForAz', false) +
    el('mapPublicIpOnLaunch', false) +
    el('mapCustomerOwnedIpOnLaunch', false) +
    el('assignIpv6AddressOnCreation', false) +
    el('enableDns64', false) +
    el('ipv6Native', false) +
    `<privateDnsNameOptionsOnLaunch>${el('hostnameType', 'ip-name')}${el('enableResourceNameDnsARecord', false)}${el('enableResourceNameDnsAAAARecord', false)}</privateDnsNameOptionsOnLaunch>` +
    tagSet(sn.tags)
  )
}

/** `subnet-` ids as EC2 checks them before looking them up. */
function checkSubnetId(id: string): void {
  if (!/^subnet-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`)
}

function subnetNotFound(ids: string[]) {
  return ec2Error('InvalidSubnetID.NotFound', ids.length > 1 ? `The subnet IDs '${ids.join(', ')}' do not exist` : `The subnet ID '${ids[0]}' does not exist`)
}

/** The caller's subnets in this region. */
function mySubnets(call: Ec2Call): SubnetRecord[] {
  return call.s.vpcs.subnets.list((x) => x.owner === call.principal.accountId && x.region === call.region)
}

const createSubnet: Ec2Op = async (call) => {
  const { params: p, s } = call
  authorizeEc2(call, 'CreateSubnet', ec2Arn(call, 'subnet', '*'))
  const vpc = vpcOf(call, p.req('VpcId'))
  const cidr = p.req('CidrBlock')
  const b = block(cidr)
  if (!b?.aligned) throw ec2Error('InvalidParameterValue', `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`)
  const vb = block(vpc.cidr)
  if (b.prefix < 16 || b.prefix > 28 || !vb || !within(b, vb)) throw ec2Error('InvalidSubnet.Range', `The CIDR '${cidr}' is invalid.`)
  const zones = availabilityZones(vpc.region)
  const azName = p.opt('AvailabilityZone')
  const azId = p.opt('AvailabilityZoneId')
  if (azName !== undefined && azId !== undefined) throw ec2Error('InvalidParameterCombination', 'Only one of availabilityZone or availabilityZoneId may be specified.')
  let zone = zones[0]!
  if (azName !== undefined || azId !== undefined) {
    const hit = zones.find((z) => (azName !== undefined ? z.name === azName : z.id === azId))
    if (!hit) {
      const [param, value, names] = azName !== undefined ? ['availabilityZone', azName, zones.map((z) => z.name)] : ['availabilityZoneId', azId, zones.map((z) => z.id)]
      throw ec2Error(
        'InvalidParameterValue',
        `Value (${value as string}) for parameter ${param as string} is invalid. Subnets can currently only be created in the following availability zones: ${(names as string[]).join(', ')}.`,
      )
    }
    zone = hit
  } else {
    // EC2 chooses a zone when none is given: here the first of the fewest subnets of this VPC.
    const count = (z: string) => s.vpcs.subnets.list((x) => x.vpcId === vpc.id && x.availabilityZone === z).length
    zone = zones.reduce((best, z) => (count(z.name) < count(best.name) ? z : best), zones[0]!)
  }
  if (s.vpcs.subnets.list((x) => x.vpcId === vpc.id).some((x) => overlaps(block(x.cidr)!, b))) {
    throw ec2Error('InvalidSubnet.Conflict', `The CIDR '${cidr}' conflicts with another subnet`)
  }
  const tags = p.tagSpecs('subnet')
  dryRunCheck(call)
  let id = newNetId('subnet')
  while (s.vpcs.subnets.has(id)) id = newNetId('subnet')
  const rec: SubnetRecord = { id, vpcId: vpc.id, owner: vpc.owner, region: vpc.region, cidr, availabilityZone: zone.name, tags, createdAt: s.clock().toISOString() }
  await s.vpcs.subnets.put(rec)
  return `<subnet>${subnetXml(call, rec)}</subnet>`
}

const SUBNET_FILTERS = [
  'subnet-id',
  'vpc-id',
  'cidr',
  'cidr-block',
  'cidrBlock',
  'availability-zone',
  'availability-zone-id',
  'availabilityZone',
  'state',
  'owner-id',
  'default-for-az',
  'defaultForAz',
  'subnet-arn',
  'available-ip-address-count',
] as const

const describeSubnets: Ec2Op = (call) => {
  const { params: p } = call
  authorizeEc2(call, 'DescribeSubnets', '*')
  dryRunCheck(call)
  const ids = p.list('SubnetId')
  ids.forEach(checkSubnetId)
  const mine = mySubnets(call)
  let list = mine
  if (ids.length > 0) {
    const missing = ids.filter((id) => !mine.some((x) => x.id === id))
    if (missing.length > 0) throw subnetNotFound(missing)
    list = mine.filter((x) => ids.includes(x.id))
  }
  list = applyFilters(list, p.filters(), SUBNET_FILTERS, (name, sn) => {
    switch (name) {
      case 'subnet-id':
        return [sn.id]
      case 'vpc-id':
        return [sn.vpcId]
      case 'cidr':
      case 'cidr-block':
      case 'cidrBlock':
        return [sn.cidr]
      case 'availability-zone':
      case 'availabilityZone':
        return [sn.availabilityZone]
      case 'availability-zone-id':
        return [zoneId(sn)]
      case 'state':
        return ['available']
      case 'owner-id':
        return [sn.owner]
      case 'default-for-az':
      case 'defaultForAz':
        return ['false']
      case 'subnet-arn':
        return [subnetArn(call, sn)]
      case 'available-ip-address-count':
        return [String(block(sn.cidr)!.size - 5)]
      default:
        return tagFilter(name, sn.tags) ?? []
    }
  })
  const { page, next } = paginate(list, p.int('MaxResults'), p.opt('NextToken'), { min: 5, max: 1000 })
  return (
    items(
      'subnetSet',
      page.map((sn) => subnetXml(call, sn)),
    ) + el('nextToken', next)
  )
}

const deleteSubnet: Ec2Op = async (call) => {
  const { params: p, s } = call
  const id = p.req('SubnetId')
  checkSubnetId(id)
  const sn = mySubnets(call).find((x) => x.id === id)
  authorizeEc2(call, 'DeleteSubnet', sn ? subnetArn(call, sn) : ec2Arn(call, 'subnet', id))
  if (!sn) throw subnetNotFound([id])
  dryRunCheck(call)
  // An endpoint's network interface in the subnet keeps it (docs/decisions/vpc-network.md §Subnets).
  if (s.vpcs.listEndpoints({ vpcId: sn.vpcId }).some((e) => e.subnets.includes(sn.id))) {
    throw ec2Error('DependencyViolation', `The subnet '${sn.id}' has dependencies and cannot be deleted.`)
  }
  await s.vpcs.subnets.delete(sn.id)
  return el('return', true)
}

const ZONE_FILTERS = ['zone-name', 'zone-id', 'state', 'region-name', 'zone-type', 'group-name', 'opt-in-status'] as const

/**
 * The region's zones, which scripts read to spread subnets over them.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html
 */
const describeAvailabilityZones: Ec2Op = (call) => {
  const { params: p } = call
  authorizeEc2(call, 'DescribeAvailabilityZones', '*')
  dryRunCheck(call)
  const zones = availabilityZones(call.region)
  const names = p.list('ZoneName'),
    ids = p.list('ZoneId')
  const unknown = [...names.filter((n) => !zones.some((z) => z.name === n)), ...ids.filter((i) => !zones.some((z) => z.id === i))]
  if (unknown.length > 0) throw ec2Error('InvalidParameterValue', `Invalid availability zone: [${unknown.join(', ')}]`)
  const picked = names.length + ids.length === 0 ? zones : zones.filter((z) => names.includes(z.name) || ids.includes(z.id))
  const list = applyFilters(picked, p.filters(), ZONE_FILTERS, (name, z) => {
    switch (name) {
      case 'zone-name':
        return [z.name]
      case 'zone-id':
        return [z.id]
      case 'state':
        return ['available']
      case 'region-name':
      case 'group-name':
        return [call.region]
      case 'zone-type':
        return ['availability-zone']
      case 'opt-in-status':
        return ['opt-in-not-required']
      default:
        return []
    }
  })
  return items(
    'availabilityZoneInfo',
    list.map(
      (z) =>
        el('zoneName', z.name) +
        el('zoneState', 'available') +
        el('regionName', call.region) +
        '<messageSet/>' +
        el('zoneId', z.id) +
        el('zoneType', 'availability-zone') +
        el('optInStatus', 'opt-in-not-required') +
        el('groupName', call.region) +
        el('networkBorderGroup', call.region),
    ),
  )
}

export const subnetOps: Record<string, Ec2Op> = {
  CreateSubnet: createSubnet,
  DescribeSubnets: describeSubnets,
  DeleteSubnet: deleteSubnet,
  DescribeAvailabilityZones: describeAvailabilityZones,
}

/**
 * The subnets and security groups of an interface endpoint, as CreateVpcEndpoint and
 * ModifyVpcEndpoint check them: each exists (the caller's, this region), belongs to the
 * endpoint's VPC, and no two subnets share an Availability Zone.
 */
export function checkPlacement(call: Ec2Call, vpc: VpcRecord, subnets: string[], groups: string[]): void {
  const mine = mySubnets(call)
  const seen = new Map<string, string>()
  for (const id of subnets) {
    if (!/^subnet-[0-9a-z]{1,32}$/.test(id)) {
      throw ec2Error(
        'InvalidSubnetId.Malformed',
        `Invalid Subnet Id: '${id}' (expecting 'subnet-...; the Id may only contain lowercase alphanumeric characters and a single dash')`,
      )
    }
    const sn = mine.find((x) => x.id === id)
    if (!sn) throw subnetNotFound([id])
    if (sn.vpcId !== vpc.id) throw ec2Error('InvalidParameter', `The subnet ID '${id}' does not belong to the VPC ${vpc.id}.`)
    const other = seen.get(sn.availabilityZone)
    if (other !== undefined && other !== id) {
      throw ec2Error(
        'DuplicateSubnetsInSameZone',
        `Found another VPC endpoint subnet in the availability zone of ${other}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.`,
      )
    }
    seen.set(sn.availabilityZone, id)
  }
  const known: SecurityGroupRecord[] = groupsOf(call)
  for (const id of groups) {
    if (!/^sg-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`)
    const g = known.find((x) => x.id === id)
    if (!g) throw ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
    if (g.vpcId !== vpc.id) throw ec2Error('InvalidParameter', `Security group ${id} and VPC endpoint's VPC ${vpc.id} belong to different networks.`)
  }
}

/** The zonal DNS names of an interface endpoint follow its subnets' zones (known subnets only). */
export function endpointZones(call: Ec2Call, e: EndpointRecord): string[] {
  return e.subnets.map((id) => call.s.vpcs.subnets.get(id)?.availabilityZone).filter((z): z is string => z !== undefined)
}

/**
 * @module EC2 DescribeNetworkInterfaces for the network interfaces interface endpoints place in
 * their subnets (the only interfaces mrap has): requester-managed, type `vpc_endpoint`, in use,
 * with the endpoint's security groups and a stable private address in the subnet. Scripts read
 * them to find an endpoint's addresses. Interfaces in subnet ids a world file recorded without a
 * subnet behind them are not listed (there is no zone or range to give them).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
 * https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
 */
import { defaultGroupOf, eniAddress, eniId, type SubnetRecord } from '../network/subnets.js'
import type { EndpointRecord } from '../network/vpcs.js'
import { authorizeEc2, dryRunCheck, type Ec2Call, type Ec2Op } from './call.js'
import { groupsOf } from './group-ops.js'
import { applyFilters, ec2Error, el, items, paginate, tagSet } from './query.js'

interface Eni {
  id: string
  endpoint: EndpointRecord
  subnet: SubnetRecord
  address: string
  groups: string[]
}

/** The caller's endpoint interfaces in this region. */
function enis(call: Ec2Call): Eni[] {
  const { s } = call
  const out: Eni[] = []
  for (const e of s.vpcs.listEndpoints({ owner: call.principal.accountId, region: call.region })) {
    if (e.type !== 'Interface') continue
    const vpc = s.vpcs.vpc(e.vpcId)
    for (const id of e.subnets) {
      const subnet = s.vpcs.subnets.get(id)
      if (!subnet) continue
      const eni = eniId(e.id, id)
      const groups = e.securityGroups.length > 0 ? e.securityGroups : vpc ? [defaultGroupOf(vpc).id] : []
      out.push({ id: eni, endpoint: e, subnet, address: eniAddress(subnet.cidr, eni) ?? '', groups })
    }
  }
  return out
}

/** EC2's internal host name of an address (`ec2.internal` in us-east-1, `<region>.compute.internal` elsewhere). */
function privateDnsName(address: string, region: string): string {
  return `ip-${address.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`
}

function eniXml(call: Ec2Call, n: Eni): string {
  const names = new Map(groupsOf(call).map((g) => [g.id, g.name]))
  const dns = privateDnsName(n.address, n.subnet.region)
  const mac = `02:${n.id.slice(4, 14).match(/../g)!.join(':')}`
  return (
    el('networkInterfaceId', n.id) +
    el('subnetId', n.subnet.id) +
    el('vpcId', n.subnet.vpcId) +
    el('availabilityZone', n.subnet.availabilityZone) +
    el('description', `VPC Endpoint Interface ${n.endpoint.id}`) +
    el('ownerId', n.endpoint.owner) +
    el('requesterManaged', true) +
    el('status', 'in-use') +
    el('macAddress', mac) +
    el('privateIpAddress', n.address) +
    el('privateDnsName', dns) +
    el('sourceDestCheck', true) +
    items(
      'groupSet',
      n.groups.map((g) => el('groupId', g) + el('groupName', names.get(g) ?? g)),
    ) +
    tagSet({}) +
    items('privateIpAddressesSet', [el('privateIpAddress', n.address) + el('privateDnsName', dns) + el('primary', true)]) +
    items('ipv6AddressesSet', []) +
    el('interfaceType', 'vpc_endpoint')
  )
}

const ENI_FILTERS = [
  'network-interface-id',
  'subnet-id',
  'vpc-id',
  'availability-zone',
  'interface-type',
  'description',
  'requester-managed',
  'status',
  'private-ip-address',
  'addresses.private-ip-address',
  'group-id',
  'owner-id',
  'private-dns-name',
] as const

const describeNetworkInterfaces: Ec2Op = (call) => {
  const { params: p } = call
  authorizeEc2(call, 'DescribeNetworkInterfaces', '*')
  dryRunCheck(call)
  const ids = p.list('NetworkInterfaceId')
  for (const id of ids) if (!/^eni-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`)
  const all = enis(call)
  let list = all
  if (ids.length > 0) {
    const missing = ids.find((id) => !all.some((n) => n.id === id))
    if (missing !== undefined) throw ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${missing}' does not exist`)
    list = all.filter((n) => ids.includes(n.id))
  }
  list = applyFilters(list, p.filters(), ENI_FILTERS, (name, n) => {
    switch (name) {
      case 'network-interface-id':
        return [n.id]
      case 'subnet-id':
        return [n.subnet.id]
      case 'vpc-id':
        return [n.subnet.vpcId]
      case 'availability-zone':
        return [n.subnet.availabilityZone]
      case 'interface-type':
        return ['vpc_endpoint']
      case 'description':
        return [`VPC Endpoint Interface ${n.endpoint.id}`]
      case 'requester-managed':
        return ['true']
      case 'status':
        return ['in-use']
      case 'private-ip-address':
      case 'addresses.private-ip-address':
        return [n.address]
      case 'group-id':
        return n.groups
      case 'owner-id':
        return [n.endpoint.owner]
      case 'private-dns-name':
        return [privateDnsName(n.address, n.subnet.region)]
      default:
        return []
    }
  })
  const { page, next } = paginate(list, p.int('MaxResults'), p.opt('NextToken'), { min: 5, max: 1000 })
  return (
    items(
      'networkInterfaceSet',
      page.map((n) => eniXml(call, n)),
    ) + el('nextToken', next)
  )
}

export const eniOps: Record<string, Ec2Op> = { DescribeNetworkInterfaces: describeNetworkInterfaces }

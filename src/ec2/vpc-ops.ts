/**
 * @module EC2 CreateVpc, DescribeVpcs, DeleteVpc. A VPC lives in one region and account; a VPC
 * created here has no path to the internet (like a new VPC without an internet gateway) unless it
 * is tagged `mrap:internet=true` (internet gateways and routes are not modelled: docs/aws/privatelink.md §Network model).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcAttribute.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcAttribute.html
 * https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html (DNS attributes)
 */
import { createHash } from 'node:crypto'
import { parseCidr, type VpcRecord } from '../network/vpcs.js'
import { authorizeEc2, dryRunCheck, type Ec2Call, type Ec2Op, ec2Arn } from './call.js'
import { applyFilters, ec2Error, el, items, paginate, tagFilter, tagSet } from './query.js'

export const INTERNET_TAG = 'mrap:internet'

function hexOf(id: string, what: string, n = 17): string {
  return createHash('sha256').update(`${what}:${id}`).digest('hex').slice(0, n)
}

export function vpcXml(v: VpcRecord): string {
  return (
    el('vpcId', v.id) +
    el('ownerId', v.owner) +
    el('state', 'available') +
    el('cidrBlock', v.cidr) +
    items('cidrBlockAssociationSet', [
      el('cidrBlock', v.cidr) + el('associationId', `vpc-cidr-assoc-${hexOf(v.id, 'assoc')}`) + '<cidrBlockState><state>associated</state></cidrBlockState>',
    ]) +
    items('ipv6CidrBlockAssociationSet', []) +
    el('dhcpOptionsId', `dopt-${hexOf(v.region, 'dopt')}`) +
    el('instanceTenancy', 'default') +
    el('isDefault', false) +
    tagSet(v.tags)
  )
}

/** `vpc-` ids as EC2 checks them before looking them up. */
export function checkVpcId(id: string): void {
  if (!/^vpc-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidVpcID.Malformed', `Invalid id: "${id}" (expecting "vpc-...")`)
}

/** The VPC's DNS attributes (a VPC without them, from the world file or older state, has both on). */
export function vpcDns(v: VpcRecord): { support: boolean; hostnames: boolean } {
  return { support: v.dnsSupport ?? true, hostnames: v.dnsHostnames ?? true }
}

export function vpcOf(call: Ec2Call, id: string): VpcRecord {
  checkVpcId(id)
  const v = call.s.vpcs.vpc(id)
  if (!v || v.owner !== call.principal.accountId || v.region !== call.region) throw ec2Error('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`)
  return v
}

const createVpc: Ec2Op = async (call) => {
  const { params: p } = call
  authorizeEc2(call, 'CreateVpc', ec2Arn(call, 'vpc', '*'))
  const cidr = p.req('CidrBlock')
  const c = parseCidr(cidr)
  if (!c) throw ec2Error('InvalidParameterValue', `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`)
  if (c.prefix < 16 || c.prefix > 28) throw ec2Error('InvalidVpc.Range', `The CIDR '${cidr}' is invalid.`)
  const tenancy = p.opt('InstanceTenancy')
  if (tenancy !== undefined && tenancy !== 'default' && tenancy !== 'dedicated')
    throw ec2Error('InvalidParameterValue', `Value (${tenancy}) for parameter instanceTenancy is invalid.`)
  const tags = p.tagSpecs('vpc')
  dryRunCheck(call)
  const rec: VpcRecord = {
    id: call.s.vpcs.newVpcId(),
    owner: call.principal.accountId,
    region: call.region,
    cidr,
    internet: tags[INTERNET_TAG] === 'true',
    tags,
    createdAt: call.s.clock().toISOString(),
    // A nondefault VPC starts with DNS resolution on and DNS hostnames off (AmazonDNS-concepts.html).
    dnsSupport: true,
    dnsHostnames: false,
  }
  await call.s.vpcs.putVpc(rec)
  return `<vpc>${vpcXml(rec)}</vpc>`
}

const VPC_FILTERS = ['vpc-id', 'cidr', 'cidr-block-association.cidr-block', 'state', 'owner-id', 'is-default', 'dhcp-options-id'] as const

const describeVpcs: Ec2Op = (call) => {
  const { params: p } = call
  authorizeEc2(call, 'DescribeVpcs', '*')
  dryRunCheck(call)
  const ids = p.list('VpcId')
  const mine = call.s.vpcs.listVpcs({ owner: call.principal.accountId, region: call.region })
  let list = mine
  if (ids.length > 0) {
    ids.forEach(checkVpcId)
    const missing = ids.filter((id) => !mine.some((v) => v.id === id))
    if (missing.length > 0)
      throw ec2Error('InvalidVpcID.NotFound', `The vpc ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' do${missing.length > 1 ? '' : 'es'} not exist`)
    list = mine.filter((v) => ids.includes(v.id))
  }
  list = applyFilters(list, p.filters(), VPC_FILTERS, (name, v) => {
    switch (name) {
      case 'vpc-id':
        return [v.id]
      case 'cidr':
      case 'cidr-block-association.cidr-block':
        return [v.cidr]
      case 'state':
        return ['available']
      case 'owner-id':
        return [v.owner]
      case 'is-default':
        return ['false']
      case 'dhcp-options-id':
        return [`dopt-${hexOf(v.region, 'dopt')}`]
      default:
        return tagFilter(name, v.tags) ?? []
    }
  })
  const max = p.int('MaxResults')
  if (max !== undefined && ids.length > 0) throw ec2Error('InvalidParameterCombination', 'The parameter vpcIdSet cannot be used with the parameter maxResults')
  const { page, next } = paginate(list, max, p.opt('NextToken'), { min: 5, max: 1000 })
  return items('vpcSet', page.map(vpcXml)) + el('nextToken', next)
}

const deleteVpc: Ec2Op = async (call) => {
  const id = call.params.req('VpcId')
  checkVpcId(id)
  authorizeEc2(call, 'DeleteVpc', ec2Arn(call, 'vpc', id))
  const v = vpcOf(call, id)
  dryRunCheck(call)
  const reg = call.s.vpcs
  // Its default security group goes with it; endpoints, subnets and other groups must go first.
  if (reg.listEndpoints({ vpcId: v.id }).length > 0 || reg.subnets.list((x) => x.vpcId === v.id).length > 0 || reg.groups.list((x) => x.vpcId === v.id).length > 0) {
    throw ec2Error('DependencyViolation', `The vpc '${v.id}' has dependencies and cannot be deleted.`)
  }
  await call.s.vpcs.deleteVpc(v.id)
  return el('return', true)
}

const ATTRIBUTES = { enableDnsSupport: 'EnableDnsSupport', enableDnsHostnames: 'EnableDnsHostnames', enableNetworkAddressUsageMetrics: 'EnableNetworkAddressUsageMetrics' } as const
type Attribute = keyof typeof ATTRIBUTES

function attributeValue(v: VpcRecord, a: Attribute): boolean {
  const dns = vpcDns(v)
  return a === 'enableDnsSupport' ? dns.support : a === 'enableDnsHostnames' ? dns.hostnames : (v.addressUsageMetrics ?? false)
}

/** One attribute per call, as `<attr><value>..</value></attr>`. */
const describeVpcAttribute: Ec2Op = (call) => {
  const { params: p } = call
  const id = p.req('VpcId')
  const attr = p.req('Attribute')
  checkVpcId(id)
  authorizeEc2(call, 'DescribeVpcAttribute', ec2Arn(call, 'vpc', id))
  if (!Object.hasOwn(ATTRIBUTES, attr)) throw ec2Error('InvalidParameterValue', `Value (${attr}) for parameter attribute is invalid. Unknown attribute.`)
  const v = vpcOf(call, id)
  dryRunCheck(call)
  return el('vpcId', v.id) + `<${attr}>${el('value', attributeValue(v, attr as Attribute))}</${attr}>`
}

/** "You cannot modify the DNS resolution and DNS hostnames attributes in the same request." */
const modifyVpcAttribute: Ec2Op = async (call) => {
  const { params: p } = call
  const id = p.req('VpcId')
  checkVpcId(id)
  authorizeEc2(call, 'ModifyVpcAttribute', ec2Arn(call, 'vpc', id))
  const given = (Object.keys(ATTRIBUTES) as Attribute[]).map((a) => [a, p.bool(`${ATTRIBUTES[a]}.Value`)] as const).filter(([, x]) => x !== undefined)
  if (given.length === 0) throw ec2Error('InvalidParameterCombination', 'No attributes specified.')
  if (given.length > 1) throw ec2Error('InvalidParameterCombination', `Fields for multiple attribute types specified: ${given.map(([a]) => a).join(', ')}`)
  const v = vpcOf(call, id)
  const [attr, value] = given[0]!
  // "You can only enable DNS hostnames if you've enabled DNS support." (API_ModifyVpcAttribute)
  if (attr === 'enableDnsHostnames' && value === true && !vpcDns(v).support) {
    throw ec2Error('InvalidParameterValue', `DNS hostnames can only be enabled for ${v.id} if DNS support (enableDnsSupport) is enabled.`)
  }
  dryRunCheck(call)
  const next: VpcRecord = { ...v }
  if (attr === 'enableDnsSupport') next.dnsSupport = value === true
  else if (attr === 'enableDnsHostnames') next.dnsHostnames = value === true
  else next.addressUsageMetrics = value === true
  if (JSON.stringify(next) !== JSON.stringify(v)) await call.s.vpcs.putVpc(next)
  return el('return', true)
}

export const vpcOps: Record<string, Ec2Op> = {
  CreateVpc: createVpc,
  DescribeVpcs: describeVpcs,
  DeleteVpc: deleteVpc,
  DescribeVpcAttribute: describeVpcAttribute,
  ModifyVpcAttribute: modifyVpcAttribute,
}

/**
 * @module EC2 CreateVpc, DescribeVpcs, DeleteVpc. A VPC lives in one region and account; a VPC
 * created here has no path to the internet (like a new VPC without an internet gateway) unless it
 * is tagged `mrap:internet=true` (internet gateways and routes are not modelled: docs/aws/privatelink.md §Network model).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html
 */
import { createHash } from 'node:crypto'
import { parseCidr, type VpcRecord } from '../network/vpcs.js'
import { authorizeEc2, dryRunCheck, ec2Arn, type Ec2Call, type Ec2Op } from './call.js'
import { applyFilters, ec2Error, el, items, paginate, tagFilter, tagSet } from './query.js'

export const INTERNET_TAG = 'mrap:internet'

function hexOf(id: string, what: string, n = 17): string {
  return createHash('sha256').update(`${what}:${id}`).digest('hex').slice(0, n)
}

export function vpcXml(v: VpcRecord): string {
  return el('vpcId', v.id) + el('ownerId', v.owner) + el('state', 'available') + el('cidrBlock', v.cidr) +
    items('cidrBlockAssociationSet', [el('cidrBlock', v.cidr) + el('associationId', `vpc-cidr-assoc-${hexOf(v.id, 'assoc')}`) + '<cidrBlockState><state>associated</state></cidrBlockState>']) +
    items('ipv6CidrBlockAssociationSet', []) + el('dhcpOptionsId', `dopt-${hexOf(v.region, 'dopt')}`) +
    el('instanceTenancy', 'default') + el('isDefault', false) + tagSet(v.tags)
}

/** `vpc-` ids as EC2 checks them before looking them up. */
export function checkVpcId(id: string): void {
  if (!/^vpc-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidVpcID.Malformed', `Invalid id: "${id}" (expecting "vpc-...")`)
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
  if (tenancy !== undefined && tenancy !== 'default' && tenancy !== 'dedicated') throw ec2Error('InvalidParameterValue', `Value (${tenancy}) for parameter instanceTenancy is invalid.`)
  const tags = p.tagSpecs('vpc')
  dryRunCheck(call)
  const rec: VpcRecord = {
    id: call.s.vpcs.newVpcId(), owner: call.principal.accountId, region: call.region, cidr,
    internet: tags[INTERNET_TAG] === 'true', tags, createdAt: call.s.clock().toISOString(),
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
    if (missing.length > 0) throw ec2Error('InvalidVpcID.NotFound', `The vpc ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' do${missing.length > 1 ? '' : 'es'} not exist`)
    list = mine.filter((v) => ids.includes(v.id))
  }
  list = applyFilters(list, p.filters(), VPC_FILTERS, (name, v) => {
    switch (name) {
      case 'vpc-id': return [v.id]
      case 'cidr': case 'cidr-block-association.cidr-block': return [v.cidr]
      case 'state': return ['available']
      case 'owner-id': return [v.owner]
      case 'is-default': return ['false']
      case 'dhcp-options-id': return [`dopt-${hexOf(v.region, 'dopt')}`]
      default: return tagFilter(name, v.tags) ?? []
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
  if (call.s.vpcs.listEndpoints({ vpcId: v.id }).length > 0) {
    throw ec2Error('DependencyViolation', `The vpc '${v.id}' has dependencies and cannot be deleted.`)
  }
  await call.s.vpcs.deleteVpc(v.id)
  return el('return', true)
}

export const vpcOps: Record<string, Ec2Op> = { CreateVpc: createVpc, DescribeVpcs: describeVpcs, DeleteVpc: deleteVpc }

/**
 * @module EC2 CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup. Groups belong to a
 * VPC; each VPC has its `default` group (derived, never stored: src/network/subnets.ts), which
 * cannot be deleted and goes with its VPC. Rules are not modelled: every group shows AWS's rules
 * of a new group (all egress; the default group also admits its own members). There is no default
 * VPC, so calls that name a group without a VPC are refused as EC2 refuses them in an account
 * without one.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroups.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html
 * https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html
 */
import { defaultGroupOf, newNetId, type SecurityGroupRecord } from '../network/subnets.js'
import { authorizeEc2, dryRunCheck, type Ec2Call, type Ec2Op, ec2Arn } from './call.js'
import { applyFilters, ec2Error, el, items, paginate, tagFilter, tagSet } from './query.js'
import { vpcOf } from './vpc-ops.js'

/** The caller's groups in this region: each VPC's default group, then the groups made. */
export function groupsOf(call: Ec2Call): SecurityGroupRecord[] {
  const { s } = call
  const vpcs = s.vpcs.listVpcs({ owner: call.principal.accountId, region: call.region })
  return [...vpcs.map(defaultGroupOf), ...s.vpcs.groups.list((g) => g.owner === call.principal.accountId && g.region === call.region && vpcs.some((v) => v.id === g.vpcId))]
}

function groupArn(call: Ec2Call, g: SecurityGroupRecord): string {
  return `arn:${call.s.world.partition}:ec2:${g.region}:${g.owner}:security-group/${g.id}`
}

const NO_DEFAULT_VPC = 'No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.'

const perm = (inner: string) => `<item>${el('ipProtocol', '-1')}${inner}</item>`

export function groupXml(call: Ec2Call, g: SecurityGroupRecord): string {
  const self = `<groups><item>${el('userId', g.owner)}${el('groupId', g.id)}</item></groups><ipRanges/><ipv6Ranges/><prefixListIds/>`
  const anywhere = `<groups/><ipRanges><item>${el('cidrIp', '0.0.0.0/0')}</item></ipRanges><ipv6Ranges/><prefixListIds/>`
  return (
    el('ownerId', g.owner) +
    el('groupId', g.id) +
    el('groupName', g.name) +
    el('groupDescription', g.description) +
    el('vpcId', g.vpcId) +
    el('securityGroupArn', groupArn(call, g)) +
    (g.name === 'default' ? `<ipPermissions>${perm(self)}</ipPermissions>` : '<ipPermissions/>') +
    `<ipPermissionsEgress>${perm(anywhere)}</ipPermissionsEgress>` +
    tagSet(g.tags)
  )
}

function checkGroupId(id: string): void {
  if (!/^sg-[0-9a-z]{1,32}$/.test(id)) throw ec2Error('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`)
}

const createSecurityGroup: Ec2Op = async (call) => {
  const { params: p, s } = call
  authorizeEc2(call, 'CreateSecurityGroup', ec2Arn(call, 'security-group', '*'))
  const name = p.req('GroupName')
  const description = p.req('GroupDescription')
  const vpcId = p.opt('VpcId')
  if (vpcId === undefined) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user')
  const vpc = vpcOf(call, vpcId)
  if (name.length > 255) throw ec2Error('InvalidParameterValue', `Value (${name}) for parameter GroupName is invalid. Length exceeds maximum of 255.`)
  if (description.length > 255) throw ec2Error('InvalidParameterValue', `Value (${description}) for parameter GroupDescription is invalid. Length exceeds maximum of 255.`)
  if (name.toLowerCase().startsWith('sg-')) throw ec2Error('InvalidParameterValue', 'Group names may not be in the format sg-*.')
  if (name === 'default') throw ec2Error('InvalidParameterValue', 'Cannot use reserved security group name: default')
  if (groupsOf(call).some((g) => g.vpcId === vpc.id && g.name === name)) {
    throw ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc.id}'`)
  }
  const tags = p.tagSpecs('security-group')
  dryRunCheck(call)
  let id = newNetId('sg')
  while (s.vpcs.groups.has(id)) id = newNetId('sg')
  const rec: SecurityGroupRecord = { id, vpcId: vpc.id, owner: vpc.owner, region: vpc.region, name, description, tags, createdAt: s.clock().toISOString() }
  await s.vpcs.groups.put(rec)
  return el('return', true) + el('groupId', rec.id) + tagSet(rec.tags) + el('securityGroupArn', groupArn(call, rec))
}

const GROUP_FILTERS = ['group-id', 'group-name', 'vpc-id', 'owner-id', 'description'] as const

const describeSecurityGroups: Ec2Op = (call) => {
  const { params: p } = call
  authorizeEc2(call, 'DescribeSecurityGroups', '*')
  dryRunCheck(call)
  if (p.list('GroupName').length > 0) throw ec2Error('VPCIdNotSpecified', NO_DEFAULT_VPC)
  const ids = p.list('GroupId')
  ids.forEach(checkGroupId)
  const mine = groupsOf(call)
  let list = mine
  if (ids.length > 0) {
    const missing = ids.find((id) => !mine.some((g) => g.id === id))
    if (missing !== undefined) throw ec2Error('InvalidGroup.NotFound', `The security group '${missing}' does not exist`)
    list = mine.filter((g) => ids.includes(g.id))
  }
  list = applyFilters(list, p.filters(), GROUP_FILTERS, (name, g) => {
    switch (name) {
      case 'group-id':
        return [g.id]
      case 'group-name':
        return [g.name]
      case 'vpc-id':
        return [g.vpcId]
      case 'owner-id':
        return [g.owner]
      case 'description':
        return [g.description]
      default:
        return tagFilter(name, g.tags) ?? []
    }
  })
  const { page, next } = paginate(list, p.int('MaxResults'), p.opt('NextToken'), { min: 5, max: 1000 })
  return (
    items(
      'securityGroupInfo',
      page.map((g) => groupXml(call, g)),
    ) + el('nextToken', next)
  )
}

const deleteSecurityGroup: Ec2Op = async (call) => {
  const { params: p, s } = call
  const id = p.opt('GroupId')
  if (id === undefined) {
    if (p.opt('GroupName') !== undefined) throw ec2Error('VPCIdNotSpecified', NO_DEFAULT_VPC)
    throw ec2Error('MissingParameter', 'The request must contain the parameter groupName or groupId')
  }
  checkGroupId(id)
  const g = groupsOf(call).find((x) => x.id === id)
  authorizeEc2(call, 'DeleteSecurityGroup', g ? groupArn(call, g) : ec2Arn(call, 'security-group', id))
  if (!g) throw ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
  dryRunCheck(call)
  if (g.name === 'default' && !s.vpcs.groups.has(g.id)) throw ec2Error('CannotDelete', `the specified group: "${g.id}" name: "default" cannot be deleted by a user`)
  // An endpoint's network interfaces hold their groups.
  if (s.vpcs.listEndpoints({ vpcId: g.vpcId }).some((e) => e.securityGroups.includes(g.id))) {
    throw ec2Error('DependencyViolation', `resource ${g.id} has a dependent object`)
  }
  await s.vpcs.groups.delete(g.id)
  return el('return', true) + el('groupId', g.id)
}

export const groupOps: Record<string, Ec2Op> = {
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
}

/** The EC2 API for VPCs and VPC endpoints with the JS SDK v3 (@aws-sdk/client-ec2): shapes, defaults, validation and errors. */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DeleteVpcEndpointsCommand,
  DescribeAvailabilityZonesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointServicesCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  ModifyVpcEndpointCommand,
} from '@aws-sdk/client-ec2'
import { failure, PARTNER_ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'
import { ec2Client, SEED_VPC, SEED_VPCE } from '../network/helpers.js'

const S3_GLOBAL = 'com.amazonaws.s3-global.accesspoint'
/** An interface endpoint's default policy as DescribeVpcEndpoints returns it (test/ec2/default-endpoint-policy.test.ts). */
const DEFAULT_POLICY = '{\n  "Statement": [\n    {\n      "Action": "*", \n      "Effect": "Allow", \n      "Principal": "*", \n      "Resource": "*"\n    }\n  ]\n}'

describe('EC2 API: VPCs and endpoints', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer()
  })
  after(async () => {
    await s.stop()
  })

  /** A VPC with DNS hostnames on (private DNS needs them; a new VPC has them off). */
  async function vpc(cidr = '10.9.0.0/16', name = 'api-test'): Promise<string> {
    const r = await ec2Client(s).send(new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }] }] }))
    await ec2Client(s).send(new ModifyVpcAttributeCommand({ VpcId: r.Vpc!.VpcId!, EnableDnsHostnames: { Value: true } }))
    return r.Vpc!.VpcId!
  }

  test('CreateVpc, DescribeVpcs (ids, filters, pagination), DeleteVpc', async () => {
    const c = ec2Client(s)
    const created = await c.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'one' }] }] }))
    const id = created.Vpc!.VpcId!
    assert.match(id, /^vpc-[0-9a-f]{17}$/)
    assert.equal(created.Vpc!.CidrBlock, '10.1.0.0/16')
    assert.equal(created.Vpc!.OwnerId, '123456789012')
    assert.deepEqual(created.Vpc!.Tags, [{ Key: 'Name', Value: 'one' }])
    const byId = await c.send(new DescribeVpcsCommand({ VpcIds: [id] }))
    assert.deepEqual(
      byId.Vpcs!.map((v) => v.VpcId),
      [id],
    )
    const byTag = await c.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['seed-*'] }] }))
    assert.deepEqual(
      byTag.Vpcs!.map((v) => v.VpcId),
      [SEED_VPC],
    )
    for (let i = 0; i < 5; i++) await vpc(`10.${100 + i}.0.0/16`, `page-${i}`)
    const seen: string[] = []
    let token: string | undefined
    do {
      const page = await c.send(new DescribeVpcsCommand({ MaxResults: 5, ...(token ? { NextToken: token } : {}) }))
      assert.ok(page.Vpcs!.length <= 5)
      seen.push(...page.Vpcs!.map((v) => v.VpcId!))
      token = page.NextToken
    } while (token)
    assert.equal(new Set(seen).size, seen.length)
    assert.ok(seen.length >= 7)
    // Another region's DescribeVpcs does not list us-east-1's VPCs.
    assert.deepEqual((await ec2Client(s, undefined, 'eu-west-1').send(new DescribeVpcsCommand({}))).Vpcs, [])
    await c.send(new DeleteVpcCommand({ VpcId: id }))
    const gone = await failure(() => c.send(new DescribeVpcsCommand({ VpcIds: [id] })))
    assert.equal(gone.name, 'InvalidVpcID.NotFound')
    assert.equal(gone.$metadata.httpStatusCode, 400)
  })

  test('CreateVpc refuses bad CIDRs; DeleteVpc refuses a VPC with endpoints', async () => {
    const c = ec2Client(s)
    assert.equal((await failure(() => c.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/33' })))).name, 'InvalidParameterValue')
    assert.equal((await failure(() => c.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })))).name, 'InvalidVpc.Range')
    assert.equal((await failure(() => c.send(new CreateVpcCommand({} as never)))).name, 'MissingParameter')
    const dep = await failure(() => c.send(new DeleteVpcCommand({ VpcId: SEED_VPC })))
    assert.equal(dep.name, 'DependencyViolation')
    assert.equal((await failure(() => c.send(new DeleteVpcCommand({ VpcId: 'vpc-0123456789abcdef0' })))).name, 'InvalidVpcID.NotFound')
    assert.equal((await failure(() => c.send(new DeleteVpcCommand({ VpcId: 'subnet-1' })))).name, 'InvalidVpcID.Malformed')
  })

  test('CreateVpcEndpoint: Interface with the defaults (full-access policy, private DNS on), and the shape DescribeVpcEndpoints lists', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const sa = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!
    const sb = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.9.2.0/24', AvailabilityZone: 'us-east-1c' }))).Subnet!.SubnetId!
    const sg = (await c.send(new CreateSecurityGroupCommand({ VpcId: v, GroupName: 'vpce', Description: 'vpce' }))).GroupId!
    const r = await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, SubnetIds: [sa, sb], SecurityGroupIds: [sg] }))
    const e = r.VpcEndpoint!
    assert.match(e.VpcEndpointId!, /^vpce-[0-9a-f]{17}$/)
    assert.equal(e.VpcEndpointType, 'Interface')
    assert.equal(e.State, 'available')
    assert.equal(e.PolicyDocument, DEFAULT_POLICY)
    assert.equal(e.PrivateDnsEnabled, true)
    assert.deepEqual(e.SubnetIds, [sa, sb])
    assert.deepEqual(e.Groups, [{ GroupId: sg, GroupName: 'vpce' }])
    assert.equal(e.NetworkInterfaceIds!.length, 2)
    const names = e.DnsEntries!.map((d) => d.DnsName)
    assert.match(names[0]!, new RegExp(`^${e.VpcEndpointId}-[a-z0-9]{8}\\.accesspoint\\.s3-global\\.us-east-1\\.vpce\\.amazonaws\\.com$`))
    // One zonal name per subnet's zone, then the private name (API_DnsEntry).
    assert.equal(names[1], names[0]!.replace('.accesspoint', '-us-east-1a.accesspoint'))
    assert.equal(names[2], names[0]!.replace('.accesspoint', '-us-east-1c.accesspoint'))
    assert.equal(names[3], '*.accesspoint.s3-global.amazonaws.com')
    const listed = await c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [e.VpcEndpointId!] }))
    assert.deepEqual(listed.VpcEndpoints![0]!.DnsEntries, e.DnsEntries)
    const filtered = await c.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [v] },
          { Name: 'service-name', Values: [S3_GLOBAL] },
        ],
      }),
    )
    assert.deepEqual(
      filtered.VpcEndpoints!.map((x) => x.VpcEndpointId),
      [e.VpcEndpointId],
    )
    // A second s3-global endpoint with private DNS would claim the same DNS domain.
    const dup = await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL })))
    assert.equal(dup.name, 'InvalidParameter')
    assert.match(dup.message, /conflicting DNS domain/)
    // Without a group named, an interface endpoint gets the VPC's default group.
    await c.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [e.VpcEndpointId!] }))
    const d = (await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, SubnetIds: [sa] }))).VpcEndpoint!
    assert.deepEqual(
      d.Groups!.map((g) => g.GroupName),
      ['default'],
    )
    await c.send(new DeleteSecurityGroupCommand({ GroupId: sg }))
  })

  test('VPC attributes, subnets and groups with the SDK: the attributes a new VPC has, and each refusal is a 400', async () => {
    // https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html: support on, hostnames off for a nondefault VPC.
    const c = ec2Client(s)
    const v = (await c.send(new CreateVpcCommand({ CidrBlock: '10.12.0.0/16' }))).Vpc!.VpcId!
    assert.equal((await c.send(new DescribeVpcAttributeCommand({ VpcId: v, Attribute: 'enableDnsSupport' }))).EnableDnsSupport!.Value, true)
    assert.equal((await c.send(new DescribeVpcAttributeCommand({ VpcId: v, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames!.Value, false)
    const dns = await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, PrivateDnsEnabled: true })))
    assert.equal(dns.name, 'InvalidParameter')
    assert.equal(dns.$metadata.httpStatusCode, 400)
    assert.equal(dns.message, `Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for ${v}`)
    const sn = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.12.0.0/20' }))).Subnet!
    assert.equal(sn.AvailableIpAddressCount, 4091)
    const conflict = await failure(() => c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.12.15.0/24' })))
    assert.equal(conflict.name, 'InvalidSubnet.Conflict')
    assert.equal(conflict.$metadata.httpStatusCode, 400)
    await c.send(new CreateSecurityGroupCommand({ VpcId: v, GroupName: 'g', Description: 'g' }))
    const dup = await failure(() => c.send(new CreateSecurityGroupCommand({ VpcId: v, GroupName: 'g', Description: 'g' })))
    assert.equal(dup.name, 'InvalidGroup.Duplicate')
    assert.equal(dup.$metadata.httpStatusCode, 400)
    await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, PrivateDnsEnabled: false, SubnetIds: [sn.SubnetId!] }))
    const held = await failure(() => c.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId! })))
    assert.equal(held.name, 'DependencyViolation')
    assert.equal(held.$metadata.httpStatusCode, 400)
    assert.equal(held.message, `The subnet '${sn.SubnetId}' has dependencies and cannot be deleted.`)
    // The world file's VPC (no attributes declared) has both on, and its endpoint the VPC's default group.
    assert.equal((await c.send(new DescribeVpcAttributeCommand({ VpcId: SEED_VPC, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames!.Value, true)
    const seedGroups = (await c.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [SEED_VPC] }] }))).SecurityGroups!
    assert.deepEqual(
      seedGroups.map((g) => g.GroupName),
      ['default'],
    )
    const seedEndpoint = (await c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [SEED_VPCE] }))).VpcEndpoints![0]!
    assert.deepEqual(seedEndpoint.Groups, [{ GroupId: seedGroups[0]!.GroupId, GroupName: 'default' }])
    // Another account sees neither the subnet nor the VPC.
    assert.equal((await failure(() => ec2Client(s, PARTNER_ADMIN).send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId! })))).name, 'InvalidSubnetID.NotFound')
  })

  test('DescribeNetworkInterfaces: an interface endpoint has one requester-managed interface per subnet, with an address in it', async () => {
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
    const c = ec2Client(s)
    const v = await vpc('10.14.0.0/16')
    const sa = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.14.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!
    const sb = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.14.2.0/28', AvailabilityZone: 'us-east-1b' }))).Subnet!.SubnetId!
    const e = (await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, SubnetIds: [sa, sb] }))).VpcEndpoint!
    const r = await c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: e.NetworkInterfaceIds }))
    assert.deepEqual(r.NetworkInterfaces!.map((n) => n.NetworkInterfaceId).sort(), [...e.NetworkInterfaceIds!].sort())
    const bySubnet = new Map(r.NetworkInterfaces!.map((n) => [n.SubnetId, n]))
    const a = bySubnet.get(sa)!,
      b = bySubnet.get(sb)!
    assert.equal(a.InterfaceType, 'vpc_endpoint')
    assert.equal(a.RequesterManaged, true)
    assert.equal(a.Status, 'in-use')
    assert.equal(a.VpcId, v)
    assert.equal(a.AvailabilityZone, 'us-east-1a')
    assert.equal(a.Description, `VPC Endpoint Interface ${e.VpcEndpointId}`)
    assert.deepEqual(
      a.Groups!.map((g) => g.GroupName),
      ['default'],
    )
    // Inside the subnet, never one of the four first addresses or the last (subnet-sizing.html).
    const host = (ip: string, prefix: string) => {
      assert.ok(ip.startsWith(prefix), ip)
      return Number(ip.slice(prefix.length))
    }
    const ha = host(a.PrivateIpAddress!, '10.14.1.')
    assert.ok(ha >= 4 && ha <= 254, a.PrivateIpAddress)
    const hb = host(b.PrivateIpAddress!, '10.14.2.')
    assert.ok(hb >= 4 && hb <= 14, b.PrivateIpAddress)
    assert.equal(a.PrivateDnsName, `ip-${a.PrivateIpAddress!.replace(/\./g, '-')}.ec2.internal`)
    const filtered = await c.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [sb] }] }))
    assert.deepEqual(
      filtered.NetworkInterfaces!.map((n) => n.NetworkInterfaceId),
      [b.NetworkInterfaceId],
    )
    const missing = await failure(() => c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })))
    assert.equal(missing.name, 'InvalidNetworkInterfaceID.NotFound')
    assert.equal(missing.$metadata.httpStatusCode, 400)
    assert.equal(missing.message, "The networkInterface ID 'eni-0123456789abcdef0' does not exist")
  })

  test('DescribeAvailabilityZones lists the zones subnets may use', async () => {
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html
    const c = ec2Client(s, undefined, 'eu-west-1')
    const r = await c.send(new DescribeAvailabilityZonesCommand({}))
    assert.deepEqual(
      r.AvailabilityZones!.map((z) => [z.ZoneName, z.ZoneId, z.State, z.RegionName]),
      [
        ['eu-west-1a', 'euw1-az1', 'available', 'eu-west-1'],
        ['eu-west-1b', 'euw1-az2', 'available', 'eu-west-1'],
        ['eu-west-1c', 'euw1-az3', 'available', 'eu-west-1'],
      ],
    )
    const bad = await failure(() => c.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['us-east-1a'] })))
    assert.equal(bad.name, 'InvalidParameterValue')
    assert.equal(bad.$metadata.httpStatusCode, 400)
  })

  test('VpcEndpointType defaults to Gateway, which s3-global does not offer; a gateway for regional S3 works', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const gw = await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, ServiceName: S3_GLOBAL })))
    assert.equal(gw.name, 'InvalidParameter')
    assert.equal(gw.message, 'Endpoint type (Gateway) does not match available service types ([Interface]).')
    const ok = await c.send(new CreateVpcEndpointCommand({ VpcId: v, ServiceName: 'com.amazonaws.us-east-1.s3', RouteTableIds: ['rtb-1'] }))
    assert.equal(ok.VpcEndpoint!.VpcEndpointType, 'Gateway')
    assert.equal(ok.VpcEndpoint!.PrivateDnsEnabled, false)
    assert.deepEqual(ok.VpcEndpoint!.RouteTableIds, ['rtb-1'])
    assert.equal(
      (await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, RouteTableIds: ['rtb-1'] })))).name,
      'InvalidParameter',
    )
    assert.equal((await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, ServiceName: 'com.amazonaws.eu-west-1.s3' })))).name, 'InvalidServiceName')
    assert.equal(
      (await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: 'com.amazonaws.us-east-1.dynamodb' })))).name,
      'InvalidServiceName',
    )
    assert.equal(
      (await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: 'vpc-0123456789abcdef0', VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL })))).name,
      'InvalidVpcID.NotFound',
    )
  })

  test('endpoint policies are validated when written: malformed, no Principal, oversize', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const create = (policy: string) =>
      c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, PrivateDnsEnabled: false, PolicyDocument: policy }))
    const bad = await failure(() => create('{"Statement": ['))
    assert.equal(bad.name, 'InvalidPolicyDocument')
    assert.equal(bad.$metadata.httpStatusCode, 400)
    const noPrincipal = await failure(() => create('{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'))
    assert.equal(noPrincipal.name, 'InvalidPolicyDocument')
    assert.match(noPrincipal.message, /Principal/)
    const big = JSON.stringify({ Statement: [{ Sid: 'x'.repeat(20_500), Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] })
    const over = await failure(() => create(big))
    assert.equal(over.name, 'InvalidPolicyDocument')
    assert.match(over.message, /20480/)
    const mod = await failure(() => c.send(new ModifyVpcEndpointCommand({ VpcEndpointId: SEED_VPCE, PolicyDocument: 'nope' })))
    assert.equal(mod.name, 'InvalidPolicyDocument')
  })

  test('ModifyVpcEndpoint: policy, ResetPolicy, private DNS; unknown ids', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const id = (await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL }))).VpcEndpoint!.VpcEndpointId!
    const policy = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}'
    assert.equal((await c.send(new ModifyVpcEndpointCommand({ VpcEndpointId: id, PolicyDocument: policy, PrivateDnsEnabled: false }))).Return, true)
    let e = (await c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] }))).VpcEndpoints![0]!
    assert.equal(e.PolicyDocument, policy)
    assert.equal(e.PrivateDnsEnabled, false)
    assert.equal(e.DnsEntries!.length, 1)
    await c.send(new ModifyVpcEndpointCommand({ VpcEndpointId: id, ResetPolicy: true }))
    e = (await c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] }))).VpcEndpoints![0]!
    assert.equal(e.PolicyDocument, DEFAULT_POLICY)
    const unknown = await failure(() => c.send(new ModifyVpcEndpointCommand({ VpcEndpointId: 'vpce-0123456789abcdef0', ResetPolicy: true })))
    assert.equal(unknown.name, 'InvalidVpcEndpointId.NotFound')
    assert.equal((await failure(() => c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: ['vpce-0123456789abcdef0'] })))).name, 'InvalidVpcEndpointId.NotFound')
    assert.equal((await failure(() => c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: ['nope'] })))).name, 'InvalidVpcEndpointId.Malformed')
    // Another account cannot see or change this account's endpoint.
    assert.equal(
      (await failure(() => ec2Client(s, PARTNER_ADMIN).send(new ModifyVpcEndpointCommand({ VpcEndpointId: id, ResetPolicy: true })))).name,
      'InvalidVpcEndpointId.NotFound',
    )
  })

  test('DeleteVpcEndpoints lists unknown ids as unsuccessful', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const id = (await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL }))).VpcEndpoint!.VpcEndpointId!
    const r = await c.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [id, 'vpce-0123456789abcdef0'] }))
    assert.deepEqual(
      r.Unsuccessful!.map((u) => [u.ResourceId, u.Error!.Code]),
      [['vpce-0123456789abcdef0', 'InvalidVpcEndpointId.NotFound']],
    )
    assert.equal((await c.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }] }))).VpcEndpoints!.length, 0)
    await c.send(new DeleteVpcCommand({ VpcId: v }))
  })

  test('DryRun, ClientToken idempotency, pagination of endpoints', async () => {
    const c = ec2Client(s)
    const v = await vpc()
    const dry = await failure(() => c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, DryRun: true })))
    assert.equal(dry.name, 'DryRunOperation')
    assert.equal(dry.$metadata.httpStatusCode, 412)
    assert.equal((await c.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [v] }] }))).VpcEndpoints!.length, 0)
    const readerDry = await failure(() => ec2Client(s, READER).send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, DryRun: true })))
    assert.equal(readerDry.name, 'UnauthorizedOperation')
    assert.equal(readerDry.$metadata.httpStatusCode, 403)
    const input = { VpcId: v, VpcEndpointType: 'Interface' as const, ServiceName: S3_GLOBAL, ClientToken: 'tok-1' }
    const a = await c.send(new CreateVpcEndpointCommand(input))
    const b = await c.send(new CreateVpcEndpointCommand(input))
    assert.equal(a.VpcEndpoint!.VpcEndpointId, b.VpcEndpoint!.VpcEndpointId)
    assert.equal(b.ClientToken, 'tok-1')
    assert.equal((await failure(() => c.send(new CreateVpcEndpointCommand({ ...input, PrivateDnsEnabled: false })))).name, 'IdempotentParameterMismatch')
    await c.send(new CreateVpcEndpointCommand({ VpcId: v, ServiceName: 'com.amazonaws.us-east-1.s3' }))
    const first = await c.send(new DescribeVpcEndpointsCommand({ MaxResults: 1, Filters: [{ Name: 'vpc-id', Values: [v] }] }))
    assert.equal(first.VpcEndpoints!.length, 1)
    const second = await c.send(new DescribeVpcEndpointsCommand({ MaxResults: 1, NextToken: first.NextToken!, Filters: [{ Name: 'vpc-id', Values: [v] }] }))
    assert.equal(second.VpcEndpoints!.length, 1)
    assert.equal(second.NextToken, undefined)
    assert.notEqual(first.VpcEndpoints![0]!.VpcEndpointId, second.VpcEndpoints![0]!.VpcEndpointId)
    assert.equal((await failure(() => c.send(new DescribeVpcEndpointsCommand({ NextToken: 'garbage' })))).name, 'InvalidPaginationToken')
  })

  test('DescribeVpcEndpointServices lists what mrap offers', async () => {
    const c = ec2Client(s)
    const r = await c.send(new DescribeVpcEndpointServicesCommand({}))
    assert.deepEqual(r.ServiceNames, ['com.amazonaws.s3-global.accesspoint', 'com.amazonaws.us-east-1.s3'])
    const global = r.ServiceDetails!.find((d) => d.ServiceName === S3_GLOBAL)!
    assert.deepEqual(global.ServiceType, [{ ServiceType: 'Interface' }])
    assert.equal(global.PrivateDnsName, '*.accesspoint.s3-global.amazonaws.com')
    assert.equal(global.VpcEndpointPolicySupported, true)
    const s3types = r
      .ServiceDetails!.filter((d) => d.ServiceName === 'com.amazonaws.us-east-1.s3')
      .map((d) => d.ServiceType![0]!.ServiceType)
      .sort()
    assert.deepEqual(s3types, ['Gateway', 'Interface'])
    const gwOnly = await c.send(new DescribeVpcEndpointServicesCommand({ Filters: [{ Name: 'service-type', Values: ['Gateway'] }] }))
    assert.deepEqual(gwOnly.ServiceNames, ['com.amazonaws.us-east-1.s3'])
    assert.equal((await failure(() => c.send(new DescribeVpcEndpointServicesCommand({ ServiceNames: ['com.amazonaws.nowhere'] })))).name, 'InvalidServiceName')
  })

  test("errors come in EC2's envelope; unknown keys are AuthFailure; unknown actions InvalidAction", async () => {
    const c = ec2Client(s, { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: 'x'.repeat(40) })
    const auth = await failure(() => c.send(new DescribeVpcsCommand({})))
    assert.equal(auth.name, 'AuthFailure')
    assert.equal(auth.$metadata.httpStatusCode, 401)
    const { SignatureV4 } = await import('@smithy/signature-v4')
    const { HttpRequest } = await import('@smithy/protocol-http')
    const { Sha256 } = await import('../helpers/raw.js')
    const u = new URL(s.endpoint)
    const body = 'Action=DescribeVpcEndpoints&Version=2016-11-15&VpcEndpointId.1=vpce-0123456789abcdef0'
    const signer = new SignatureV4({
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      service: 'ec2',
      sha256: Sha256,
    })
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      }),
    )
    const text = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/', headers: signed.headers }, (res) => {
        let b = ''
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            b += d
          })
          .on('end', () => resolve({ status: res.statusCode!, body: b }))
      })
      req.on('error', reject)
      req.end(body)
    })
    assert.equal(text.status, 400)
    assert.match(
      text.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidVpcEndpointId\.NotFound<\/Code><Message>The Vpc Endpoint Id (?:'|&apos;)vpce-0123456789abcdef0(?:'|&apos;) does not exist<\/Message><\/Error><\/Errors><RequestID>[0-9A-F]+<\/RequestID><\/Response>$/,
    )
  })
})

test('subnets, security groups and DNS attributes survive a restart (kept in the state store)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mrap-ec2-restart-'))
  try {
    let s = await startTestServer({ dataDir })
    let c = ec2Client(s)
    const v = (await c.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }))).Vpc!.VpcId!
    await c.send(new ModifyVpcAttributeCommand({ VpcId: v, EnableDnsHostnames: { Value: true } }))
    const sn = (await c.send(new CreateSubnetCommand({ VpcId: v, CidrBlock: '10.60.1.0/24', AvailabilityZone: 'us-east-1b' }))).Subnet!.SubnetId!
    const sg = (await c.send(new CreateSecurityGroupCommand({ VpcId: v, GroupName: 'kept', Description: 'kept' }))).GroupId!
    const e = (await c.send(new CreateVpcEndpointCommand({ VpcId: v, VpcEndpointType: 'Interface', ServiceName: S3_GLOBAL, SubnetIds: [sn], SecurityGroupIds: [sg] }))).VpcEndpoint!
    c.destroy()
    await s.stop()
    s = await startTestServer({ dataDir })
    try {
      c = ec2Client(s)
      assert.equal((await c.send(new DescribeVpcAttributeCommand({ VpcId: v, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames!.Value, true)
      assert.equal((await c.send(new DescribeSubnetsCommand({ SubnetIds: [sn] }))).Subnets![0]!.AvailabilityZone, 'us-east-1b')
      assert.equal((await c.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups![0]!.GroupName, 'kept')
      const again = (await c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [e.VpcEndpointId!] }))).VpcEndpoints![0]!
      assert.deepEqual(again.DnsEntries, e.DnsEntries)
      assert.equal((await failure(() => c.send(new DeleteSubnetCommand({ SubnetId: sn })))).name, 'DependencyViolation')
      c.destroy()
    } finally {
      await s.stop()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

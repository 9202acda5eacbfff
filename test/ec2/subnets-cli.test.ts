/**
 * EC2 VPC attributes, subnets, security groups and interface endpoints placed in them, driven with
 * the AWS CLI (Debian's /usr/bin/aws) as a script written for AWS would drive them (issue 13).
 * AWS pages each behaviour is taken from:
 * - DNS attributes of a new VPC (support on, hostnames off):
 *   https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html
 * - ModifyVpcAttribute ("You cannot modify the DNS resolution and DNS hostnames attributes in the
 *   same request"; "You can only enable DNS hostnames if you've enabled DNS support"):
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcAttribute.html
 * - DescribeVpcAttribute: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcAttribute.html
 * - CreateVpcEndpoint PrivateDnsEnabled ("you must set the following VPC attributes to true:
 *   enableDnsHostnames and enableDnsSupport"), SubnetIds, SecurityGroupIds:
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
 * - CreateSubnet / DescribeSubnets / DeleteSubnet, subnet sizes (/16 to /28, five reserved
 *   addresses): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html,
 *   https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
 * - Security groups and the default group: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html,
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html,
 *   https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html
 * - Error codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 * Messages are EC2's as its users report them where the pages give none (docs/decisions/vpc-network.md §Subnets).
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type CliResult, CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

const S3_GLOBAL = 'com.amazonaws.s3-global.accesspoint'

describe('EC2 with the AWS CLI: VPC attributes, subnets, security groups, endpoint placement', () => {
  let s: TestServer
  let box: CliSandbox
  before(async () => {
    s = await startTestServer()
    box = new CliSandbox('mrap-ec2cli')
  })
  after(async () => {
    await s.stop()
    box.dispose()
  })

  const aws = (args: string[]): Promise<CliResult> =>
    runAws(['--endpoint-url', s.endpoint, '--output', 'json', 'ec2', ...args], { env: box.env({ credentials: ADMIN, region: 'us-east-1', direct: true }) })
  async function ok(args: string[]): Promise<Record<string, any>> {
    const r = await aws(args)
    assert.equal(r.code, 0, `aws ec2 ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}`)
    return cliJson(r.stdout)
  }
  /** The CLI's error: code and the message after the colon. */
  async function fails(args: string[]): Promise<{ code: string | undefined; message: string }> {
    const r = await aws(args)
    assert.notEqual(r.code, 0, `aws ec2 ${args.join(' ')} should fail`)
    return { code: cliErrorCode(r), message: r.stderr.replace(/^[\s\S]*?operation(?: \([^)]*\))?: /, '').trim() }
  }
  const newVpc = async (cidr = '10.40.0.0/16'): Promise<string> => (await ok(['create-vpc', '--cidr-block', cidr])).Vpc.VpcId

  test('a new VPC has DNS support on and hostnames off; private DNS is refused until both are on', async () => {
    const vpc = await newVpc()
    assert.deepEqual(await ok(['describe-vpc-attribute', '--vpc-id', vpc, '--attribute', 'enableDnsSupport']), { VpcId: vpc, EnableDnsSupport: { Value: true } })
    assert.deepEqual(await ok(['describe-vpc-attribute', '--vpc-id', vpc, '--attribute', 'enableDnsHostnames']), { VpcId: vpc, EnableDnsHostnames: { Value: false } })
    const refused = await fails(['create-vpc-endpoint', '--vpc-id', vpc, '--vpc-endpoint-type', 'Interface', '--service-name', S3_GLOBAL])
    assert.equal(refused.code, 'InvalidParameter')
    assert.equal(refused.message, `Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for ${vpc}`)
    // Without private DNS the endpoint is made; turning private DNS on later meets the same rule.
    const plain = (await ok(['create-vpc-endpoint', '--vpc-id', vpc, '--vpc-endpoint-type', 'Interface', '--service-name', S3_GLOBAL, '--no-private-dns-enabled'])).VpcEndpoint
    assert.equal(plain.PrivateDnsEnabled, false)
    assert.equal((await fails(['modify-vpc-endpoint', '--vpc-endpoint-id', plain.VpcEndpointId, '--private-dns-enabled'])).code, 'InvalidParameter')

    // One attribute per request; hostnames need DNS support.
    const both = await fails(['modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-support', '--enable-dns-hostnames'])
    assert.equal(both.code, 'InvalidParameterCombination')
    await ok(['modify-vpc-attribute', '--vpc-id', vpc, '--no-enable-dns-support'])
    assert.equal((await fails(['modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-hostnames'])).code, 'InvalidParameterValue')
    await ok(['modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-support'])
    await ok(['modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-hostnames'])
    assert.deepEqual(await ok(['describe-vpc-attribute', '--vpc-id', vpc, '--attribute', 'enableDnsHostnames']), { VpcId: vpc, EnableDnsHostnames: { Value: true } })
    await ok(['modify-vpc-endpoint', '--vpc-endpoint-id', plain.VpcEndpointId, '--private-dns-enabled'])
    const listed = (await ok(['describe-vpc-endpoints', '--vpc-endpoint-ids', plain.VpcEndpointId])).VpcEndpoints[0]
    assert.equal(listed.PrivateDnsEnabled, true)
    assert.equal((await fails(['describe-vpc-attribute', '--vpc-id', vpc, '--attribute', 'enableNothing'])).code, 'InvalidParameterValue')
    assert.equal((await fails(['describe-vpc-attribute', '--vpc-id', 'vpc-0123456789abcdef0', '--attribute', 'enableDnsSupport'])).code, 'InvalidVpcID.NotFound')
  })

  test('subnets: inside the VPC, /16 to /28, no overlap, a zone of the region; described and deleted', async () => {
    const vpc = await newVpc('10.41.0.0/16')
    const a = (
      await ok([
        'create-subnet',
        '--vpc-id',
        vpc,
        '--cidr-block',
        '10.41.1.0/24',
        '--availability-zone',
        'us-east-1b',
        '--tag-specifications',
        'ResourceType=subnet,Tags=[{Key=Name,Value=app-b}]',
      ])
    ).Subnet
    assert.match(a.SubnetId, /^subnet-[0-9a-f]{17}$/)
    assert.equal(a.VpcId, vpc)
    assert.equal(a.CidrBlock, '10.41.1.0/24')
    assert.equal(a.AvailabilityZone, 'us-east-1b')
    assert.equal(a.AvailabilityZoneId, 'use1-az2')
    assert.equal(a.AvailableIpAddressCount, 251, 'a /24 less the five addresses AWS reserves')
    assert.equal(a.State, 'available')
    assert.equal(a.DefaultForAz, false)
    assert.equal(a.SubnetArn, `arn:aws:ec2:us-east-1:123456789012:subnet/${a.SubnetId}`)
    assert.deepEqual(a.Tags, [{ Key: 'Name', Value: 'app-b' }])

    const outside = await fails(['create-subnet', '--vpc-id', vpc, '--cidr-block', '10.99.0.0/24'])
    assert.deepEqual(outside, { code: 'InvalidSubnet.Range', message: "The CIDR '10.99.0.0/24' is invalid." })
    assert.equal((await fails(['create-subnet', '--vpc-id', vpc, '--cidr-block', '10.41.2.0/29'])).code, 'InvalidSubnet.Range')
    const overlap = await fails(['create-subnet', '--vpc-id', vpc, '--cidr-block', '10.41.1.128/25'])
    assert.deepEqual(overlap, { code: 'InvalidSubnet.Conflict', message: "The CIDR '10.41.1.128/25' conflicts with another subnet" })
    const zone = await fails(['create-subnet', '--vpc-id', vpc, '--cidr-block', '10.41.3.0/24', '--availability-zone', 'eu-west-1a'])
    assert.equal(zone.code, 'InvalidParameterValue')
    assert.equal(
      zone.message,
      'Value (eu-west-1a) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c.',
    )
    assert.equal((await fails(['create-subnet', '--vpc-id', vpc, '--cidr-block', '10.41.3.7/24'])).code, 'InvalidParameterValue')

    const listed = await ok(['describe-subnets', '--filters', `Name=vpc-id,Values=${vpc}`])
    assert.deepEqual(
      listed.Subnets.map((x: { SubnetId: string }) => x.SubnetId),
      [a.SubnetId],
    )
    assert.deepEqual((await ok(['describe-subnets', '--filters', 'Name=tag:Name,Values=app-*', `Name=vpc-id,Values=${vpc}`])).Subnets.length, 1)
    const missing = await fails(['describe-subnets', '--subnet-ids', 'subnet-0123456789abcdef0'])
    assert.deepEqual(missing, { code: 'InvalidSubnetID.NotFound', message: "The subnet ID 'subnet-0123456789abcdef0' does not exist" })
    // DeleteVpc waits for its subnets.
    assert.equal((await fails(['delete-vpc', '--vpc-id', vpc])).code, 'DependencyViolation')
    await ok(['delete-subnet', '--subnet-id', a.SubnetId])
    assert.equal((await fails(['delete-subnet', '--subnet-id', a.SubnetId])).code, 'InvalidSubnetID.NotFound')
    await ok(['delete-vpc', '--vpc-id', vpc])
  })

  test('security groups: the default group, CreateSecurityGroup, duplicates and reserved names, DeleteSecurityGroup', async () => {
    const vpc = await newVpc('10.42.0.0/16')
    const defaults = (await ok(['describe-security-groups', '--filters', `Name=vpc-id,Values=${vpc}`])).SecurityGroups
    assert.equal(defaults.length, 1)
    assert.equal(defaults[0].GroupName, 'default')
    assert.equal(defaults[0].Description, 'default VPC security group')
    assert.equal(defaults[0].VpcId, vpc)
    assert.deepEqual(defaults[0].IpPermissionsEgress[0].IpRanges, [{ CidrIp: '0.0.0.0/0' }])

    const made = await ok(['create-security-group', '--group-name', 'endpoints', '--description', 'for interface endpoints', '--vpc-id', vpc])
    assert.match(made.GroupId, /^sg-[0-9a-f]{17}$/)
    const dup = await fails(['create-security-group', '--group-name', 'endpoints', '--description', 'again', '--vpc-id', vpc])
    assert.deepEqual(dup, { code: 'InvalidGroup.Duplicate', message: `The security group 'endpoints' already exists for VPC '${vpc}'` })
    const reserved = await fails(['create-security-group', '--group-name', 'default', '--description', 'x', '--vpc-id', vpc])
    assert.deepEqual(reserved, { code: 'InvalidParameterValue', message: 'Cannot use reserved security group name: default' })
    assert.equal((await fails(['create-security-group', '--group-name', 'sg-like', '--description', 'x', '--vpc-id', vpc])).code, 'InvalidParameterValue')
    assert.equal((await fails(['create-security-group', '--group-name', 'novpc', '--description', 'x'])).code, 'VPCIdNotSpecified')

    const byId = (await ok(['describe-security-groups', '--group-ids', made.GroupId])).SecurityGroups[0]
    assert.equal(byId.GroupName, 'endpoints')
    assert.equal(byId.Description, 'for interface endpoints')
    const missing = await fails(['describe-security-groups', '--group-ids', 'sg-0123456789abcdef0'])
    assert.deepEqual(missing, { code: 'InvalidGroup.NotFound', message: "The security group 'sg-0123456789abcdef0' does not exist" })

    const keep = await fails(['delete-security-group', '--group-id', defaults[0].GroupId])
    assert.deepEqual(keep, { code: 'CannotDelete', message: `the specified group: "${defaults[0].GroupId}" name: "default" cannot be deleted by a user` })
    assert.equal((await fails(['delete-vpc', '--vpc-id', vpc])).code, 'DependencyViolation')
    await ok(['delete-security-group', '--group-id', made.GroupId])
    // The default group goes with its VPC.
    await ok(['delete-vpc', '--vpc-id', vpc])
  })

  test('create-vpc-endpoint --subnet-ids --security-group-ids: checked; network interfaces and DNS entries follow the subnets', async () => {
    const vpc = await newVpc('10.43.0.0/16')
    await ok(['modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-hostnames'])
    const subnet = async (cidr: string, az: string, v = vpc): Promise<string> =>
      (await ok(['create-subnet', '--vpc-id', v, '--cidr-block', cidr, '--availability-zone', az])).Subnet.SubnetId
    const a = await subnet('10.43.1.0/24', 'us-east-1a')
    const b = await subnet('10.43.2.0/24', 'us-east-1b')
    const a2 = await subnet('10.43.3.0/24', 'us-east-1a')
    const sg = (await ok(['create-security-group', '--group-name', 'vpce', '--description', 'vpce', '--vpc-id', vpc])).GroupId
    const other = await newVpc('10.44.0.0/16')
    const foreign = await subnet('10.44.1.0/24', 'us-east-1c', other)
    const foreignSg = (await ok(['create-security-group', '--group-name', 'elsewhere', '--description', 'x', '--vpc-id', other])).GroupId
    const create = (extra: string[]) => ['create-vpc-endpoint', '--vpc-id', vpc, '--vpc-endpoint-type', 'Interface', '--service-name', S3_GLOBAL, ...extra]

    const sameZone = await fails(create(['--subnet-ids', a, a2]))
    assert.deepEqual(sameZone, {
      code: 'DuplicateSubnetsInSameZone',
      message: `Found another VPC endpoint subnet in the availability zone of ${a}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.`,
    })
    assert.deepEqual(await fails(create(['--subnet-ids', 'subnet-0123456789abcdef0'])), {
      code: 'InvalidSubnetID.NotFound',
      message: "The subnet ID 'subnet-0123456789abcdef0' does not exist",
    })
    assert.equal((await fails(create(['--subnet-ids', foreign]))).code, 'InvalidParameter')
    assert.equal((await fails(create(['--subnet-ids', 'nope']))).code, 'InvalidSubnetId.Malformed')
    assert.deepEqual(await fails(create(['--subnet-ids', a, '--security-group-ids', 'sg-0123456789abcdef0'])), {
      code: 'InvalidGroup.NotFound',
      message: "The security group 'sg-0123456789abcdef0' does not exist",
    })
    assert.equal((await fails(create(['--subnet-ids', a, '--security-group-ids', foreignSg]))).code, 'InvalidParameter')

    const e = (await ok(create(['--subnet-ids', a, b, '--security-group-ids', sg]))).VpcEndpoint
    assert.deepEqual(e.SubnetIds, [a, b])
    assert.deepEqual(e.Groups, [{ GroupId: sg, GroupName: 'vpce' }])
    assert.equal(e.NetworkInterfaceIds.length, 2)
    const names = e.DnsEntries.map((d: { DnsName: string }) => d.DnsName)
    const regional = names[0]
    assert.match(regional, new RegExp(`^${e.VpcEndpointId}-[a-z0-9]{8}\\.accesspoint\\.s3-global\\.us-east-1\\.vpce\\.amazonaws\\.com$`))
    const zonal = (az: string) => regional.replace('.accesspoint', `-${az}.accesspoint`)
    assert.deepEqual(names, [regional, zonal('us-east-1a'), zonal('us-east-1b'), '*.accesspoint.s3-global.amazonaws.com'])
    // Each network interface takes an address of its subnet.
    assert.equal((await ok(['describe-subnets', '--subnet-ids', a])).Subnets[0].AvailableIpAddressCount, 250)
    const enis = (await ok(['describe-network-interfaces', '--network-interface-ids', ...e.NetworkInterfaceIds])).NetworkInterfaces
    assert.deepEqual(enis.map((n: { SubnetId: string }) => n.SubnetId).sort(), [a, b].sort())
    assert.ok(enis.every((n: { InterfaceType: string; Groups: { GroupId: string }[] }) => n.InterfaceType === 'vpc_endpoint' && n.Groups[0]!.GroupId === sg))

    // In use: the subnet and the group stay.
    assert.equal((await fails(['delete-subnet', '--subnet-id', a])).code, 'DependencyViolation')
    assert.equal((await fails(['delete-security-group', '--group-id', sg])).code, 'DependencyViolation')
    assert.equal((await fails(['modify-vpc-endpoint', '--vpc-endpoint-id', e.VpcEndpointId, '--add-subnet-ids', a2])).code, 'DuplicateSubnetsInSameZone')

    await ok(['modify-vpc-endpoint', '--vpc-endpoint-id', e.VpcEndpointId, '--remove-subnet-ids', a])
    const after1 = (await ok(['describe-vpc-endpoints', '--vpc-endpoint-ids', e.VpcEndpointId])).VpcEndpoints[0]
    assert.deepEqual(after1.SubnetIds, [b])
    assert.equal(after1.NetworkInterfaceIds.length, 1)
    assert.deepEqual(
      after1.DnsEntries.map((d: { DnsName: string }) => d.DnsName),
      [regional, zonal('us-east-1b'), '*.accesspoint.s3-global.amazonaws.com'],
    )
    await ok(['modify-vpc-endpoint', '--vpc-endpoint-id', e.VpcEndpointId, '--add-subnet-ids', a2])
    const after2 = (await ok(['describe-vpc-endpoints', '--vpc-endpoint-ids', e.VpcEndpointId])).VpcEndpoints[0]
    assert.deepEqual(after2.SubnetIds, [b, a2])
    await ok(['delete-subnet', '--subnet-id', a])
  })
})

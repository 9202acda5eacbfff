/**
 * VPC networks with the JS SDK v3 through each VPC's forward proxy: which path a name takes (the
 * s3-global interface endpoint, a gateway endpoint, the internet, refused), the condition keys a
 * request carries on each path, the endpoint policy as a limit in both the MRAP and the bucket
 * context, cross-account VPCs, and the proxy's refusals.
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CreateVpcCommand, CreateVpcEndpointCommand, DeleteVpcCommand, DeleteVpcEndpointsCommand, ModifyVpcAttributeCommand, ModifyVpcEndpointCommand } from '@aws-sdk/client-ec2'
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand, PutPublicAccessBlockCommand } from '@aws-sdk/client-s3'
import { proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, failure, PARTNER, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { BUCKET2, ec2Client, ensureSeedMrap, errStatus, proxyOf, rawConnect, routeTo, SEED_ALIAS, SEED_ARN, SEED_VPC, seedObjects } from './helpers.js'

const S3_GLOBAL = 'com.amazonaws.s3-global.accesspoint'

describe('VPC networks', () => {
  let s: TestServer

  before(async () => {
    s = await startTestServer()
    ensureSeedMrap(s)
    await seedObjects(s, 'k')
  })
  after(async () => {
    await s.stop()
  })

  async function newVpc(opts: { region?: string; internet?: boolean; creds?: typeof ADMIN; name?: string } = {}): Promise<string> {
    const tags = [{ Key: 'Name', Value: opts.name ?? 'test-vpc' }, ...(opts.internet ? [{ Key: 'mrap:internet', Value: 'true' }] : [])]
    const c = ec2Client(s, opts.creds ?? ADMIN, opts.region ?? 'us-east-1')
    const r = await c.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: tags }] }))
    // Private DNS needs DNS hostnames, off in a new VPC.
    await c.send(new ModifyVpcAttributeCommand({ VpcId: r.Vpc!.VpcId!, EnableDnsHostnames: { Value: true } }))
    return r.Vpc!.VpcId!
  }
  async function newEndpoint(
    vpcId: string,
    o: { service?: string; type?: 'Interface' | 'Gateway'; policy?: unknown; privateDns?: boolean; creds?: typeof ADMIN; region?: string } = {},
  ): Promise<string> {
    const r = await ec2Client(s, o.creds ?? ADMIN, o.region ?? 'us-east-1').send(
      new CreateVpcEndpointCommand({
        VpcId: vpcId,
        ServiceName: o.service ?? S3_GLOBAL,
        VpcEndpointType: o.type ?? 'Interface',
        ...(o.policy !== undefined ? { PolicyDocument: JSON.stringify(o.policy) } : {}),
        ...(o.privateDns !== undefined ? { PrivateDnsEnabled: o.privateDns } : {}),
      }),
    )
    return r.VpcEndpoint!.VpcEndpointId!
  }
  async function getVia(proxy: string, creds = ADMIN, key = 'k', bucket = SEED_ARN): Promise<{ body: string }> {
    const c = proxiedS3Client(s, { proxy, creds })
    try {
      const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return { body: await r.Body!.transformToString() }
    } finally {
      c.destroy()
    }
  }

  test('the seed VPC (tagged Name=seed-vpc) reaches the MRAP through its s3-global endpoint, nearest bucket first', async () => {
    const proxy = await proxyOf(s, 'seed-vpc')
    assert.equal(proxy, await proxyOf(s, SEED_VPC))
    routeTo(s, SEED_ALIAS, 'both')
    assert.equal((await getVia(proxy)).body, 'from BUCKET1') // the VPC is in us-east-1
    const info = JSON.parse(readFileSync(join(s.dataDir, 'server.json'), 'utf8')) as { vpcProxies: Record<string, { proxy: string; name?: string }> }
    assert.deepEqual(info.vpcProxies[SEED_VPC], { proxy, region: 'us-east-1', name: 'seed-vpc' })
  })

  test('through an endpoint a request carries aws:SourceVpce, aws:SourceVpc, aws:VpcSourceIp and no aws:SourceIp', async () => {
    const vpc = await newVpc()
    const keys = (vpce: string) => ({
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: '*',
          Resource: '*',
          Condition: {
            StringEquals: { 'aws:SourceVpce': vpce, 'aws:SourceVpc': vpc },
            IpAddress: { 'aws:VpcSourceIp': '10.20.0.0/16' },
            Null: { 'aws:SourceIp': 'true' },
          },
        },
      ],
    })
    const vpce = await newEndpoint(vpc)
    await ec2Client(s).send(new ModifyVpcEndpointCommand({ VpcEndpointId: vpce, PolicyDocument: JSON.stringify(keys(vpce)) }))
    const proxy = await proxyOf(s, vpc)
    assert.equal((await getVia(proxy)).body, 'from BUCKET1')
    // The same policy with aws:SourceIp required present denies: the key is absent through an endpoint.
    const withSourceIp = keys(vpce)
    withSourceIp.Statement[0]!.Condition.Null['aws:SourceIp'] = 'false'
    await ec2Client(s).send(new ModifyVpcEndpointCommand({ VpcEndpointId: vpce, PolicyDocument: JSON.stringify(withSourceIp) }))
    assert.equal(errStatus(await failure(() => getVia(proxy))), 403)
    await ec2Client(s).send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [vpce] }))
    await ec2Client(s).send(new DeleteVpcCommand({ VpcId: vpc }))
  })

  test('a VPC without the endpoint takes the internet path (aws:SourceIp, no endpoint policy) from its own region; a private one is refused', async () => {
    const euVpc = await newVpc({ region: 'eu-west-1', internet: true, name: 'eu-public' })
    const r = await getVia(await proxyOf(s, euVpc))
    assert.equal(r.body, 'from BUCKET2') // origin eu-west-1: the nearest bucket is BUCKET2
    const priv = await newVpc({ name: 'private' })
    const privProxy = await proxyOf(s, priv)
    const refused = await failure(() => getVia(privProxy))
    assert.equal(errStatus(refused), 403) // the proxy's own refusal (https-proxy-agent hands it to the SDK)
    const raw = await rawConnect(await proxyOf(s, priv), `${SEED_ALIAS}.accesspoint.s3-global.amazonaws.com:443`)
    assert.equal(raw.status, 403)
    assert.match(raw.text, /no endpoint that serves it with private DNS and no path to the internet/)
  })

  test('private DNS off: MRAP names go to the internet when the VPC has one, else nowhere', async () => {
    const denyAll = { Statement: [{ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }] }
    const pub = await newVpc({ internet: true, name: 'dns-off-public' })
    const e1 = await newEndpoint(pub, { policy: denyAll })
    const proxy = await proxyOf(s, pub)
    assert.equal(errStatus(await failure(() => getVia(proxy))), 403) // through the endpoint: its policy denies
    await ec2Client(s).send(new ModifyVpcEndpointCommand({ VpcEndpointId: e1, PrivateDnsEnabled: false }))
    assert.equal((await getVia(proxy)).body, 'from BUCKET1') // the public name, the internet path
    const priv = await newVpc({ name: 'dns-off-private' })
    await newEndpoint(priv, { privateDns: false })
    assert.equal((await rawConnect(await proxyOf(s, priv), `${SEED_ALIAS}.accesspoint.s3-global.amazonaws.com:443`)).status, 403)
  })

  test('a gateway endpoint carries regional bucket traffic with aws:SourceVpce, never MRAP traffic', async () => {
    const vpc = await newVpc({ name: 'gateway-only' })
    const gw = await newEndpoint(vpc, { service: 'com.amazonaws.us-east-1.s3', type: 'Gateway' })
    const proxy = await proxyOf(s, vpc)
    assert.equal((await rawConnect(proxy, `${SEED_ALIAS}.accesspoint.s3-global.amazonaws.com:443`)).status, 403)
    // A bucket only the gateway endpoint may read.
    const b = bucketName('gw')
    const admin = s.client()
    await admin.send(new CreateBucketCommand({ Bucket: b }))
    await admin.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'regional' }))
    await admin.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { StringNotEquals: { 'aws:SourceVpce': gw } } }],
        }),
      }),
    )
    assert.equal((await getVia(proxy, ADMIN, 'k', b)).body, 'regional')
    assert.equal(errStatus(await failure(() => getVia(s.proxy, ADMIN, 'k', b))), 403) // the internet: no aws:SourceVpce
    // Another region's S3 is not behind this gateway: refused in a private VPC.
    assert.equal((await rawConnect(proxy, 's3.eu-west-1.amazonaws.com:443')).status, 403)
    await admin.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }))
  })

  test('an endpoint policy that allows the MRAP but not one bucket fails only when routed to that bucket', async () => {
    const vpc = await newVpc({ name: 'one-bucket' })
    await newEndpoint(vpc, {
      policy: {
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [`${SEED_ARN}/object/*`, `arn:aws:s3:::${BUCKET2}/*`] }],
      },
    })
    const proxy = await proxyOf(s, vpc)
    try {
      routeTo(s, SEED_ALIAS, 'eu-west-1')
      assert.equal((await getVia(proxy)).body, 'from BUCKET2')
      routeTo(s, SEED_ALIAS, 'us-east-1')
      assert.equal(errStatus(await failure(() => getVia(proxy))), 403)
    } finally {
      routeTo(s, SEED_ALIAS, 'both')
    }
  })

  test('a VPC of another account uses the seed MRAP through its own endpoint (cross-account rules apply)', async () => {
    const vpc = await newVpc({ creds: PARTNER_ADMIN, name: 'partner-vpc' })
    await newEndpoint(vpc, { creds: PARTNER_ADMIN })
    const proxy = await proxyOf(s, 'partner-vpc')
    try {
      routeTo(s, SEED_ALIAS, 'eu-west-1')
      assert.equal((await getVia(proxy, PARTNER)).body, 'from BUCKET2')
      routeTo(s, SEED_ALIAS, 'us-east-1')
      assert.equal(errStatus(await failure(() => getVia(proxy, PARTNER))), 403) // BUCKET1 grants nothing on objects
    } finally {
      routeTo(s, SEED_ALIAS, 'both')
    }
  })

  test('the proxy never forwards outside mrap, and endpoint-specific names are not usable', async () => {
    const proxy = await proxyOf(s, 'seed-vpc')
    const out = await rawConnect(proxy, 'example.com:443')
    assert.equal(out.status, 403)
    assert.match(out.text, /not a name mrap serves/)
    const vpce = await rawConnect(proxy, 'vpce-0seed00000000000a1-abcdefgh.accesspoint.s3-global.us-east-1.vpce.amazonaws.com:443')
    assert.equal(vpce.status, 403)
    assert.match(vpce.text, /endpoint-specific DNS name/)
    assert.equal((await rawConnect(proxy, `${SEED_ALIAS}.accesspoint.s3-global.amazonaws.com:22`)).status, 403)
    assert.equal((await rawConnect(proxy, 'not-an-authority')).status, 400)
  })

  test('a VPC created through EC2 gets a proxy at once; deleting it closes the proxy', async () => {
    const vpc = await newVpc({ internet: true, name: 'short-lived' })
    const proxy = await proxyOf(s, vpc)
    assert.equal((await rawConnect(proxy, 's3.us-east-1.amazonaws.com:443')).status, 200)
    await ec2Client(s).send(new DeleteVpcCommand({ VpcId: vpc }))
    await s.vpcProxies.settled()
    assert.equal(s.vpcProxies.proxyOf(vpc), undefined)
    await assert.rejects(rawConnect(proxy, 's3.us-east-1.amazonaws.com:443'), /ECONNREFUSED/)
    const info = JSON.parse(readFileSync(join(s.dataDir, 'server.json'), 'utf8')) as { vpcProxies: Record<string, unknown> }
    assert.equal(info.vpcProxies[vpc], undefined)
  })
})

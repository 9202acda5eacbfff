/**
 * `mrap explain` agrees with the server on a VPC path. A VPC (with an internet path) has a gateway
 * endpoint for its region's S3 and an interface endpoint for the same service whose private DNS
 * answers only the inbound Resolver endpoint (EC2 DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint)
 * and whose policy denies everything: the VPC's own clients use the gateway
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/privatelink-interface-endpoints.html,
 * "Private DNS for Amazon S3 interface endpoints"). When the gateway goes, its clients take the
 * internet path; the deny-all interface endpoint must never be chosen for them. Explain reads the
 * server's state over the admin socket (as `mrap explain --data-dir` does) and must predict the
 * status the server answers, through the VPC's proxy with the JS SDK.
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { CreateVpcCommand, CreateVpcEndpointCommand, DeleteVpcEndpointsCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { adminRequest } from '../../src/admin/client.js'
import { explainRequest } from '../../src/explain/evaluate.js'
import type { AuthzModel } from '../../src/explain/model.js'
import { type Catalog, loadCatalog } from '../../src/policy/index.js'
import { proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { BUCKET1, ec2Client, errStatus, proxyOf, seedObjects } from '../network/helpers.js'

const SERVICE = 'com.amazonaws.us-east-1.s3'
const DENY_ALL = { Statement: [{ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }] }

let s: TestServer
let catalog: Catalog
let vpc: string
let gateway: string
let iface: string

before(async () => {
  catalog = await loadCatalog()
  s = await startTestServer()
  await seedObjects(s, 'k')
  const ec2 = ec2Client(s)
  const created = await ec2.send(
    new CreateVpcCommand({
      CidrBlock: '10.30.0.0/16',
      TagSpecifications: [
        {
          ResourceType: 'vpc',
          Tags: [
            { Key: 'Name', Value: 'inbound-only' },
            { Key: 'mrap:internet', Value: 'true' },
          ],
        },
      ],
    }),
  )
  vpc = created.Vpc!.VpcId!
  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
  gateway = (await ec2.send(new CreateVpcEndpointCommand({ VpcId: vpc, ServiceName: SERVICE, VpcEndpointType: 'Gateway' }))).VpcEndpoint!.VpcEndpointId!
  iface = (
    await ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: vpc,
        ServiceName: SERVICE,
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
        PolicyDocument: JSON.stringify(DENY_ALL),
        DnsOptions: { PrivateDnsOnlyForInboundResolverEndpoint: true },
      }),
    )
  ).VpcEndpoint!.VpcEndpointId!
  ec2.destroy()
})
after(async () => {
  await s.stop()
})

async function serverStatus(): Promise<number> {
  const c = proxiedS3Client(s, { proxy: await proxyOf(s, vpc), creds: ADMIN })
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: BUCKET1, Key: 'k' }))
    await r.Body!.transformToString()
    return 200
  } catch (e) {
    return errStatus(e as never) ?? 0
  } finally {
    c.destroy()
  }
}

async function explained(): Promise<{ status: number; network: string; endpointId?: string | undefined }> {
  const model = (await adminRequest(s.dataDir, { op: 'explain.model' })).model as AuthzModel
  const r = explainRequest(model, catalog, { as: '123456789012/admin', action: 's3:GetObject', bucket: BUCKET1, key: 'k', vpc, timeMs: Date.now() })
  return { status: r.routes[0]!.status, network: r.request.network.kind, endpointId: r.request.network.endpointId }
}

test('with the gateway endpoint: both use the gateway, not the inbound-only interface endpoint', async () => {
  const e = await explained()
  assert.equal(e.network, 'vpc-endpoint')
  assert.equal(e.endpointId, gateway)
  assert.equal(await serverStatus(), 200)
  assert.equal(e.status, 200)
})

test('without it: both take the internet path; the deny-all interface endpoint is never chosen', async () => {
  await ec2Client(s).send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [gateway] }))
  const e = await explained()
  assert.notEqual(e.endpointId, iface, 'explain chose the endpoint whose private DNS serves only the inbound Resolver')
  assert.equal(e.network, 'vpc-internet')
  const status = await serverStatus()
  assert.equal(status, 200)
  assert.equal(e.status, status, `explain says ${e.status}, the server answered ${status}`)
})

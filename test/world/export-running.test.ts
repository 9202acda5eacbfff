/**
 * `mrap world export` writes the running state, not the world file the server started with: a
 * setup built only through the APIs (buckets and policies with the S3 SDK, an MRAP with S3
 * Control, a VPC and an endpoint with EC2), exported and applied to a fresh server, gives the
 * same `mrap explain` and `mrap lint` output on both. A bucket whose Block Public Access
 * configuration was deleted stays without one (DeletePublicAccessBlock, Amazon S3 API Reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html), rather
 * than coming back all on.
 */

import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { CreateVpcCommand, CreateVpcEndpointCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { DeletePublicAccessBlockCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3'
import { GetMultiRegionAccessPointCommand, PutMultiRegionAccessPointPolicyCommand } from '@aws-sdk/client-s3-control'
import { runExplain } from '../../src/cli/explain.js'
import { runLintCli } from '../../src/cli/lint.js'
import { exportWorldYaml } from '../../src/world/export.js'
import { parseWorld } from '../../src/world/load.js'
import { ACCOUNT, controlClient, createMrap, makeBucket, mrapName, waitForOperation } from '../control/helpers.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { ec2Client } from '../network/helpers.js'

const OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }
const TIME = '2025-01-01T00:00:00Z'

/** An account with one administrator and two regions: everything else is made through the APIs. */
const MINIMAL = parseWorld(
  `
regions: [{ name: us-east-1 }, { name: eu-west-1 }]
accounts:
  - id: "${ACCOUNT}"
    users:
      - name: admin
        accessKeys: [{ id: ${ADMIN.accessKeyId}, secret: ${ADMIN.secretAccessKey} }]
        policies: [{ name: Admin, document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "*", Resource: "*" }] } }]
control: { asyncDelayMs: 0 }
`,
  'minimal.yaml',
)

const servers: TestServer[] = []
after(async () => {
  for (const s of servers) await s.stop()
})

test('a setup built through the APIs survives export and apply: explain and lint agree', async () => {
  const a = await startTestServer({ world: MINIMAL })
  servers.push(a)
  const open = await makeBucket(a, 'us-east-1', ADMIN, 'open')
  const held = await makeBucket(a, 'eu-west-1', ADMIN, 'held')
  const s3 = a.client(ADMIN, 'us-east-1')
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket: open }))
  // Public, and stored only because the bucket has no Block Public Access configuration left.
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: open,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${open}/*` }] }),
    }),
  )
  s3.destroy()

  const c = controlClient(a)
  const name = mrapName('exp')
  assert.equal((await createMrap(c, { Name: name, Regions: [{ Bucket: open }, { Bucket: held }], PublicAccessBlock: OFF })).RequestStatus, 'SUCCEEDED')
  const alias = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!.Alias!
  const mrapArn = `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`
  const put = await c.send(
    new PutMultiRegionAccessPointPolicyCommand({
      AccountId: ACCOUNT,
      Details: {
        Name: name,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:GetObject', Resource: `${mrapArn}/object/*` }],
        }),
      },
    }),
  )
  assert.equal((await waitForOperation(c, put.RequestTokenARN!)).op.RequestStatus, 'SUCCEEDED')
  const s3eu = a.client(ADMIN, 'eu-west-1')
  await s3eu.send(
    new PutBucketPolicyCommand({
      Bucket: held,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: 's3:GetObject',
            Resource: `arn:aws:s3:::${held}/*`,
            Condition: { StringEquals: { 's3:DataAccessPointArn': mrapArn } },
          },
        ],
      }),
    }),
  )
  s3eu.destroy()

  const ec2 = ec2Client(a)
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'built' }] }] }))).Vpc!
    .VpcId!
  await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }))
  const endpointPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }] })
  await ec2.send(new CreateVpcEndpointCommand({ VpcId: vpcId, VpcEndpointType: 'Interface', ServiceName: 'com.amazonaws.s3-global.accesspoint', PolicyDocument: endpointPolicy }))

  const yaml = exportWorldYaml(a.services, { includeSecrets: true })
  const b = await startTestServer({ world: parseWorld(yaml, 'export.yaml') })
  servers.push(b)
  assert.equal(b.services.state.getBucket(open)?.publicAccessBlock, undefined, 'the deleted configuration stays deleted')
  assert.equal(b.services.mraps.byAlias(alias)?.name, name)
  assert.equal(b.services.vpcs.vpc(vpcId)?.tags.Name, 'built')

  const same = (dir: string, text: string) => text.split(dir).join('<data-dir>')
  const lint = async (s: TestServer) => same(s.dataDir, (await runLintCli({ dataDir: s.dataDir, format: 'json', time: TIME }, false)).text)
  const lintA = await lint(a)
  assert.match(lintA, /bpa-off/, 'the public bucket policy is found on the running server')
  assert.equal(await lint(b), lintA)
  const questions = [
    { action: 's3:GetObject', mrap: alias, key: 'k', vpc: vpcId },
    { action: 's3:GetObject', mrap: alias, key: 'k' },
    { action: 's3:GetObject', bucket: open, key: 'k' },
    { action: 's3:GetObject', bucket: held, key: 'k' },
  ]
  for (const q of questions) {
    const explain = async (s: TestServer) => same(s.dataDir, (await runExplain({ dataDir: s.dataDir, time: TIME, json: true, ...q }, false)).text)
    assert.equal(await explain(b), await explain(a), JSON.stringify(q))
  }
})

/**
 * The policy EC2 attaches to an endpoint created without one, as the Debian AWS CLI prints it from
 * create-vpc-endpoint and describe-vpc-endpoints, and after modify-vpc-endpoint --reset-policy.
 *
 * AWS CLI Command Reference, ec2 create-vpc-endpoint and describe-vpc-endpoints, examples: a
 * gateway endpoint's PolicyDocument is
 * "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
 * an interface endpoint's "{\n  \"Statement\": [\n    {\n      \"Action\": \"*\", \n ..." with no Version.
 * https://docs.aws.amazon.com/cli/latest/reference/ec2/create-vpc-endpoint.html
 * ("Control access to VPC endpoints using endpoint policies" shows the Statement only.)
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_GATEWAY_ENDPOINT_POLICY, DEFAULT_INTERFACE_ENDPOINT_POLICY } from '../../src/network/vpcs.js'
import { AWS_CLI, CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

const GATEWAY = '{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'
const INTERFACE = '{\n  "Statement": [\n    {\n      "Action": "*", \n      "Effect": "Allow", \n      "Principal": "*", \n      "Resource": "*"\n    }\n  ]\n}'

describe('the default VPC endpoint policy', () => {
  let s: TestServer
  let box: CliSandbox
  before(async () => {
    assert.ok(existsSync(AWS_CLI), 'the AWS CLI must be installed at /usr/bin/aws')
    s = await startTestServer()
    box = new CliSandbox('mrap-vpce-policy')
  })
  after(async () => {
    await s.stop()
    box.dispose()
  })

  async function ec2(...args: string[]): Promise<Record<string, any>> {
    const r = await runAws(['--endpoint-url', s.endpoint, 'ec2', ...args, '--output', 'json'], { env: box.env({ credentials: ADMIN, region: 'us-east-1', direct: true }) })
    assert.equal(r.code, 0, r.stderr)
    return cliJson(r.stdout)
  }

  test('gateway: Version 2008-10-17; interface: no Version, pretty-printed; reset restores them', async () => {
    const vpc = (await ec2('create-vpc', '--cidr-block', '10.42.0.0/16')).Vpc.VpcId as string
    const gw = (await ec2('create-vpc-endpoint', '--vpc-id', vpc, '--vpc-endpoint-type', 'Gateway', '--service-name', 'com.amazonaws.us-east-1.s3')).VpcEndpoint
    assert.equal(gw.PolicyDocument, GATEWAY)
    const itf = (
      await ec2('create-vpc-endpoint', '--vpc-id', vpc, '--vpc-endpoint-type', 'Interface', '--service-name', 'com.amazonaws.s3-global.accesspoint', '--no-private-dns-enabled')
    ).VpcEndpoint
    assert.equal(itf.PolicyDocument, INTERFACE)

    const described = (await ec2('describe-vpc-endpoints', '--vpc-endpoint-ids', gw.VpcEndpointId, itf.VpcEndpointId)).VpcEndpoints as {
      VpcEndpointId: string
      PolicyDocument: string
    }[]
    assert.deepEqual(Object.fromEntries(described.map((e) => [e.VpcEndpointId, e.PolicyDocument])), { [gw.VpcEndpointId]: GATEWAY, [itf.VpcEndpointId]: INTERFACE })

    const narrow = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}'
    for (const id of [gw.VpcEndpointId, itf.VpcEndpointId]) {
      await ec2('modify-vpc-endpoint', '--vpc-endpoint-id', id, '--policy-document', narrow)
      await ec2('modify-vpc-endpoint', '--vpc-endpoint-id', id, '--reset-policy')
    }
    const reset = (await ec2('describe-vpc-endpoints', '--vpc-endpoint-ids', gw.VpcEndpointId, itf.VpcEndpointId)).VpcEndpoints as {
      VpcEndpointId: string
      PolicyDocument: string
    }[]
    assert.deepEqual(Object.fromEntries(reset.map((e) => [e.VpcEndpointId, e.PolicyDocument])), { [gw.VpcEndpointId]: GATEWAY, [itf.VpcEndpointId]: INTERFACE })
  })

  test('both defaults are valid endpoint policies that allow everything', () => {
    for (const text of [DEFAULT_GATEWAY_ENDPOINT_POLICY, DEFAULT_INTERFACE_ENDPOINT_POLICY]) {
      assert.deepEqual(s.services.policies.problems(text, { kind: 'endpoint' }), [])
      assert.deepEqual(JSON.parse(text).Statement, [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }])
    }
  })
})

/**
 * The console's VPC page in Chromium: the seed VPC and its s3-global interface endpoint with private
 * DNS and the names it answers; the endpoint policy editor (ModifyVpcEndpoint) showing EC2's
 * InvalidPolicyDocument words, storing a custom policy, and resetting to the default full access;
 * a reader without EC2 permissions refused with AccessDenied and an explain link.
 *
 * AWS: "Control access to VPC endpoints using endpoint policies"
 * (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html), ModifyVpcEndpoint
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcEndpoint.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { DescribeVpcEndpointsCommand, ModifyVpcEndpointCommand } from '@aws-sdk/client-ec2'
import { failure } from '../helpers/server.js'
import { ec2Client, SEED_VPC, SEED_VPCE } from '../network/helpers.js'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'
import { consoleWorld } from './mraps-world.js'

let h: ConsoleHarness

before(async () => {
  h = await startConsoleHarness({ world: consoleWorld() })
})
after(async () => {
  await h.close()
})

async function policyOfSeedEndpoint(): Promise<string> {
  const r = await ec2Client(h.server).send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [SEED_VPCE] }))
  return r.VpcEndpoints![0]!.PolicyDocument!
}

describe('console: VPCs and endpoints', () => {
  test('lists the VPC and its endpoint; edits the endpoint policy with EC2 validation; resets it to full access', async () => {
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url('/vpcs'))
    const vpcs = page.getByRole('table', { name: 'VPCs in us-east-1' })
    assert.match(await vpcs.innerText(), new RegExp(`${SEED_VPC}\\s+seed-vpc\\s+10\\.0\\.0\\.0/16`))
    const endpoints = page.getByRole('table', { name: 'VPC endpoints in us-east-1' })
    assert.match(await endpoints.getByRole('row', { name: new RegExp(SEED_VPCE) }).innerText(), /Interface[\s\S]*com\.amazonaws\.s3-global\.accesspoint[\s\S]*On[\s\S]*Custom/)
    await h.check(page)

    await endpoints.getByRole('link', { name: SEED_VPCE }).click()
    await page.waitForURL((u) => u.pathname === `/vpcs/endpoints/${SEED_VPCE}`)
    assert.match(await page.getByRole('table', { name: 'DNS names' }).innerText(), /\*\.accesspoint\.s3-global\.amazonaws\.com\s+Private DNS/)

    const bad = '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    const sdk = await failure(() => ec2Client(h.server).send(new ModifyVpcEndpointCommand({ VpcEndpointId: SEED_VPCE, PolicyDocument: bad })))
    assert.equal(sdk.name, 'InvalidPolicyDocument')
    await page.getByLabel('Policy (JSON)').fill(bad)
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.waitForLoadState()
    const box = page.locator('#endpoint-policy-error')
    assert.match(await box.innerText(), /InvalidPolicyDocument/)
    assert.ok((await box.innerText()).includes(sdk.message), `EC2's words: ${sdk.message}`)
    assert.equal(await page.getByLabel('Policy (JSON)').inputValue(), bad)
    await h.check(page)

    const good = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}'
    await page.getByLabel('Policy (JSON)').fill(good)
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.waitForLoadState()
    assert.equal(await policyOfSeedEndpoint(), good)
    assert.match(await page.locator('.c2-dl').innerText(), /Custom/)

    await page.getByRole('button', { name: 'Reset to full access' }).click()
    await page.waitForLoadState()
    assert.deepEqual(JSON.parse(await policyOfSeedEndpoint()), { Statement: [{ Action: '*', Effect: 'Allow', Principal: '*', Resource: '*' }] })
    assert.match(await page.locator('.c2-dl').innerText(), /Default full access/)
    await h.check(page)
  })

  test('as reader, EC2 is refused with AccessDenied and an explain link', async () => {
    const page = await h.pageAs(READER)
    await page.goto(h.url('/vpcs'))
    const box = page.locator('.api-error').first()
    assert.match(await box.innerText(), /UnauthorizedOperation|AccessDenied/)
    assert.ok(await box.getByRole('link', { name: 'Explain this decision' }).count(), 'an explain link')
    await h.check(page)
  })
})

/**
 * S3 Control MRAP policies (put, get, status; Block Public Access; malformed policies) and failover
 * routes (get, submit, all-passive refused) through the JS SDK.
 */

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  GetMultiRegionAccessPointCommand,
  GetMultiRegionAccessPointPolicyCommand,
  GetMultiRegionAccessPointPolicyStatusCommand,
  GetMultiRegionAccessPointRoutesCommand,
  PutMultiRegionAccessPointPolicyCommand,
  type S3ControlClient,
  SubmitMultiRegionAccessPointRoutesCommand,
} from '@aws-sdk/client-s3-control'
import { failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ACCOUNT, controlClient, createMrap, makeBucket, mrapName, waitForOperation } from './helpers.js'

const OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }

function readPolicy(alias: string, principal: unknown): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}/object/*` }],
  })
}

async function newMrap(srv: TestServer, c: S3ControlClient, pab?: typeof OFF): Promise<{ name: string; alias: string; buckets: string[] }> {
  const buckets = [await makeBucket(srv, 'us-east-1'), await makeBucket(srv, 'eu-west-1')]
  const name = mrapName('pol')
  const op = await createMrap(c, { Name: name, Regions: buckets.map((Bucket) => ({ Bucket })), ...(pab ? { PublicAccessBlock: pab } : {}) })
  assert.equal(op.RequestStatus, 'SUCCEEDED')
  const alias = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!.Alias!
  return { name, alias, buckets }
}

describe('S3 Control: MRAP policies', () => {
  let srv: TestServer
  let c: S3ControlClient
  before(async () => {
    srv = await startTestServer()
    c = controlClient(srv)
  })
  after(async () => {
    await srv.stop()
  })

  it('stores a policy asynchronously; Get shows it Established, PolicyStatus judges it', async () => {
    const { name, alias } = await newMrap(srv, c)
    const empty = await c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(empty.Established?.IsPublic, false)
    const policy = readPolicy(alias, { AWS: 'arn:aws:iam::444455556666:root' })
    const put = await c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: name, Policy: policy } }))
    assert.match(put.RequestTokenARN!, new RegExp(`^arn:aws:s3:us-west-2:${ACCOUNT}:async-request/mrap/put-policy/`))
    const { op } = await waitForOperation(c, put.RequestTokenARN!)
    assert.equal(op.RequestStatus, 'SUCCEEDED')
    assert.equal(op.RequestParameters?.PutMultiRegionAccessPointPolicyRequest?.Policy, policy)
    const got = await c.send(new GetMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(got.Policy?.Established?.Policy, policy)
    assert.equal(got.Policy?.Proposed?.Policy, policy)
    const status = await c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(status.Established?.IsPublic, false)
  })

  it('ends a public policy under BlockPublicPolicy FAILED with AccessDenied, and leaves the old policy', async () => {
    const { name, alias } = await newMrap(srv, c)
    const put = await c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: name, Policy: readPolicy(alias, '*') } }))
    const { op } = await waitForOperation(c, put.RequestTokenARN!)
    assert.equal(op.RequestStatus, 'FAILED')
    assert.equal(op.ResponseDetails?.ErrorDetails?.Code, 'AccessDenied')
    assert.ok(op.ResponseDetails?.ErrorDetails?.RequestId)
    const got = await c.send(new GetMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(got.Policy?.Established, undefined)
  })

  it('stores a public policy when Block Public Access is off; PolicyStatus says IsPublic', async () => {
    const { name, alias } = await newMrap(srv, c, OFF)
    const put = await c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: name, Policy: readPolicy(alias, '*') } }))
    assert.equal((await waitForOperation(c, put.RequestTokenARN!)).op.RequestStatus, 'SUCCEEDED')
    const status = await c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(status.Established?.IsPublic, true)
  })

  it("refuses malformed policies at once with 400 MalformedPolicy and the engine's message", async () => {
    const { name } = await newMrap(srv, c, OFF)
    const e1 = await failure(() => c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: name, Policy: 'not json' } })))
    assert.equal(e1.name, 'MalformedPolicy')
    assert.equal(e1.$metadata.httpStatusCode, 400)
    assert.match(e1.message, /valid JSON/)
    const foreign = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other-bucket/*' }] })
    const e2 = await failure(() => c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: name, Policy: foreign } })))
    assert.equal(e2.name, 'MalformedPolicy')
    assert.equal(e2.message, 'Policy has invalid resource')
  })

  it('answers 404 NoSuchMultiRegionAccessPoint for the policy of an unknown MRAP', async () => {
    for (const send of [
      () => c.send(new GetMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Name: 'no-such-mrap' })),
      () => c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ACCOUNT, Name: 'no-such-mrap' })),
      () => c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: 'no-such-mrap', Policy: '{}' } })),
    ]) {
      const e = await failure(send)
      assert.equal(e.name, 'NoSuchMultiRegionAccessPoint')
      assert.equal(e.$metadata.httpStatusCode, 404)
    }
  })
})

describe('S3 Control: MRAP routes', () => {
  let srv: TestServer
  before(async () => {
    srv = await startTestServer()
  })
  after(async () => {
    await srv.stop()
  })

  it('flips a Region passive and back, by Region or by Bucket; the data plane record follows', async () => {
    const c = controlClient(srv)
    const { alias, buckets } = await newMrap(srv, c)
    const mrap = `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`
    // Routes calls are answered in five Regions, eu-west-1 among them.
    const routes = controlClient(srv, undefined, 'eu-west-1')
    await routes.send(new SubmitMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap, RouteUpdates: [{ Region: 'eu-west-1', TrafficDialPercentage: 0 }] }))
    const got = await routes.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap }))
    assert.equal(got.Mrap, mrap)
    assert.deepEqual(
      got.Routes?.map((r) => [r.Bucket, r.Region, r.TrafficDialPercentage]).sort(),
      [
        [buckets[0], 'us-east-1', 100],
        [buckets[1], 'eu-west-1', 0],
      ].sort(),
    )
    assert.equal(srv.services.mraps.byAlias(alias)?.regions.find((r) => r.region === 'eu-west-1')?.trafficDialPercentage, 0)

    await routes.send(
      new SubmitMultiRegionAccessPointRoutesCommand({
        AccountId: ACCOUNT,
        Mrap: mrap,
        RouteUpdates: [
          { Bucket: buckets[1], TrafficDialPercentage: 100 },
          { Bucket: buckets[0], Region: 'us-east-1', TrafficDialPercentage: 0 },
        ],
      }),
    )
    const flipped = await c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap }))
    assert.deepEqual(Object.fromEntries(flipped.Routes!.map((r) => [r.Region, r.TrafficDialPercentage])), { 'us-east-1': 0, 'eu-west-1': 100 })
  })

  it('refuses every Region passive, dials other than 0 and 100, and Regions the MRAP does not have (400 InvalidRequest)', async () => {
    const c = controlClient(srv)
    const { alias } = await newMrap(srv, c)
    const mrap = `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`
    const cases = [
      [
        { Region: 'us-east-1', TrafficDialPercentage: 0 },
        { Region: 'eu-west-1', TrafficDialPercentage: 0 },
      ],
      [{ Region: 'us-east-1', TrafficDialPercentage: 50 }],
      [{ Region: 'ap-south-1', TrafficDialPercentage: 0 }],
    ]
    for (const RouteUpdates of cases) {
      const e = await failure(() => c.send(new SubmitMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap, RouteUpdates })))
      assert.equal(e.name, 'InvalidRequest', JSON.stringify(RouteUpdates))
      assert.equal(e.$metadata.httpStatusCode, 400)
    }
    const still = await c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap }))
    assert.deepEqual(
      still.Routes?.map((r) => r.TrafficDialPercentage),
      [100, 100],
    )
  })

  it('answers 404 NoSuchMultiRegionAccessPoint for an unknown MRAP ARN, and refuses routes calls outside the five Regions', async () => {
    const c = controlClient(srv)
    const e = await failure(() => c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: `arn:aws:s3::${ACCOUNT}:accesspoint/zzzzzzzzzzzzz.mrap` })))
    assert.equal(e.name, 'NoSuchMultiRegionAccessPoint')
    assert.equal(e.$metadata.httpStatusCode, 404)
    const far = controlClient(srv, undefined, 'sa-east-1')
    const r = await failure(() => far.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: `arn:aws:s3::${ACCOUNT}:accesspoint/zzzzzzzzzzzzz.mrap` })))
    assert.equal(r.name, 'PermanentRedirect')
    assert.equal(r.$metadata.httpStatusCode, 301)
  })
})

/**
 * S3 Control MRAP errors: unknown names and tokens, the control-plane Region, names, buckets,
 * accounts (host prefix, x-amz-account-id, signer), authorization, and the <ErrorResponse> envelope.
 */

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateMultiRegionAccessPointCommand,
  DeleteMultiRegionAccessPointCommand,
  DescribeMultiRegionAccessPointOperationCommand,
  GetMultiRegionAccessPointCommand,
  ListMultiRegionAccessPointsCommand,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { failure, PARTNER, PARTNER_ADMIN, READER, startTestServer, type TestServer, testWorld } from '../helpers/server.js'
import { ACCOUNT, controlClient, createMrap, makeBucket, mrapName } from './helpers.js'

const LIMITED = { accessKeyId: 'AKIACONTROLLIMITED01', secretAccessKey: 'cOnTrOlLiMiTeD/K7MDENG/bPxRfiCYEXAMPLEKEY' }

/** The test world plus `limited`: may get and list MRAPs, but lacks s3:ListAllMyBuckets. */
function world() {
  const w = testWorld()
  w.accounts
    .find((a) => a.id === ACCOUNT)!
    .users.push({
      name: 'limited',
      path: '/',
      managedPolicies: [],
      groups: [],
      tags: {},
      accessKeys: [{ id: LIMITED.accessKeyId, secret: LIMITED.secretAccessKey, status: 'Active' }],
      policies: [
        {
          name: 'MrapRead',
          document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetMultiRegionAccessPoint', 's3:ListMultiRegionAccessPoints'], Resource: '*' }] },
        },
      ],
    } as (typeof w.accounts)[number]['users'][number])
  return w
}

async function expectError(p: () => Promise<unknown>, name: string, status: number): Promise<string> {
  const e = await failure(p)
  assert.equal(e.name, name, e.message)
  assert.equal(e.$metadata.httpStatusCode, status)
  return e.message
}

describe('S3 Control: errors', () => {
  let srv: TestServer
  let c: S3ControlClient
  before(async () => {
    srv = await startTestServer({ world: world() })
    c = controlClient(srv)
  })
  after(async () => {
    await srv.stop()
  })

  it('unknown MRAP name → 404 NoSuchMultiRegionAccessPoint (Get, Delete)', async () => {
    await expectError(() => c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'never-created' })), 'NoSuchMultiRegionAccessPoint', 404)
    await expectError(() => c.send(new DeleteMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: 'never-created' } })), 'NoSuchMultiRegionAccessPoint', 404)
  })

  it('unknown async request token → 404 NoSuchAsyncRequest', async () => {
    const arn = `arn:aws:s3:us-west-2:${ACCOUNT}:async-request/mrap/create/0123456789abcdef`
    await expectError(() => c.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ACCOUNT, RequestTokenARN: arn })), 'NoSuchAsyncRequest', 404)
  })

  it("management calls outside us-west-2 → 301 PermanentRedirect with AWS's wording", async () => {
    const east = controlClient(srv, undefined, 'us-east-1')
    const msg = await expectError(() => east.send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT })), 'PermanentRedirect', 301)
    assert.equal(msg, 'This API operation is only available in the following Regions: us-west-2. Make sure to send all future requests to a supported Region.')
  })

  it('bad names → 400 InvalidRequest, synchronously', async () => {
    const b = await makeBucket(srv, 'us-east-1')
    for (const Name of ['ab', 'Upper-case', '-leading', 'trailing-', 'under_score', 'a'.repeat(51)]) {
      await expectError(() => c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name, Regions: [{ Bucket: b }] } })), 'InvalidRequest', 400)
    }
  })

  it('two buckets in one Region, or a bucket that does not exist → the operation FAILS with details', async () => {
    const [b1, b2] = [await makeBucket(srv, 'us-east-1'), await makeBucket(srv, 'us-east-1')]
    const twice = await createMrap(c, { Name: mrapName('err'), Regions: [{ Bucket: b1 }, { Bucket: b2 }] })
    assert.equal(twice.RequestStatus, 'FAILED')
    assert.equal(twice.ResponseDetails?.ErrorDetails?.Code, 'InvalidRequest')
    assert.match(twice.ResponseDetails?.ErrorDetails?.Message ?? '', /one bucket per Region/)
    const missing = await createMrap(c, { Name: mrapName('err'), Regions: [{ Bucket: b1 }, { Bucket: 'no-such-bucket-for-mrap' }] })
    assert.equal(missing.RequestStatus, 'FAILED')
    assert.deepEqual([missing.ResponseDetails?.ErrorDetails?.Code, missing.ResponseDetails?.ErrorDetails?.Resource], ['NoSuchBucket', 'no-such-bucket-for-mrap'])
    // Neither left an MRAP behind.
    const list = await c.send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT }))
    assert.ok(!list.AccessPoints?.some((a) => a.Regions?.some((r) => r.Bucket === b2)))
  })

  it('a name already in use → the operation FAILS', async () => {
    const b = await makeBucket(srv, 'us-east-1')
    const name = mrapName('dup')
    assert.equal((await createMrap(c, { Name: name, Regions: [{ Bucket: b }] })).RequestStatus, 'SUCCEEDED')
    const again = await createMrap(c, { Name: name, Regions: [{ Bucket: b }] })
    assert.equal(again.RequestStatus, 'FAILED')
    assert.equal(again.ResponseDetails?.ErrorDetails?.Code, 'AccessPointAlreadyOwnedByYou')
  })

  it('x-amz-account-id that differs from the host prefix → 403 AccessDenied', async () => {
    const mismatched = controlClient(srv)
    mismatched.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers: Record<string, string> }
        req.headers['x-amz-account-id'] = ACCOUNT
        return next(args)
      },
      { step: 'build', name: 'mismatchAccount' },
    )
    // The header names the signer's own account; the host prefix (from AccountId) another one.
    await expectError(() => mismatched.send(new ListMultiRegionAccessPointsCommand({ AccountId: '444455556666' })), 'AccessDenied', 403)
  })

  it('a principal of another account, or one without permission → 403 AccessDenied', async () => {
    await expectError(() => controlClient(srv, PARTNER_ADMIN).send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT })), 'AccessDenied', 403)
    await expectError(() => controlClient(srv, PARTNER).send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'anything' })), 'AccessDenied', 403)
    const b = await makeBucket(srv, 'us-east-1')
    await expectError(
      () => controlClient(srv, READER).send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: mrapName(), Regions: [{ Bucket: b }] } })),
      'AccessDenied',
      403,
    )
    // The partner's own account is theirs to manage.
    const own = await controlClient(srv, PARTNER_ADMIN).send(new ListMultiRegionAccessPointsCommand({ AccountId: '444455556666' }))
    assert.deepEqual(own.AccessPoints ?? [], [])
  })

  it('management calls also need s3:ListAllMyBuckets', async () => {
    await expectError(() => controlClient(srv, LIMITED).send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT })), 'AccessDenied', 403)
  })

  it('renders errors in the <ErrorResponse> envelope; checks x-amz-account-id, Content-MD5 and signatures', async () => {
    const r = await rawRequest(srv.endpoint, { method: 'GET', path: '/v20180820/mrap/instances/never-created', headers: { 'x-amz-account-id': ACCOUNT }, region: 'us-west-2' })
    assert.equal(r.status, 404)
    assert.match(
      r.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<ErrorResponse><Error><Code>NoSuchMultiRegionAccessPoint<\/Code><Message>[^<]+<\/Message><\/Error><RequestId>[^<]+<\/RequestId><HostId>[^<]+<\/HostId><\/ErrorResponse>$/,
    )
    const noAccount = await rawRequest(srv.endpoint, { method: 'GET', path: '/v20180820/mrap/instances', region: 'us-west-2' })
    assert.deepEqual([noAccount.status, codeOf(noAccount.body)], [400, 'InvalidRequest'])
    const badMd5 = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: '/v20180820/mrap/instances',
      headers: { 'x-amz-account-id': ACCOUNT, 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' },
      region: 'us-west-2',
    })
    assert.deepEqual([badMd5.status, codeOf(badMd5.body)], [400, 'BadDigest'])
    const anonymous = await rawRequest(srv.endpoint, { method: 'GET', path: '/v20180820/mrap/instances', headers: { 'x-amz-account-id': ACCOUNT }, creds: null })
    assert.deepEqual([anonymous.status, codeOf(anonymous.body)], [403, 'AccessDenied'])
    const other = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: '/v20180820/configuration/publicAccessBlock',
      headers: { 'x-amz-account-id': ACCOUNT },
      region: 'us-west-2',
    })
    assert.deepEqual([other.status, codeOf(other.body)], [501, 'NotImplemented'])
    const malformed = await rawRequest(srv.endpoint, {
      method: 'POST',
      path: '/v20180820/async-requests/mrap/create',
      headers: { 'x-amz-account-id': ACCOUNT },
      body: '<CreateMultiRegionAccessPointRequest><Details>',
      region: 'us-west-2',
    })
    assert.deepEqual([malformed.status, codeOf(malformed.body)], [400, 'MalformedXML'])
  })

  it('refuses more Regions than the limit, synchronously', async () => {
    const Regions = Array.from({ length: 18 }, (_, i) => ({ Bucket: `bucket-${i}-for-limit` }))
    await expectError(() => c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: mrapName(), Regions } })), 'InvalidRequest', 400)
  })
})

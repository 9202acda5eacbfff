/**
 * S3 Control MRAP lifecycle through the JS SDK: create (Block Public Access on and off), describe
 * until SUCCEEDED, get, list, delete, ClientToken idempotency, buckets held by an MRAP, and
 * persistence across a restart on the same data directory.
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DeleteBucketCommand } from '@aws-sdk/client-s3'
import {
  CreateMultiRegionAccessPointCommand,
  DeleteMultiRegionAccessPointCommand,
  DescribeMultiRegionAccessPointOperationCommand,
  GetMultiRegionAccessPointCommand,
  GetMultiRegionAccessPointPolicyStatusCommand,
  GetMultiRegionAccessPointRoutesCommand,
  ListMultiRegionAccessPointsCommand,
  SubmitMultiRegionAccessPointRoutesCommand,
} from '@aws-sdk/client-s3-control'
import { failure, PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'
import { ACCOUNT, controlClient, createMrap, makeBucket, mrapName, PARTNER_ACCOUNT, waitForOperation } from './helpers.js'

describe('S3 Control: MRAP lifecycle', () => {
  let srv: TestServer
  before(async () => {
    srv = await startTestServer()
  })
  after(async () => {
    await srv.stop()
  })

  it('creates an MRAP with Block Public Access omitted (all on), reports it with Get and List', async () => {
    const c = controlClient(srv)
    const [b1, b2] = [await makeBucket(srv, 'us-east-1'), await makeBucket(srv, 'eu-west-1')]
    const name = mrapName()
    const created = await c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: name, Regions: [{ Bucket: b1 }, { Bucket: b2 }] } }))
    assert.match(created.RequestTokenARN!, new RegExp(`^arn:aws:s3:us-west-2:${ACCOUNT}:async-request/mrap/create/[a-z0-9]+$`))
    const { op } = await waitForOperation(c, created.RequestTokenARN!)
    assert.equal(op.RequestStatus, 'SUCCEEDED')
    assert.equal(op.Operation, 'CreateMultiRegionAccessPoint')
    assert.equal(op.RequestParameters?.CreateMultiRegionAccessPointRequest?.Name, name)
    assert.ok(op.CreationTime instanceof Date)

    const got = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!
    assert.equal(got.Name, name)
    assert.match(got.Alias!, /^[a-z][a-z0-9]{12}\.mrap$/)
    assert.equal(got.Status, 'READY')
    assert.deepEqual(got.PublicAccessBlock, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true })
    assert.deepEqual(
      got.Regions?.map((r) => [r.Bucket, r.Region, r.BucketAccountId]).sort(),
      [
        [b1, 'us-east-1', ACCOUNT],
        [b2, 'eu-west-1', ACCOUNT],
      ].sort(),
    )
    assert.ok(got.CreatedAt instanceof Date)

    const list = await c.send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT }))
    assert.ok(list.AccessPoints?.some((a) => a.Name === name && a.Alias === got.Alias))
    const routes = await c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: `arn:aws:s3::${ACCOUNT}:accesspoint/${got.Alias}` }))
    assert.deepEqual(
      routes.Routes?.map((r) => r.TrafficDialPercentage),
      [100, 100],
    )
  })

  it('keeps Block Public Access as given at creation (off)', async () => {
    const c = controlClient(srv)
    const b = await makeBucket(srv, 'us-west-2')
    const name = mrapName()
    const off = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }
    const op = await createMrap(c, { Name: name, PublicAccessBlock: off, Regions: [{ Bucket: b }] })
    assert.equal(op.RequestStatus, 'SUCCEEDED')
    const got = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!
    assert.deepEqual(got.PublicAccessBlock, off)
  })

  it('shows NEW and IN_PROGRESS before SUCCEEDED when the work takes time', async () => {
    const world = testWorld() as ReturnType<typeof testWorld> & { control?: unknown }
    world.control = { asyncDelayMs: 120 }
    const slow = await startTestServer({ world })
    try {
      const c = controlClient(slow)
      const b = await makeBucket(slow, 'us-east-1')
      const r = await c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: mrapName(), Regions: [{ Bucket: b }] } }))
      const { op, seen } = await waitForOperation(c, r.RequestTokenARN!)
      assert.deepEqual(seen, ['NEW', 'IN_PROGRESS', 'SUCCEEDED'])
      assert.deepEqual(op.ResponseDetails?.MultiRegionAccessPointDetails?.Regions, [{ Name: 'us-east-1', RequestStatus: 'SUCCEEDED' }])
    } finally {
      await slow.stop()
    }
  })

  it('returns the same RequestTokenARN for the same ClientToken and request, and refuses the token for another request', async () => {
    const c = controlClient(srv)
    const b = await makeBucket(srv, 'us-east-1')
    const name = mrapName()
    const input = { AccountId: ACCOUNT, ClientToken: `tok-${name}`, Details: { Name: name, Regions: [{ Bucket: b }] } }
    const first = await c.send(new CreateMultiRegionAccessPointCommand(input))
    const again = await c.send(new CreateMultiRegionAccessPointCommand(input))
    assert.equal(again.RequestTokenARN, first.RequestTokenARN)
    await waitForOperation(c, first.RequestTokenARN!)
    const third = await c.send(new CreateMultiRegionAccessPointCommand(input))
    assert.equal(third.RequestTokenARN, first.RequestTokenARN)
    const e = await failure(() => c.send(new CreateMultiRegionAccessPointCommand({ ...input, Details: { Name: mrapName(), Regions: [{ Bucket: b }] } })))
    assert.equal(e.name, 'InvalidRequest')
    assert.equal(e.$metadata.httpStatusCode, 400)
    // Only one MRAP came of it.
    const list = await c.send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT }))
    assert.equal(list.AccessPoints?.filter((a) => a.Name === name).length, 1)
  })

  it('accepts a cross-account bucket named with its BucketAccountId, and fails without it', async () => {
    const c = controlClient(srv)
    const mine = await makeBucket(srv, 'us-east-1')
    const theirs = await makeBucket(srv, 'eu-west-1', PARTNER_ADMIN, 'partner')
    const ok = await createMrap(c, { Name: mrapName(), Regions: [{ Bucket: mine }, { Bucket: theirs, BucketAccountId: PARTNER_ACCOUNT }] })
    assert.equal(ok.RequestStatus, 'SUCCEEDED')
    const missing = await createMrap(c, { Name: mrapName(), Regions: [{ Bucket: mine }, { Bucket: theirs }] })
    assert.equal(missing.RequestStatus, 'FAILED')
    assert.equal(missing.ResponseDetails?.ErrorDetails?.Code, 'AccessDenied')
    const wrong = await createMrap(c, { Name: mrapName(), Regions: [{ Bucket: theirs, BucketAccountId: '999999999999' }] })
    assert.equal(wrong.ResponseDetails?.ErrorDetails?.Code, 'AccessDenied')
    // Another account's bucket may be deleted by its owner even while in this MRAP.
  })

  it('refuses to delete a same-account bucket that is part of an MRAP', async () => {
    const c = controlClient(srv)
    const b = await makeBucket(srv, 'us-east-1')
    await createMrap(c, { Name: mrapName(), Regions: [{ Bucket: b }] })
    const e = await failure(() => srv.client().send(new DeleteBucketCommand({ Bucket: b })))
    assert.equal(e.name, 'InvalidBucketState')
    assert.equal(e.$metadata.httpStatusCode, 409)
  })

  it('deletes an MRAP: Get is then 404, the bucket can go, and the alias is never issued again', async () => {
    const c = controlClient(srv)
    const b = await makeBucket(srv, 'us-east-1')
    const name = mrapName()
    await createMrap(c, { Name: name, Regions: [{ Bucket: b }] })
    const alias = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!.Alias!
    const del = await c.send(new DeleteMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: name } }))
    assert.match(del.RequestTokenARN!, /:async-request\/mrap\/delete\//)
    const { op } = await waitForOperation(c, del.RequestTokenARN!)
    assert.equal(op.RequestStatus, 'SUCCEEDED')
    assert.equal(op.RequestParameters?.DeleteMultiRegionAccessPointRequest?.Name, name)
    const e = await failure(() => c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name })))
    assert.equal(e.name, 'NoSuchMultiRegionAccessPoint')
    assert.equal(e.$metadata.httpStatusCode, 404)
    await srv.client().send(new DeleteBucketCommand({ Bucket: b }))
    // Same name, same configuration: a different alias; the old one stays retired.
    const b2 = await makeBucket(srv, 'us-east-1')
    await createMrap(c, { Name: name, Regions: [{ Bucket: b2 }] })
    const again = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!
    assert.notEqual(again.Alias, alias)
    assert.equal(srv.services.mraps.known(alias), true)
    assert.equal(srv.services.mraps.byAlias(alias), undefined)
  })
})

describe("S3 Control: the world's MRAPs", () => {
  it("creates the seed world's MRAP with its alias and policy; deleting it retires the alias for good", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-control-'))
    try {
      let srv = await startTestServer({ dataDir })
      let c = controlClient(srv)
      const seed = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'seed-mrap' }))).AccessPoint!
      assert.equal(seed.Alias, 'mfzwi23gnjvgw.mrap')
      assert.deepEqual(seed.Regions?.map((r) => [r.Bucket, r.Region]).sort(), [
        ['DOC-EXAMPLE-BUCKET1', 'us-east-1'],
        ['DOC-EXAMPLE-BUCKET2', 'eu-west-1'],
      ])
      const status = await c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ACCOUNT, Name: 'seed-mrap' }))
      assert.equal(status.Established?.IsPublic, true)
      const del = await c.send(new DeleteMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: 'seed-mrap' } }))
      assert.equal((await waitForOperation(c, del.RequestTokenARN!)).op.RequestStatus, 'SUCCEEDED')
      await srv.stop()
      srv = await startTestServer({ dataDir })
      c = controlClient(srv)
      await assert.rejects(c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'seed-mrap' })), { name: 'NoSuchMultiRegionAccessPoint' })
      assert.equal(srv.services.mraps.byAlias('mfzwi23gnjvgw.mrap'), undefined)
      await srv.stop()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('S3 Control: persistence', () => {
  it('keeps MRAPs, routes and async operations across a restart, and finishes operations left running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-control-'))
    try {
      let srv = await startTestServer({ dataDir })
      let c = controlClient(srv)
      const [b1, b2] = [await makeBucket(srv, 'us-east-1'), await makeBucket(srv, 'eu-west-1')]
      const name = mrapName()
      const done = await c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: name, Regions: [{ Bucket: b1 }, { Bucket: b2 }] } }))
      await waitForOperation(c, done.RequestTokenARN!)
      const alias = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!.Alias!
      const mrap = `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`
      await c.send(new SubmitMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap, RouteUpdates: [{ Region: 'eu-west-1', TrafficDialPercentage: 0 }] }))
      await srv.stop()

      // A server whose operations wait long enough to be cut off by the restart.
      const slowWorld = testWorld() as ReturnType<typeof testWorld> & { control?: unknown }
      slowWorld.control = { asyncDelayMs: 5000 }
      srv = await startTestServer({ dataDir, world: slowWorld })
      c = controlClient(srv)
      const b3 = await makeBucket(srv, 'us-west-2')
      const pending = await c.send(new CreateMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Details: { Name: mrapName(), Regions: [{ Bucket: b3 }] } }))
      const before = await c.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ACCOUNT, RequestTokenARN: pending.RequestTokenARN! }))
      assert.equal(before.AsyncOperation?.RequestStatus, 'NEW')
      await srv.stop()

      srv = await startTestServer({ dataDir })
      c = controlClient(srv)
      const got = (await c.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))).AccessPoint!
      assert.equal(got.Alias, alias)
      const routes = await c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap }))
      assert.deepEqual(Object.fromEntries(routes.Routes!.map((r) => [r.Region, r.TrafficDialPercentage])), { 'us-east-1': 100, 'eu-west-1': 0 })
      const old = await c.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ACCOUNT, RequestTokenARN: done.RequestTokenARN! }))
      assert.equal(old.AsyncOperation?.RequestStatus, 'SUCCEEDED')
      const resumed = await waitForOperation(c, pending.RequestTokenARN!)
      assert.equal(resumed.op.RequestStatus, 'SUCCEEDED')
      await srv.stop()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

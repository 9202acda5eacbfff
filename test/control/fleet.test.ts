/**
 * S3 Control for MRAPs on a fleet: two in-process nodes ("A" and "B") sharing one throw-away
 * PostgreSQL (test/helpers/postgres.ts), each with its own listeners and regional stores, driven
 * with the JS SDK (@aws-sdk/client-s3-control) and the MRAP global endpoint (SigV4A, through each
 * node's proxy). What a fleet must add to one node (issue 17, docs/decisions/shared-state.md):
 * an operation accepted by A is seen and finished everywhere, a route flip on A steers B within
 * a second, a node that stops holding a step leaves it to the other after the lease, one
 * ClientToken is one operation whichever nodes it reaches, and a state write with the database
 * down is S3 Control's 503.
 * Idempotency by ClientToken: *CreateMultiRegionAccessPoint*,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateMultiRegionAccessPoint.html
 * Failover dials: *SubmitMultiRegionAccessPointRoutes*,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html
 * 503 and retries: *Amazon S3 error best practices*,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import {
  CreateMultiRegionAccessPointCommand,
  DescribeMultiRegionAccessPointOperationCommand,
  GetMultiRegionAccessPointCommand,
  type GetMultiRegionAccessPointCommandOutput,
  type S3ControlClient,
  SubmitMultiRegionAccessPointRoutesCommand,
} from '@aws-sdk/client-s3-control'
import { controlConfigFrom } from '../../src/control/config.js'
import { type ControlHandler, createControlHandler } from '../../src/control/handler.js'
import { MrapRegistry } from '../../src/mrap/registry.js'
import { PgStateStore } from '../../src/state/postgres/pg-state.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ACCOUNT, controlClient, waitForOperation } from './helpers.js'

const EAST = 'DOC-EXAMPLE-BUCKET1' // us-east-1 in the seed world, on every node
const WEST = 'DOC-EXAMPLE-BUCKET2' // eu-west-1
const LEASE_MS = 1500

interface Node {
  srv: TestServer
  state: PgStateStore
  control: ControlHandler
  client: S3ControlClient
}

let cluster: PgCluster
const nodes: Node[] = []

/**
 * A server whose control state is the shared database: what `--state postgres://` will build
 * (engineer A's compose change), done by hand on a running server until then.
 */
async function node(): Promise<Node> {
  const srv = await startTestServer()
  const core = srv.services
  const state = await PgStateStore.open({ connection: cluster.url, backstopMs: 1000, pingMs: 1000 })
  for (const b of core.state.listBuckets()) if (!state.getBucket(b.name)) await state.putBucket(b)
  core.state = state
  core.mraps = new MrapRegistry(state)
  const handlers = srv.app.handlers
  ;(handlers.control as ControlHandler).close()
  const control = createControlHandler(core, { ...controlConfigFrom(core.world), asyncDelayMs: { min: 20, max: 60 } }, { leaseMs: LEASE_MS, pollMs: 50 })
  handlers.control = control
  const n = { srv, state, control, client: controlClient(srv) }
  nodes.push(n)
  return n
}

async function stopNode(n: Node): Promise<void> {
  n.control.close()
  n.client.destroy()
  await n.srv.stop().catch(() => undefined)
  await n.state.close().catch(() => undefined)
  nodes.splice(nodes.indexOf(n), 1)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function create(c: S3ControlClient, name: string, clientToken?: string): Promise<string> {
  const r = await c.send(
    new CreateMultiRegionAccessPointCommand({
      AccountId: ACCOUNT,
      ...(clientToken ? { ClientToken: clientToken } : {}),
      Details: { Name: name, Regions: [{ Bucket: EAST }, { Bucket: WEST }] },
    }),
  )
  return r.RequestTokenARN!
}

/** The Region that served a GET through the MRAP on node `n` (each bucket holds an object naming its Region). */
async function servedBy(n: Node, alias: string): Promise<string> {
  const c = proxiedS3Client(n.srv)
  try {
    const got = await c.send(new GetObjectCommand({ Bucket: mrapArnOf(ACCOUNT, alias), Key: 'where.txt' }))
    return await got.Body!.transformToString()
  } finally {
    c.destroy()
  }
}

let a: Node
let b: Node

before(async () => {
  cluster = await startPostgres('control-fleet')
  a = await node()
  b = await node()
  // Node B's own regional stores hold the objects its MRAP requests reach.
  for (const [bucket, region] of [
    [EAST, 'us-east-1'],
    [WEST, 'eu-west-1'],
  ] as const) {
    const s3 = b.srv.client(undefined, region)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'where.txt', Body: region }))
    s3.destroy()
  }
})

after(async () => {
  for (const n of [...nodes]) await stopNode(n)
  await cluster?.destroy()
})

describe('S3 Control on two nodes sharing PostgreSQL', () => {
  let alias: string

  it('an MRAP created through node A becomes READY, and B shows it and its operation', async () => {
    const arn = await create(a.client, 'fleet-one')
    const { op } = await waitForOperation(a.client, arn)
    assert.equal(op.RequestStatus, 'SUCCEEDED', JSON.stringify(op.ResponseDetails))
    // B reads its memory, which follows the database within a second.
    const t0 = Date.now()
    let got: GetMultiRegionAccessPointCommandOutput | undefined
    for (;;) {
      got = await b.client.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'fleet-one' })).catch(() => undefined)
      if (got?.AccessPoint?.Status === 'READY' || Date.now() - t0 > 1000) break
      await sleep(20)
    }
    assert.equal(got?.AccessPoint?.Status, 'READY')
    alias = got!.AccessPoint!.Alias!
    const onB = await b.client.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ACCOUNT, RequestTokenARN: arn }))
    assert.equal(onB.AsyncOperation?.RequestStatus, 'SUCCEEDED')
    assert.equal(await servedBy(b, alias), 'us-east-1')
  })

  it('a route flip submitted on A is obeyed by B within 1 s', async () => {
    assert.ok(alias, 'needs the MRAP of the first test')
    const routes = controlClient(a.srv, undefined, 'us-east-1')
    for (const [passive, active] of [
      ['us-east-1', 'eu-west-1'],
      ['eu-west-1', 'us-east-1'],
    ] as const) {
      const t0 = Date.now()
      await routes.send(
        new SubmitMultiRegionAccessPointRoutesCommand({
          AccountId: ACCOUNT,
          Mrap: mrapArnOf(ACCOUNT, alias),
          RouteUpdates: [
            { Region: passive, TrafficDialPercentage: 0 },
            { Region: active, TrafficDialPercentage: 100 },
          ],
        }),
      )
      while ((await servedBy(b, alias)) !== active) {
        assert.ok(Date.now() - t0 < 1000, `B still routes away from ${active} 1 s after the flip on A`)
        await sleep(10)
      }
    }
    routes.destroy()
  })

  it('two concurrent creates with one ClientToken, on two nodes, give one operation', async () => {
    const token = `fleet-token-${Date.now()}`
    const [x, y] = await Promise.all([create(a.client, 'fleet-two', token), create(b.client, 'fleet-two', token)])
    assert.equal(x, y)
    const rows = await cluster.sql<{ n: string }>(`SELECT count(*) AS n FROM mrap_record WHERE ns = 'mrap-async' AND v::jsonb ->> 'clientToken' = $1`, [token])
    assert.equal(Number(rows[0]!.n), 1)
    const { op } = await waitForOperation(b.client, x)
    assert.equal(op.RequestStatus, 'SUCCEEDED', JSON.stringify(op.ResponseDetails))
  })

  it('refuses state changes with 503 ServiceUnavailable while PostgreSQL is down, and works again after', async () => {
    assert.ok(alias, 'needs the MRAP of the first test')
    await cluster.stop()
    try {
      const e = await failure(() => create(a.client, 'fleet-down'))
      assert.equal(e.name, 'ServiceUnavailable')
      assert.equal(e.$metadata.httpStatusCode, 503)
      const routes = controlClient(b.srv, undefined, 'us-east-1')
      const r = await failure(() =>
        routes.send(
          new SubmitMultiRegionAccessPointRoutesCommand({
            AccountId: ACCOUNT,
            Mrap: mrapArnOf(ACCOUNT, alias),
            RouteUpdates: [{ Region: 'eu-west-1', TrafficDialPercentage: 0 }],
          }),
        ),
      )
      routes.destroy()
      assert.equal(r.name, 'ServiceUnavailable')
      assert.equal(r.$metadata.httpStatusCode, 503)
      // Reads come from memory.
      const got = await b.client.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'fleet-one' }))
      assert.equal(got.AccessPoint?.Status, 'READY')
    } finally {
      await cluster.start()
    }
    const { op } = await waitForOperation(a.client, await create(a.client, 'fleet-up'), ACCOUNT, 10_000)
    assert.equal(op.RequestStatus, 'SUCCEEDED', JSON.stringify(op.ResponseDetails))
  })

  it('a step claimed by a node that then stops is finished by the other after the lease expires', async () => {
    // Only A takes part while it claims; B's runner stops (its state and listeners stay up).
    b.control.close()
    let claimed: (token: string) => void = () => undefined
    const claimedP = new Promise<string>((r) => {
      claimed = r
    })
    let claimedAt = 0
    a.control.asyncOps.holdClaimed = async (token) => {
      claimedAt = Date.now()
      claimed(token)
      await new Promise(() => undefined)
    }
    const arn = await create(a.client, 'fleet-three')
    const token = await Promise.race([claimedP, sleep(5000).then(() => assert.fail('node A never claimed the step'))])
    assert.ok(arn.endsWith(`/${token}`))
    const held = await cluster.sql<{ attempts: number }>(`SELECT attempts FROM mrap_task WHERE queue = 'mrap-async' AND key = $1 AND lease_token IS NOT NULL`, [token])
    assert.equal(held.length, 1)
    await stopNode(a)

    b.control = createControlHandler(b.srv.services, { ...controlConfigFrom(b.srv.services.world), asyncDelayMs: { min: 20, max: 60 } }, { leaseMs: LEASE_MS, pollMs: 50 })
    b.srv.app.handlers.control = b.control
    const { op } = await waitForOperation(b.client, arn, ACCOUNT, 10_000)
    assert.equal(op.RequestStatus, 'SUCCEEDED', JSON.stringify(op.ResponseDetails))
    // Not before A's lease ran out: B could not take a step A held.
    assert.ok(Date.now() - claimedAt >= LEASE_MS, `finished ${Date.now() - claimedAt} ms after A claimed the step`)
    const got = await b.client.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'fleet-three' }))
    assert.equal(got.AccessPoint?.Status, 'READY')
    const left = await cluster.sql(`SELECT 1 FROM mrap_task WHERE queue = 'mrap-async' AND key = $1`, [token])
    assert.equal(left.length, 0)
  })
})

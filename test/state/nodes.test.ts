/**
 * Two mrap nodes on one PostgreSQL (`--state postgres://…`), each with its own data dir, the same
 * world: a change made through one node's API is obeyed by the other within a second
 * (docs/decisions/shared-state.md, issue 17). Real SDK clients against real servers.
 *
 * Both nodes serve the world's regions from embedded storage, which a fleet refuses (one node's
 * disk): this test is about control state, so node A's region claims are released, as
 * `mrap fleet release` would, before node B starts. Objects are never read across the nodes here.
 *
 * AWS is eventually consistent here too: IAM changes "might not be immediately visible"
 * (*Troubleshooting IAM*, "Changes that I make are not always immediately visible",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html); mrap bounds it at 1 s.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CreateSubnetCommand, CreateVpcCommand, CreateVpcEndpointCommand, DescribeVpcEndpointsCommand, EC2Client, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, IAMClient, ListUserPoliciesCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import pg from 'pg'
import { pino } from 'pino'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { StartupError } from '../../src/shared/startup-error.js'
import { listClaims, releaseClaim } from '../../src/state/fleet.js'
import { freePort } from '../helpers/ceph.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN, bucketName, failure, testWorld } from '../helpers/server.js'

type Creds = { accessKeyId: string; secretAccessKey: string }

let cluster: PgCluster
let dir: string
let a: RunningServer
let b: RunningServer

const s3 = (n: RunningServer, creds: Creds = ADMIN): S3Client =>
  new S3Client({ endpoint: n.endpoint, region: 'us-east-1', credentials: creds, forcePathStyle: true, maxAttempts: 1 })
const iam = (n: RunningServer, creds: Creds = ADMIN): IAMClient => new IAMClient({ endpoint: n.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 })
const ec2 = (n: RunningServer, creds: Creds = ADMIN): EC2Client => new EC2Client({ endpoint: n.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 })

/** Polls `probe` until it holds; the milliseconds it took, or a failure after `withinMs`. */
async function within(withinMs: number, what: string, probe: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = Date.now()
  for (;;) {
    if (await probe()) return Date.now() - t0
    if (Date.now() - t0 > withinMs) assert.fail(`${what}: not within ${withinMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Whether the node accepts a request signed with `creds` (ListBuckets; the user may list). */
async function accepted(n: RunningServer, creds: Creds): Promise<boolean> {
  try {
    await s3(n, creds).send(new ListBucketsCommand({}))
    return true
  } catch (e) {
    const code = (e as { name?: string }).name
    if (code === 'InvalidAccessKeyId') return false
    throw e
  }
}

const node = (name: string): Promise<RunningServer> =>
  startServer({
    dataDir: join(dir, name),
    port: 0,
    tlsPort: 0,
    proxyPort: 0,
    world: testWorld(),
    logger: pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' }),
    state: cluster.url,
    sealingKeyFile: join(dir, 'sealing.key'),
  })

before(async () => {
  cluster = await startPostgres('nodes')
  dir = mkdtempSync(join(tmpdir(), 'mrap-nodes-'))
  writeSealingKeyFile(join(dir, 'sealing.key'))
  a = await node('a')
  for (const c of listClaims(a.services.state)) await releaseClaim(a.services.state, c.region)
  b = await node('b')
})

after(async () => {
  await b?.close().catch(() => undefined)
  await a?.close().catch(() => undefined)
  await cluster?.destroy()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('two nodes on one PostgreSQL', () => {
  it('both run on the shared state, with the world applied once', () => {
    assert.equal(a.services.state.backend, 'postgres')
    assert.equal(b.services.state.backend, 'postgres')
    assert.deepEqual(
      b.services.state.listBuckets().map((x) => x.name),
      a.services.state.listBuckets().map((x) => x.name),
    )
  })

  it('a bucket created through node A is listed by node B within 1 s', async () => {
    const name = bucketName('nodes')
    await s3(a).send(new CreateBucketCommand({ Bucket: name }))
    const ms = await within(1000, 'B lists the bucket', async () => ((await s3(b).send(new ListBucketsCommand({}))).Buckets ?? []).some((x) => x.Name === name))
    assert.ok(ms <= 1000)
    // Created once: through B it is now the caller's own bucket (us-east-1's legacy 200, as on A).
    const again = await s3(b).send(new CreateBucketCommand({ Bucket: name }))
    assert.equal(again.$metadata.httpStatusCode, 200)
  })

  it('a key made through node B signs for node A; deleted through A, node B refuses it within 1 s', async () => {
    const user = `nodes-${process.pid}`
    await iam(b).send(new CreateUserCommand({ UserName: user }))
    await iam(b).send(
      new PutUserPolicyCommand({
        UserName: user,
        PolicyName: 'list',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] }),
      }),
    )
    const made = (await iam(b).send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!
    const key = { accessKeyId: made.AccessKeyId!, secretAccessKey: made.SecretAccessKey! }
    await within(1000, 'A accepts the key made on B', () => accepted(a, key))
    assert.equal(await accepted(b, key), true, 'B accepts its own key')

    await iam(a).send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.accessKeyId }))
    assert.equal(await accepted(a, key), false, 'A refuses at once (read-your-writes)')
    await within(1000, 'B refuses the key deleted on A', async () => !(await accepted(b, key)))
    const refused = await failure(() => s3(b, key).send(new ListBucketsCommand({})))
    assert.equal(refused.name, 'InvalidAccessKeyId')
    assert.equal(refused.$metadata.httpStatusCode, 403)
  })

  it('concurrent IAM changes to one user keep every acknowledged change, on one node and across two', async () => {
    const user = `concurrent-${process.pid}`
    await iam(a).send(new CreateUserCommand({ UserName: user }))
    await within(1000, 'B knows the user', () => b.services.identities.findPrincipal(`123456789012/${user}`) !== undefined)
    const doc = (i: number): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::b${i}/*` }] })
    const put = async (n: RunningServer, i: number): Promise<string | undefined> => {
      try {
        await iam(n).send(new PutUserPolicyCommand({ UserName: user, PolicyName: `p${i}`, PolicyDocument: doc(i) }))
        return `p${i}`
      } catch (e) {
        // IAM's answer to a lost race: wire code ConcurrentModification, which the SDK names
        // ConcurrentModificationException (the IAM API reference's name for it).
        assert.equal((e as { name?: string }).name, 'ConcurrentModificationException')
        assert.equal((e as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode, 409)
        return undefined
      }
    }
    // One node: every call succeeds (they take turns), and none undoes another.
    const one = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => put(a, i)))
    assert.deepEqual(one, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'])
    // Two nodes at once: a call may lose the race (409), but what was acknowledged stays.
    const two = (await Promise.all([6, 7, 8, 9, 10, 11].map((i) => put(i % 2 === 0 ? a : b, i)))).filter((x) => x !== undefined)
    const want = [...one, ...two].sort()
    for (const n of [a, b]) {
      await within(
        1000,
        'every acknowledged policy is there',
        async () => JSON.stringify(((await iam(n).send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames ?? []).sort()) === JSON.stringify(want),
      )
    }
  })

  it('a VPC endpoint created through node A is described by node B within 1 s', async () => {
    const vpc = (await ec2(a).send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc!.VpcId!
    await ec2(a).send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
    const subnet = (await ec2(a).send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.42.1.0/24' }))).Subnet!.SubnetId!
    const ep = (
      await ec2(a).send(
        new CreateVpcEndpointCommand({
          VpcId: vpc,
          VpcEndpointType: 'Interface',
          ServiceName: 'com.amazonaws.s3-global.accesspoint',
          SubnetIds: [subnet],
        }),
      )
    ).VpcEndpoint!
    await within(1000, 'B describes the endpoint', async () => {
      const r = await ec2(b).send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))
      return (r.VpcEndpoints ?? []).some((e) => e.VpcEndpointId === ep.VpcEndpointId)
    })
    assert.equal(b.services.vpcs.endpoint(ep.VpcEndpointId!)?.vpcId, vpc)
    // The subnet too: node B lists the endpoint's zonal DNS name, which it reads from the subnet.
    assert.equal(b.services.vpcs.subnets.get(subnet)?.vpcId, vpc)
    // Node B opened a forward proxy for the VPC made on A (its clients reach the endpoint through B).
    await within(1000, 'B proxies the new VPC', () => b.vpcProxies.info()[vpc] !== undefined)
  })

  it('PostgreSQL down: IAM and bucket changes get 503 ServiceUnavailable, signed reads still pass; back up, writes work', async () => {
    // ServiceUnavailable is what SDKs retry (*Amazon S3 error best practices*,
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html).
    const user = `outage-${process.pid}`
    const name = bucketName('outage')
    await cluster.stop()
    try {
      const denied = await failure(() => iam(a).send(new CreateUserCommand({ UserName: user })))
      assert.equal(denied.$metadata.httpStatusCode, 503)
      assert.equal(denied.name, 'ServiceUnavailable')
      const bucket = await failure(() => s3(b).send(new CreateBucketCommand({ Bucket: name })))
      assert.equal(bucket.$metadata.httpStatusCode, 503)
      assert.equal(bucket.name, 'ServiceUnavailable')
      assert.equal(await accepted(a, ADMIN), true, 'authentication answers from memory')
    } finally {
      await cluster.start()
    }
    assert.equal(a.services.identities.findPrincipal(`123456789012/${user}`), undefined, 'a failed write leaves no trace in memory')
    await within(10_000, 'IAM writes work again', async () => {
      try {
        await iam(a).send(new CreateUserCommand({ UserName: user }))
        return true
      } catch (e) {
        if ((e as { name?: string }).name === 'ServiceUnavailable') return false
        throw e
      }
    })
    await within(1000, 'B sees the user made after the outage', () => b.services.identities.findPrincipal(`123456789012/${user}`) !== undefined)
  })

  it('a database it cannot reach stops a node from starting, and the password is never repeated', async () => {
    const url = `postgres://mrap:n0t-This-Pa55word@127.0.0.1:${await freePort()}/mrap`
    const err = await startServer({
      dataDir: join(dir, 'c'),
      port: 0,
      tlsPort: 0,
      proxyPort: 0,
      world: testWorld(),
      logger: pino({ level: 'silent' }),
      state: url,
      sealingKeyFile: join(dir, 'sealing.key'),
    }).then(
      () => assert.fail('started without its state'),
      (e: unknown) => e as Error,
    )
    assert.ok(err instanceof StartupError, String(err))
    assert.match(err.message, /cannot open the control state at postgres:\/\/mrap:\*\*\*@127\.0\.0\.1:\d+\/mrap/)
    assert.doesNotMatch(err.message, /n0t-This-Pa55word/)
    const odd = await startServer({ dataDir: join(dir, 'c'), port: 0, world: testWorld(), logger: pino({ level: 'silent' }), state: 'mysql://x:y@h/db' }).then(
      () => assert.fail('started'),
      (e: unknown) => e as Error,
    )
    assert.ok(odd instanceof StartupError)
    assert.match(odd.message, /expected sqlite \(the default\) or a postgres:\/\/ URL/)
    assert.doesNotMatch(odd.message, /:y@/)
  })

  it('mrap serve --state postgres://…: serves from the database, names it without its password', { timeout: 120_000 }, async () => {
    // A database of its own: the nodes above hold the claims on the seed's embedded regions in theirs.
    await cluster.sql('CREATE DATABASE cli')
    const password = 'Cli-Pa55word-n0t-needed'
    // The test cluster trusts loopback, so the password is sent nowhere; it must still never be shown.
    const url = `postgres://mrap:${password}@127.0.0.1:${cluster.port}/cli`
    const bin = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
    const child = spawn(
      process.execPath,
      [bin, 'serve', '--data-dir', join(dir, 'cli'), '--port', '0', '--tls-port', '0', '--proxy-port', '0', '--state', url, '--sealing-key-file', join(dir, 'sealing.key')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MRAP_LOG_LEVEL: 'info' } },
    )
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
    })
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = ''
        child.stderr!.on('data', (b: Buffer) => {
          text += b.toString()
          if (text.includes('  try:')) resolve(text)
        })
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)))
      })
      assert.match(banner, new RegExp(`state: +postgres://mrap:\\*\\*\\*@127\\.0\\.0\\.1:${cluster.port}/cli`))
      assert.ok(!banner.includes(password) && !out.includes(password), 'the password is in no output')
      // The state is the database's (the world's buckets were written there), not the data dir's.
      const db = new pg.Client({ ...cluster.config, database: 'cli' })
      await db.connect()
      try {
        const r = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM mrap_bucket WHERE name = 'DOC-EXAMPLE-BUCKET1'")
        assert.equal(r.rows[0]?.n, '1')
      } finally {
        await db.end()
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
    }
  })
})

/**
 * Issue 16 end to end: the seed world with us-east-1 and eu-west-1 on two Ceph RGW clusters
 * (test/helpers/ceph.ts), driven by the AWS CLI and the JS SDK through the seed VPC.
 *
 * - A body of declared size streams to the engine: with the region's staging directory made
 *   impossible, PUT, aws-chunked PUT, CopyObject, UploadPart and UploadPartCopy still succeed.
 * - PUT and GET through the MRAP from the seed VPC (SigV4A; "Configuring a Multi-Region Access
 *   Point for use with AWS PrivateLink",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html).
 * - Two-way replication between the engines through mrap's queue ("Configuring replication for
 *   use with Multi-Region Access Points",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointBucketReplication.html).
 * - Failover: the east gateway is SIGKILLed while a stream of requests runs; each client sees at
 *   most its one in-flight request fail, the rest go to eu-west-1 ("Amazon S3 Multi-Region Access
 *   Points routing states", https://docs.aws.amazon.com/AmazonS3/latest/userguide/FailoverConfiguration.html:
 *   in active-active, a disruption redirects traffic to an active Region). The gateway restarts on the same OSD,
 *   replication drains and both engines hold the same objects byte for byte, read past mrap.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { UpstreamObjectStore } from '../../src/storage/upstream/upstream-object-store.js'
import { AWS_CLI, CliSandbox, runCommand } from '../helpers/aws-cli.js'
import type { CephCluster } from '../helpers/ceph.js'
import { proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { waitFor } from '../replication/helpers.js'
import { B1, B2, clusterDir, engineClient, engineKeys, restartGateway, SEED_ARN, SEED_VPC, seedWorldOnEngines, startClusters } from './helpers.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const E1 = `mrap-us-east-1-${B1}`
const E2 = `mrap-eu-west-1-${B2}`

async function engineBytes(c: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await r.Body!.transformToByteArray())
}

describe('two sites on two RGW clusters', { timeout: 300_000 }, () => {
  let east: CephCluster, west: CephCluster
  let s: TestServer
  let vpcClient: S3Client
  let box: CliSandbox

  before(async () => {
    ;[east, west] = (await startClusters('east', 'west')) as [CephCluster, CephCluster]
    s = await startTestServer({ world: seedWorldOnEngines(east, west) })
    await s.vpcProxies.settled()
    const vpcProxy = s.vpcProxies.proxyOf(SEED_VPC)
    assert.ok(vpcProxy, 'the seed VPC has its proxy')
    vpcClient = proxiedS3Client(s, { proxy: vpcProxy })
    box = new CliSandbox('mrap-two-sites')
  })
  after(async () => {
    vpcClient?.destroy()
    await s?.stop()
    await Promise.all([east?.down(), west?.down()])
    box?.dispose()
  })

  test('a body of declared size streams to the engine: nothing is staged first', async () => {
    const store = s.services.stores.get('us-east-1')
    assert.ok(store instanceof UpstreamObjectStore, 'us-east-1 runs on the east engine')
    // A file where the staging directory would go: any write that stages fails (500 before the fix).
    writeFileSync(store.tmpDir, 'staging is not allowed in this test')
    try {
      const plain = s.client(ADMIN, 'us-east-1', { requestChecksumCalculation: 'WHEN_REQUIRED' })
      const chunked = s.client() // SDK default: aws-chunked with a CRC32 trailer, x-amz-decoded-content-length
      const big = randomBytes(1 << 20)
      await plain.send(new PutObjectCommand({ Bucket: B1, Key: 'size/plain', Body: big }))
      const c = await chunked.send(new PutObjectCommand({ Bucket: B1, Key: 'size/chunked', Body: big }))
      assert.ok(c.ChecksumCRC32, 'the aws-chunked trailer checksum came back')
      await plain.send(new CopyObjectCommand({ Bucket: B1, Key: 'size/copy', CopySource: `${B1}/size/plain` }))
      const up = await plain.send(new CreateMultipartUploadCommand({ Bucket: B1, Key: 'size/mpu' }))
      const part1 = randomBytes(5 << 20)
      const p1 = await plain.send(new UploadPartCommand({ Bucket: B1, Key: 'size/mpu', UploadId: up.UploadId, PartNumber: 1, Body: part1 }))
      const p2 = await plain.send(
        new UploadPartCopyCommand({ Bucket: B1, Key: 'size/mpu', UploadId: up.UploadId, PartNumber: 2, CopySource: `${B1}/size/plain`, CopySourceRange: 'bytes=0-99999' }),
      )
      await plain.send(
        new CompleteMultipartUploadCommand({
          Bucket: B1,
          Key: 'size/mpu',
          UploadId: up.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.CopyPartResult!.ETag },
            ],
          },
        }),
      )
      const e = engineClient(east)
      for (const k of ['size/plain', 'size/chunked', 'size/copy']) assert.ok((await engineBytes(e, E1, k)).equals(big), `${k} on the engine`)
      assert.ok((await engineBytes(e, E1, 'size/mpu')).equals(Buffer.concat([part1, big.subarray(0, 100_000)])))
      e.destroy()
    } finally {
      unlinkSync(store.tmpDir)
    }
  })

  test('PUT and GET through the MRAP from the seed VPC: AWS CLI (mrap exec --vpc) and JS SDK', async () => {
    const file = join(box.dir, 'cli.txt')
    writeFileSync(file, 'from the seed vpc with the cli')
    const exec = (args: string[]) =>
      runCommand(process.execPath, [BIN, 'exec', '--data-dir', s.dataDir, '--as', 'admin', '--vpc', 'seed-vpc', '--', AWS_CLI, ...args], {
        env: box.env(),
        cwd: box.dir,
        timeoutMs: 120_000,
      })
    const put = await exec(['s3api', 'put-object', '--bucket', SEED_ARN, '--key', 'cli/one.txt', '--body', file])
    assert.equal(put.code, 0, put.stderr)
    const out = join(box.dir, 'out.txt')
    const get = await exec(['s3api', 'get-object', '--bucket', SEED_ARN, '--key', 'cli/one.txt', out])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(readFileSync(out, 'utf8'), 'from the seed vpc with the cli')
    rmSync(out)

    const body = randomBytes(3 << 20)
    await vpcClient.send(new PutObjectCommand({ Bucket: SEED_ARN, Key: 'sdk/big.bin', Body: body }))
    await vpcClient.send(new PutObjectCommand({ Bucket: SEED_ARN, Key: 'warm', Body: 'read during the outage' }))
    const back = await vpcClient.send(new GetObjectCommand({ Bucket: SEED_ARN, Key: 'sdk/big.bin' }))
    assert.ok(Buffer.from(await back.Body!.transformToByteArray()).equals(body))
    // The VPC is in us-east-1: the nearest bucket is the east one, so the bytes are on the east engine.
    const e = engineClient(east)
    assert.ok((await engineBytes(e, E1, 'sdk/big.bin')).equals(body))
    assert.equal((await engineBytes(e, E1, 'cli/one.txt')).toString(), 'from the seed vpc with the cli')
    e.destroy()
  })

  test("replication runs both ways between the engines through mrap's queue", async () => {
    const w = engineClient(west)
    const e = engineClient(east)
    try {
      await waitFor('east objects on the west engine', async () => (await engineKeys(w, E2)).includes('sdk/big.bin') && (await engineKeys(w, E2)).includes('warm'), 30_000, 200)
      assert.ok((await engineBytes(w, E2, 'sdk/big.bin')).equals(await engineBytes(e, E1, 'sdk/big.bin')))
      await s.client(ADMIN, 'eu-west-1').send(new PutObjectCommand({ Bucket: B2, Key: 'from-west', Body: 'written in eu-west-1' }))
      await waitFor('the west object on the east engine', async () => (await engineKeys(e, E1)).includes('from-west'), 30_000, 200)
      assert.equal((await engineBytes(e, E1, 'from-west')).toString(), 'written in eu-west-1')
    } finally {
      w.destroy()
      e.destroy()
    }
  })

  test('the east gateway dies mid-stream: failover, then restart, drain, identical engines', async () => {
    const dir = clusterDir(east)
    const WORKERS = 3
    type Outcome = { worker: number; op: string; key: string; start: number; end: number; status?: number }
    const ok: Outcome[] = []
    const failed: Outcome[] = []
    const written = new Map<string, Buffer>()
    let stop = false
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const key = `stream/${w}/${n}`
        const body = randomBytes(1024)
        for (const [op, call] of [
          ['put', () => vpcClient.send(new PutObjectCommand({ Bucket: SEED_ARN, Key: key, Body: body }))],
          ['get', async () => (await vpcClient.send(new GetObjectCommand({ Bucket: SEED_ARN, Key: 'warm' }))).Body!.transformToString()],
        ] as const) {
          const start = Date.now()
          try {
            const r = await call()
            if (op === 'put') written.set(key, body)
            else assert.equal(r, 'read during the outage')
            ok.push({ worker: w, op, key, start, end: Date.now() })
          } catch (e) {
            failed.push({ worker: w, op, key, start, end: Date.now(), status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode })
          }
        }
      }
    }
    const running = Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)))
    await new Promise((r) => setTimeout(r, 800))
    const killedAt = Date.now()
    await east.killGateway()
    await waitFor('us-east-1 marked down', () => !s.services.health.isUp('us-east-1'), 5_000)
    await new Promise((r) => setTimeout(r, 2_000))
    stop = true
    await running

    const afterKill = ok.filter((o) => o.start > killedAt + 1_000)
    assert.ok(afterKill.filter((o) => o.op === 'put').length >= WORKERS, `writes continued during the outage (${afterKill.length} requests)`)
    assert.ok(failed.length <= WORKERS, `only in-flight requests may fail: ${JSON.stringify(failed)}`)
    for (const f of failed) {
      assert.equal(f.status, 503, `a failure is the region's ServiceUnavailable: ${JSON.stringify(f)}`)
      assert.ok(f.start < killedAt + 1_000, `a request sent after the outage was detected failed: ${JSON.stringify(f)}`)
    }
    for (let w = 0; w < WORKERS; w++) assert.ok(failed.filter((f) => f.worker === w).length <= 1, `client ${w} saw more than its in-flight request fail`)
    console.log(`# ${ok.length} requests ok, ${failed.length} in-flight failed (${failed.map((f) => f.op).join(',') || 'none'})`)

    await restartGateway(dir, east.endpoint)
    await waitFor('us-east-1 healthy again', () => s.services.health.isUp('us-east-1'), 10_000)
    await Promise.race([s.replication.idle(), new Promise((_, no) => setTimeout(() => no(new Error('replication did not drain in 30 s')), 30_000))])

    const e = engineClient(east)
    const w = engineClient(west)
    try {
      const [ek, wk] = await Promise.all([engineKeys(e, E1), engineKeys(w, E2)])
      assert.deepEqual(ek, wk, 'both engines hold the same keys')
      for (const key of written.keys()) assert.ok(ek.includes(key), `acknowledged write ${key} is on both engines`)
      for (let i = 0; i < ek.length; i += 8) {
        await Promise.all(
          ek.slice(i, i + 8).map(async (key) => {
            const [a, b] = await Promise.all([engineBytes(e, E1, key), engineBytes(w, E2, key)])
            assert.ok(a.equals(b), `${key}: the engines hold the same bytes`)
            const mine = written.get(key)
            if (mine) assert.ok(a.equals(mine), `${key}: the bytes the client wrote`)
          }),
        )
      }
    } finally {
      e.destroy()
      w.destroy()
    }
  })
})

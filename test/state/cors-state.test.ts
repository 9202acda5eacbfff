/**
 * A bucket's CORS rules live in the state seam with the bucket: they survive a restart on SQLite
 * state, and on PostgreSQL state a change made through one node is what the other node's
 * preflights answer from (docs/aws/cors.md; docs/decisions/shared-state.md for the 1 s bound).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3'
import { pino } from 'pino'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { listClaims, releaseClaim } from '../../src/state/fleet.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN, bucketName, startTestServer, testWorld } from '../helpers/server.js'

const ORIGIN = 'https://app.example.com'
const RULES = [{ AllowedOrigins: [ORIGIN], AllowedMethods: ['POST'], MaxAgeSeconds: 60 }]

const s3 = (n: RunningServer): S3Client => new S3Client({ endpoint: n.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })

async function preflight(n: RunningServer, bucket: string): Promise<number> {
  const res = await fetch(`${n.endpoint}/${bucket}`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } })
  await res.arrayBuffer()
  return res.status
}

async function within(ms: number, what: string, probe: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now()
  while (!(await probe())) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('CORS rules on SQLite state', () => {
  it('survive a restart of the server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-cors-state-'))
    try {
      const bucket = bucketName('corsdisk')
      let s = await startTestServer({ dataDir })
      await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
      await s.client().send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }))
      await s.stop()
      s = await startTestServer({ dataDir })
      try {
        assert.deepEqual((await s.client().send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules, RULES)
        assert.equal(await preflight(s, bucket), 200)
      } finally {
        await s.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('CORS rules on PostgreSQL state, two nodes', () => {
  let cluster: PgCluster
  let dir: string
  let a: RunningServer
  let b: RunningServer

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
    cluster = await startPostgres('cors-state')
    dir = mkdtempSync(join(tmpdir(), 'mrap-cors-pg-'))
    writeSealingKeyFile(join(dir, 'sealing.key'))
    a = await node('a')
    // Both nodes serve embedded regions here (objects are never read across them): A's claims go.
    for (const c of listClaims(a.services.state)) await releaseClaim(a.services.state, c.region)
    b = await node('b')
  })
  after(async () => {
    await b?.close().catch(() => undefined)
    await a?.close().catch(() => undefined)
    await cluster?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it("rules put through node A answer node B's preflights; deleted through B, node A refuses", async () => {
    assert.equal(a.services.state.backend, 'postgres')
    const bucket = bucketName('corspg')
    await s3(a).send(new CreateBucketCommand({ Bucket: bucket }))
    await within(1000, 'B knows the bucket', async () => b.services.state.getBucket(bucket) !== undefined)
    assert.equal(await preflight(b, bucket), 403)
    await s3(a).send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }))
    await within(1000, 'B answers from the rules put on A', async () => (await preflight(b, bucket)) === 200)
    assert.deepEqual((await s3(b).send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules, RULES)
    await s3(b).send(new DeleteBucketCorsCommand({ Bucket: bucket }))
    assert.equal(await preflight(b, bucket), 403, 'B refuses at once (read-your-writes)')
    await within(1000, 'A refuses once B deleted the rules', async () => (await preflight(a, bucket)) === 403)
  })
})

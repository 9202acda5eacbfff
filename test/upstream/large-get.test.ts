/**
 * Whole-object GETs on a region whose bytes a Ceph RGW holds go from the engine's connection to
 * the client without a stream between them, out of read buffers the connection reuses
 * (src/storage/upstream/conn.ts, response.ts). What must hold: every client gets exactly its
 * object's bytes while many large GETs share the engine connections, also when a client reads
 * slowly (backpressure) or hangs up midway; a hang-up costs no later request anything.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { DEFAULT_WORLD_FILE, parseWorld } from '../../src/world/load.js'
import { upstreamStorageSchema } from '../../src/world/schema.js'
import type { CephCluster } from '../helpers/ceph.js'
import { bucketName, startTestServer, type TestServer } from '../helpers/server.js'
import { startClusters } from './helpers.js'

let ceph: CephCluster
let s: TestServer

before(async () => {
  ;[ceph] = (await startClusters('largeget')) as [CephCluster]
  process.env.MRAP_TEST_LARGEGET_ACCESS_KEY_ID = ceph.accessKeyId
  process.env.MRAP_TEST_LARGEGET_SECRET_ACCESS_KEY = ceph.secretAccessKey
  const world = parseWorld(readFileSync(DEFAULT_WORLD_FILE, 'utf8').replaceAll('DOC-EXAMPLE-BUCKET', 'doc-example-bucket'), 'seed.yaml')
  world.regions.find((r) => r.name === 'us-east-1')!.storage = upstreamStorageSchema.parse({
    kind: 's3',
    endpoint: ceph.endpoint,
    accessKeyIdEnv: 'MRAP_TEST_LARGEGET_ACCESS_KEY_ID',
    secretAccessKeyEnv: 'MRAP_TEST_LARGEGET_SECRET_ACCESS_KEY',
  })
  s = await startTestServer({ world })
})
after(async () => {
  await s?.stop()
  await ceph?.down()
})

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

test('concurrent large GETs, slow readers and hang-ups: every complete body is its own object, byte for byte', async () => {
  const client = s.client()
  const bucket = bucketName('largeget')
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  const objects = [randomBytes(1 << 20), randomBytes((2 << 20) + 12345), randomBytes(3 << 20), randomBytes(70 * 1024)]
  for (const [i, o] of objects.entries()) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `o${i}`, Body: o }))

  const read = async (i: number, slow: boolean): Promise<void> => {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `o${i}` }))
    const chunks: Buffer[] = []
    for await (const c of got.Body as AsyncIterable<Buffer>) {
      chunks.push(c)
      if (slow) await sleep(2)
    }
    assert.equal(md5(Buffer.concat(chunks)), md5(objects[i]!), `o${i}${slow ? ' (slow reader)' : ''}`)
  }
  const hangUp = async (i: number): Promise<void> => {
    const ac = new AbortController()
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `o${i}` }), { abortSignal: ac.signal })
    let n = 0
    try {
      for await (const c of got.Body as AsyncIterable<Buffer>) {
        n += (c as Buffer).length
        if (n > 100 * 1024) ac.abort()
      }
    } catch {
      /* the abort, as the client asked */
    }
  }
  const runs: Promise<void>[] = []
  for (let round = 0; round < 3; round++)
    for (let i = 0; i < objects.length; i++) {
      runs.push(read(i, (i + round) % 2 === 0))
      if (i < 3) runs.push(hangUp(i))
    }
  await Promise.all(runs)
  // After the hang-ups, one more of each, one at a time.
  for (let i = 0; i < objects.length; i++) await read(i, false)
})

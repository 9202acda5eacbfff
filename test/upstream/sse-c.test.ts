/**
 * SSE-C on a region whose bytes an engine (Ceph RGW) holds: refused with 501 NotImplemented, and
 * nothing reaches the engine. Why not passed through (docs/decisions/encryption.md §SSE-C): RGW
 * serves SSE-C only over TLS to itself or with rgw_crypt_require_ssl off, mrap's sidecar would
 * hold no key check of its own, and a refusal is honest where a half-served SSE-C is not.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { DEFAULT_WORLD_FILE, parseWorld } from '../../src/world/load.js'
import { upstreamStorageSchema } from '../../src/world/schema.js'
import type { CephCluster } from '../helpers/ceph.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { engineClient, engineKeys, startClusters } from './helpers.js'

let ceph: CephCluster
let s: TestServer

before(async () => {
  ;[ceph] = (await startClusters('ssec')) as [CephCluster]
  process.env.MRAP_TEST_SSEC_ACCESS_KEY_ID = ceph.accessKeyId
  process.env.MRAP_TEST_SSEC_SECRET_ACCESS_KEY = ceph.secretAccessKey
  // The seed world, its bucket names lower-cased as an engine needs (as helpers.ts does).
  const world = parseWorld(readFileSync(DEFAULT_WORLD_FILE, 'utf8').replaceAll('DOC-EXAMPLE-BUCKET', 'doc-example-bucket'), 'seed.yaml')
  world.regions.find((r) => r.name === 'us-east-1')!.storage = upstreamStorageSchema.parse({
    kind: 's3',
    endpoint: ceph.endpoint,
    accessKeyIdEnv: 'MRAP_TEST_SSEC_ACCESS_KEY_ID',
    secretAccessKeyEnv: 'MRAP_TEST_SSEC_SECRET_ACCESS_KEY',
  })
  s = await startTestServer({ world })
})
after(async () => {
  await s?.stop()
  await ceph?.down()
})

test('an engine region answers SSE-C with 501 NotImplemented and the engine receives nothing; plain objects are served', async () => {
  const bucket = bucketName('ssecrgw')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  const key = randomBytes(32).toString('base64')
  const e = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'secret', SSECustomerAlgorithm: 'AES256', SSECustomerKey: key })))
  assert.equal(e.$metadata.httpStatusCode, 501)
  assert.equal(e.name, 'NotImplemented')
  const engine = engineClient(ceph)
  const engineBucket = (await engine.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name!) ?? []
  for (const b of engineBucket) assert.deepEqual(await engineKeys(engine, b), [], `${b} holds nothing`)
  await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'plain' }))
  const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'plain' }))
  assert.equal(await got.Body!.transformToString(), 'plain')
  // A key for an object stored without one: S3's 400, as on an embedded region.
  const wrong = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'plain', SSECustomerAlgorithm: 'AES256', SSECustomerKey: key })))
  assert.equal(wrong.$metadata.httpStatusCode, 400)
})

/** The MRAP global endpoint with the JS SDK v3 (SigV4A) through the internet proxy and mrap's CA: operations, routing, failover, refusals. */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { MrapRecord } from '../../src/mrap/registry.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, PARTNER, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'

describe('MRAP data plane', () => {
  let s: TestServer
  let east: string, west: string
  let mrap: MrapRecord
  let arn: string

  before(async () => {
    s = await startTestServer()
    east = bucketName('east')
    west = bucketName('west')
    await s.client().send(new CreateBucketCommand({ Bucket: east }))
    await s.client(undefined, 'eu-west-1').send(new CreateBucketCommand({ Bucket: west, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const alias = s.services.mraps.newAlias()
    mrap = {
      name: 'test-mrap',
      alias,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [
        { bucket: east, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 },
        { bucket: west, bucketAccountId: OWNER, region: 'eu-west-1', trafficDialPercentage: 100 },
      ],
    }
    s.services.mraps.put(mrap)
    arn = mrapArnOf(OWNER, alias)
  })
  after(async () => {
    await s.stop()
  })

  function setDials(d: Record<string, number>): void {
    mrap = { ...mrap, regions: mrap.regions.map((r) => ({ ...r, trafficDialPercentage: d[r.region] ?? r.trafficDialPercentage })) }
    s.services.mraps.put(mrap)
  }

  test('PutObject (buffer and stream), GetObject, HeadObject, ListObjectsV2 and DeleteObject through the MRAP ARN', async () => {
    const c = proxiedS3Client(s)
    const put = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'hello.txt', Body: 'hello through the mrap' }))
    assert.ok(put.ETag)
    const data = randomBytes(200_000)
    await c.send(new PutObjectCommand({ Bucket: arn, Key: 'stream.bin', Body: Readable.from([data]), ContentLength: data.length }))
    const got = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'hello.txt' }))
    assert.equal(await got.Body!.transformToString(), 'hello through the mrap')
    const head = await c.send(new HeadObjectCommand({ Bucket: arn, Key: 'stream.bin' }))
    assert.equal(head.ContentLength, data.length)
    const list = await c.send(new ListObjectsV2Command({ Bucket: arn }))
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['hello.txt', 'stream.bin'],
    )
    // The front door's region is us-east-1: the nearest active bucket is the east one.
    const direct = await s.client().send(new GetObjectCommand({ Bucket: east, Key: 'stream.bin' }))
    assert.ok(Buffer.from(await direct.Body!.transformToByteArray()).equals(data))
    await c.send(new DeleteObjectCommand({ Bucket: arn, Key: 'hello.txt' }))
    assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: arn, Key: 'hello.txt' })))).$metadata.httpStatusCode, 404)
  })

  test('the response names the serving region, and flipping the routes moves new requests', async () => {
    const c = proxiedS3Client(s)
    const res = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'where', Body: 'east' }))
    assert.equal((res.$metadata as { httpStatusCode?: number }).httpStatusCode, 200)
    setDials({ 'us-east-1': 0, 'eu-west-1': 100 })
    try {
      await c.send(new PutObjectCommand({ Bucket: arn, Key: 'where', Body: 'west' }))
      const fromWest = await s.client(undefined, 'eu-west-1').send(new GetObjectCommand({ Bucket: west, Key: 'where' }))
      assert.equal(await fromWest.Body!.transformToString(), 'west')
      const fromEast = await s.client().send(new GetObjectCommand({ Bucket: east, Key: 'where' }))
      assert.equal(await fromEast.Body!.transformToString(), 'east')
      const viaMrap = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'where' }))
      assert.equal(await viaMrap.Body!.transformToString(), 'west')
    } finally {
      setDials({ 'us-east-1': 100, 'eu-west-1': 100 })
    }
  })

  test('a region whose storage is down is skipped (failover) and rejoins when it returns', async () => {
    const c = proxiedS3Client(s)
    await s.client(undefined, 'eu-west-1').send(new PutObjectCommand({ Bucket: west, Key: 'failover', Body: 'from west' }))
    await s.client().send(new PutObjectCommand({ Bucket: east, Key: 'failover', Body: 'from east' }))
    const eastStore = s.services.stores.get('us-east-1')!
    eastStore.setAvailable!(false)
    try {
      const got = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'failover' }))
      assert.equal(await got.Body!.transformToString(), 'from west')
    } finally {
      eastStore.setAvailable!(true)
    }
    await s.services.health.probe()
    const back = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'failover' }))
    assert.equal(await back.Body!.transformToString(), 'from east')
  })

  test('a store failure while finding an upload is a 503 that marks the region down, never NoSuchUpload', async () => {
    const c = proxiedS3Client(s)
    setDials({ 'us-east-1': 100, 'eu-west-1': 0 })
    const eastStore = s.services.stores.get('us-east-1')!
    try {
      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: arn, Key: 'lookup.bin' }))
      eastStore.setAvailable!(false)
      const e = await failure(() => c.send(new UploadPartCommand({ Bucket: arn, Key: 'lookup.bin', UploadId, PartNumber: 1, Body: 'x' })))
      // NoSuchUpload would tell the client its upload is gone, and it would start over elsewhere.
      assert.equal(e.$metadata.httpStatusCode, 503)
      assert.equal(e.name, 'ServiceUnavailable')
      assert.equal(s.services.health.isUp('us-east-1'), false)
    } finally {
      eastStore.setAvailable!(true)
      setDials({ 'us-east-1': 100, 'eu-west-1': 100 })
    }
    await s.services.health.probe()
    assert.equal(s.services.health.isUp('us-east-1'), true)
  })

  test('multipart uploads stay on the bucket that created them, even after the routes flip', async () => {
    const c = proxiedS3Client(s)
    const data = randomBytes(11 * 1024 * 1024)
    const up = new Upload({ client: c, params: { Bucket: arn, Key: 'mpu.bin', Body: data }, partSize: 5 * 1024 * 1024, queueSize: 2 })
    let flipped = false
    up.on('httpUploadProgress', () => {
      if (!flipped) {
        flipped = true
        setDials({ 'us-east-1': 0, 'eu-west-1': 100 })
      }
    })
    try {
      await up.done()
    } finally {
      setDials({ 'us-east-1': 100, 'eu-west-1': 100 })
    }
    const got = await s.client().send(new GetObjectCommand({ Bucket: east, Key: 'mpu.bin' }))
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await got.Body!.transformToByteArray()))
        .digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    )
  })

  test('CopyObject is InvalidRequest; bucket-level requests are MethodNotAllowed', async () => {
    const c = proxiedS3Client(s)
    const copy = await failure(() => c.send(new CopyObjectCommand({ Bucket: arn, Key: 'copy', CopySource: `${east}/where` })))
    assert.equal(copy.name, 'InvalidRequest')
    const loc = await failure(() => c.send(new GetBucketLocationCommand({ Bucket: arn })))
    assert.equal(loc.$metadata.httpStatusCode, 405)
  })

  test('an unknown alias is NoSuchAccessPoint; SigV4 (HMAC) requests are refused', async () => {
    const c = proxiedS3Client(s)
    const unknown = await failure(() => c.send(new GetObjectCommand({ Bucket: mrapArnOf(OWNER, 'nosuchalias00.mrap'), Key: 'k' })))
    assert.equal(unknown.name, 'NoSuchAccessPoint')
    assert.equal(unknown.$metadata.httpStatusCode, 404)
    const hmac = await rawRequest(s.endpoint, { method: 'GET', path: '/where', headers: { host: `${mrap.alias}.accesspoint.s3-global.amazonaws.com` } })
    assert.equal(hmac.status, 400)
    assert.equal(codeOf(hmac.body), 'InvalidRequest')
    assert.match(hmac.body, /AWS4-ECDSA-P256-SHA256/)
  })

  test('a caller the MRAP or bucket context does not allow gets 403', async () => {
    const denied = await failure(() => proxiedS3Client(s, { creds: READER }).send(new GetObjectCommand({ Bucket: arn, Key: 'where' })))
    assert.equal(denied.$metadata.httpStatusCode, 403)
    const partner = await failure(() => proxiedS3Client(s, { creds: PARTNER }).send(new GetObjectCommand({ Bucket: arn, Key: 'where' })))
    assert.equal(partner.$metadata.httpStatusCode, 403)
  })

  test('the proxy refuses hosts mrap does not serve', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const u = new URL(s.proxy)
        const r = request({ host: u.hostname, port: u.port, method: 'CONNECT', path: 'example.com:443' })
        r.on('connect', (res, socket) => {
          socket.destroy()
          resolve(String(res.statusCode))
        })
        r.on('error', reject)
        r.end()
      }, reject)
    })
    assert.equal(res, '403')
  })
})

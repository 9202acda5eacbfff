/**
 * Conditional writes (If-None-Match: *, If-Match: <etag>) on PutObject and CompleteMultipartUpload,
 * with the JS SDK v3, raw requests and through the MRAP. AWS's behaviour:
 * - "How to prevent object overwrites with conditional writes" (S3 User Guide),
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html: If-None-Match
 *   takes `*` and fails with 412 when the key has a current version (a delete marker is none);
 *   If-Match fails with 412 on another ETag.
 * - PutObject and CompleteMultipartUpload API references (If-Match, If-None-Match):
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html: "If a
 *   conflicting operation occurs during the upload S3 returns a 409 ConditionalRequestConflict".
 * - If-Match on a key with no current version: 404 NoSuchKey (what elastic/elasticsearch's S3
 *   fixture, built to answer as S3 does, returns: elastic/elasticsearch#138542).
 * The Debian CLI (2.9.19) predates conditional writes (no --if-none-match), so no CLI case here.
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { openPut } from '../helpers/slow-body.js'

const OWNER = '123456789012'
const md5 = (s: string | Buffer): string => `"${createHash('md5').update(s).digest('hex')}"`

describe('conditional writes', () => {
  let s: TestServer
  let bucket: string
  let versioned: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('cond')
    versioned = bucketName('condv')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    await s.client().send(new CreateBucketCommand({ Bucket: versioned }))
    await s.client().send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }))
  })
  after(async () => {
    await s.stop()
  })

  const text = async (b: string, k: string): Promise<string> => (await s.client().send(new GetObjectCommand({ Bucket: b, Key: k }))).Body!.transformToString()

  test('PutObject If-None-Match: * creates once, then 412 PreconditionFailed naming the condition', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }))
    const e = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' })))
    assert.equal(e.name, 'PreconditionFailed')
    assert.equal(e.$metadata.httpStatusCode, 412)
    assert.equal(e.Condition, 'If-None-Match')
    assert.equal(await text(bucket, 'once'), 'first')
  })

  test('If-None-Match with an ETag instead of * is NotImplemented, as S3 answers', async () => {
    const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/etag-inm`, headers: { 'if-none-match': md5('x') }, body: 'x' })
    assert.equal(r.status, 501)
    assert.equal(codeOf(r.body), 'NotImplemented')
    assert.match(r.body, /<Header>If-None-Match<\/Header>/)
    assert.equal((await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'etag-inm' })))).name, 'NoSuchKey')
  })

  test('PutObject If-Match: the current ETag writes; a stale one is 412; a key without one is 404 NoSuchKey', async () => {
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'one' }))
    const v2 = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'two', IfMatch: v1.ETag }))
    assert.equal(v2.ETag, md5('two'))
    const stale = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'three', IfMatch: v1.ETag })))
    assert.equal(stale.name, 'PreconditionFailed')
    assert.equal(stale.$metadata.httpStatusCode, 412)
    assert.equal(stale.Condition, 'If-Match')
    assert.equal(await text(bucket, 'cas'), 'two')
    const absent = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'never-written', Body: 'x', IfMatch: v1.ETag })))
    assert.equal(absent.name, 'NoSuchKey')
    assert.equal(absent.$metadata.httpStatusCode, 404)
  })

  test('versioned bucket: a delete marker is no current version (If-None-Match writes, If-Match is 404)', async () => {
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'v1', IfNoneMatch: '*' }))
    await c.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'k' }))
    const absent = await failure(() => c.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'x', IfMatch: v1.ETag })))
    assert.equal(absent.$metadata.httpStatusCode, 404)
    await c.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'v2', IfNoneMatch: '*' }))
    assert.equal(await text(versioned, 'k'), 'v2')
  })

  test('concurrent If-None-Match: * PUTs of one key: one 200, the others 409 ConditionalRequestConflict', async () => {
    // Every request passes the first check (the key is absent) before any body is sent; the store's
    // check in the step that writes is what keeps the second and third from overwriting the first.
    const bodies = ['alpha', 'bravo', 'charlie'].map((w) => Buffer.from(w.repeat(1000)))
    const puts = await Promise.all(bodies.map((b) => openPut(s.endpoint, `/${bucket}/race`, b.length, undefined, { 'if-none-match': '*' })))
    await new Promise((r) => setTimeout(r, 300))
    for (const [i, p] of puts.entries()) await p.write(bodies[i]!)
    const answers = await Promise.all(puts.map((p) => p.finish()))
    const ok = answers.filter((a) => a.status === 200)
    assert.equal(ok.length, 1, `statuses: ${answers.map((a) => a.status).join(',')}`)
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 409)
      assert.equal(codeOf(a.body), 'ConditionalRequestConflict')
    }
    const winner = answers.findIndex((a) => a.status === 200)
    assert.equal(await text(bucket, 'race'), bodies[winner]!.toString())
  })

  test('concurrent If-Match PUTs with the same ETag: one replaces it, the other gets 409', async () => {
    const base = await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'cas-race', Body: 'base' }))
    const bodies = [Buffer.from('left'), Buffer.from('right')]
    const puts = await Promise.all(bodies.map((b) => openPut(s.endpoint, `/${bucket}/cas-race`, b.length, undefined, { 'if-match': base.ETag! })))
    await new Promise((r) => setTimeout(r, 300))
    for (const [i, p] of puts.entries()) await p.write(bodies[i]!)
    const answers = await Promise.all(puts.map((p) => p.finish()))
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409])
    assert.equal(codeOf(answers.find((a) => a.status === 409)!.body), 'ConditionalRequestConflict')
  })

  async function upload(key: string): Promise<{ uploadId: string; parts: { PartNumber: number; ETag: string }[] }> {
    const c = s.client()
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
    const part = await c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId!, PartNumber: 1, Body: `part of ${key}` }))
    return { uploadId: up.UploadId!, parts: [{ PartNumber: 1, ETag: part.ETag! }] }
  }

  test('CompleteMultipartUpload If-None-Match: * and If-Match, success and 412', async () => {
    const c = s.client()
    const first = await upload('mpu')
    await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', UploadId: first.uploadId, MultipartUpload: { Parts: first.parts }, IfNoneMatch: '*' }))
    const second = await upload('mpu')
    const e = await failure(() =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', UploadId: second.uploadId, MultipartUpload: { Parts: second.parts }, IfNoneMatch: '*' })),
    )
    assert.equal(e.name, 'PreconditionFailed')
    assert.equal(e.$metadata.httpStatusCode, 412)
    assert.equal(await text(bucket, 'mpu'), 'part of mpu')
    const stale = await failure(() =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', UploadId: second.uploadId, MultipartUpload: { Parts: second.parts }, IfMatch: md5('other') })),
    )
    assert.equal(stale.$metadata.httpStatusCode, 412)
    // A refused completion leaves the upload open: completing it with the current ETag works.
    const current = (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mpu' }))).ETag!
    const done = await c.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', UploadId: second.uploadId, MultipartUpload: { Parts: second.parts }, IfMatch: current }),
    )
    assert.match(done.ETag!, /-1"$/)
  })

  test('concurrent conditional completions of one key: exactly one object is made', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map(() => upload('mpu-race')))
    const results = await Promise.allSettled(
      ups.map((u) =>
        s.client().send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: 'mpu-race',
            UploadId: u.uploadId,
            MultipartUpload: { Parts: u.parts },
            IfNoneMatch: '*',
          }),
        ),
      ),
    )
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    for (const r of results) {
      if (r.status === 'rejected') assert.ok([409, 412].includes((r.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode))
    }
  })

  test('a bucket policy enforcing conditional writes reads s3:if-none-match and s3:if-match', async () => {
    // "Enforce conditional writes on Amazon S3 buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html:
    // a Deny of s3:PutObject under "Null": {"s3:if-none-match": "true"} refuses uploads without the header.
    const c = s.client()
    const b = bucketName('condpol')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/create-only/*`, Condition: { Null: { 's3:if-none-match': 'true' } } },
            { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/cas/*`, Condition: { Null: { 's3:if-match': 'true' } } },
          ],
        }),
      }),
    )
    assert.equal((await failure(() => c.send(new PutObjectCommand({ Bucket: b, Key: 'create-only/a', Body: 'x' })))).name, 'AccessDenied')
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'create-only/a', Body: 'x', IfNoneMatch: '*' }))
    // The first version of a compare-and-swap key cannot be written at all: If-Match needs a current version.
    assert.equal((await failure(() => c.send(new PutObjectCommand({ Bucket: b, Key: 'cas/k', Body: 'x' })))).name, 'AccessDenied')
    assert.equal((await failure(() => c.send(new PutObjectCommand({ Bucket: b, Key: 'cas/k', Body: 'x', IfMatch: md5('x') })))).name, 'NoSuchKey')
  })

  test('If-Match needs s3:GetObject as well as s3:PutObject', async () => {
    // "To perform a conditional write with the HTTP If-Match header, you must have the s3:PutObject
    // and s3:GetObject permissions" (conditional-writes.html).
    const c = s.client()
    const b = bucketName('condget')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    const v = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'one' }))
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }] }),
      }),
    )
    assert.equal((await failure(() => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'two', IfMatch: v.ETag })))).name, 'AccessDenied')
    // If-None-Match needs s3:PutObject only, and a plain PUT still works.
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'new', Body: 'x', IfNoneMatch: '*' }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'three' }))
  })

  test('through the MRAP: If-None-Match: * creates once, then 412', async () => {
    const east = bucketName('condeast')
    await s.client().send(new CreateBucketCommand({ Bucket: east }))
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'cond-mrap',
      alias,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket: east, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const c = proxiedS3Client(s)
    const arn = mrapArnOf(OWNER, alias)
    const put = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'lock', Body: 'holder-1', IfNoneMatch: '*' }))
    const e = await failure(() => c.send(new PutObjectCommand({ Bucket: arn, Key: 'lock', Body: 'holder-2', IfNoneMatch: '*' })))
    assert.equal(e.$metadata.httpStatusCode, 412)
    assert.equal(e.name, 'PreconditionFailed')
    await c.send(new PutObjectCommand({ Bucket: arn, Key: 'lock', Body: 'holder-3', IfMatch: put.ETag }))
    assert.equal(await text(east, 'lock'), 'holder-3')
  })
})

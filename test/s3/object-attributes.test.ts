/**
 * GetObjectAttributes with the JS SDK v3, the AWS CLI and raw requests. AWS's behaviour: the API
 * reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html (the
 * attributes named in x-amz-object-attributes; ObjectParts paged by x-amz-max-parts and
 * x-amz-part-number-marker; "If you pass a version ID in your request, you need both the
 * s3:GetObjectVersion and s3:GetObjectVersionAttributes permissions", else s3:GetObject and
 * s3:GetObjectAttributes; x-amz-delete-marker and x-amz-version-id in the response).
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const MiB = 1024 * 1024

describe('GetObjectAttributes', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('attrs')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    await s.client().send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }))
  })
  after(async () => {
    await s.stop()
  })

  test('a single PUT: ETag (unquoted), Checksum, StorageClass, ObjectSize; no ObjectParts', async () => {
    const c = s.client()
    const body = 'attributes of a small object'
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: body, ChecksumAlgorithm: 'SHA256', StorageClass: 'STANDARD_IA' }))
    const a = await c.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'small', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] }))
    assert.equal(a.ETag, createHash('md5').update(body).digest('hex'))
    assert.equal(a.Checksum?.ChecksumSHA256, createHash('sha256').update(body).digest('base64'))
    assert.equal(a.Checksum?.ChecksumType, 'FULL_OBJECT')
    assert.equal(a.StorageClass, 'STANDARD_IA')
    assert.equal(a.ObjectSize, Buffer.byteLength(body))
    assert.equal(a.ObjectParts, undefined)
    assert.equal(a.VersionId, put.VersionId)
    assert.ok(a.LastModified instanceof Date)
    // Only what was asked for.
    const some = await c.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'small', ObjectAttributes: ['ObjectSize'] }))
    assert.equal(some.ObjectSize, Buffer.byteLength(body))
    assert.equal(some.ETag, undefined)
    assert.equal(some.StorageClass, undefined)
  })

  test('a multipart object: ObjectParts with part checksums, paged by MaxParts and PartNumberMarker', async () => {
    const c = s.client()
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big', ChecksumAlgorithm: 'CRC32' }))
    const bodies = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2), Buffer.from('tail')]
    const parts = []
    for (const [i, b] of bodies.entries()) {
      const p = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId: up.UploadId!, PartNumber: i + 1, Body: b, ChecksumAlgorithm: 'CRC32' }))
      parts.push({ PartNumber: i + 1, ETag: p.ETag!, ChecksumCRC32: p.ChecksumCRC32! })
    }
    await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'big', UploadId: up.UploadId!, MultipartUpload: { Parts: parts } }))
    const page1 = await c.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'big', ObjectAttributes: ['ObjectParts', 'ObjectSize', 'ETag'], MaxParts: 2 }))
    assert.match(page1.ETag!, /^[0-9a-f]{32}-3$/)
    assert.equal(page1.ObjectSize, 10 * MiB + 4)
    assert.equal(page1.ObjectParts?.TotalPartsCount, 3)
    assert.equal(page1.ObjectParts?.IsTruncated, true)
    assert.equal(page1.ObjectParts?.MaxParts, 2)
    assert.equal(page1.ObjectParts?.NextPartNumberMarker, '2')
    assert.deepEqual(
      page1.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32]),
      parts.slice(0, 2).map((p, i) => [p.PartNumber, bodies[i]!.length, p.ChecksumCRC32]),
    )
    const page2 = await c.send(
      new GetObjectAttributesCommand({ Bucket: bucket, Key: 'big', ObjectAttributes: ['ObjectParts'], MaxParts: 2, PartNumberMarker: page1.ObjectParts!.NextPartNumberMarker! }),
    )
    assert.equal(page2.ObjectParts?.IsTruncated, false)
    assert.deepEqual(
      page2.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]),
      [[3, 4]],
    )
  })

  test('versionId reads that version; a delete marker answers 404 with x-amz-delete-marker', async () => {
    const c = s.client()
    const v1 = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: 'first' }))
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: 'second, longer' }))
    const marker = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone' }))
    const old = await c.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'gone', VersionId: v1.VersionId, ObjectAttributes: ['ObjectSize'] }))
    assert.equal(old.ObjectSize, 5)
    assert.equal(old.VersionId, v1.VersionId)
    const r = await rawRequest(s.endpoint, { method: 'GET', path: '/' + bucket + '/gone', query: { attributes: '' }, headers: { 'x-amz-object-attributes': 'ObjectSize' } })
    assert.equal(r.status, 404)
    assert.equal(codeOf(r.body), 'NoSuchKey')
    assert.equal(r.headers['x-amz-delete-marker'], 'true')
    assert.equal(r.headers['x-amz-version-id'], marker.VersionId)
    const e = await failure(() => c.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'never', ObjectAttributes: ['ETag'] })))
    assert.equal(e.name, 'NoSuchKey')
  })

  test('a missing or unknown attribute name is 400 InvalidArgument', async () => {
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'x' }))
    for (const headers of [{}, { 'x-amz-object-attributes': '' }, { 'x-amz-object-attributes': 'ETag,Colour' }] as Record<string, string>[]) {
      const r = await rawRequest(s.endpoint, { method: 'GET', path: '/' + bucket + '/plain', query: { attributes: '' }, headers })
      assert.equal(r.status, 400, JSON.stringify(headers))
      assert.equal(codeOf(r.body), 'InvalidArgument')
    }
  })

  test('authorized as s3:GetObjectAttributes (+ s3:GetObject), or with versionId s3:GetObjectVersionAttributes', async () => {
    const c = s.client()
    const b = bucketName('attrs-deny')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
    const v = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    const deny = (action: string) =>
      c.send(
        new PutBucketPolicyCommand({
          Bucket: b,
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Deny', Principal: '*', Action: action, Resource: `arn:aws:s3:::${b}/*` }],
          }),
        }),
      )
    await deny('s3:GetObjectVersionAttributes')
    assert.equal((await c.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'k', ObjectAttributes: ['ObjectSize'] }))).ObjectSize, 1)
    const versioned = await failure(() => c.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'k', VersionId: v.VersionId, ObjectAttributes: ['ObjectSize'] })))
    assert.equal(versioned.name, 'AccessDenied')
    await deny('s3:GetObjectAttributes')
    assert.equal((await failure(() => c.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'k', ObjectAttributes: ['ObjectSize'] })))).name, 'AccessDenied')
    // GetObject itself is still allowed: the refusal is the attributes action's.
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'x')
    await deny('s3:GetObject')
    assert.equal((await failure(() => c.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'k', ObjectAttributes: ['ObjectSize'] })))).name, 'AccessDenied')
  })

  test('the AWS CLI: get-object-attributes, and its refusal of an unknown key', async () => {
    const cli = new CliSandbox('mrap-attrs-cli')
    try {
      await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'cli', Body: 'from the cli' }))
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', 'get-object-attributes', '--bucket', bucket, ...args], { env })
      const ok = await aws('--key', 'cli', '--object-attributes', 'ETag', 'ObjectSize', 'StorageClass')
      assert.equal(ok.code, 0, ok.stderr)
      const out = cliJson(ok.stdout)
      assert.equal(out.ETag, createHash('md5').update('from the cli').digest('hex'))
      assert.equal(out.ObjectSize, 12)
      assert.equal(out.StorageClass, 'STANDARD')
      const missing = await aws('--key', 'no-such-key', '--object-attributes', 'ETag')
      assert.equal(cliErrorCode(missing), 'NoSuchKey')
    } finally {
      cli.dispose()
    }
  })
})

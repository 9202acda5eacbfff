/**
 * Issue 13, "S3 details" (part 2): multipart retries and errors, Content-Encoding, owners,
 * presigned URL limits, suspended versioning, delete-marker headers. Each test names the AWS page
 * or the observed AWS behaviour it copies.
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const MiB = 1024 * 1024

describe('S3 details (issue 13, part 2)', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('fid2')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  })
  after(async () => {
    await s.stop()
  })

  async function twoPartUpload(key: string): Promise<{ uploadId: string; parts: { PartNumber: number; ETag: string }[] }> {
    const c = s.client()
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
    const p1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }))
    const p2 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: 'tail' }))
    return {
      uploadId: UploadId!,
      parts: [
        { PartNumber: 1, ETag: p1.ETag! },
        { PartNumber: 2, ETag: p2.ETag! },
      ],
    }
  }

  // Observed on AWS (adobe/S3Mock#2586, a script run against S3): a second Complete with the same
  // parts answers 200 with the same result; SDKs retry Complete after a lost response.
  test('a retried CompleteMultipartUpload returns the first result', async () => {
    const c = s.client()
    const { uploadId, parts } = await twoPartUpload('retry.bin')
    const first = await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'retry.bin', UploadId: uploadId, MultipartUpload: { Parts: parts } }))
    const again = await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'retry.bin', UploadId: uploadId, MultipartUpload: { Parts: parts } }))
    assert.equal(again.ETag, first.ETag)
    assert.equal(again.Key, 'retry.bin')
    assert.equal(again.Bucket, bucket)
    // Other parts than the completed ones are not a retry: the upload is gone.
    const other = await failure(() => c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'retry.bin', UploadId: uploadId, MultipartUpload: { Parts: [parts[0]!] } })))
    assert.equal(other.name, 'NoSuchUpload')
    // A completed upload's id with a malformed body is still NoSuchUpload, not MalformedXML.
    const junk = await rawRequest(s.endpoint, { method: 'POST', path: `/${bucket}/retry.bin`, query: { uploadId }, body: '<CompleteMultipartUpload><Part>' })
    assert.equal(junk.status, 404)
    assert.equal(codeOf(junk.body), 'NoSuchUpload')
    // Once the object is overwritten, the retry no longer matches what is stored.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'retry.bin', Body: 'replaced' }))
    const late = await failure(() => c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'retry.bin', UploadId: uploadId, MultipartUpload: { Parts: parts } })))
    assert.equal(late.name, 'NoSuchUpload')
  })

  test('a retried Complete answers the first result after a restart too (the record is persisted)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-fid2-'))
    try {
      let one = await startTestServer({ dataDir })
      const b = bucketName('fid2r')
      const key = 'persisted.bin'
      let parts: { PartNumber: number; ETag: string }[]
      let uploadId: string
      let first: string | undefined
      try {
        const c = one.client()
        await c.send(new CreateBucketCommand({ Bucket: b }))
        uploadId = (await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key }))).UploadId!
        const p1 = await c.send(new UploadPartCommand({ Bucket: b, Key: key, UploadId: uploadId, PartNumber: 1, Body: 'only part' }))
        parts = [{ PartNumber: 1, ETag: p1.ETag! }]
        first = (await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))).ETag
      } finally {
        await one.stop()
      }
      one = await startTestServer({ dataDir })
      try {
        const again = await one.client().send(new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
        assert.equal(again.ETag, first)
      } finally {
        await one.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  // CompleteMultipartUpload (API reference): "InvalidPartOrder: The list of parts was not in
  // ascending order. The parts list must be specified in order by part number." AWS refuses a
  // repeated part number the same way (observed: transloadit/uppy#2351).
  test('a parts list that repeats a part number is InvalidPartOrder', async () => {
    const { uploadId, parts } = await twoPartUpload('dup.bin')
    const e = await failure(() =>
      s.client().send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'dup.bin',
          UploadId: uploadId,
          MultipartUpload: { Parts: [parts[0]!, parts[0]!, parts[1]!] },
        }),
      ),
    )
    assert.equal(e.name, 'InvalidPartOrder')
    assert.equal(e.$metadata.httpStatusCode, 400)
  })

  // UploadPartCopy: a range past the source's end is InvalidArgument (400) with "Range specified
  // is not valid for source object of size: N" (AWS's message, as clients report it).
  test('UploadPartCopy with a range past the source is InvalidArgument', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'src10', Body: '0123456789' }))
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copy-dst' }))
    const e = await failure(() =>
      c.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: 'copy-dst',
          UploadId,
          PartNumber: 1,
          CopySource: `${bucket}/src10`,
          CopySourceRange: 'bytes=0-10',
        }),
      ),
    )
    assert.equal(e.name, 'InvalidArgument')
    assert.equal(e.$metadata.httpStatusCode, 400)
    assert.match(e.message, /source object of size: 10/)
  })

  // Error responses, list of error codes: "InvalidPartNumber: The requested partnumber is not
  // satisfiable. 416 Requested Range Not Satisfiable".
  // https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
  test('GetObject partNumber past the last part is InvalidPartNumber 416', async () => {
    const c = s.client()
    const { uploadId, parts } = await twoPartUpload('parts.bin')
    await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'parts.bin', UploadId: uploadId, MultipartUpload: { Parts: parts } }))
    const e = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'parts.bin', PartNumber: 3 })))
    assert.equal(e.name, 'InvalidPartNumber')
    assert.equal(e.$metadata.httpStatusCode, 416)
    const ok = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'parts.bin', PartNumber: 2 }))
    assert.equal(ok.ContentLength, 4)
  })

  // PutObject, Content-Encoding: "aws-chunked" is removed by S3, other codings are stored as sent.
  test("Content-Encoding keeps the client's codings as sent once aws-chunked is removed", async () => {
    const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/enc`, body: 'x', headers: { 'content-encoding': 'deflate, gzip' } })
    assert.equal(r.status, 200)
    const h = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'enc' }))
    assert.equal(h.ContentEncoding, 'deflate, gzip')
  })

  // The owner is the bucket's account; every listing names it the same way.
  test('owners carry the same DisplayName in ListBuckets, ACLs, versions and uploads', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'owned', Body: 'x' }))
    await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'owned-upload' }))
    const lb = await c.send(new ListBucketsCommand({}))
    const acl = await c.send(new GetBucketAclCommand({ Bucket: bucket }))
    const lv = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'owned' }))
    const lu = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'owned' }))
    const owners = [lb.Owner, acl.Owner, lv.Versions?.[0]?.Owner, lu.Uploads?.[0]?.Owner, lu.Uploads?.[0]?.Initiator]
    for (const o of owners) assert.ok(o?.ID, 'every owner has an ID')
    assert.equal(new Set(owners.map((o) => o!.ID)).size, 1)
    assert.equal(new Set(owners.map((o) => o!.DisplayName)).size, 1, JSON.stringify(owners))
  })

  // AWS answers X-Amz-Expires=0 as an expired URL (AccessDenied "Request has expired", 403):
  // zero is accepted by the parameter check and then the URL is already past its end.
  test('X-Amz-Expires=0 is an expired URL (403 AccessDenied)', async () => {
    const url = await getSignedUrl(s.client(), new GetObjectCommand({ Bucket: bucket, Key: 'src10' }), { expiresIn: 0 })
    const res = await fetch(url)
    const body = await res.text()
    assert.equal(res.status, 403)
    assert.equal(codeOf(body), 'AccessDenied')
    assert.match(body, /Request has expired/)
  })

  // Observed AWS messages (bryanjos/aws_auth#31, noobaa-core#8873): AuthorizationQueryParametersError.
  test('negative and over-a-week X-Amz-Expires are AuthorizationQueryParametersError', async () => {
    const url = await getSignedUrl(s.client(), new GetObjectCommand({ Bucket: bucket, Key: 'src10' }), { expiresIn: 300 })
    const neg = await fetch(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=-1'))
    const negBody = await neg.text()
    assert.equal(neg.status, 400)
    assert.equal(codeOf(negBody), 'AuthorizationQueryParametersError')
    assert.match(negBody, /X-Amz-Expires must be non-negative/)
    const week = await fetch(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801'))
    const weekBody = await week.text()
    assert.equal(week.status, 400)
    assert.equal(codeOf(weekBody), 'AuthorizationQueryParametersError')
    assert.match(weekBody, /X-Amz-Expires must be less than a week \(in seconds\); that is, the given X-Amz-Expires must be less than 604800 seconds/)
  })

  // A CORS preflight is not authenticated (OPTIONS object, S3 API reference); on a bucket without
  // a CORS configuration S3 answers 403 AccessForbidden "CORSResponse: CORS is not enabled for this
  // bucket." (observed, and AWS re:Post "403 Forbidden error: CORS is not enabled for this bucket"),
  // without an Origin 400 BadRequest. https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
  test('OPTIONS to a presigned URL is a CORS preflight: 403 without a CORS configuration', async () => {
    const url = await getSignedUrl(s.client(), new GetObjectCommand({ Bucket: bucket, Key: 'src10' }), { expiresIn: 300 })
    const res = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' } })
    const body = await res.text()
    assert.equal(res.status, 403, body)
    assert.equal(codeOf(body), 'AccessForbidden')
    assert.match(body, /CORSResponse: CORS is not enabled for this bucket\./)
    const noOrigin = await fetch(url, { method: 'OPTIONS' })
    const noOriginBody = await noOrigin.text()
    assert.equal(noOrigin.status, 400)
    assert.equal(codeOf(noOriginBody), 'BadRequest')
  })

  // Adding objects to versioning-suspended buckets: "Amazon S3 automatically adds a null version
  // ID to every subsequent object stored". PutObject and Complete return x-amz-version-id: null.
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html
  test('suspended versioning: PutObject and CompleteMultipartUpload return version id null', async () => {
    const c = s.client()
    const b = bucketName('susp')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }))
    const put = await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    assert.equal(put.VersionId, 'null')
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm' }))
    const p = await c.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId, PartNumber: 1, Body: 'only' }))
    const done = await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'm', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag! }] } }))
    assert.equal(done.VersionId, 'null')
  })

  // Deleting object versions / HeadObject: when the current version is a delete marker, GET and
  // HEAD answer 404 with x-amz-delete-marker: true and the marker's x-amz-version-id; asked for by
  // version id, a marker is 405 with the same headers and Last-Modified.
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
  test('HEAD and GET of a key whose latest version is a delete marker carry the marker headers', async () => {
    const c = s.client()
    const b = bucketName('dm')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'gone', Body: 'x' }))
    const del = await c.send(new DeleteObjectCommand({ Bucket: b, Key: 'gone' }))
    assert.ok(del.DeleteMarker && del.VersionId)
    for (const method of ['HEAD', 'GET']) {
      const r = await rawRequest(s.endpoint, { method, path: `/${b}/gone` })
      assert.equal(r.status, 404, method)
      assert.equal(r.headers['x-amz-delete-marker'], 'true', method)
      assert.equal(r.headers['x-amz-version-id'], del.VersionId, method)
      if (method === 'GET') assert.equal(codeOf(r.body), 'NoSuchKey')
      const byId = await rawRequest(s.endpoint, { method, path: `/${b}/gone`, query: { versionId: del.VersionId! } })
      assert.equal(byId.status, 405, method)
      assert.equal(byId.headers['x-amz-delete-marker'], 'true', method)
      assert.equal(byId.headers['x-amz-version-id'], del.VersionId, method)
      assert.ok(byId.headers['last-modified'], `${method} by id has Last-Modified`)
    }
  })
})

/** Objects through the AWS SDK v3: put/get/head/delete, metadata, ranges, conditionals, overrides, copy, tagging, checksums, limits. */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, READER, startTestServer, type TestServer } from '../helpers/server.js'

describe('objects', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('obj')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  })
  after(async () => {
    await s.stop()
  })

  test('put and get keep bytes, standard headers and user metadata', async () => {
    const c = s.client()
    const body = Buffer.from('the quick brown fox jumps over the lazy dog')
    const put = await c.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/fox.txt',
        Body: body,
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="fox.txt"',
        ContentLanguage: 'en',
        Metadata: { Owner: 'Ada', 'x-thing': 'plain' },
      }),
    )
    assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`)
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/fox.txt' }))
    assert.equal(Buffer.from(await got.Body!.transformToByteArray()).toString(), body.toString())
    assert.equal(got.ContentType, 'text/plain; charset=utf-8')
    assert.equal(got.CacheControl, 'max-age=60')
    assert.equal(got.ContentDisposition, 'attachment; filename="fox.txt"')
    assert.equal(got.ContentLanguage, 'en')
    assert.equal(got.ContentLength, body.length)
    assert.deepEqual(got.Metadata, { owner: 'Ada', 'x-thing': 'plain' })
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/fox.txt' }))
    assert.equal(head.ETag, put.ETag)
    assert.equal(head.ContentLength, body.length)
  })

  test('a Buffer body with non-ASCII metadata fails as on S3: the SDK signs UTF-8, Node sends Latin-1', async () => {
    // With a Buffer body Node writes the headers on their own, as Latin-1 (ü is the byte FC), while the
    // SDK signed the value's UTF-8 (C3 BC); S3 verifies the bytes it received and answers
    // SignatureDoesNotMatch (aws/aws-sdk-java#2694, aws/aws-sdk-net#1587, aws/aws-sdk-js#820). mrap does
    // the same, so the bug shows up locally, not first in production. UTF-8 on the wire is accepted
    // (test/s3/fidelity-metadata.test.ts).
    const e = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'latin1-meta', Body: Buffer.from('x'), Metadata: { 'x-thing': 'ü' } })))
    assert.equal(e.name, 'SignatureDoesNotMatch')
    assert.equal(e.$metadata.httpStatusCode, 403)
  })

  test('keys with odd characters round-trip and never escape the store', async () => {
    const c = s.client()
    const keys = ['../../etc/passwd', 'a b+c%20d', 'ünïcödé/日本語.txt', 'trailing/', '//double//slash', 'x'.repeat(1024)]
    for (const k of keys) await c.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k.length}` }))
    for (const k of keys) {
      const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: k }))
      assert.equal(await got.Body!.transformToString(), `body of ${k.length}`, k.slice(0, 40))
    }
    const tooLong = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'y'.repeat(1025), Body: 'x' })))
    assert.equal(tooLong.name, 'KeyTooLongError')
  })

  test('empty objects work', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: '' }))
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' }))
    assert.equal(got.ContentLength, 0)
    assert.equal(got.ETag, '"d41d8cd98f00b204e9800998ecf8427e"')
    assert.equal((await got.Body!.transformToByteArray()).length, 0)
  })

  test('a stream body (aws-chunked with a CRC32 trailer) is stored decoded', async () => {
    const c = s.client()
    const data = Buffer.alloc(300_000, 7)
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), ContentLength: data.length }))
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed', ChecksumMode: 'ENABLED' }))
    const bytes = Buffer.from(await got.Body!.transformToByteArray())
    assert.ok(bytes.equals(data))
    assert.equal(got.ContentEncoding, undefined, 'aws-chunked is not a stored content encoding')
    assert.ok(got.ChecksumCRC32, 'the CRC32 the SDK sent is returned with checksum mode')
  })

  test('Range: first bytes, suffix, open end, beyond the end', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'range', Body: '0123456789' }))
    const r1 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=2-5' }))
    assert.equal(await r1.Body!.transformToString(), '2345')
    assert.equal(r1.ContentRange, 'bytes 2-5/10')
    assert.equal(r1.$metadata.httpStatusCode, 206)
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=-3' }))).Body!.transformToString(), '789')
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=7-' }))).Body!.transformToString(), '789')
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=8-100' }))).Body!.transformToString(), '89')
    const bad = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=10-20' })))
    assert.equal(bad.name, 'InvalidRange')
    assert.equal(bad.$metadata.httpStatusCode, 416)
  })

  test('conditional GET: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const c = s.client()
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'conditional' }))
    const etag = put.ETag!
    const ok = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag }))
    assert.equal(await ok.Body!.transformToString(), 'conditional')
    const pf = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"0000"' })))
    assert.equal(pf.$metadata.httpStatusCode, 412)
    const nm = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: etag })))
    assert.equal(nm.$metadata.httpStatusCode, 304)
    const future = new Date(Date.now() + 3600_000)
    const past = new Date(Date.now() - 3600_000)
    const nm2 = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: future })))
    assert.equal(nm2.$metadata.httpStatusCode, 304)
    assert.equal((await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: past }))).$metadata.httpStatusCode, 200)
    const pf2 = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfUnmodifiedSince: past })))
    assert.equal(pf2.$metadata.httpStatusCode, 412)
    // If-Match true makes If-Unmodified-Since irrelevant (RFC 7232 §6 as S3 applies it).
    assert.equal((await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag, IfUnmodifiedSince: past }))).$metadata.httpStatusCode, 200)
  })

  test('conditional PUT: If-None-Match * refuses to overwrite', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }))
    const e = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' })))
    assert.equal(e.$metadata.httpStatusCode, 412)
    assert.equal(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))).Body!.transformToString(), 'first')
  })

  test('response-* overrides on GET', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'override', Body: 'x', ContentType: 'text/plain' }))
    const got = await c.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'override', ResponseContentType: 'application/json', ResponseContentDisposition: 'inline', ResponseCacheControl: 'no-cache' }),
    )
    assert.equal(got.ContentType, 'application/json')
    assert.equal(got.ContentDisposition, 'inline')
    assert.equal(got.CacheControl, 'no-cache')
  })

  test('missing key: NoSuchKey for the owner, AccessDenied for a caller without s3:ListBucket', async () => {
    const e = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'nope' })))
    assert.equal(e.name, 'NoSuchKey')
    assert.equal(e.$metadata.httpStatusCode, 404)
    const h = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'nope' })))
    assert.equal(h.$metadata.httpStatusCode, 404)
    const r = await failure(() => s.client(READER, 'eu-west-1').send(new GetObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET2', Key: 'nope' })))
    assert.equal(r.$metadata.httpStatusCode, 403)
  })

  test('DeleteObject and DeleteObjects', async () => {
    const c = s.client()
    for (const k of ['d1', 'd2', 'd3']) await c.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))
    const del = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'd1' }))
    assert.equal(del.$metadata.httpStatusCode, 204)
    assert.equal((await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'd1' })))).name, 'NoSuchKey')
    // Deleting what is not there succeeds, as in S3.
    assert.equal((await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'd1' }))).$metadata.httpStatusCode, 204)
    const multi = await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'd2' }, { Key: 'd3' }, { Key: 'never-existed' }] } }))
    assert.deepEqual(multi.Deleted?.map((d) => d.Key).sort(), ['d2', 'd3', 'never-existed'])
    assert.equal(multi.Errors, undefined)
    const quiet = await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'x' }], Quiet: true } }))
    assert.equal(quiet.Deleted, undefined)
    const left = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'd' }))
    assert.ok(!left.Contents?.some((o) => ['d1', 'd2', 'd3'].includes(o.Key!)))
  })

  test('CopyObject with COPY and REPLACE metadata directives and conditional copy headers', async () => {
    const c = s.client()
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'copy me', ContentType: 'text/x-src', Metadata: { a: '1' }, Tagging: 't=1' }))
    const copied = await c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-copy', CopySource: `${bucket}/src` }))
    assert.equal(copied.CopyObjectResult?.ETag, put.ETag)
    const g1 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'dst-copy' }))
    assert.equal(await g1.Body!.transformToString(), 'copy me')
    assert.equal(g1.ContentType, 'text/x-src')
    assert.deepEqual(g1.Metadata, { a: '1' })
    await c.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'dst-replace', CopySource: `${bucket}/src`, MetadataDirective: 'REPLACE', ContentType: 'text/new', Metadata: { b: '2' } }),
    )
    const g2 = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst-replace' }))
    assert.equal(g2.ContentType, 'text/new')
    assert.deepEqual(g2.Metadata, { b: '2' })
    const pf = await failure(() => c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-x', CopySource: `${bucket}/src`, CopySourceIfMatch: '"nope"' })))
    assert.equal(pf.$metadata.httpStatusCode, 412)
    const self = await failure(() => c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'src', CopySource: `${bucket}/src` })))
    assert.equal(self.name, 'InvalidRequest')
    const missing = await failure(() => c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-y', CopySource: `${bucket}/no-such-source` })))
    assert.equal(missing.name, 'NoSuchKey')
    const tags = await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'dst-copy' }))
    assert.deepEqual(tags.TagSet, [{ Key: 't', Value: '1' }])
  })

  test('object tagging: x-amz-tagging, Put/Get/DeleteObjectTagging, limits', async () => {
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'tagged', Body: 'x', Tagging: 'a=1&b=two%20words' }))
    assert.deepEqual((await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet, [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: 'two words' },
    ])
    await c.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tagged', Tagging: { TagSet: [{ Key: 'c', Value: '3' }] } }))
    assert.deepEqual((await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet, [{ Key: 'c', Value: '3' }])
    assert.equal((await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tagged' }))).$metadata.httpStatusCode, 200)
    await c.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))
    assert.deepEqual((await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet ?? [], [])
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))
    const e = await failure(() => c.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tagged', Tagging: { TagSet: eleven } })))
    assert.equal(e.name, 'InvalidTag')
  })

  test('flexible checksums: SHA256 and CRC32C are checked, stored and returned', async () => {
    const c = s.client()
    const body = 'checksummed body'
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'sha', Body: body, ChecksumAlgorithm: 'SHA256' }))
    const want = createHash('sha256').update(body).digest('base64')
    assert.equal(put.ChecksumSHA256, want)
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'sha', ChecksumMode: 'ENABLED' }))
    assert.equal(got.ChecksumSHA256, want)
    await got.Body!.transformToString()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'crc32c', Body: body, ChecksumAlgorithm: 'CRC32C' }))
    const h = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'crc32c', ChecksumMode: 'ENABLED' }))
    assert.ok(h.ChecksumCRC32C)
    const wrong = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/badsum`,
      body,
      headers: { 'x-amz-checksum-sha256': createHash('sha256').update('other').digest('base64') },
    })
    assert.equal(wrong.status, 400)
    assert.equal(codeOf(wrong.body), 'BadDigest')
    const malformed = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/badsum`, body, headers: { 'x-amz-checksum-crc32': 'not base64!' } })
    assert.equal(codeOf(malformed.body), 'InvalidRequest')
    assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'badsum' })))).$metadata.httpStatusCode, 404)
  })

  test('Content-MD5: InvalidDigest when malformed, BadDigest when wrong, nothing stored', async () => {
    const ok = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/md5`, body: 'abc', headers: { 'content-md5': createHash('md5').update('abc').digest('base64') } })
    assert.equal(ok.status, 200)
    const bad = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/md5-bad`,
      body: 'abc',
      headers: { 'content-md5': createHash('md5').update('abd').digest('base64') },
    })
    assert.equal(codeOf(bad.body), 'BadDigest')
    const inv = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/md5-bad`, body: 'abc', headers: { 'content-md5': 'zzz' } })
    assert.equal(codeOf(inv.body), 'InvalidDigest')
    assert.equal((await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'md5-bad' })))).$metadata.httpStatusCode, 404)
  })

  test('x-amz-content-sha256 that does not match the body is XAmzContentSHA256Mismatch', async () => {
    const r = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/sha-mismatch`,
      body: 'abc',
      headers: { 'x-amz-content-sha256': createHash('sha256').update('abd').digest('hex') },
    })
    assert.equal(r.status, 400)
    assert.equal(codeOf(r.body), 'XAmzContentSHA256Mismatch')
    assert.equal((await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'sha-mismatch' })))).$metadata.httpStatusCode, 404)
  })

  test('user metadata over 2 KB is MetadataTooLarge', async () => {
    const e = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })))
    assert.equal(e.name, 'MetadataTooLarge')
  })

  test('presigned GET and PUT URLs work; a tampered one does not', async () => {
    const c = s.client()
    const putUrl = await getSignedUrl(c, new PutObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 300 })
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' })
    assert.equal(put.status, 200)
    const getUrl = await getSignedUrl(c, new GetObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 300 })
    const got = await fetch(getUrl)
    assert.equal(got.status, 200)
    assert.equal(await got.text(), 'via presigned put')
    const tampered = await fetch(getUrl.replace('presigned?', 'presigneX?'))
    assert.equal(tampered.status, 403)
    assert.match(await tampered.text(), /SignatureDoesNotMatch/)
  })

  test('a PUT larger than 5 GiB is refused before any byte is read', async () => {
    const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/huge`, headers: { 'content-length': String(5 * 1024 ** 3 + 1) }, unsignedPayload: true })
    assert.equal(r.status, 400)
    assert.equal(codeOf(r.body), 'EntityTooLarge')
  })
})

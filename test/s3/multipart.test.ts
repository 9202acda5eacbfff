/** Multipart uploads: lib-storage (parallel parts), the low-level calls and their errors, UploadPartCopy. */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const MiB = 1024 * 1024

describe('multipart', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('mpu')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  })
  after(async () => {
    await s.stop()
  })

  test('lib-storage uploads 23 MiB in parallel 5 MiB parts; the ETag and bytes are right', async () => {
    const data = randomBytes(23 * MiB)
    const up = new Upload({ client: s.client(), params: { Bucket: bucket, Key: 'big.bin', Body: data }, partSize: 5 * MiB, queueSize: 4 })
    const done = await up.done()
    const parts = [0, 1, 2, 3, 4].map((i) =>
      createHash('md5')
        .update(data.subarray(i * 5 * MiB, Math.min((i + 1) * 5 * MiB, data.length)))
        .digest(),
    )
    const want = `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-5"`
    assert.equal(done.ETag, want)
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }))
    assert.equal(got.ETag, want)
    const bytes = Buffer.from(await got.Body!.transformToByteArray())
    assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(data).digest('hex'))
    // A range across a part boundary, and a part by number.
    const r = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin', Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }))
    assert.ok(Buffer.from(await r.Body!.transformToByteArray()).equals(data.subarray(5 * MiB - 10, 5 * MiB + 10)))
    const p2 = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin', PartNumber: 2 }))
    assert.equal(p2.PartsCount, 5)
    assert.ok(Buffer.from(await p2.Body!.transformToByteArray()).equals(data.subarray(5 * MiB, 10 * MiB)))
  })

  test('parts out of order, re-uploaded, listed, and a composite CRC32 checksum', async () => {
    const c = s.client()
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'ooo', ChecksumAlgorithm: 'CRC32' }))
    const p1 = randomBytes(5 * MiB),
      p2 = randomBytes(1000)
    const r2 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'ooo', UploadId, PartNumber: 2, Body: p2, ChecksumAlgorithm: 'CRC32' }))
    await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'ooo', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB), ChecksumAlgorithm: 'CRC32' }))
    const r1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'ooo', UploadId, PartNumber: 1, Body: p1, ChecksumAlgorithm: 'CRC32' }))
    const listed = await c.send(new ListPartsCommand({ Bucket: bucket, Key: 'ooo', UploadId }))
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
      [
        [1, 5 * MiB, r1.ETag],
        [2, 1000, r2.ETag],
      ],
    )
    const uploads = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === UploadId && u.Key === 'ooo'))
    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'ooo',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: r1.ETag, ChecksumCRC32: r1.ChecksumCRC32 },
            { PartNumber: 2, ETag: r2.ETag, ChecksumCRC32: r2.ChecksumCRC32 },
          ],
        },
      }),
    )
    assert.match(done.ChecksumCRC32 ?? '', /-2$/)
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'ooo' }))
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([p1, p2])))
    const after = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
    assert.ok(!after.Uploads?.some((u) => u.UploadId === UploadId))
  })

  test('Complete errors: EntityTooSmall, InvalidPart, InvalidPartOrder, NoSuchUpload; nothing becomes visible', async () => {
    const c = s.client()
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'bad' }))
    const a = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad', UploadId, PartNumber: 1, Body: 'small' }))
    const b = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad', UploadId, PartNumber: 2, Body: 'small too' }))
    const small = await failure(() =>
      c.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'bad',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.ETag },
              { PartNumber: 2, ETag: b.ETag },
            ],
          },
        }),
      ),
    )
    assert.equal(small.name, 'EntityTooSmall')
    const wrongEtag = await failure(() =>
      c.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'bad', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0123456789abcdef0123456789abcdef"' }] } }),
      ),
    )
    assert.equal(wrongEtag.name, 'InvalidPart')
    const missing = await failure(() =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'bad', UploadId, MultipartUpload: { Parts: [{ PartNumber: 7, ETag: a.ETag }] } })),
    )
    assert.equal(missing.name, 'InvalidPart')
    const order = await failure(() =>
      c.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'bad',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 2, ETag: b.ETag },
              { PartNumber: 1, ETag: a.ETag },
            ],
          },
        }),
      ),
    )
    assert.equal(order.name, 'InvalidPartOrder')
    assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad' })))).$metadata.httpStatusCode, 404)
    await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'bad', UploadId }))
    const gone = await failure(() => c.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad', UploadId, PartNumber: 3, Body: 'x' })))
    assert.equal(gone.name, 'NoSuchUpload')
    const bogus = await failure(() => c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'bad', UploadId: 'no-such-upload' })))
    assert.equal(bogus.name, 'NoSuchUpload')
  })

  test('part numbers outside 1..10000 are InvalidArgument', async () => {
    const c = s.client()
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'pn' }))
    for (const n of [0, 10001]) {
      const e = await failure(() => c.send(new UploadPartCommand({ Bucket: bucket, Key: 'pn', UploadId, PartNumber: n, Body: 'x' })))
      assert.equal(e.name, 'InvalidArgument', String(n))
    }
    await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'pn', UploadId }))
  })

  test('UploadPartCopy with a source range', async () => {
    const c = s.client()
    const src = randomBytes(6 * MiB)
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-src', Body: src }))
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copy-dst' }))
    const p1 = await c.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId, PartNumber: 1, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
    )
    const p2 = await c.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId, PartNumber: 2, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}` }),
    )
    const bad = await failure(() =>
      c.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId, PartNumber: 3, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=0-${7 * MiB}` })),
    )
    assert.equal(bad.name, 'InvalidArgument')
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'copy-dst',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
          ],
        },
      }),
    )
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy-dst' }))
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(src))
  })
})

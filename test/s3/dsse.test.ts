/**
 * DSSE-KMS (`aws:kms:dsse`) beyond PutObject: multipart uploads (the bucket default included, so a
 * large `aws s3 cp` works), UploadPartCopy, CopyObject between every kind of encryption, and the
 * bytes on disk. PutObject, GET/HEAD and the bucket default are in test/s3/sse-kms.test.ts §DSSE-KMS;
 * replication in test/replication/encrypted.test.ts.
 *
 * AWS's behaviour (docs/decisions/encryption.md §DSSE-KMS): "Using dual-layer server-side encryption
 * with AWS KMS keys (DSSE-KMS)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingDSSEncryption.html),
 * "Specifying dual-layer server-side encryption with AWS KMS keys (DSSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-dsse-encryption.html: "You can
 * apply encryption when you are either uploading a new object or copying an existing object"),
 * CreateMultipartUpload, UploadPart, UploadPartCopy and CopyObject in the API reference
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html and neighbours:
 * `x-amz-server-side-encryption: aws:kms:dsse`, answered back on every part; a copy's target takes
 * the encryption the request names over the bucket's default), and "Object"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html: ETags of SSE-KMS objects and of
 * multipart objects are not MD5 digests of their data).
 */
import assert from 'node:assert/strict'
import { createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { dssePartKey, kmsKeysOf } from '../../src/s3/sse-kms.js'
import { CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, bucketName, bytesOf, failure, startTestServer, type TestServer } from '../helpers/server.js'

const MiB = 1024 * 1024
let s: TestServer
let bucket: string
let keyArn: string

const kms = () => new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })

before(async () => {
  s = await startTestServer()
  bucket = bucketName('dsse')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  keyArn = (await kms().send(new CreateKeyCommand({ Description: 'dsse tests' }))).KeyMetadata!.Arn!
})
after(async () => {
  await s.stop()
})

/** Bytes that differ at every offset, so a part or range decrypted at the wrong place shows. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed + (i >> 11)) & 0xff
  return b
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** A multipart upload of `parts` (each ≥ 5 MiB but the last); returns the upload's answers. */
async function multipart(c: S3Client, key: string, parts: Buffer[], extra: Partial<CreateMultipartUploadCommandInput> = {}) {
  const created = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }))
  const etags: string[] = []
  const answers = []
  for (const [i, p] of parts.entries()) {
    const up = await c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, PartNumber: i + 1, Body: p }))
    etags.push(up.ETag!)
    answers.push(up)
  }
  const done = await c.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: created.UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  )
  return { created, parts: answers, done }
}

function storedFiles(): string[] {
  return readdirSync(s.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

describe('DSSE-KMS multipart uploads (JS SDK)', () => {
  test('CreateMultipartUpload, UploadPart (one part sent twice), Complete: aws:kms:dsse on every answer; GET, ranges across parts, partNumber', async () => {
    const c = s.client()
    const ctx = Buffer.from(JSON.stringify({ upload: 'dsse' })).toString('base64')
    const p1 = pattern(5 * MiB, 1)
    p1.write('dsse-mp-marker-one', 1000)
    const p2first = pattern(5 * MiB, 2)
    const p2 = pattern(5 * MiB, 3)
    p2.write('dsse-mp-marker-two', 5 * MiB - 30)
    const p3 = pattern(MiB + 7, 4)
    const body = Buffer.concat([p1, p2, p3])
    const key = 'mp'
    const created = await c.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ServerSideEncryption: 'aws:kms:dsse',
        SSEKMSKeyId: keyArn,
        SSEKMSEncryptionContext: ctx,
        ChecksumAlgorithm: 'CRC32',
      }),
    )
    assert.equal(created.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(created.SSEKMSKeyId, keyArn)
    const send = (n: number, b: Buffer) =>
      c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, PartNumber: n, Body: b, ChecksumAlgorithm: 'CRC32' }))
    const a1 = await send(1, p1)
    const again = await send(2, p2first)
    const a2 = await send(2, p2)
    const a3 = await send(3, p3)
    for (const a of [a1, a2, a3]) {
      assert.equal(a.ServerSideEncryption, 'aws:kms:dsse')
      assert.equal(a.SSEKMSKeyId, keyArn)
    }
    // A part's ETag keys its second layer: not its MD5, and new for every upload of the part.
    assert.notEqual(a1.ETag, `"${md5(p1)}"`)
    assert.notEqual(again.ETag, a2.ETag)
    // The checksums the SDK sent were checked against the plaintext, and are answered back.
    assert.ok(a1.ChecksumCRC32)
    const listed = await c.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId }))
    assert.deepEqual(
      listed.Parts?.map((p) => p.ETag),
      [a1.ETag, a2.ETag, a3.ETag],
    )
    // The first ETag of part 2 was replaced by the second upload.
    const stale = await failure(() =>
      c.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: created.UploadId,
          MultipartUpload: {
            Parts: [
              { ETag: a1.ETag, PartNumber: 1, ChecksumCRC32: a1.ChecksumCRC32 },
              { ETag: again.ETag, PartNumber: 2, ChecksumCRC32: again.ChecksumCRC32 },
            ],
          },
        }),
      ),
    )
    assert.equal(stale.name, 'InvalidPart')
    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: created.UploadId,
        MultipartUpload: {
          Parts: [a1, a2, a3].map((a, i) => ({ ETag: a.ETag, PartNumber: i + 1, ChecksumCRC32: a.ChecksumCRC32 })),
        },
      }),
    )
    assert.equal(done.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(done.SSEKMSKeyId, keyArn)
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-3"$/)

    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    assert.equal(got.ServerSideEncryption, 'aws:kms:dsse')
    assert.ok((await bytesOf(got)).equals(body), 'the whole object')
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    assert.equal(head.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(head.ContentLength, body.length)
    const b1 = 5 * MiB
    const b2 = 10 * MiB
    for (const [a, z] of [
      [b1 - 1, b1], // the last byte of part 1 and the first of part 2
      [b1 - 37, b1 + 41], // unaligned on both sides
      [7, body.length - 3], // across both boundaries
      [b2 - 5, b2 + 20],
      [b2 + 3, b2 + 3],
      [b1 + 16, b1 + 31],
    ] as [number, number][]) {
      const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${a}-${z}` }))
      assert.ok((await bytesOf(r)).equals(body.subarray(a, z + 1)), `range ${a}-${z}`)
    }
    for (const [n, p] of [
      [1, p1],
      [2, p2],
      [3, p3],
    ] as [number, Buffer][]) {
      const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: n }))
      assert.equal(r.PartsCount, 3)
      assert.ok((await bytesOf(r)).equals(p), `part ${n}`)
    }

    // At rest: no plaintext in any file; the store's layer opened with the first data key alone
    // is still ciphertext; each part's second layer opens with its own key (dssePartKey).
    for (const f of storedFiles()) for (const m of ['dsse-mp-marker-one', 'dsse-mp-marker-two']) assert.equal(readFileSync(f).indexOf(m), -1, `${f} holds ${m}`)
    const store = s.services.stores.get('us-east-1')!
    const { version: v } = await store.getObject(bucket, key)
    const keys = kmsKeysOf(s.services)
    const kmsKey = keys.byId(keyArn.split('/').pop()!)!
    const context = { upload: 'dsse', 'aws:s3:arn': `arn:aws:s3:::${bucket}/${key}` }
    const first = keys.decrypt(kmsKey, Buffer.from(v.sseKmsDataKey!, 'base64'), context)!
    const second = keys.decrypt(kmsKey, Buffer.from(v.sseKmsDsseDataKey!, 'base64'), context)!
    const chunks: Buffer[] = []
    for await (const ch of (await store.getObject(bucket, key, v.versionId, { customerKey: first })).open()) chunks.push(ch as Buffer)
    const inner = Buffer.concat(chunks)
    assert.equal(inner.length, body.length)
    for (const m of ['dsse-mp-marker-one', 'dsse-mp-marker-two']) assert.equal(inner.indexOf(m), -1)
    let at = 0
    const opened = v.parts!.map((p) => {
      const d = createDecipheriv('aes-256-ctr', dssePartKey(second, p.etag), Buffer.alloc(16))
      const out = d.update(inner.subarray(at, at + p.size))
      at += p.size
      return out
    })
    assert.ok(Buffer.concat(opened).equals(body))
  })

  test('a bucket whose default is aws:kms:dsse takes multipart uploads that name no encryption', async () => {
    const c = s.client()
    const b = bucketName('dssemp')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(
      new PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyArn } }] },
      }),
    )
    const created = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'd' }))
    assert.equal(created.ServerSideEncryption, 'aws:kms:dsse')
    const p1 = pattern(5 * MiB, 9)
    const p2 = pattern(100, 10)
    const e1 = (await c.send(new UploadPartCommand({ Bucket: b, Key: 'd', UploadId: created.UploadId, PartNumber: 1, Body: p1 }))).ETag
    const e2 = (await c.send(new UploadPartCommand({ Bucket: b, Key: 'd', UploadId: created.UploadId, PartNumber: 2, Body: p2 }))).ETag
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: b,
        Key: 'd',
        UploadId: created.UploadId,
        MultipartUpload: {
          Parts: [
            { ETag: e1, PartNumber: 1 },
            { ETag: e2, PartNumber: 2 },
          ],
        },
      }),
    )
    const got = await c.send(new GetObjectCommand({ Bucket: b, Key: 'd', Range: `bytes=${5 * MiB - 10}-${5 * MiB + 99}` }))
    assert.equal(got.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(got.SSEKMSKeyId, keyArn)
    assert.ok((await bytesOf(got)).equals(Buffer.concat([p1.subarray(5 * MiB - 10), p2])))
  })

  test('a disabled key refuses UploadPart and the GET of a DSSE-KMS upload with KMS.DisabledException', async () => {
    const c = s.client()
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const { done } = await multipart(c, 'mp-disabled', [pattern(5 * MiB, 5), pattern(10, 6)], { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId })
    assert.equal(done.ServerSideEncryption, 'aws:kms:dsse')
    const open = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-disabled-2', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId }))
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    try {
      const part = await failure(() => c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp-disabled-2', UploadId: open.UploadId, PartNumber: 1, Body: 'x' })))
      assert.equal(part.name, 'KMS.DisabledException')
      const get = await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp-disabled', Range: 'bytes=0-9' })))
      assert.equal(get.name, 'KMS.DisabledException')
    } finally {
      await kms().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    }
    const back = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp-disabled', Range: 'bytes=0-9' }))
    assert.ok((await bytesOf(back)).equals(pattern(10, 5)))
  })

  test('UploadPartCopy into a DSSE-KMS upload, from a DSSE-KMS multipart source, with a range across its parts', async () => {
    const c = s.client()
    const src1 = pattern(5 * MiB, 21)
    const src2 = pattern(3 * MiB, 22)
    const source = Buffer.concat([src1, src2])
    await multipart(c, 'mp-src', [src1, src2], { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn })
    const created = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-copy', ServerSideEncryption: 'aws:kms:dsse' }))
    const from = 2 * MiB + 5
    const to = 7 * MiB + 9 // crosses the source's part boundary at 5 MiB
    const c1 = await c.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'mp-copy',
        UploadId: created.UploadId,
        PartNumber: 1,
        CopySource: `${bucket}/mp-src`,
        CopySourceRange: `bytes=${from}-${to}`,
      }),
    )
    assert.equal(c1.ServerSideEncryption, 'aws:kms:dsse')
    const tail = pattern(1000, 23)
    const u2 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp-copy', UploadId: created.UploadId, PartNumber: 2, Body: tail }))
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp-copy',
        UploadId: created.UploadId,
        MultipartUpload: {
          Parts: [
            { ETag: c1.CopyPartResult!.ETag, PartNumber: 1 },
            { ETag: u2.ETag, PartNumber: 2 },
          ],
        },
      }),
    )
    const want = Buffer.concat([source.subarray(from, to + 1), tail])
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp-copy' }))
    assert.equal(got.ServerSideEncryption, 'aws:kms:dsse')
    assert.ok((await bytesOf(got)).equals(want))
  })
})

const SSEC_KEY = randomBytes(32)
const SSEC_OTHER = randomBytes(32)
const ssec = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64') })
const copySsec = (k: Buffer) => ({ CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: k.toString('base64') })

describe('CopyObject with DSSE-KMS as source and as target (JS SDK)', () => {
  test('every source (SSE-S3, SSE-KMS, DSSE-KMS, DSSE-KMS multipart, SSE-C) to every target (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C): the plaintext is copied', async () => {
    const c = s.client()
    const sources: { key: string; body: Buffer; put?: Partial<PutObjectCommandInput>; copy?: Partial<CopyObjectCommandInput> }[] = [
      { key: 'src-s3', body: pattern(70_000, 31) },
      { key: 'src-kms', body: pattern(70_001, 32), put: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn } },
      { key: 'src-dsse', body: pattern(70_002, 33), put: { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn } },
      { key: 'src-dsse-mp', body: Buffer.concat([pattern(5 * MiB, 34), pattern(40_000, 35)]) },
      { key: 'src-ssec', body: pattern(70_003, 36), put: ssec(SSEC_KEY), copy: copySsec(SSEC_KEY) },
    ]
    for (const src of sources) {
      if (src.key === 'src-dsse-mp')
        await multipart(c, src.key, [src.body.subarray(0, 5 * MiB), src.body.subarray(5 * MiB)], { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn })
      else await c.send(new PutObjectCommand({ Bucket: bucket, Key: src.key, Body: src.body, ...src.put }))
    }
    const targets: { name: string; copy: Partial<CopyObjectCommandInput>; sse?: string; get?: ReturnType<typeof ssec> }[] = [
      { name: 's3', copy: { ServerSideEncryption: 'AES256' }, sse: 'AES256' },
      { name: 'kms', copy: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }, sse: 'aws:kms' },
      { name: 'dsse', copy: { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn }, sse: 'aws:kms:dsse' },
      { name: 'ssec', copy: ssec(SSEC_OTHER), get: ssec(SSEC_OTHER) },
    ]
    for (const src of sources) {
      for (const t of targets) {
        const Key = `copy-${src.key}-to-${t.name}`
        const out = await c.send(new CopyObjectCommand({ Bucket: bucket, Key, CopySource: `${bucket}/${src.key}`, ...src.copy, ...t.copy }))
        assert.equal(out.ServerSideEncryption, t.sse, Key)
        if (t.name === 'dsse') {
          assert.equal(out.SSEKMSKeyId, keyArn)
          // The digests are of the plaintext, taken before the second layer, as for a PUT.
          assert.equal(out.CopyObjectResult?.ETag, `"${md5(src.body)}"`, Key)
        }
        const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key, ...t.get }))
        assert.equal(got.ServerSideEncryption, t.sse, Key)
        assert.ok((await bytesOf(got)).equals(src.body), `${Key}: the bytes`)
        const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key, Range: 'bytes=65530-65560', ...t.get }))
        assert.ok((await bytesOf(r)).equals(src.body.subarray(65530, 65561)), `${Key}: a range`)
      }
    }
    // A DSSE-KMS copy's files hold no plaintext: a marker written into a DSSE source, copied to DSSE.
    const secret = Buffer.from('dsse-copy-marker-0123456789')
    const body = Buffer.concat([pattern(1000, 37), secret, pattern(1000, 38)])
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'marked', Body: body, ServerSideEncryption: 'aws:kms:dsse' }))
    await c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'marked-copy', CopySource: `${bucket}/marked`, ServerSideEncryption: 'aws:kms:dsse' }))
    for (const f of storedFiles()) assert.equal(readFileSync(f).indexOf(secret), -1, `${f} holds the plaintext`)
  })

  test('a copy onto itself changes SSE-KMS to DSSE-KMS and back; the bucket default applies to a copy that names no encryption', async () => {
    const c = s.client()
    const body = pattern(3000, 41)
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'rotate', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }))
    const up = await c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'rotate', CopySource: `${bucket}/rotate`, ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn }))
    assert.equal(up.ServerSideEncryption, 'aws:kms:dsse')
    assert.ok((await bytesOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'rotate' })))).equals(body))
    const down = await c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'rotate', CopySource: `${bucket}/rotate`, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }))
    assert.equal(down.ServerSideEncryption, 'aws:kms')
    assert.ok((await bytesOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'rotate' })))).equals(body))
    const b = bucketName('dssecopy')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(
      new PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyArn } }] },
      }),
    )
    const copied = await c.send(new CopyObjectCommand({ Bucket: b, Key: 'from-default', CopySource: `${bucket}/rotate` }))
    assert.equal(copied.ServerSideEncryption, 'aws:kms:dsse')
    assert.ok((await bytesOf(await c.send(new GetObjectCommand({ Bucket: b, Key: 'from-default' })))).equals(body))
  })

  test('UploadPartCopy from every source (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C) into every kind of upload (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)', async () => {
    const c = s.client()
    const sources: { key: string; body: Buffer; put?: Partial<PutObjectCommandInput>; copy?: Record<string, string> }[] = [
      { key: 'upc-s3', body: pattern(20_000, 51) },
      { key: 'upc-kms', body: pattern(20_001, 52), put: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn } },
      { key: 'upc-dsse', body: pattern(20_002, 53), put: { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn } },
      { key: 'upc-ssec', body: pattern(20_003, 54), put: ssec(SSEC_KEY), copy: copySsec(SSEC_KEY) },
    ]
    for (const src of sources) await c.send(new PutObjectCommand({ Bucket: bucket, Key: src.key, Body: src.body, ...src.put }))
    const uploads: { name: string; create: Partial<CreateMultipartUploadCommandInput>; part?: ReturnType<typeof ssec>; sse?: string }[] = [
      { name: 's3', create: {}, sse: 'AES256' },
      { name: 'kms', create: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }, sse: 'aws:kms' },
      { name: 'dsse', create: { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyArn }, sse: 'aws:kms:dsse' },
      { name: 'ssec', create: ssec(SSEC_OTHER), part: ssec(SSEC_OTHER) },
    ]
    for (const src of sources) {
      for (const u of uploads) {
        const Key = `upc-${src.key}-to-${u.name}`
        const created = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ...u.create }))
        const part = await c.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key,
            UploadId: created.UploadId,
            PartNumber: 1,
            CopySource: `${bucket}/${src.key}`,
            CopySourceRange: 'bytes=100-15099',
            ...src.copy,
            ...u.part,
          }),
        )
        assert.equal(part.ServerSideEncryption, u.sse, Key)
        await c.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId: created.UploadId, MultipartUpload: { Parts: [{ ETag: part.CopyPartResult!.ETag, PartNumber: 1 }] } }),
        )
        const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key, ...u.part }))
        assert.equal(got.ServerSideEncryption, u.sse, Key)
        assert.ok((await bytesOf(got)).equals(src.body.subarray(100, 15100)), `${Key}: the bytes`)
      }
    }
  })

  test('a disabled key refuses a copy from a DSSE-KMS source and one to a DSSE-KMS target with KMS.DisabledException, and stores nothing', async () => {
    const c = s.client()
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cd-src', Body: 'dsse under a key soon disabled', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId }))
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cd-plain', Body: 'plain' }))
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    try {
      const from = await failure(() => c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'cd-1', CopySource: `${bucket}/cd-src`, ServerSideEncryption: 'AES256' })))
      assert.equal(from.name, 'KMS.DisabledException')
      const to = await failure(() =>
        c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'cd-2', CopySource: `${bucket}/cd-plain`, ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId })),
      )
      assert.equal(to.name, 'KMS.DisabledException')
      for (const Key of ['cd-1', 'cd-2']) assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: bucket, Key })))).$metadata.httpStatusCode, 404)
    } finally {
      await kms().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    }
  })
})

describe('DSSE-KMS multipart with the Debian AWS CLI', () => {
  test('aws s3 cp of a 9 MiB file into a bucket whose default is aws:kms:dsse goes multipart; down again and s3-to-s3 (UploadPartCopy)', async () => {
    const cli = new CliSandbox('mrap-dsse-cli')
    try {
      const b = bucketName('dssecli')
      await s.client().send(new CreateBucketCommand({ Bucket: b }))
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env, timeoutMs: 120_000 })
      const config = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyArn } }] }
      assert.equal((await aws('s3api', 'put-bucket-encryption', '--bucket', b, '--server-side-encryption-configuration', JSON.stringify(config))).code, 0)
      // This CLI's `s3 cp --sse` takes AES256 and aws:kms only (it predates aws:kms:dsse), so the
      // bucket default asks for DSSE-KMS here, as it does for any client that names no encryption.
      const body = randomBytes(9 * MiB)
      const file = cli.write('big.bin', body)
      const up = await aws('s3', 'cp', file, `s3://${b}/big.bin`)
      assert.equal(up.code, 0, up.stderr)
      const head = cliJson((await aws('s3api', 'head-object', '--bucket', b, '--key', 'big.bin')).stdout)
      assert.equal(head.ServerSideEncryption, 'aws:kms:dsse')
      assert.equal(head.SSEKMSKeyId, keyArn)
      assert.match(head.ETag, /-2"$/, 'the CLI uploaded it in parts')
      const down = join(cli.dir, 'down.bin')
      const get = await aws('s3', 'cp', `s3://${b}/big.bin`, down)
      assert.equal(get.code, 0, get.stderr)
      assert.ok(readFileSync(down).equals(body))
      // Above the CLI's 8 MiB threshold a copy is CreateMultipartUpload + UploadPartCopy per part.
      const copy = await aws('s3', 'cp', `s3://${b}/big.bin`, `s3://${b}/copy.bin`)
      assert.equal(copy.code, 0, copy.stderr)
      const copied = cliJson((await aws('s3api', 'head-object', '--bucket', b, '--key', 'copy.bin')).stdout)
      assert.equal(copied.ServerSideEncryption, 'aws:kms:dsse')
      assert.match(copied.ETag, /-2"$/)
      const down2 = join(cli.dir, 'down2.bin')
      assert.equal((await aws('s3', 'cp', `s3://${b}/copy.bin`, down2)).code, 0)
      assert.ok(readFileSync(down2).equals(body))
    } finally {
      cli.dispose()
    }
  })
})

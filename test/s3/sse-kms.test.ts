/**
 * SSE-KMS with the JS SDK and the Debian AWS CLI: S3 calls mrap's KMS as the caller; the key's state
 * and policy decide the S3 request; the bytes on disk are ciphertext.
 *
 * AWS's behaviour (docs/decisions/encryption.md §SSE-KMS): "Using server-side encryption with AWS KMS
 * keys (SSE-KMS)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html: the
 * headers, aws/s3 when no key is named, the `aws:s3:arn` encryption context, kms:GenerateDataKey to
 * upload, kms:Decrypt to download and for multipart uploads), "Specifying server-side encryption with
 * AWS KMS (SSE-KMS)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html),
 * PutBucketEncryption (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html:
 * SSEAlgorithm aws:kms with KMSMasterKeyID), and "Troubleshooting access denied (403 Forbidden)
 * errors in Amazon S3" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html:
 * the KMS action named in the AccessDenied message).
 */
import assert from 'node:assert/strict'
import { createDecipheriv } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient, ListAliasesCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { explainAdmin } from '../../src/explain/admin.js'
import { kmsKeysOf } from '../../src/s3/sse-kms.js'
import { CliSandbox, runAws } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, bytesOf, failure, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
let s: TestServer
let bucket: string
let keyArn: string

const kms = () => new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })

before(async () => {
  s = await startTestServer()
  bucket = bucketName('ssekms')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  keyArn = (await kms().send(new CreateKeyCommand({ Description: 'sse-kms tests' }))).KeyMetadata!.Arn!
})
after(async () => {
  await s.stop()
})

describe('SSE-KMS with the JS SDK', () => {
  test('PUT with a key id and an encryption context; GET and HEAD answer aws:kms, the key ARN and the context', async () => {
    const ctx = Buffer.from(JSON.stringify({ project: 'x' })).toString('base64')
    const put = await s
      .client()
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'k1', Body: 'kms-plaintext-one', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn, SSEKMSEncryptionContext: ctx }))
    assert.equal(put.ServerSideEncryption, 'aws:kms')
    assert.equal(put.SSEKMSKeyId, keyArn)
    assert.equal(put.SSEKMSEncryptionContext, ctx)
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k1' }))
    assert.equal((await bytesOf(got)).toString(), 'kms-plaintext-one')
    assert.equal(got.ServerSideEncryption, 'aws:kms')
    assert.equal(got.SSEKMSKeyId, keyArn)
    const head = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'k1' }))
    assert.equal(head.ServerSideEncryption, 'aws:kms')
    const range = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k1', Range: 'bytes=4-12' }))
    assert.equal((await bytesOf(range)).toString(), 'plaintext')
  })

  test('without a key id: the AWS managed key aws/s3, made on first use', async () => {
    const put = await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k2', Body: 'kms-managed', ServerSideEncryption: 'aws:kms' }))
    const aliases = await kms().send(new ListAliasesCommand({}))
    const managed = aliases.Aliases!.find((a) => a.AliasName === 'alias/aws/s3')
    assert.ok(managed)
    assert.equal(put.SSEKMSKeyId, `arn:aws:kms:us-east-1:${OWNER}:key/${managed.TargetKeyId}`)
    assert.equal((await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k2' })))).toString(), 'kms-managed')
  })

  test('a disabled key: PUT and GET fail with KMS.DisabledException; enabled again, both work', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k3', Body: 'before disable', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: k.KeyId }))
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    const put = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k3b', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: k.KeyId })))
    assert.equal(put.name, 'KMS.DisabledException')
    assert.equal(put.$metadata.httpStatusCode, 400)
    const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k3' })))
    assert.equal(get.name, 'KMS.DisabledException')
    await kms().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    assert.equal((await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k3' })))).toString(), 'before disable')
  })

  test('a key policy without kms:Decrypt: PUT works, GET is AccessDenied naming kms:Decrypt; without GenerateDataKey the PUT is refused', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const admin = `arn:aws:iam::${OWNER}:user/admin`
    const policy = (actions: string[]) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: admin }, Action: ['kms:PutKeyPolicy', 'kms:DescribeKey', ...actions], Resource: '*' }],
      })
    await kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: policy(['kms:GenerateDataKey']) }))
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k4', Body: 'no decrypt', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: k.KeyId }))
    const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k4' })))
    assert.equal(get.name, 'AccessDenied')
    assert.equal(get.$metadata.httpStatusCode, 403)
    assert.match(get.message, /not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key\//)
    // `mrap explain --request-id` names the KMS layer.
    const explained = await explainAdmin(s.services, { op: 'explain.request', requestId: (get.$metadata as { requestId?: string }).requestId! })
    assert.equal(explained.ok, false)
    assert.match((explained as { error: string }).error, /refused by the KMS layer: kms:Decrypt on arn:aws:kms:.* \(no key policy statement allows it/)
    // HEAD reads no bytes: no kms:Decrypt needed.
    assert.equal((await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'k4' }))).ServerSideEncryption, 'aws:kms')
    await kms().send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: policy(['kms:Decrypt']) }))
    const put = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k4b', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: k.KeyId })))
    assert.equal(put.name, 'AccessDenied')
    assert.match(put.message, /kms:GenerateDataKey/)
    const missing = await failure(() =>
      s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k4c', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: '11111111-2222-3333-4444-555555555555' })),
    )
    assert.equal(missing.name, 'KMS.NotFoundException')
  })

  test('bucket default encryption aws:kms with a key: a plain PUT is SSE-KMS under it; GetBucketEncryption shows it', async () => {
    const b = bucketName('kmsdef')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    await s.client().send(
      new PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] },
      }),
    )
    const conf = await s.client().send(new GetBucketEncryptionCommand({ Bucket: b }))
    assert.deepEqual(conf.ServerSideEncryptionConfiguration!.Rules![0], {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
      BucketKeyEnabled: true,
    })
    const put = await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'd', Body: 'default kms' }))
    assert.equal(put.ServerSideEncryption, 'aws:kms')
    assert.equal(put.SSEKMSKeyId, keyArn)
    assert.equal(put.BucketKeyEnabled, true)
    // An explicit AES256 still wins over the default.
    const aes = await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'a', Body: 'aes', ServerSideEncryption: 'AES256' }))
    assert.equal(aes.ServerSideEncryption, 'AES256')
  })

  test('multipart and CopyObject with SSE-KMS; the bytes on disk hold no plaintext', async () => {
    const c = s.client()
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }))
    assert.equal(up.ServerSideEncryption, 'aws:kms')
    const part = Buffer.alloc(5 * 1024 * 1024, 'kms-part-plaintext-')
    const p1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part }))
    assert.equal(p1.SSEKMSKeyId, keyArn)
    const p2 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 2, Body: 'tail' }))
    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp',
        UploadId: up.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag! },
            { PartNumber: 2, ETag: p2.ETag! },
          ],
        },
      }),
    )
    assert.equal(done.ServerSideEncryption, 'aws:kms')
    assert.deepEqual(await bytesOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp' }))), Buffer.concat([part, Buffer.from('tail')]))
    const copied = await c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k1-plain', CopySource: `${bucket}/k1` }))
    assert.equal(copied.ServerSideEncryption, 'AES256')
    assert.equal((await bytesOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'k1-plain' })))).toString(), 'kms-plaintext-one')
    const files = readdirSync(s.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
    for (const f of files) for (const m of ['kms-part-plaintext-', 'kms-managed', 'before disable']) assert.equal(readFileSync(f).indexOf(m), -1, `${f} holds ${m}`)
  })
})

/**
 * DSSE-KMS: "Using dual-layer server-side encryption with AWS KMS keys (DSSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingDSSEncryption.html) and "Specifying
 * dual-layer server-side encryption with AWS KMS keys (DSSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-dsse-encryption.html): the SSE-KMS
 * headers with `aws:kms:dsse`, answered back on PUT, GET and HEAD; SSEAlgorithm aws:kms:dsse as a
 * bucket default; "S3 Bucket Keys aren't supported for DSSE-KMS".
 */
describe('DSSE-KMS with the JS SDK', () => {
  test('PUT aws:kms:dsse with a key and a context; GET, ranges and HEAD answer aws:kms:dsse; no bucket key', async () => {
    const c = s.client()
    const ctx = Buffer.from(JSON.stringify({ layer: 'two' })).toString('base64')
    // Several store chunks and unaligned ranges: the second layer must seek, not just stream.
    const body = Buffer.alloc(200 * 1024 + 7)
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 9)) & 0xff
    body.write('dsse-plaintext-marker', 100)
    const put = await c.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'd1',
        Body: body,
        ServerSideEncryption: 'aws:kms:dsse',
        SSEKMSKeyId: keyArn,
        SSEKMSEncryptionContext: ctx,
        BucketKeyEnabled: true,
      }),
    )
    assert.equal(put.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(put.SSEKMSKeyId, keyArn)
    assert.equal(put.SSEKMSEncryptionContext, ctx)
    assert.equal(put.BucketKeyEnabled, undefined)
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'd1' }))
    assert.ok((await bytesOf(got)).equals(body))
    assert.equal(got.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(got.SSEKMSKeyId, keyArn)
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'd1' }))
    assert.equal(head.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(head.SSEKMSKeyId, keyArn)
    for (const [a, b] of [
      [100, 120],
      [5, 5],
      [65530, 131090],
      [body.length - 9, body.length - 1],
    ] as [number, number][]) {
      const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'd1', Range: `bytes=${a}-${b}` }))
      assert.ok((await bytesOf(r)).equals(body.subarray(a, b + 1)), `range ${a}-${b}`)
    }
    const files = readdirSync(s.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
    for (const f of files) assert.equal(readFileSync(f).indexOf('dsse-plaintext-marker'), -1, `${f} holds the plaintext`)
    // The two layers: the store's sealing opened with the first data key alone still yields
    // ciphertext; the second data key (AES-256-CTR) turns that into the body.
    const store = s.services.stores.get('us-east-1')!
    const { version: v } = await store.getObject(bucket, 'd1')
    const keys = kmsKeysOf(s.services)
    const kmsKey = keys.byId(keyArn.split('/').pop()!)!
    const context = { layer: 'two', 'aws:s3:arn': `arn:aws:s3:::${bucket}/d1` }
    const first = keys.decrypt(kmsKey, Buffer.from(v.sseKmsDataKey!, 'base64'), context)!
    const second = keys.decrypt(kmsKey, Buffer.from(v.sseKmsDsseDataKey!, 'base64'), context)!
    assert.ok(!first.equals(second))
    const stream = (await store.getObject(bucket, 'd1', v.versionId, { customerKey: first })).open()
    const chunks: Buffer[] = []
    for await (const ch of stream) chunks.push(ch as Buffer)
    const inner = Buffer.concat(chunks)
    assert.equal(inner.length, body.length)
    assert.equal(inner.indexOf('dsse-plaintext-marker'), -1)
    const d = createDecipheriv('aes-256-ctr', second, Buffer.alloc(16))
    assert.ok(Buffer.concat([d.update(inner), d.final()]).equals(body))
  })

  test('bucket default encryption aws:kms:dsse: GetBucketEncryption shows it; a plain PUT is DSSE-KMS under its key', async () => {
    const b = bucketName('dssedef')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    await s.client().send(
      new PutBucketEncryptionCommand({
        Bucket: b,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyArn } }] },
      }),
    )
    const conf = await s.client().send(new GetBucketEncryptionCommand({ Bucket: b }))
    assert.deepEqual(conf.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault, { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyArn })
    const put = await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'd', Body: 'default dsse' }))
    assert.equal(put.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal(put.SSEKMSKeyId, keyArn)
    const got = await s.client().send(new GetObjectCommand({ Bucket: b, Key: 'd' }))
    assert.equal(got.ServerSideEncryption, 'aws:kms:dsse')
    assert.equal((await bytesOf(got)).toString(), 'default dsse')
  })

  test('a disabled key refuses DSSE-KMS PUT and GET with KMS.DisabledException; enabled again, the GET works', async () => {
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'd3', Body: 'dsse before disable', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId }))
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    const put = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'd3b', Body: 'x', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: k.KeyId })))
    assert.equal(put.name, 'KMS.DisabledException')
    assert.equal(put.$metadata.httpStatusCode, 400)
    const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'd3' })))
    assert.equal(get.name, 'KMS.DisabledException')
    await kms().send(new EnableKeyCommand({ KeyId: k.KeyId }))
    assert.equal((await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'd3' })))).toString(), 'dsse before disable')
  })

  // Multipart uploads, copies and UploadPartCopy with DSSE-KMS: test/s3/dsse.test.ts.
})

describe('SSE-KMS through a Multi-Region Access Point', () => {
  test('PUT with a key and GET through the MRAP; a disabled key refuses the GET the same way', async () => {
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'kms-mrap',
      alias,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const arn = mrapArnOf(OWNER, alias)
    const c = proxiedS3Client(s)
    const k = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
    const put = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'via-mrap', Body: 'mrap kms', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: k.Arn }))
    assert.equal(put.SSEKMSKeyId, k.Arn)
    assert.equal((await bytesOf(await c.send(new GetObjectCommand({ Bucket: arn, Key: 'via-mrap' })))).toString(), 'mrap kms')
    await kms().send(new DisableKeyCommand({ KeyId: k.KeyId }))
    const e = await failure(() => c.send(new GetObjectCommand({ Bucket: arn, Key: 'via-mrap' })))
    assert.equal(e.name, 'KMS.DisabledException')
  })
})

describe('SSE-KMS with the Debian AWS CLI', () => {
  test('aws s3 cp --sse aws:kms --sse-kms-key-id up and down; head-object says aws:kms', async () => {
    const cli = new CliSandbox('mrap-ssekms-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env })
      const src = cli.write('up.txt', 'cli kms body')
      const up = await aws('s3', 'cp', src, `s3://${bucket}/cli`, '--sse', 'aws:kms', '--sse-kms-key-id', keyArn)
      assert.equal(up.code, 0, up.stderr)
      const head = await aws('s3api', 'head-object', '--bucket', bucket, '--key', 'cli')
      assert.equal(head.code, 0, head.stderr)
      assert.equal(JSON.parse(head.stdout).SSEKMSKeyId, keyArn)
      const down = join(cli.dir, 'down.txt')
      const got = await aws('s3', 'cp', `s3://${bucket}/cli`, down)
      assert.equal(got.code, 0, got.stderr)
      assert.equal(readFileSync(down, 'utf8'), 'cli kms body')
    } finally {
      cli.dispose()
    }
  })
})

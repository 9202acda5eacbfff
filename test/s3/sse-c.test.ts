/**
 * SSE-C (customer-provided keys) with the JS SDK, raw requests, the Debian AWS CLI and Debian's
 * boto3: the key seals the object, is checked on every read, copy and part, is never stored, and
 * the bytes on disk are ciphertext.
 *
 * AWS's behaviour (docs/decisions/encryption.md §SSE-C): "Using server-side encryption with
 * customer-provided keys (SSE-C)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html: AES256,
 * the key's MD5 checked, a salted HMAC kept instead of the key, HTTPS only, the same key on every
 * GET/HEAD/part), "Specifying server-side encryption with customer-provided keys (SSE-C)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-s3-c-encryption.html),
 * GetObject/HeadObject/CopyObject/UploadPart/UploadPartCopy/CreateMultipartUpload in the API
 * reference (the SSECustomer* members and their response headers), and the condition key
 * s3:x-amz-server-side-encryption-customer-algorithm ("Actions, resources, and condition keys for
 * Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { CliSandbox, runAws, runCommand } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { codeOf, rawRequest, Sha256, send } from '../helpers/raw.js'
import { ADMIN, bucketName, bytesOf, failure, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let bucket: string

before(async () => {
  s = await startTestServer()
  bucket = bucketName('ssec')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
})
after(async () => {
  await s.stop()
})

const KEY = randomBytes(32)
const OTHER = randomBytes(32)
const b64 = (k: Buffer) => k.toString('base64')
const md5 = (k: Buffer) => createHash('md5').update(k).digest('base64')
const ssec = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: b64(k) })
const ssecHeaders = (k: Buffer, prefix = 'x-amz-server-side-encryption-customer-') => ({
  [`${prefix}algorithm`]: 'AES256',
  [`${prefix}key`]: b64(k),
  [`${prefix}key-md5`]: md5(k),
})

function marked(size: number, marker: Buffer): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i += marker.length) marker.copy(b, i)
  return b
}

describe('SSE-C with the JS SDK', () => {
  const data = marked(200_000, Buffer.from('ssec-sdk-plaintext-'))

  test('PUT and GET with the key: the bytes, the algorithm and key MD5 in every response, no AES256 header', async () => {
    const put = await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: data, ...ssec(KEY) }))
    assert.equal(put.SSECustomerAlgorithm, 'AES256')
    assert.equal(put.SSECustomerKeyMD5, md5(KEY))
    assert.equal(put.ServerSideEncryption, undefined)
    // Not the MD5 of the data (API_Object.html: SSE-C ETags are not an MD5 digest of the object data).
    assert.notEqual(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`)
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'obj', ...ssec(KEY) }))
    assert.deepEqual(await bytesOf(got), data)
    assert.equal(got.SSECustomerAlgorithm, 'AES256')
    assert.equal(got.SSECustomerKeyMD5, md5(KEY))
    assert.equal(got.ServerSideEncryption, undefined)
    assert.equal(got.ETag, put.ETag)
    const head = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'obj', ...ssec(KEY) }))
    assert.equal(head.ContentLength, data.length)
    assert.equal(head.SSECustomerKeyMD5, md5(KEY))
  })

  test('range GETs with the key, across 64 KiB chunks; a small (inline) object too', async () => {
    const r = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'obj', Range: 'bytes=65530-131080', ...ssec(KEY) }))
    assert.deepEqual(await bytesOf(r), data.subarray(65530, 131081))
    assert.equal(r.ContentRange, `bytes 65530-131080/${data.length}`)
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'tiny secret', ...ssec(KEY) }))
    const small = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'small', Range: 'bytes=5-10', ...ssec(KEY) }))
    assert.equal(Buffer.from(await bytesOf(small)).toString(), 'secret')
  })

  test('GET and HEAD without the key: 400 InvalidRequest; with another key: 403 AccessDenied', async () => {
    const noKey = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/obj` })
    assert.equal(noKey.status, 400)
    assert.equal(codeOf(noKey.body), 'InvalidRequest')
    assert.match(noKey.body, /The object was stored using a form of Server Side Encryption\. The correct parameters must be provided to retrieve the object\./)
    assert.doesNotMatch(noKey.body, /ssec-sdk-plaintext/)
    const head = await rawRequest(s.endpoint, { method: 'HEAD', path: `/${bucket}/obj` })
    assert.equal(head.status, 400)
    const wrong = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'obj', ...ssec(OTHER) })))
    assert.equal(wrong.name, 'AccessDenied')
    assert.equal(wrong.$metadata.httpStatusCode, 403)
    const wrongHead = await rawRequest(s.endpoint, { method: 'HEAD', path: `/${bucket}/obj`, headers: ssecHeaders(OTHER) })
    assert.equal(wrongHead.status, 403)
    // A key for an object stored without one.
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'p' }))
    const notApplicable = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/plain`, headers: ssecHeaders(KEY) })
    assert.equal(notApplicable.status, 400)
    assert.equal(codeOf(notApplicable.body), 'InvalidRequest')
  })

  test("bad key headers get S3's errors: MD5 mismatch, missing MD5, short key, another algorithm, with x-amz-server-side-encryption", async () => {
    const cases: [Record<string, string>, number, string, RegExp][] = [
      [
        { ...ssecHeaders(KEY), 'x-amz-server-side-encryption-customer-key-md5': md5(OTHER) },
        400,
        'InvalidArgument',
        /The calculated MD5 hash of the key did not match the hash that was provided\./,
      ],
      [
        { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': b64(KEY) },
        400,
        'InvalidArgument',
        /must provide the client calculated MD5 of the secret key/,
      ],
      [{ ...ssecHeaders(KEY.subarray(0, 16)) }, 400, 'InvalidArgument', /The secret key was invalid for the specified algorithm\./],
      [{ ...ssecHeaders(KEY), 'x-amz-server-side-encryption-customer-algorithm': 'AES128' }, 400, 'InvalidEncryptionAlgorithmError', /not valid/],
      [{ 'x-amz-server-side-encryption-customer-key': b64(KEY), 'x-amz-server-side-encryption-customer-key-md5': md5(KEY) }, 400, 'InvalidArgument', /valid encryption algorithm/],
      [{ ...ssecHeaders(KEY), 'x-amz-server-side-encryption': 'AES256' }, 400, 'InvalidArgument', /incompatible/],
    ]
    for (const [headers, status, code, message] of cases) {
      const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/bad-key`, headers, body: 'x' })
      assert.equal(r.status, status, JSON.stringify(headers))
      assert.equal(codeOf(r.body), code)
      assert.match(r.body, message)
      assert.doesNotMatch(r.body, new RegExp(b64(KEY).replace(/[+/]/g, '.')), 'the key is never echoed')
    }
    const missing = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-key' })))
    assert.equal(missing.$metadata.httpStatusCode, 404, 'nothing was stored')
  })

  test('CopyObject: the source key, a new target key (rotation onto itself), a plain target; no source key is refused', async () => {
    const noSourceKey = await failure(() => s.client().send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/obj`, ...ssec(OTHER) })))
    assert.equal(noSourceKey.$metadata.httpStatusCode, 400)
    const wrongSource = await failure(() =>
      s
        .client()
        .send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/obj`, CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: b64(OTHER) })),
    )
    assert.equal(wrongSource.$metadata.httpStatusCode, 403)
    const copied = await s.client().send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy',
        CopySource: `${bucket}/obj`,
        CopySourceSSECustomerAlgorithm: 'AES256',
        CopySourceSSECustomerKey: b64(KEY),
        ...ssec(OTHER),
      }),
    )
    assert.equal(copied.SSECustomerKeyMD5, md5(OTHER))
    assert.deepEqual(await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'copy', ...ssec(OTHER) }))), data)
    assert.equal((await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'copy', ...ssec(KEY) })))).$metadata.httpStatusCode, 403)
    // Rotation: the same key, copied onto itself under a new customer key.
    await s.client().send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy',
        CopySource: `${bucket}/copy`,
        CopySourceSSECustomerAlgorithm: 'AES256',
        CopySourceSSECustomerKey: b64(OTHER),
        ...ssec(KEY),
      }),
    )
    assert.deepEqual(await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'copy', ...ssec(KEY) }))), data)
    // Decrypted into a plain (SSE-S3) object.
    const plain = await s
      .client()
      .send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-plain', CopySource: `${bucket}/obj`, CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: b64(KEY) }))
    assert.equal(plain.ServerSideEncryption, 'AES256')
    assert.deepEqual(await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'copy-plain' }))), data)
  })

  test('multipart: every part carries the key, Complete does not; parts without it or with another are refused; UploadPartCopy', async () => {
    const c = s.client()
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ...ssec(KEY) }))
    assert.equal(up.SSECustomerKeyMD5, md5(KEY))
    const part1 = marked(5 * 1024 * 1024, Buffer.from('part-one-secret-'))
    const noKey = await failure(() => c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part1 })))
    assert.equal(noKey.$metadata.httpStatusCode, 400)
    assert.match(noKey.message, /Subsequent part requests must include the appropriate encryption parameters/)
    const other = await failure(() => c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part1, ...ssec(OTHER) })))
    assert.equal(other.$metadata.httpStatusCode, 400)
    const p1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part1, ...ssec(KEY) }))
    assert.equal(p1.SSECustomerKeyMD5, md5(KEY))
    const p2 = await c.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'mp',
        UploadId: up.UploadId,
        PartNumber: 2,
        CopySource: `${bucket}/obj`,
        CopySourceSSECustomerAlgorithm: 'AES256',
        CopySourceSSECustomerKey: b64(KEY),
        ...ssec(KEY),
      }),
    )
    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp',
        UploadId: up.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag! },
            { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
          ],
        },
      }),
    )
    // CompleteMultipartUpload carries no key and its response no SSE-C member (API reference), nor AES256.
    assert.equal(done.ServerSideEncryption, undefined)
    const whole = Buffer.concat([part1, data])
    assert.deepEqual(await bytesOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', ...ssec(KEY) }))), whole)
    const across = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', Range: `bytes=${part1.length - 10}-${part1.length + 10}`, ...ssec(KEY) }))
    assert.deepEqual(await bytesOf(across), whole.subarray(part1.length - 10, part1.length + 11))
    assert.equal((await failure(() => c.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp' })))).$metadata.httpStatusCode, 400)
  })

  test('the bytes on disk: no plaintext of any SSE-C object under the data dir', async () => {
    const files = readdirSync(s.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
    assert.ok(files.length > 0)
    for (const marker of ['ssec-sdk-plaintext-', 'part-one-secret-', 'tiny secret'])
      for (const f of files) assert.equal(readFileSync(f).indexOf(marker), -1, `${f} holds ${marker}`)
    // The key is not stored either, in any form the request carried it.
    for (const f of files) {
      const raw = readFileSync(f)
      assert.equal(raw.indexOf(KEY), -1, `${f} holds the key`)
      assert.equal(raw.indexOf(b64(KEY)), -1, `${f} holds the base64 key`)
    }
  })
})

describe('SSE-C: through a Multi-Region Access Point, transport and policy', () => {
  test('through an MRAP: PUT and GET with the key, GET without it refused as on the bucket', async () => {
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'ssec-mrap',
      alias,
      owner: '123456789012',
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket, bucketAccountId: '123456789012', region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const arn = mrapArnOf('123456789012', alias)
    const c = proxiedS3Client(s)
    const put = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'via-mrap', Body: 'mrap secret', ...ssec(KEY) }))
    assert.equal(put.SSECustomerKeyMD5, md5(KEY))
    const got = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'via-mrap', ...ssec(KEY) }))
    assert.equal(Buffer.from(await bytesOf(got)).toString(), 'mrap secret')
    const bare = await failure(() => c.send(new GetObjectCommand({ Bucket: arn, Key: 'via-mrap' })))
    assert.equal(bare.$metadata.httpStatusCode, 400)
    const wrong = await failure(() => c.send(new GetObjectCommand({ Bucket: arn, Key: 'via-mrap', ...ssec(OTHER) })))
    assert.equal(wrong.$metadata.httpStatusCode, 403)
  })

  test('plain HTTP from the network (the forward proxy) is refused; HTTPS through it is served; loopback plain HTTP is served', async () => {
    // Over plain HTTP through the internet proxy: not a loopback client of the front door.
    const host = 's3.us-east-1.amazonaws.com'
    const path = `/${bucket}/via-proxy`
    const signer = new SignatureV4({ credentials: ADMIN, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false })
    const signed = await signer.sign(
      new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: host, path, headers: { host, 'content-length': '1', ...ssecHeaders(KEY) }, body: 'x' }),
    )
    const r = await send(new URL(s.proxy), 'PUT', `http://${host}${path}`, signed.headers, 'x')
    assert.equal(r.status, 400, r.body)
    assert.equal(codeOf(r.body), 'InvalidRequest')
    assert.match(r.body, /must be made over a secure connection/)
    const tls = proxiedS3Client(s)
    const put = await tls.send(new PutObjectCommand({ Bucket: bucket, Key: 'via-proxy', Body: 'over tls', ...ssec(KEY) }))
    assert.equal(put.SSECustomerKeyMD5, md5(KEY))
    assert.equal(Buffer.from(await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'via-proxy', ...ssec(KEY) })))).toString(), 'over tls')
  })

  test('a bucket policy on s3:x-amz-server-side-encryption-customer-algorithm denies a PUT without SSE-C and lets an SSE-C one in', async () => {
    const b = bucketName('ssecpol')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    await s.client().send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'RequireSseC',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObject',
              Resource: `arn:aws:s3:::${b}/*`,
              Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'true' } },
            },
          ],
        }),
      }),
    )
    const denied = await failure(() => s.client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' })))
    assert.equal(denied.name, 'AccessDenied')
    const ok = await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ...ssec(KEY) }))
    assert.equal(ok.SSECustomerAlgorithm, 'AES256')
  })
})

describe('SSE-C with the Debian AWS CLI and boto3', () => {
  test('aws s3 cp --sse-c AES256 --sse-c-key fileb://… up and down; without the key the download fails', async () => {
    const cli = new CliSandbox('mrap-ssec-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env })
      const keyFile = cli.write('key.bin', KEY)
      const body = marked(100_000, Buffer.from('cli-ssec-plain-'))
      const src = cli.write('up.bin', body)
      const up = await aws('s3', 'cp', src, `s3://${bucket}/cli`, '--sse-c', 'AES256', '--sse-c-key', `fileb://${keyFile}`)
      assert.equal(up.code, 0, up.stderr)
      const down = join(cli.dir, 'down.bin')
      const ok = await aws('s3', 'cp', `s3://${bucket}/cli`, down, '--sse-c', 'AES256', '--sse-c-key', `fileb://${keyFile}`)
      assert.equal(ok.code, 0, ok.stderr)
      assert.deepEqual(readFileSync(down), body)
      const bare = await aws('s3', 'cp', `s3://${bucket}/cli`, join(cli.dir, 'bare.bin'))
      assert.notEqual(bare.code, 0)
      assert.match(bare.stderr, /400|Bad Request/)
    } finally {
      cli.dispose()
    }
  })

  test("Debian's boto3: put_object and get_object with SSECustomerKey; a wrong key is AccessDenied", async () => {
    const script = `
import boto3, botocore, sys, os
s3 = boto3.client('s3', endpoint_url=os.environ['EP'], region_name='us-east-1',
  aws_access_key_id=os.environ['AK'], aws_secret_access_key=os.environ['SK'],
  config=botocore.config.Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
key = bytes.fromhex(os.environ['KEY'])
s3.put_object(Bucket=os.environ['B'], Key='boto', Body=b'boto3 secret', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
got = s3.get_object(Bucket=os.environ['B'], Key='boto', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
assert got['Body'].read() == b'boto3 secret'
assert got['SSECustomerAlgorithm'] == 'AES256'
try:
  s3.get_object(Bucket=os.environ['B'], Key='boto', SSECustomerAlgorithm='AES256', SSECustomerKey=bytes(32))
  sys.exit('a wrong key was served')
except botocore.exceptions.ClientError as e:
  print(e.response['Error']['Code'])
`
    // Asynchronously: the server runs in this process.
    const r = await runCommand('/usr/bin/python3', ['-c', script], {
      env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', EP: s.endpoint, AK: ADMIN.accessKeyId, SK: ADMIN.secretAccessKey, KEY: KEY.toString('hex'), B: bucket },
      timeoutMs: 60_000,
    })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'AccessDenied')
  })
})

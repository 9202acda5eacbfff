/**
 * Issue 12 item 3: no request header that would change what is stored or who may read it is
 * accepted and ignored. The table in src/s3/unsupported.ts, walked with raw signed requests, with the
 * SDK's SSE-C and the AWS CLI's --sse, directly and through a Multi-Region Access Point; each refusal
 * leaves nothing stored. Decision and sources: docs/decisions/unsupported-headers.md.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { codeOf, type RawOptions, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const run = promisify(execFile)

type Op = 'PutObject' | 'CopyObject' | 'CreateMultipartUpload' | 'CreateBucket' | 'GetObject' | 'HeadObject' | 'DeleteObject'
interface Case {
  op: Op
  header: string
  value: string
  code: string
  status: number
}

const SSE_C = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': randomBytes(32).toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': 'AAAAAAAAAAAAAAAAAAAAAA==',
}
const NI = { code: 'NotImplemented', status: 501 }
const BAD_SSE_C = { code: 'InvalidArgument', status: 400 }
const WRITES: Op[] = ['PutObject', 'CopyObject', 'CreateMultipartUpload']
const NO_LOCK = { code: 'InvalidRequest', status: 400 }

/** Every refused header, on every operation it is refused for. */
const CASES: Case[] = [
  ...WRITES.flatMap((op): Case[] => [
    // SSE-S3, SSE-KMS and DSSE-KMS are implemented (test/s3/encryption.test.ts, sse-kms.test.ts).
    { op, header: 'x-amz-server-side-encryption', value: 'AES128', code: 'InvalidArgument', status: 400 },
    // SSE-KMS is implemented (test/s3/sse-kms.test.ts): its key id or context without aws:kms is S3's 400.
    { op, header: 'x-amz-server-side-encryption-aws-kms-key-id', value: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', ...BAD_SSE_C },
    { op, header: 'x-amz-server-side-encryption-context', value: Buffer.from('{"a":"b"}').toString('base64'), ...BAD_SSE_C },
    // SSE-C is implemented (test/s3/sse-c.test.ts): one header of the triple alone is S3's InvalidArgument.
    ...Object.entries(SSE_C).map(([header, value]) => ({ op, header, value, ...BAD_SSE_C })),
    { op, header: 'x-amz-acl', value: 'public-read', code: 'AccessControlListNotSupported', status: 400 },
    { op, header: 'x-amz-acl', value: 'private', code: 'AccessControlListNotSupported', status: 400 },
    { op, header: 'x-amz-grant-read', value: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"', code: 'AccessControlListNotSupported', status: 400 },
    { op, header: 'x-amz-grant-full-control', value: 'id="0000"', code: 'AccessControlListNotSupported', status: 400 },
    { op, header: 'x-amz-grant-read-acp', value: 'id="0000"', code: 'AccessControlListNotSupported', status: 400 },
    { op, header: 'x-amz-grant-write-acp', value: 'id="0000"', code: 'AccessControlListNotSupported', status: 400 },
    // Implemented (test/s3/object-lock.test.ts); on a bucket without Object Lock, S3's refusal.
    { op, header: 'x-amz-object-lock-mode', value: 'GOVERNANCE', ...NO_LOCK },
    { op, header: 'x-amz-object-lock-retain-until-date', value: '2099-01-01T00:00:00Z', ...NO_LOCK },
    { op, header: 'x-amz-object-lock-legal-hold', value: 'ON', ...NO_LOCK },
    { op, header: 'x-amz-storage-class', value: 'GLACIER', ...NI },
    { op, header: 'x-amz-storage-class', value: 'DEEP_ARCHIVE', ...NI },
    { op, header: 'x-amz-storage-class', value: 'EXPRESS_ONEZONE', ...NI },
  ]),
  { op: 'PutObject', header: 'x-amz-write-offset-bytes', value: '0', ...NI },
  { op: 'CopyObject', header: 'x-amz-copy-source-server-side-encryption-customer-algorithm', value: 'AES256', ...BAD_SSE_C },
  { op: 'CopyObject', header: 'if-none-match', value: '*', ...NI },
  { op: 'CopyObject', header: 'if-match', value: '"abc"', ...NI },
  { op: 'GetObject', header: 'x-amz-server-side-encryption-customer-algorithm', value: 'AES256', ...BAD_SSE_C },
  { op: 'HeadObject', header: 'x-amz-server-side-encryption-customer-key', value: SSE_C['x-amz-server-side-encryption-customer-key'], ...BAD_SSE_C },
  { op: 'DeleteObject', header: 'if-match', value: '"abc"', ...NI },
  { op: 'DeleteObject', header: 'x-amz-if-match-size', value: '1', ...NI },
  { op: 'CreateBucket', header: 'x-amz-acl', value: 'public-read', code: 'InvalidBucketAclWithObjectOwnership', status: 400 },
  { op: 'CreateBucket', header: 'x-amz-acl', value: 'authenticated-read', code: 'InvalidBucketAclWithObjectOwnership', status: 400 },
  { op: 'CreateBucket', header: 'x-amz-grant-write', value: 'id="0000"', code: 'InvalidBucketAclWithObjectOwnership', status: 400 },
  // Other x-amz-object-ownership values are implemented (test/s3/acl-ownership.test.ts).
  { op: 'CreateBucket', header: 'x-amz-object-ownership', value: 'Nobody', code: 'InvalidArgument', status: 400 },
  { op: 'CreateBucket', header: 'x-amz-bucket-object-lock-enabled', value: 'yes', code: 'InvalidArgument', status: 400 },
  { op: 'CreateBucket', header: 'x-amz-server-side-encryption', value: 'AES256', code: 'InvalidArgument', status: 400 },
  { op: 'GetObject', header: 'x-amz-server-side-encryption', value: 'AES256', code: 'InvalidArgument', status: 400 },
]

describe('request headers mrap does not implement are refused, never ignored', () => {
  let s: TestServer
  let bucket: string
  let work: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('unsup')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'plain bytes' }))
    work = mkdtempSync(join(tmpdir(), 'mrap-unsup-'))
  })
  after(async () => {
    await s.stop()
    rmSync(work, { recursive: true, force: true })
  })

  function requestFor(c: Case, b: string, key: string): RawOptions {
    const headers = { [c.header]: c.value }
    switch (c.op) {
      case 'PutObject':
        return { method: 'PUT', path: `/${b}/${key}`, headers, body: 'secret' }
      case 'CopyObject':
        return { method: 'PUT', path: `/${b}/${key}`, headers: { ...headers, 'x-amz-copy-source': `/${bucket}/plain` } }
      case 'CreateMultipartUpload':
        return { method: 'POST', path: `/${b}/${key}`, query: { uploads: '' }, headers }
      case 'CreateBucket':
        return { method: 'PUT', path: `/${b}`, headers }
      case 'GetObject':
        return { method: 'GET', path: `/${bucket}/plain`, headers }
      case 'HeadObject':
        return { method: 'HEAD', path: `/${bucket}/plain`, headers }
      case 'DeleteObject':
        return { method: 'DELETE', path: `/${bucket}/plain`, headers }
    }
  }

  test("the table, with raw signed requests: S3's error naming the header, and nothing stored", async () => {
    let n = 0
    for (const c of CASES) {
      const key = `k${n++}`
      const target = c.op === 'CreateBucket' ? bucketName('unsup-new') : bucket
      const r = await rawRequest(s.endpoint, requestFor(c, target, key))
      const what = `${c.op} with ${c.header}: ${c.value}`
      assert.equal(r.status, c.status, `${what}: ${r.status} ${r.body}`)
      if (c.op !== 'HeadObject') {
        assert.equal(codeOf(r.body), c.code, what)
        if (c.code === 'NotImplemented') assert.match(r.body, new RegExp(`<Header>${c.header}</Header>`, 'i'), what)
      }
      if (c.op === 'CreateBucket') {
        const e = await failure(() => s.client().send(new HeadBucketCommand({ Bucket: target })))
        assert.equal(e.$metadata.httpStatusCode, 404, `${what}: the bucket must not exist`)
      } else if (WRITES.includes(c.op)) {
        const e = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: key })))
        assert.equal(e.$metadata.httpStatusCode, 404, `${what}: nothing may be stored`)
      }
    }
    const uploads = await s.client().send(new ListMultipartUploadsCommand({ Bucket: bucket }))
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'no multipart upload may have been started')
    // DeleteObject with an unevaluated condition deleted nothing.
    assert.equal((await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain' }))).ContentLength, 11)
  })

  test('what S3 accepts on a BucketOwnerEnforced bucket, and instant-access storage classes, are accepted', async () => {
    const put = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/owner-acl`,
      headers: { 'x-amz-acl': 'bucket-owner-full-control', 'x-amz-storage-class': 'STANDARD_IA' },
      body: 'x',
    })
    assert.equal(put.status, 200, put.body)
    const head = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'owner-acl' }))
    assert.equal(head.StorageClass, 'STANDARD_IA')
    const b = bucketName('unsup-ok')
    const create = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${b}`,
      headers: { 'x-amz-acl': 'private', 'x-amz-object-ownership': 'BucketOwnerEnforced', 'x-amz-bucket-object-lock-enabled': 'false' },
    })
    assert.equal(create.status, 200, create.body)
  })

  test('SDK v3: a PutObject to an unserved storage class gets 501 and stores nothing (SSE-C, SSE-KMS, DSSE-KMS are implemented: test/s3/sse-c.test.ts, sse-kms.test.ts)', async () => {
    const c = s.client()
    const kms = await failure(() => c.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms', Body: 'x', StorageClass: 'GLACIER' })))
    assert.equal(kms.$metadata.httpStatusCode, 501)
    assert.equal(kms.name, 'NotImplemented')
    const gone = await failure(() => c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms' })))
    assert.equal(gone.$metadata.httpStatusCode, 404)
  })

  test("AWS CLI: `s3 cp --sse` and `s3api put-object --acl public-read` fail with S3's errors and store nothing", async () => {
    assert.ok(existsSync('/usr/bin/aws'), 'the AWS CLI must be installed at /usr/bin/aws')
    const file = join(work, 'f.txt')
    writeFileSync(file, 'cli bytes')
    const cfg = join(work, 'empty')
    writeFileSync(cfg, '')
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: work,
      LANG: 'C.UTF-8',
      AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: cfg,
      AWS_SHARED_CREDENTIALS_FILE: cfg,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      AWS_MAX_ATTEMPTS: '1',
      NO_PROXY: '*',
    }
    async function aws(args: string[]): Promise<{ code: number; stderr: string }> {
      try {
        await run('/usr/bin/aws', ['--endpoint-url', s.endpoint, ...args], { env, timeout: 60_000 })
        return { code: 0, stderr: '' }
      } catch (e) {
        const err = e as { code?: number | string; stderr?: string }
        if (typeof err.code !== 'number') throw e
        return { code: err.code, stderr: err.stderr ?? '' }
      }
    }
    // Every SSE value is implemented now; an unserved storage class is still refused.
    const sse = await aws(['s3api', 'put-object', '--bucket', bucket, '--key', 'cli-sse.txt', '--body', file, '--storage-class', 'GLACIER'])
    assert.notEqual(sse.code, 0)
    assert.match(sse.stderr, /NotImplemented/)
    const acl = await aws(['s3api', 'put-object', '--bucket', bucket, '--key', 'cli-acl.txt', '--body', file, '--acl', 'public-read'])
    assert.notEqual(acl.code, 0)
    assert.match(acl.stderr, /AccessControlListNotSupported/)
    for (const Key of ['cli-sse.txt', 'cli-acl.txt']) {
      const e = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key })))
      assert.equal(e.$metadata.httpStatusCode, 404, `${Key} must not be stored`)
    }
  })

  test('x-amz-expected-bucket-owner and x-amz-source-expected-bucket-owner are honoured (403 for another owner)', async () => {
    // "Verifying bucket ownership with bucket owner condition",
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
    const wrong = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/plain`, headers: { 'x-amz-expected-bucket-owner': '444455556666' } })
    assert.equal(wrong.status, 403)
    assert.equal(codeOf(wrong.body), 'AccessDenied')
    const right = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/plain`, headers: { 'x-amz-expected-bucket-owner': OWNER } })
    assert.equal(right.status, 200)
    const put = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/eo`, headers: { 'x-amz-expected-bucket-owner': '444455556666' }, body: 'x' })
    assert.equal(put.status, 403)
    const copy = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/eo-copy`,
      headers: { 'x-amz-copy-source': `/${bucket}/plain`, 'x-amz-source-expected-bucket-owner': '444455556666' },
    })
    assert.equal(copy.status, 403)
    for (const Key of ['eo', 'eo-copy']) {
      const e = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key })))
      assert.equal(e.$metadata.httpStatusCode, 404, `${Key} must not be stored`)
    }
    const copyOk = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/eo-copy`,
      headers: { 'x-amz-copy-source': `/${bucket}/plain`, 'x-amz-source-expected-bucket-owner': OWNER },
    })
    assert.equal(copyOk.status, 200, copyOk.body)
  })

  test('through a Multi-Region Access Point: DSSE-KMS and a public ACL are refused the same way and nothing is stored', async () => {
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'unsup-mrap',
      alias,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const arn = mrapArnOf(OWNER, alias)
    const c = proxiedS3Client(s)
    const e = await failure(() => c.send(new PutObjectCommand({ Bucket: arn, Key: 'via-mrap', Body: 'secret', StorageClass: 'GLACIER' })))
    assert.equal(e.$metadata.httpStatusCode, 501)
    const acl = await failure(() => c.send(new PutObjectCommand({ Bucket: arn, Key: 'via-mrap', Body: 'x', ACL: 'public-read' })))
    assert.equal(acl.name, 'AccessControlListNotSupported')
    const eo = await failure(() => c.send(new GetObjectCommand({ Bucket: arn, Key: 'plain', ExpectedBucketOwner: '444455556666' })))
    assert.equal(eo.$metadata.httpStatusCode, 403)
    const gone = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'via-mrap' })))
    assert.equal(gone.$metadata.httpStatusCode, 404)
    // The same client without the header reads through the MRAP: the refusals above were the headers'.
    const ok = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'plain' }))
    assert.equal(await ok.Body!.transformToString(), 'plain bytes')
  })
})

/**
 * POST Object: form uploads (multipart/form-data) with a SigV4 POST policy, sent with fetch and
 * FormData as a browser sends them (a real browser's are in test/e2e/browser-post.test.ts).
 *
 * AWS's behaviour, as docs/aws/cors.md §POST Object records it: "POST Object"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html), "Browser-Based Uploads Using
 * POST (AWS Signature Version 4)" (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html),
 * "Creating a POST Policy" (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html),
 * "Example: Browser-Based Upload using HTTP POST" (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { pino } from 'pino'
import { startServer } from '../../src/main.js'
import { postPolicyFields, signPostPolicy } from '../helpers/post-policy.js'
import { send } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, READER, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

let s: TestServer
let bucket: string

before(async () => {
  s = await startTestServer()
  bucket = bucketName('post')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
})
after(async () => {
  await s.stop()
})

type Fields = Record<string, string>

/** Posts the fields in order, then the file (last, as S3 requires), then `after` (ignored by S3). */
async function post(fields: Fields, file: string | Buffer = 'hello form', opts: { filename?: string; after?: Fields; to?: string } = {}): Promise<Response> {
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  form.append('file', new Blob([typeof file === 'string' ? file : new Uint8Array(file)]), opts.filename ?? 'hello.txt')
  for (const [k, v] of Object.entries(opts.after ?? {})) form.append(k, v)
  return fetch(`${s.endpoint}/${opts.to ?? bucket}`, { method: 'POST', body: form, redirect: 'manual' })
}

async function error(res: Response): Promise<Record<string, string>> {
  const body = await res.text()
  const out: Record<string, string> = { status: String(res.status) }
  for (const n of ['Code', 'Message', 'ArgumentName', 'Condition', 'ProposedSize', 'MaxSizeAllowed', 'MinSizeAllowed', 'StringToSign']) {
    const v = body.match(new RegExp(`<${n}>([^<]*)</${n}>`))?.[1]
    if (v !== undefined) out[n] = v.replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  }
  return out
}

describe('POST Object with a SigV4 POST policy', () => {
  test("the signing helper reproduces AWS's own example signature", () => {
    // "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)": the policy is
    // signed as its base64 text with the SigV4 key of 20151229/us-east-1/s3.
    const policy =
      '{ "expiration": "2015-12-30T12:00:00.000Z",\r\n  "conditions": [\r\n    {"bucket": "sigv4examplebucket"},\r\n    ["starts-with", "$key", "user/user1/"],\r\n    {"acl": "public-read"},\r\n    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},\r\n    ["starts-with", "$Content-Type", "image/"],\r\n    {"x-amz-meta-uuid": "14365123651274"},\r\n    {"x-amz-server-side-encryption": "AES256"},\r\n    ["starts-with", "$x-amz-meta-tag", ""],\r\n\r\n    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},\r\n    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},\r\n    {"x-amz-date": "20151229T000000Z" }\r\n  ]\r\n}'
    const b64 = Buffer.from(policy).toString('base64')
    assert.equal(signPostPolicy(b64, ADMIN.secretAccessKey, '20151229', 'us-east-1'), '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e')
  })

  test("an upload stores the file with the form's key, type and metadata; 204 with ETag and Location", async () => {
    const fields = postPolicyFields({
      bucket,
      key: 'user/${filename}',
      conditions: [['starts-with', '$key', 'user/'], ['starts-with', '$Content-Type', 'text/'], { 'x-amz-meta-uuid': '1436' }],
    })
    const res = await post({ ...fields, 'Content-Type': 'text/plain', 'x-amz-meta-uuid': '1436' }, 'hello form', { filename: 'note.txt' })
    assert.equal(res.status, 204, await res.clone().text())
    const md5 = createHash('md5').update('hello form').digest('hex')
    assert.equal(res.headers.get('etag'), `"${md5}"`)
    assert.equal(res.headers.get('location'), `${s.endpoint}/${bucket}/user%2Fnote.txt`)
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'user/note.txt' }))
    assert.equal(await got.Body!.transformToString(), 'hello form')
    assert.equal(got.ContentType, 'text/plain')
    assert.deepEqual(got.Metadata, { uuid: '1436' })
  })

  test('success_action_status 201 answers a PostResponse, 200 an empty body; success_action_redirect a 303', async () => {
    const created = await post({ ...postPolicyFields({ bucket, key: 'k201', conditions: [{ success_action_status: '201' }] }), success_action_status: '201' })
    assert.equal(created.status, 201)
    const body = await created.text()
    const md5 = createHash('md5').update('hello form').digest('hex')
    assert.match(
      body,
      new RegExp(
        `<PostResponse><Location>${s.endpoint}/${bucket}/k201</Location><Bucket>${bucket}</Bucket><Key>k201</Key><ETag>"${md5}"</ETag></PostResponse>`.replace(/"/g, '&quot;'),
      ),
    )
    const ok = await post({ ...postPolicyFields({ bucket, key: 'k200', conditions: [{ success_action_status: '200' }] }), success_action_status: '200' })
    assert.equal(ok.status, 200)
    assert.equal(await ok.text(), '')
    const back = 'https://app.example.com/done?from=form'
    const redirected = await post({
      ...postPolicyFields({ bucket, key: 'a b/k303', conditions: [['starts-with', '$success_action_redirect', 'https://app.example.com/']] }),
      success_action_redirect: back,
    })
    assert.equal(redirected.status, 303)
    assert.equal(redirected.headers.get('location'), `${back}&bucket=${bucket}&key=a+b%2Fk303&etag=%22${md5}%22`)
  })

  test('the policy is enforced as S3 enforces it', async () => {
    const base = {
      bucket,
      key: 'cond/file',
      conditions: [
        ['starts-with', '$key', 'cond/'],
        ['content-length-range', 2, 16],
      ] as unknown[],
    }
    const signed = postPolicyFields(base)
    const cases: [what: string, res: Promise<Response>, expected: Record<string, string>][] = [
      [
        'not a form',
        fetch(`${s.endpoint}/${bucket}`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }),
        {
          status: '412',
          Code: 'PreconditionFailed',
          Message: 'At least one of the pre-conditions you specified did not hold',
          Condition: 'Bucket POST must be of the enclosure-type multipart/form-data',
        },
      ],
      [
        'expired',
        post(postPolicyFields({ ...base, expires: new Date(Date.now() - 1000) })),
        { status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy expired.' },
      ],
      [
        'a key outside the prefix',
        post({ ...postPolicyFields(base), key: 'other/file' }),
        { status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "cond/"]' },
      ],
      [
        'a simple condition',
        post({ ...postPolicyFields({ ...base, conditions: [...base.conditions, { 'x-amz-meta-a': 'yes' }] }), 'x-amz-meta-a': 'no' }),
        { status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-a", "yes"]' },
      ],
      [
        'a field no condition names',
        post({ ...postPolicyFields(base), 'X-Amz-Meta-Extra': '1' }),
        { status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Extra input fields: X-Amz-Meta-Extra' },
      ],
      [
        'too large',
        post(postPolicyFields(base), 'x'.repeat(17)),
        { status: '400', Code: 'EntityTooLarge', Message: 'Your proposed upload exceeds the maximum allowed size', ProposedSize: '17', MaxSizeAllowed: '16' },
      ],
      [
        'too small',
        post(postPolicyFields(base), 'x'),
        { status: '400', Code: 'EntityTooSmall', Message: 'Your proposed upload is smaller than the minimum allowed size', ProposedSize: '1', MinSizeAllowed: '2' },
      ],
      [
        'a bad signature',
        post({ ...signed, 'x-amz-signature': '0'.repeat(64) }),
        {
          status: '403',
          Code: 'SignatureDoesNotMatch',
          Message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          StringToSign: signed.policy!,
        },
      ],
      [
        'no signature',
        post(Object.fromEntries(Object.entries(postPolicyFields(base)).filter(([k]) => k !== 'x-amz-signature'))),
        {
          status: '400',
          Code: 'InvalidArgument',
          Message: "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check the order of the fields.",
          ArgumentName: 'X-Amz-Signature',
        },
      ],
      [
        'the key after the file',
        post(Object.fromEntries(Object.entries(postPolicyFields(base)).filter(([k]) => k !== 'key')), 'abc', { after: { key: 'cond/late' } }),
        {
          status: '400',
          Code: 'InvalidArgument',
          Message: "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
          ArgumentName: 'key',
        },
      ],
      [
        'a policy that is not JSON',
        post(postPolicyFields({ ...base, rawPolicy: '{"expiration": ' })),
        { status: '400', Code: 'InvalidPolicyDocument', Message: 'Invalid Policy: Invalid JSON.' },
      ],
      [
        'a policy without expiration',
        post(postPolicyFields({ ...base, rawPolicy: '{"conditions": []}' })),
        { status: '400', Code: 'InvalidPolicyDocument', Message: 'Invalid Policy: Policy missing expiration.' },
      ],
      [
        'a credential for another region',
        post(postPolicyFields({ ...base, region: 'eu-west-1' })),
        { status: '400', Code: 'InvalidArgument', Message: "the region 'eu-west-1' is wrong; expecting 'us-east-1'", ArgumentName: 'X-Amz-Credential' },
      ],
    ]
    const results = await Promise.all(cases.map(async ([, res]) => error(await res)))
    assert.deepEqual(Object.fromEntries(cases.map(([what], i) => [what, results[i]])), Object.fromEntries(cases.map(([what, , expected]) => [what, expected])))
    const noFile = new FormData()
    for (const [k, v] of Object.entries(postPolicyFields(base))) noFile.append(k, v)
    assert.deepEqual(await error(await fetch(`${s.endpoint}/${bucket}`, { method: 'POST', body: noFile })), {
      status: '400',
      Code: 'InvalidArgument',
      Message: 'POST requires exactly one file upload per request.',
      ArgumentName: 'file',
    })
    // Nothing that was refused was stored, the upload cut off at its size limit included.
    for (const key of ['cond/file', 'other/file', 'cond/late']) {
      assert.equal((await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).$metadata.httpStatusCode, 404, key)
    }
    // Within the limits, the same form is accepted.
    assert.equal((await post(postPolicyFields(base), 'just right')).status, 204)
  })

  test("the form before the file is bounded, must be multipart with a boundary, and goes to the bucket's region", async () => {
    const limit = { status: '400', Code: 'MaxPostPreDataLengthExceeded', Message: 'Your POST request fields preceeding the upload file was too large.' }
    assert.deepEqual(await error(await post({ ...postPolicyFields({ bucket, key: 'big-form' }), 'x-ignore-pad': 'p'.repeat(21 * 1024) })), limit)
    const empties = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`x-ignore-${i}`, '']))
    assert.deepEqual(await error(await post({ ...postPolicyFields({ bucket, key: 'many-fields' }), ...empties })), limit)
    const noBoundary = await fetch(`${s.endpoint}/${bucket}`, { method: 'POST', body: 'x', headers: { 'content-type': 'multipart/form-data' } })
    assert.deepEqual(await error(noBoundary), { status: '400', Code: 'MalformedPOSTRequest', Message: 'The body of your POST request is not well-formed multipart/form-data.' })
    // A regional host of another region is redirected as every request to the bucket is.
    const form = new FormData()
    for (const [k, v] of Object.entries(postPolicyFields({ bucket, key: 'elsewhere' }))) form.append(k, v)
    form.append('file', new Blob(['x']), 'x.txt')
    const req = new Request(`${s.endpoint}/${bucket}`, { method: 'POST', body: form })
    const body = Buffer.from(await req.arrayBuffer())
    const res = await send(
      new URL(s.endpoint),
      'POST',
      `/${bucket}`,
      { host: 's3.eu-west-1.amazonaws.com', 'content-type': req.headers.get('content-type')!, 'content-length': String(body.length) },
      body,
    )
    assert.equal(res.status, 301)
    assert.equal(res.headers['x-amz-bucket-region'], 'us-east-1')
  })

  test("authorization is PutObject's: identity policies, bucket policy, anonymous callers", async () => {
    // reader has no identity grant: a valid policy signed with its key is still refused.
    const asReader = await post(postPolicyFields({ bucket, key: 'r/file', creds: READER }))
    assert.deepEqual(await error(asReader), { status: '403', Code: 'AccessDenied', Message: 'Access Denied' })
    // Without the signature fields the form is anonymous ("Requests without a security policy are
    // considered anonymous"): refused, until a bucket policy opens s3:PutObject to everyone.
    const anonymous = { key: 'drop/anon.txt' }
    assert.equal((await post(anonymous)).status, 403)
    const open = bucketName('postpub')
    await s.client().send(new CreateBucketCommand({ Bucket: open }))
    // New buckets block public policies, as on AWS since 2023; this one is meant to be public.
    await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: open }))
    await s.client().send(
      new PutBucketPolicyCommand({
        Bucket: open,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${open}/drop/*` }] }),
      }),
    )
    assert.equal((await post(anonymous, 'public drop', { to: open })).status, 204)
    // Block Public Access applies as to a PutObject: RestrictPublicBuckets shuts the public grant to strangers.
    await s.client().send(
      new PutPublicAccessBlockCommand({
        Bucket: open,
        PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: true },
      }),
    )
    assert.equal((await post(anonymous, 'blocked', { to: open })).status, 403)
    await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: open }))
    assert.equal((await post({ key: 'elsewhere.txt' }, 'x', { to: open })).status, 403)
    // A bucket policy that denies s3:PutObject to form uploads (s3:authType POST) refuses the admin's signed form.
    await s.client().send(
      new PutBucketPolicyCommand({
        Bucket: open,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${open}/*`, Condition: { StringEquals: { 's3:authType': 'POST' } } }],
        }),
      }),
    )
    assert.equal((await post(postPolicyFields({ bucket: open, key: 'admin.txt' }), 'x', { to: open })).status, 403)
    await s.client().send(new HeadObjectCommand({ Bucket: open, Key: 'drop/anon.txt' }))
  })

  test('session credentials: the form carries the token, as the policy does', async () => {
    const iam = new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'post-uploader',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'post-uploader',
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/session/*` }] }),
      }),
    )
    const sts = new STSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/post-uploader', RoleSessionName: 'browser' }))).Credentials!
    const creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }
    assert.equal((await post(postPolicyFields({ bucket, key: 'session/ok.txt', creds }))).status, 204)
    // The role may write under session/ only: the policy engine decides after the policy document.
    assert.deepEqual(await error(await post(postPolicyFields({ bucket, key: 'elsewhere.txt', creds }))), { status: '403', Code: 'AccessDenied', Message: 'Access Denied' })
    const { 'x-amz-security-token': _token, ...withoutToken } = postPolicyFields({ bucket, key: 'session/no-token.txt', creds })
    assert.equal((await error(await post(withoutToken))).Code, 'InvalidAccessKeyId')
    const wrong = postPolicyFields({ bucket, key: 'session/wrong.txt', creds: { ...creds, sessionToken: `${creds.sessionToken.slice(0, -4)}AAAA` } })
    assert.equal((await error(await post(wrong))).Code, 'InvalidToken')
  })

  test('a form refused once its file is flowing still answers, and the connection serves the next one', async () => {
    // x-amz-write-offset-bytes is refused by PutObject's header checks (NotImplemented), after the
    // policy passed and the file was handed to the write.
    const big = Buffer.alloc(8 * 1024 * 1024, 7)
    const fields = { ...postPolicyFields({ bucket, key: 'offset.bin', conditions: [{ 'x-amz-write-offset-bytes': '0' }] }), 'x-amz-write-offset-bytes': '0' }
    const refused = await post(fields, big)
    assert.equal(refused.status, 501)
    await refused.text()
    assert.equal((await post(postPolicyFields({ bucket, key: 'after-refusal.txt' }))).status, 204)
  })

  test('a large file streams through to the store intact', async () => {
    const data = Buffer.alloc(24 * 1024 * 1024)
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i)
    const res = await post(postPolicyFields({ bucket, key: 'big.bin' }), data)
    assert.equal(res.status, 204, await res.clone().text())
    assert.equal(res.headers.get('etag'), `"${createHash('md5').update(data).digest('hex')}"`)
    const head = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }))
    assert.equal(head.ContentLength, data.length)
  })
})

describe('POST Object when the client goes away', () => {
  test('a form cut off inside the file fails the write (IncompleteBody) instead of holding it open', async () => {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
        cb()
      },
    })
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-post-abort-'))
    const srv = await startServer({ dataDir, port: 0, tlsPort: 0, proxyPort: 0, metricsPort: 0, world: testWorld(), logger: pino({ level: 'info' }, sink) })
    try {
      const b = bucketName('abort')
      const c = new S3Client({ endpoint: srv.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
      await c.send(new CreateBucketCommand({ Bucket: b }))
      const boundary = 'mrapboundary'
      let body = ''
      for (const [k, v] of Object.entries(postPolicyFields({ bucket: b, key: 'cut.bin' }))) body += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
      body += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n${'x'.repeat(4096)}`
      const url = new URL(srv.endpoint)
      const sock = connect(Number(url.port), url.hostname)
      await new Promise<void>((resolve) => sock.once('connect', resolve))
      sock.write(`POST /${b} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length + 100_000}\r\n\r\n${body}`)
      await new Promise((r) => setTimeout(r, 300))
      sock.destroy()
      const t0 = Date.now()
      while (!lines.some((l) => l.op === 'PostObject' && l.msg === 'request') && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20))
      const done = lines.find((l) => l.op === 'PostObject' && l.msg === 'request')
      assert.ok(done, 'the upload ended')
      assert.equal(done.error, 'IncompleteBody')
      assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: b, Key: 'cut.bin' })))).$metadata.httpStatusCode, 404)
    } finally {
      await srv.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

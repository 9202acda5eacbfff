/** Authentication at the front door: bad keys and signatures, clock skew, presigned expiry, anonymous, bad framing, truncated bodies. */

import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

describe('authentication', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('auth')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'secret body' }))
  })
  after(async () => {
    await s.stop()
  })

  test('an unknown access key is InvalidAccessKeyId', async () => {
    const e = await failure(() => s.client({ accessKeyId: 'AKIANOTAKEY000000000', secretAccessKey: 'x'.repeat(40) }).send(new ListBucketsCommand({})))
    assert.equal(e.name, 'InvalidAccessKeyId')
    assert.equal(e.$metadata.httpStatusCode, 403)
  })

  test('a wrong secret is SignatureDoesNotMatch, with the string to sign but never the secret', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/k`, creds: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong'.repeat(8) } })
    assert.equal(r.status, 403)
    assert.equal(codeOf(r.body), 'SignatureDoesNotMatch')
    assert.match(r.body, /<StringToSign>AWS4-HMAC-SHA256/)
    assert.ok(!r.body.includes(ADMIN.secretAccessKey))
  })

  test('a request signed 20 minutes ago is RequestTimeTooSkewed', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/k`, signingDate: new Date(Date.now() - 20 * 60_000) })
    assert.equal(r.status, 403)
    assert.equal(codeOf(r.body), 'RequestTimeTooSkewed')
  })

  test('an expired presigned URL is AccessDenied "Request has expired"', async () => {
    const url = await getSignedUrl(s.client(), new GetObjectCommand({ Bucket: bucket, Key: 'k' }), { expiresIn: 1, signingDate: new Date(Date.now() - 60_000) })
    const res = await fetch(url)
    assert.equal(res.status, 403)
    const body = await res.text()
    assert.equal(codeOf(body), 'AccessDenied')
    assert.match(body, /Request has expired/)
  })

  test('X-Amz-Expires above 604800 is refused', async () => {
    const url = await getSignedUrl(s.client(), new GetObjectCommand({ Bucket: bucket, Key: 'k' }), { expiresIn: 300 })
    const res = await fetch(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801'))
    assert.equal(res.status, 400)
    assert.equal(codeOf(await res.text()), 'AuthorizationQueryParametersError')
  })

  test('anonymous requests are denied unless a policy allows them', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/k`, creds: null })
    assert.equal(r.status, 403)
    assert.equal(codeOf(r.body), 'AccessDenied')
  })

  test('a malformed Authorization header is AuthorizationHeaderMalformed or InvalidArgument', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/k`, creds: null, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=garbage' } })
    assert.equal(r.status, 400)
    assert.ok(['AuthorizationHeaderMalformed', 'InvalidArgument'].includes(codeOf(r.body) ?? ''), r.body)
  })

  test('broken aws-chunked framing gets an S3 error and stores nothing', async () => {
    const body = 'zz\r\nnot hex\r\n0\r\n\r\n'
    const r = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${bucket}/chunked-bad`,
      body,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '7' },
    })
    assert.equal(r.status >= 400 && r.status < 500, true, `status ${r.status}`)
    assert.ok(codeOf(r.body), r.body)
    const h = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'chunked-bad' })))
    assert.equal(h.$metadata.httpStatusCode, 404)
  })

  test('a truncated body leaves nothing and the server keeps serving', async () => {
    const signed = await getSignedUrl(s.client(), new PutObjectCommand({ Bucket: bucket, Key: 'truncated' }), { expiresIn: 300 })
    const url = new URL(signed)
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        sock.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 1000\r\n\r\n`)
        sock.write('only part of the body')
        setTimeout(() => {
          sock.destroy()
          resolve()
        }, 100)
      })
      sock.on('error', reject)
    })
    await new Promise((r) => setTimeout(r, 100))
    const h = await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'truncated' })))
    assert.equal(h.$metadata.httpStatusCode, 404)
    const ok = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
    assert.equal(await ok.Body!.transformToString(), 'secret body')
  })

  test('oversized request headers get a 400 and the server stays up', async () => {
    const res = await fetch(`${s.endpoint}/${bucket}/k`, { headers: { 'x-amz-meta-big': 'x'.repeat(20_000) } }).catch(() => undefined)
    if (res) assert.ok(res.status === 400 || res.status === 431 || res.status === 403, String(res.status))
    const ok = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
    assert.equal(ok.$metadata.httpStatusCode, 200)
  })
})

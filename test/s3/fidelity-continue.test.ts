/**
 * `Expect: 100-continue`: the request is authenticated and authorized before the 100 goes out, so a
 * refused upload gets its 403 without the client ever sending the body.
 *
 * AWS: "PutObject" (Amazon S3 API Reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html),
 * Expect header — "When your application uses 100-continue, it doesn't send the request body until it
 * receives an acknowledgment. If the message is rejected based on the headers, the body of the
 * message is not sent." RFC 9110 §10.1.1 (Expect).
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { after, before, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { CliSandbox, runCommand } from '../helpers/aws-cli.js'
import { Sha256 } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, READER, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let cli: CliSandbox
const bucket = bucketName('expect')
const BODY = 'hello, continue'

before(async () => {
  s = await startTestServer()
  cli = new CliSandbox('mrap-fidelity-continue')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
})
after(async () => {
  cli.dispose()
  await s.stop()
})

/** The request head of a signed PUT announcing `body` with Expect: 100-continue. */
async function signedHead(key: string, body: string, creds: { accessKeyId: string; secretAccessKey: string }): Promise<string> {
  const url = new URL(s.endpoint)
  const headers: Record<string, string> = {
    host: url.host,
    'content-length': String(Buffer.byteLength(body)),
    'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
  }
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false })
  const signed = await signer.sign(new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${bucket}/${key}`, headers }))
  let head = `PUT /${bucket}/${key} HTTP/1.1\r\n`
  for (const [k, v] of Object.entries(signed.headers)) head += `${k}: ${v}\r\n`
  return head + 'expect: 100-continue\r\n\r\n'
}

/** A socket to the server and a reader of what it sends, one response head at a time. */
async function open(): Promise<{ sock: Socket; nextHead(): Promise<string>; closed: Promise<void> }> {
  const url = new URL(s.endpoint)
  const sock = connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  let buf = ''
  let wake: (() => void) | undefined
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1')
    wake?.()
  })
  const closed = new Promise<void>((resolve) =>
    sock.once('close', () => {
      resolve()
      wake?.()
    }),
  )
  return {
    sock,
    closed,
    async nextHead() {
      const deadline = Date.now() + 5000
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end >= 0) {
          const head = buf.slice(0, end)
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
          if (buf.length >= end + 4 + len) {
            buf = buf.slice(end + 4 + len)
            return head
          }
        }
        if (sock.destroyed || Date.now() > deadline) throw new Error(`no complete response head; got ${JSON.stringify(buf)}`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 100)
        })
      }
    },
  }
}

test('a PUT the policy refuses gets its 403 before any body, and no 100', async () => {
  const c = await open()
  c.sock.write(await signedHead('denied', BODY, READER))
  const head = await c.nextHead()
  assert.match(head, /^HTTP\/1\.1 403 /)
  assert.match(head, /\r\nconnection: close/i)
  // The server hangs up: nothing it waits for, and the body was never sent.
  await c.closed
})

test('a PUT with a bad signature gets its 403 before any body, and no 100', async () => {
  const c = await open()
  c.sock.write(await signedHead('forged', BODY, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'not-the-secret' }))
  const head = await c.nextHead()
  assert.match(head, /^HTTP\/1\.1 403 /)
  await c.closed
})

test('an allowed PUT gets 100 Continue, then 200 once the body is sent', async () => {
  const c = await open()
  c.sock.write(await signedHead('allowed', BODY, ADMIN))
  assert.match(await c.nextHead(), /^HTTP\/1\.1 100 Continue/)
  c.sock.write(BODY)
  assert.match(await c.nextHead(), /^HTTP\/1\.1 200 /)
  c.sock.destroy()
  const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'allowed' }))
  assert.equal(await got.Body?.transformToString(), BODY)
})

test('curl with Expect: 100-continue uploads nothing when refused, everything when allowed', async () => {
  const file = cli.write('payload', 'x'.repeat(4096))
  const put = (creds: { accessKeyId: string; secretAccessKey: string }, key: string) =>
    runCommand(
      '/usr/bin/curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{size_upload}',
        '-T',
        file,
        '-H',
        'Expect: 100-continue',
        // Longer than curl's own 1 s wait, so a server that never answers the Expect shows as a slow upload, not a pass.
        '--expect100-timeout',
        '5',
        '--aws-sigv4',
        'aws:amz:us-east-1:s3',
        '--user',
        `${creds.accessKeyId}:${creds.secretAccessKey}`,
        '-H',
        'x-amz-content-sha256: UNSIGNED-PAYLOAD',
        `${s.endpoint}/${bucket}/${key}`,
      ],
      { env: { PATH: '/usr/bin:/bin', NO_PROXY: '*' } },
    )
  const refused = await put(READER, 'curl-denied')
  assert.equal(refused.code, 0, refused.stderr)
  assert.equal(refused.stdout, '403 0')
  const allowed = await put(ADMIN, 'curl-allowed')
  assert.equal(allowed.code, 0, allowed.stderr)
  assert.equal(allowed.stdout, '200 4096')
})

test('the JS SDK (Expect: 100-continue on large bodies) uploads when allowed, gets 403 when not', async () => {
  const body = Buffer.alloc(3 << 20, 7)
  await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'sdk-large', Body: body }))
  const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'sdk-large' }))
  assert.equal(got.ContentLength, body.length)
  const e = await failure(() => s.client(READER).send(new PutObjectCommand({ Bucket: bucket, Key: 'sdk-denied', Body: body })))
  assert.equal(e.$metadata.httpStatusCode, 403)
})

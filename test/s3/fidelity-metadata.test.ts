/**
 * Non-ASCII user metadata: a request is verified over the bytes the client sent, which the JS SDK and
 * curl send and sign as UTF-8.
 *
 * AWS: "Create a signed AWS API request" (IAM User Guide,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): the canonical
 * request is hashed as UTF-8, header values trimmed with inner whitespace runs collapsed.
 * "Working with object metadata" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html):
 * S3 accepts non-US-ASCII metadata values over REST. The AWS CLI refuses them before sending
 * ("Non ascii characters found in S3 metadata"), so it has no case here.
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { CliSandbox, runCommand } from '../helpers/aws-cli.js'
import { codeOf, Sha256 } from '../helpers/raw.js'
import { ADMIN, bucketName, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let cli: CliSandbox
const bucket = bucketName('meta')

before(async () => {
  s = await startTestServer()
  cli = new CliSandbox('mrap-fidelity-meta')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
})
after(async () => {
  cli.dispose()
  await s.stop()
})

test('the JS SDK puts metadata with accented values (sent and signed as UTF-8)', async () => {
  // The SDK (through Node) sends code points up to U+00FF only; 'voilà' ends in the byte A0.
  const Metadata = { a: 'é', b: 'voilà', c: 'naïve  café' }
  const put = await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'sdk', Body: 'x', Metadata }))
  assert.equal(put.$metadata.httpStatusCode, 200)
  const head = await s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'sdk' }))
  assert.deepEqual(Object.keys(head.Metadata ?? {}).sort(), ['a', 'b', 'c'])
})

test('curl --aws-sigv4 puts metadata in any script (UTF-8 on the wire)', async () => {
  const r = await runCommand(
    '/usr/bin/curl',
    [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      '--data-binary',
      'x',
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '--user',
      `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}`,
      '-H',
      'x-amz-content-sha256: UNSIGNED-PAYLOAD',
      '-H',
      'x-amz-meta-city: 東京',
      '-H',
      'x-amz-meta-word: déjà vu',
      `${s.endpoint}/${bucket}/curl`,
    ],
    { env: { PATH: '/usr/bin:/bin', NO_PROXY: '*', LANG: 'C.UTF-8' } },
  )
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, '200')
})

/** Sends a PUT signed over `signed` as the metadata value but carrying `sent` (bytes) on the wire. */
async function putWithMetaBytes(signed: string, sent: Buffer): Promise<{ status: number; body: string }> {
  const url = new URL(s.endpoint)
  const headers: Record<string, string> = { host: url.host, 'content-length': '1', 'x-amz-content-sha256': createHash('sha256').update('x').digest('hex'), 'x-amz-meta-v': signed }
  const signer = new SignatureV4({ credentials: ADMIN, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false })
  const req = await signer.sign(new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${bucket}/raw`, headers }))
  const parts: Buffer[] = [Buffer.from(`PUT /${bucket}/raw HTTP/1.1\r\n`)]
  for (const [k, v] of Object.entries(req.headers)) {
    parts.push(k === 'x-amz-meta-v' ? Buffer.concat([Buffer.from(`${k}: `), sent, Buffer.from('\r\n')]) : Buffer.from(`${k}: ${v}\r\n`))
  }
  parts.push(Buffer.from('connection: close\r\n\r\nx'))
  const sock = connect(Number(url.port), url.hostname)
  sock.end(Buffer.concat(parts))
  const chunks: Buffer[] = []
  for await (const c of sock) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return { status: Number(text.slice(9, 12)), body: text }
}

test('the wire bytes are what is verified: UTF-8 passes, the same text in Latin-1 does not', async () => {
  const ok = await putWithMetaBytes('é', Buffer.from('é', 'utf8'))
  assert.equal(ok.status, 200, ok.body)
  const latin1 = await putWithMetaBytes('é', Buffer.from('é', 'latin1'))
  assert.equal(latin1.status, 403)
  assert.equal(codeOf(latin1.body), 'SignatureDoesNotMatch')
})

/**
 * Wrong-region requests carry `x-amz-bucket-region`, so clients can redirect themselves.
 *
 * AWS: "HeadBucket" (Amazon S3 API Reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html):
 * a HEAD has no error body, and S3 answers a request for a bucket of another region with the
 * bucket's region in `x-amz-bucket-region` — on the 301 of a regional host of another region and on
 * the 400 AuthorizationHeaderMalformed of a signature scoped to another region alike. botocore's
 * S3RegionRedirector and the JS SDK's `followRegionRedirects` read that header.
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { CliSandbox, runAws } from '../helpers/aws-cli.js'
import { rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let cli: CliSandbox
const bucket = bucketName('region')

before(async () => {
  s = await startTestServer()
  cli = new CliSandbox('mrap-fidelity-region')
  const eu = s.client(undefined, 'eu-west-1')
  await eu.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
  await eu.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello' }))
})
after(async () => {
  cli.dispose()
  await s.stop()
})

test('a HEAD signed for another region gets 400 with x-amz-bucket-region', async () => {
  for (const path of [`/${bucket}`, `/${bucket}/k`]) {
    const r = await rawRequest(s.endpoint, { method: 'HEAD', path, region: 'us-west-2' })
    assert.equal(r.status, 400, path)
    assert.equal(r.headers['x-amz-bucket-region'], 'eu-west-1', path)
  }
  // A GET's error says it in the body too.
  const g = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}/k`, region: 'us-west-2' })
  assert.equal(g.status, 400)
  assert.match(g.body, /<Code>AuthorizationHeaderMalformed<\/Code>/)
  assert.equal(g.headers['x-amz-bucket-region'], 'eu-west-1')
})

test('the JS SDK sees the bucket region on a failed HeadObject', async () => {
  // The JS SDK redirects by itself only on a 301 (followRegionRedirects); against a custom endpoint
  // it gets the 400 AWS gives, and the header is what a caller can act on.
  const e = await failure(() => s.client(ADMIN, 'us-west-2').send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' })))
  assert.equal(e.$metadata.httpStatusCode, 400)
  const res = (e as unknown as { $response?: { headers: Record<string, string> } }).$response
  assert.equal(res?.headers['x-amz-bucket-region'], 'eu-west-1')
  const hb = await s.client(ADMIN, 'eu-west-1').send(new HeadBucketCommand({ Bucket: bucket }))
  assert.equal(hb.BucketRegion, 'eu-west-1')
})

test("the AWS CLI redirects head-object and head-bucket to the bucket's region", async () => {
  const env = cli.env({ credentials: ADMIN, region: 'us-west-2', direct: true })
  const obj = await runAws(['s3api', 'head-object', '--endpoint-url', s.endpoint, '--bucket', bucket, '--key', 'k'], { env })
  assert.equal(obj.code, 0, obj.stderr)
  assert.equal(JSON.parse(obj.stdout).ContentLength, 5)
  const b = await runAws(['s3api', 'head-bucket', '--endpoint-url', s.endpoint, '--bucket', bucket], { env })
  assert.equal(b.code, 0, b.stderr)
})

test('a presigned URL scoped to another region gets the header too', async () => {
  const url = await getSignedUrl(s.client(ADMIN, 'us-west-2'), new GetObjectCommand({ Bucket: bucket, Key: 'k' }), { expiresIn: 300 })
  const r = await fetch(url)
  assert.equal(r.status, 400)
  assert.equal(r.headers.get('x-amz-bucket-region'), 'eu-west-1')
  assert.match(await r.text(), /<Code>AuthorizationQueryParametersError<\/Code>/)
})

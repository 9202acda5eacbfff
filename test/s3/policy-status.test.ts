/**
 * GetBucketPolicyStatus with the JS SDK v3 and the AWS CLI. AWS's behaviour: "GetBucketPolicyStatus"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html) answers
 * <PolicyStatus><IsPublic> judged as "The meaning of 'public'"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status);
 * a bucket without a policy is 404 NoSuchBucketPolicy "The bucket policy does not exist" with
 * <BucketName> (S3's answer as logged by cloudquery/cloudquery#12163 and quoted in versity/versitygw#959).
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, DeleteBucketPolicyCommand, DeletePublicAccessBlockCommand, GetBucketPolicyStatusCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, PARTNER, startTestServer, type TestServer } from '../helpers/server.js'

describe('GetBucketPolicyStatus', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('pstatus')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: bucket }))
  })
  after(async () => {
    await s.stop()
  })

  const policy = (statement: Record<string, unknown>) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*`, ...statement }] })

  test('no policy: 404 NoSuchBucketPolicy naming the bucket', async () => {
    const e = await failure(() => s.client().send(new GetBucketPolicyStatusCommand({ Bucket: bucket })))
    assert.equal(e.name, 'NoSuchBucketPolicy')
    assert.equal(e.$metadata.httpStatusCode, 404)
    assert.equal(e.message, 'The bucket policy does not exist')
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}`, query: { policyStatus: '' } })
    assert.equal(codeOf(r.body), 'NoSuchBucketPolicy')
    assert.match(r.body, new RegExp(`<BucketName>${bucket}</BucketName>`))
  })

  test('a policy granting one account is not public; Principal * is; a restricting condition makes it not public again', async () => {
    const c = s.client()
    await c.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Principal: { AWS: 'arn:aws:iam::444455556666:root' } }) }))
    assert.equal((await c.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, false)
    await c.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Principal: '*' }) }))
    assert.equal((await c.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, true)
    await c.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Principal: '*', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } } }) }))
    assert.equal((await c.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, false)
    await c.send(new DeleteBucketPolicyCommand({ Bucket: bucket }))
    assert.equal((await failure(() => c.send(new GetBucketPolicyStatusCommand({ Bucket: bucket })))).name, 'NoSuchBucketPolicy')
  })

  test('the AWS CLI: get-bucket-policy-status with and without a policy', async () => {
    const cli = new CliSandbox('mrap-pstatus-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = () => runAws(['--endpoint-url', s.endpoint, 's3api', 'get-bucket-policy-status', '--bucket', bucket], { env })
      assert.equal(cliErrorCode(await aws()), 'NoSuchBucketPolicy')
      await s.client().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Principal: '*' }) }))
      const ok = await aws()
      assert.equal(ok.code, 0, ok.stderr)
      assert.deepEqual(cliJson(ok.stdout), { PolicyStatus: { IsPublic: true } })
    } finally {
      cli.dispose()
      await s.client().send(new DeleteBucketPolicyCommand({ Bucket: bucket }))
    }
  })

  test('another account without s3:GetBucketPolicyStatus is refused before anything is revealed', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}`, query: { policyStatus: '' }, creds: PARTNER })
    assert.equal(r.status, 403)
    assert.equal(codeOf(r.body), 'AccessDenied')
  })
})

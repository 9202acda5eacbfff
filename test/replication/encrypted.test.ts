/**
 * Replication of objects encrypted with keys mrap cannot hand to its worker: an SSE-C or SSE-KMS
 * version a rule matches is stored FAILED at once (not PENDING forever, no replica), while an SSE-S3
 * one beside it replicates. S3 itself replicates SSE-C objects and SSE-KMS ones with
 * ReplicaKmsKeyID ("Replicating encrypted objects",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html);
 * mrap does not yet: docs/decisions/encryption.md §SSE-C decision 8, §SSE-KMS decision 5.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { CreateBucketCommand, HeadObjectCommand, PutBucketReplicationCommand, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ROLE_ARN, replicationWorld, waitFor } from './helpers.js'

let s: TestServer
before(async () => {
  s = await startTestServer({ world: replicationWorld() })
})
after(async () => {
  await s.stop()
})

const client = (region: string) => s.client(ADMIN, region)

async function versioned(region: string): Promise<string> {
  const b = bucketName('enc')
  await client(region).send(new CreateBucketCommand({ Bucket: b, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }))
  await client(region).send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  return b
}

test('SSE-C and SSE-KMS versions are FAILED for replication at once; an SSE-S3 version replicates', async () => {
  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  await client('us-east-1').send(
    new PutBucketReplicationCommand({
      Bucket: src,
      ReplicationConfiguration: {
        Role: ROLE_ARN,
        Rules: [
          { ID: 'all', Priority: 1, Status: 'Enabled', Filter: { Prefix: '' }, DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: `arn:aws:s3:::${dst}` } },
        ],
      },
    }),
  )
  const key = randomBytes(32).toString('base64')
  const east = client('us-east-1')
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'ssec', Body: 'c', SSECustomerAlgorithm: 'AES256', SSECustomerKey: key }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'kms', Body: 'k', ServerSideEncryption: 'aws:kms' }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'plain', Body: 'p' }))
  assert.equal((await east.send(new HeadObjectCommand({ Bucket: src, Key: 'ssec', SSECustomerAlgorithm: 'AES256', SSECustomerKey: key }))).ReplicationStatus, 'FAILED')
  assert.equal((await east.send(new HeadObjectCommand({ Bucket: src, Key: 'kms' }))).ReplicationStatus, 'FAILED')
  await waitFor('plain COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'plain' }))).ReplicationStatus === 'COMPLETED')
  const west: S3Client = client('eu-west-1')
  for (const k of ['ssec', 'kms'])
    assert.equal((await failure(() => west.send(new HeadObjectCommand({ Bucket: dst, Key: k })))).$metadata.httpStatusCode, 404, `${k} has no replica`)
})

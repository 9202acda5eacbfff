/**
 * Replication of encrypted objects ("Replicating encrypted objects (SSE-C, SSE-S3, SSE-KMS, DSSE-KMS)",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html):
 * - SSE-C: S3 replicates them; mrap's worker holds no customer key, so such a version is stored
 *   FAILED at once (docs/decisions/encryption.md §SSE-C decision 8).
 * - SSE-KMS: "By default, Amazon S3 doesn't replicate objects that are stored at rest using
 *   server-side encryption with AWS KMS keys": without SourceSelectionCriteria SseKmsEncryptedObjects
 *   the version is not selected (no replication status, no replica). With it and a ReplicaKmsKeyID,
 *   the replica is encrypted under the replica key, the role needing kms:Decrypt on the source key
 *   and kms:Encrypt on the replica key; a key policy that refuses leaves the version FAILED.
 *   PutBucketReplication refuses SseKmsEncryptedObjects without ReplicaKmsKeyID (InvalidRequest).
 *   The key's grants count beside its policy, as for any caller of KMS ("Grants in AWS KMS",
 *   https://docs.aws.amazon.com/kms/latest/developerguide/grants.html).
 *   docs/decisions/encryption.md §Replication of SSE-KMS objects.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { CreateGrantCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ReplicationRule,
  type S3Client,
} from '@aws-sdk/client-s3'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { OWNER, ROLE_ARN, replicationWorld, waitFor } from './helpers.js'

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

test('without SseKmsEncryptedObjects an SSE-KMS version is not replicated (no status); SSE-C is FAILED; SSE-S3 replicates', async () => {
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
  assert.equal((await east.send(new HeadObjectCommand({ Bucket: src, Key: 'kms' }))).ReplicationStatus, undefined)
  await waitFor('plain COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'plain' }))).ReplicationStatus === 'COMPLETED')
  const west: S3Client = client('eu-west-1')
  for (const k of ['ssec', 'kms'])
    assert.equal((await failure(() => west.send(new HeadObjectCommand({ Bucket: dst, Key: k })))).$metadata.httpStatusCode, 404, `${k} has no replica`)
})

function kms(region: string): KMSClient {
  return new KMSClient({ endpoint: s.endpoint, region, credentials: ADMIN, maxAttempts: 1 })
}

/** A key whose policy keeps the account's IAM delegation and, when `roleMay` names actions, lets the replication role do them. */
async function keyIn(region: string, roleMay: string[]): Promise<string> {
  const statements: unknown[] = [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' }]
  if (roleMay.length > 0)
    statements.push({
      Sid: 'replication',
      Effect: 'Allow',
      Principal: { AWS: ROLE_ARN },
      Action: roleMay,
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
    })
  const k = await kms(region).send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }))
  return k.KeyMetadata!.Arn!
}

function kmsRule(dst: string, replicaKey: string | undefined): ReplicationRule {
  return {
    ID: 'kms',
    Priority: 1,
    Status: 'Enabled',
    Filter: { Prefix: '' },
    DeleteMarkerReplication: { Status: 'Disabled' },
    SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
    Destination: { Bucket: `arn:aws:s3:::${dst}`, ...(replicaKey ? { EncryptionConfiguration: { ReplicaKmsKeyID: replicaKey } } : {}) },
  }
}

test('PutBucketReplication: SseKmsEncryptedObjects without a ReplicaKmsKeyID is InvalidRequest', async () => {
  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  const e = await failure(() =>
    client('us-east-1').send(new PutBucketReplicationCommand({ Bucket: src, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [kmsRule(dst, undefined)] } })),
  )
  assert.equal(e.$metadata.httpStatusCode, 400)
  assert.equal(e.name, 'InvalidRequest')
  assert.equal(e.message, 'ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.')
})

test('with SseKmsEncryptedObjects and ReplicaKmsKeyID an SSE-KMS version replicates under the replica key; a replica key the role may not use leaves it FAILED', async () => {
  const sourceKey = await keyIn('us-east-1', ['kms:Decrypt'])
  const replicaKey = await keyIn('eu-west-1', ['kms:Encrypt'])
  // The default key policy delegates to IAM, and the role's IAM policy grants no kms action.
  const closedKey = await keyIn('eu-west-1', [])
  const east = client('us-east-1')
  const west = client('eu-west-1')

  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  await east.send(new PutBucketReplicationCommand({ Bucket: src, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [kmsRule(dst, replicaKey)] } }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'kms', Body: 'secret words', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: sourceKey }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'plain', Body: 'p' }))
  await waitFor('kms COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'kms' }))).ReplicationStatus === 'COMPLETED')
  const head = await west.send(new HeadObjectCommand({ Bucket: dst, Key: 'kms' }))
  assert.equal(head.ReplicationStatus, 'REPLICA')
  assert.equal(head.ServerSideEncryption, 'aws:kms')
  assert.equal(head.SSEKMSKeyId, replicaKey, 'the replica is encrypted under the replica key, not the source key')
  assert.equal(await (await west.send(new GetObjectCommand({ Bucket: dst, Key: 'kms' }))).Body!.transformToString(), 'secret words')
  await waitFor('plain COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'plain' }))).ReplicationStatus === 'COMPLETED')

  const src2 = await versioned('us-east-1')
  const dst2 = await versioned('eu-west-1')
  await east.send(new PutBucketReplicationCommand({ Bucket: src2, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [kmsRule(dst2, closedKey)] } }))
  await east.send(new PutObjectCommand({ Bucket: src2, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: sourceKey }))
  await waitFor('kms FAILED', async () => (await east.send(new HeadObjectCommand({ Bucket: src2, Key: 'kms' }))).ReplicationStatus === 'FAILED')
  assert.equal((await failure(() => west.send(new HeadObjectCommand({ Bucket: dst2, Key: 'kms' })))).$metadata.httpStatusCode, 404, 'no replica')
})

test("grants to the replication role count: a version whose context the grants' constraints allow replicates, another is FAILED", async () => {
  // Neither key's policy lets the role in (the default delegation, and the role's IAM has no kms action).
  const sourceKey = await keyIn('us-east-1', [])
  const replicaKey = await keyIn('eu-west-1', [])
  const east = client('us-east-1')
  const west = client('eu-west-1')
  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  const only = (bucket: string) => ({ EncryptionContextSubset: { 'aws:s3:arn': `arn:aws:s3:::${bucket}/granted` } })
  await kms('us-east-1').send(new CreateGrantCommand({ KeyId: sourceKey, GranteePrincipal: ROLE_ARN, Operations: ['Decrypt'], Constraints: only(src) }))
  await kms('eu-west-1').send(new CreateGrantCommand({ KeyId: replicaKey, GranteePrincipal: ROLE_ARN, Operations: ['Encrypt'], Constraints: only(dst) }))
  await east.send(new PutBucketReplicationCommand({ Bucket: src, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [kmsRule(dst, replicaKey)] } }))
  for (const Key of ['granted', 'other']) await east.send(new PutObjectCommand({ Bucket: src, Key, Body: Key, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: sourceKey }))
  await waitFor('granted COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'granted' }))).ReplicationStatus === 'COMPLETED')
  assert.equal(await (await west.send(new GetObjectCommand({ Bucket: dst, Key: 'granted' }))).Body!.transformToString(), 'granted')
  await waitFor('other FAILED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'other' }))).ReplicationStatus === 'FAILED')
})

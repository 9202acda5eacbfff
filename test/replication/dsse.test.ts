/**
 * Replication of DSSE-KMS objects ("Replicating encrypted objects (SSE-C, SSE-S3, SSE-KMS, DSSE-KMS)",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html, and
 * SseKmsEncryptedObjects, https://docs.aws.amazon.com/AmazonS3/latest/API/API_SseKmsEncryptedObjects.html:
 * the opt-in selects "objects created with server-side encryption using an AWS KMS key", which
 * DSSE-KMS objects are). As for SSE-KMS (test/replication/encrypted.test.ts): not selected without
 * SseKmsEncryptedObjects; with it, the replica is written under the ReplicaKmsKeyID, the role needing
 * kms:Decrypt on the source key and kms:Encrypt on the replica key, and a refusal leaves the version
 * FAILED. The replica is DSSE-KMS too, both layers under new data keys. docs/decisions/encryption.md
 * §DSSE-KMS.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ReplicationRule,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { kmsKeysOf } from '../../src/s3/sse-kms.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { OWNER, ROLE_ARN, replicationWorld, waitFor } from './helpers.js'

const MiB = 1024 * 1024
let s: TestServer
before(async () => {
  s = await startTestServer({ world: replicationWorld() })
})
after(async () => {
  await s.stop()
})

const client = (region: string) => s.client(ADMIN, region)
const kms = (region: string) => new KMSClient({ endpoint: s.endpoint, region, credentials: ADMIN, maxAttempts: 1 })

async function versioned(region: string): Promise<string> {
  const b = bucketName('dsserep')
  await client(region).send(new CreateBucketCommand({ Bucket: b, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }))
  await client(region).send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  return b
}

/** A key that delegates to IAM and, when `roleMay` names actions, lets the replication role do them through S3 in its Region. */
async function keyIn(region: string, roleMay: string[]): Promise<string> {
  const statements: unknown[] = [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' }]
  if (roleMay.length > 0)
    statements.push({
      Effect: 'Allow',
      Principal: { AWS: ROLE_ARN },
      Action: roleMay,
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
    })
  return (await kms(region).send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }))).KeyMetadata!.Arn!
}

function rule(dst: string, replicaKey: string | undefined): ReplicationRule {
  return {
    ID: 'dsse',
    Priority: 1,
    Status: 'Enabled',
    Filter: { Prefix: '' },
    DeleteMarkerReplication: { Status: 'Disabled' },
    ...(replicaKey ? { SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } } } : {}),
    Destination: { Bucket: `arn:aws:s3:::${dst}`, ...(replicaKey ? { EncryptionConfiguration: { ReplicaKmsKeyID: replicaKey } } : {}) },
  }
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed + (i >> 11)) & 0xff
  return b
}

test('DSSE-KMS versions (a PUT and a multipart upload) replicate under the ReplicaKmsKeyID as DSSE-KMS; the replica reads whole and in ranges across the source parts', async () => {
  const sourceKey = await keyIn('us-east-1', ['kms:Decrypt'])
  const replicaKey = await keyIn('eu-west-1', ['kms:Encrypt'])
  const east = client('us-east-1')
  const west = client('eu-west-1')
  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  await east.send(new PutBucketReplicationCommand({ Bucket: src, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [rule(dst, replicaKey)] } }))

  const small = Buffer.concat([pattern(70_000, 1), Buffer.from('dsse-replica-marker-one')])
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'put', Body: small, ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: sourceKey }))
  const p1 = pattern(5 * MiB, 2)
  p1.write('dsse-replica-marker-two', 5 * MiB - 40)
  const p2 = pattern(MiB + 3, 3)
  const big = Buffer.concat([p1, p2])
  const up = await east.send(new CreateMultipartUploadCommand({ Bucket: src, Key: 'mp', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: sourceKey }))
  const e1 = (await east.send(new UploadPartCommand({ Bucket: src, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: p1 }))).ETag
  const e2 = (await east.send(new UploadPartCommand({ Bucket: src, Key: 'mp', UploadId: up.UploadId, PartNumber: 2, Body: p2 }))).ETag
  const done = await east.send(
    new CompleteMultipartUploadCommand({
      Bucket: src,
      Key: 'mp',
      UploadId: up.UploadId,
      MultipartUpload: {
        Parts: [
          { ETag: e1, PartNumber: 1 },
          { ETag: e2, PartNumber: 2 },
        ],
      },
    }),
  )

  for (const [key, body] of [
    ['put', small],
    ['mp', big],
  ] as [string, Buffer][]) {
    await waitFor(`${key} COMPLETED`, async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: key }))).ReplicationStatus === 'COMPLETED')
    const head = await west.send(new HeadObjectCommand({ Bucket: dst, Key: key }))
    assert.equal(head.ReplicationStatus, 'REPLICA')
    assert.equal(head.ServerSideEncryption, 'aws:kms:dsse', `${key}: the replica keeps both layers`)
    assert.equal(head.SSEKMSKeyId, replicaKey, `${key}: under the replica key`)
    const got = await west.send(new GetObjectCommand({ Bucket: dst, Key: key }))
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${key}: the replica's bytes`)
  }
  assert.equal((await west.send(new HeadObjectCommand({ Bucket: dst, Key: 'mp' }))).ETag, done.ETag)
  const r = await west.send(new GetObjectCommand({ Bucket: dst, Key: 'mp', Range: `bytes=${5 * MiB - 50}-${5 * MiB + 70}` }))
  assert.ok(Buffer.from(await r.Body!.transformToByteArray()).equals(big.subarray(5 * MiB - 50, 5 * MiB + 71)))

  // At rest in both regions: no plaintext, and the replica's second-layer key is a new one under the replica key.
  const files = readdirSync(s.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
  for (const f of files) for (const m of ['dsse-replica-marker-one', 'dsse-replica-marker-two']) assert.equal(readFileSync(f).indexOf(m), -1, `${f} holds ${m}`)
  const keys = kmsKeysOf(s.services)
  const source = (await s.services.stores.get('us-east-1')!.getObject(src, 'put')).version
  const replica = (await s.services.stores.get('eu-west-1')!.getObject(dst, 'put')).version
  const second = (v: typeof source, arn: string, bucket: string) =>
    keys.decrypt(keys.byId(arn.split('/').pop()!)!, Buffer.from(v.sseKmsDsseDataKey!, 'base64'), { 'aws:s3:arn': `arn:aws:s3:::${bucket}/put` })!
  assert.ok(!second(source, sourceKey, src).equals(second(replica, replicaKey, dst)))
})

test('without SseKmsEncryptedObjects a DSSE-KMS version is not replicated; a replica key the role may not use leaves it FAILED', async () => {
  const sourceKey = await keyIn('us-east-1', ['kms:Decrypt'])
  const closedKey = await keyIn('eu-west-1', [])
  const east = client('us-east-1')
  const west = client('eu-west-1')

  const src = await versioned('us-east-1')
  const dst = await versioned('eu-west-1')
  await east.send(new PutBucketReplicationCommand({ Bucket: src, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [rule(dst, undefined)] } }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'dsse', Body: 'd', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: sourceKey }))
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'plain', Body: 'p' }))
  await waitFor('plain COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'plain' }))).ReplicationStatus === 'COMPLETED')
  assert.equal((await east.send(new HeadObjectCommand({ Bucket: src, Key: 'dsse' }))).ReplicationStatus, undefined)
  assert.equal((await failure(() => west.send(new HeadObjectCommand({ Bucket: dst, Key: 'dsse' })))).$metadata.httpStatusCode, 404)

  const src2 = await versioned('us-east-1')
  const dst2 = await versioned('eu-west-1')
  await east.send(new PutBucketReplicationCommand({ Bucket: src2, ReplicationConfiguration: { Role: ROLE_ARN, Rules: [rule(dst2, closedKey)] } }))
  await east.send(new PutObjectCommand({ Bucket: src2, Key: 'dsse', Body: 'x', ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: sourceKey }))
  await waitFor('dsse FAILED', async () => (await east.send(new HeadObjectCommand({ Bucket: src2, Key: 'dsse' }))).ReplicationStatus === 'FAILED')
  assert.equal((await failure(() => west.send(new HeadObjectCommand({ Bucket: dst2, Key: 'dsse' })))).$metadata.httpStatusCode, 404, 'no replica')
})

/**
 * `mrap lint` on a running server: replication-kms names an MRAP bucket whose default encryption is
 * SSE-KMS (or DSSE-KMS) only when its replication rule to another route would leave SSE-KMS objects out (no
 * SourceSelectionCriteria SseKmsEncryptedObjects / ReplicaKmsKeyID) or names a replica key of
 * another Region or one the replication role may not kms:Encrypt with (its key policy, IAM, grants); a rule that
 * opts in with a usable key of the destination's Region, and an SSE-S3 bucket, get nothing ("Replicating encrypted objects",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
 * docs/decisions/encryption.md §Replication of SSE-KMS objects.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { CreateGrantCommand, CreateKeyCommand, KMSClient, PutKeyPolicyCommand, RevokeGrantCommand } from '@aws-sdk/client-kms'
import { DeleteBucketEncryptionCommand, DeleteBucketReplicationCommand, PutBucketEncryptionCommand, PutBucketReplicationCommand, type ReplicationRule } from '@aws-sdk/client-s3'
import { modelFromServices } from '../../src/explain/from-services.js'
import { runLint } from '../../src/lint/index.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { replicationWorld } from '../replication/helpers.js'

let s: TestServer
before(async () => {
  s = await startTestServer({ world: replicationWorld() })
})
after(async () => {
  await s.stop()
})

const kmsFindings = () => runLint({ model: modelFromServices(s.services, 'test'), catalog: s.services.policies.catalog!, timeMs: 0 }).filter((f) => f.rule === 'replication-kms')

const ROLE = 'arn:aws:iam::123456789012:role/s3-replication'

function rule(kmsKey?: string): ReplicationRule {
  return {
    ID: 'to-west',
    Priority: 1,
    Status: 'Enabled',
    Filter: { Prefix: '' },
    DeleteMarkerReplication: { Status: 'Disabled' },
    ...(kmsKey ? { SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } } } : {}),
    Destination: { Bucket: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET2', ...(kmsKey ? { EncryptionConfiguration: { ReplicaKmsKeyID: kmsKey } } : {}) },
  }
}

const replicate = (r: ReplicationRule) => s.client().send(new PutBucketReplicationCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1', ReplicationConfiguration: { Role: ROLE, Rules: [r] } }))

test('replication-kms: an MRAP bucket with aws:kms default encryption is named only when its rule leaves SSE-KMS objects out or names a key of another Region', async () => {
  assert.deepEqual(kmsFindings(), [])
  await s.client().send(
    new PutBucketEncryptionCommand({
      Bucket: 'DOC-EXAMPLE-BUCKET1',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/app' } }] },
    }),
  )
  // No rule at all between the buckets: replication-missing says so, not this rule.
  assert.deepEqual(kmsFindings(), [])
  await replicate(rule())
  let found = kmsFindings()
  assert.equal(found.length, 1)
  assert.equal(found[0]!.severity, 'warning')
  assert.match(found[0]!.message, /DOC-EXAMPLE-BUCKET1 .*KMS key alias\/app.*rule to DOC-EXAMPLE-BUCKET2 has no SseKmsEncryptedObjects\/ReplicaKmsKeyID/)
  await replicate(rule('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'))
  assert.deepEqual(kmsFindings(), [])
  await replicate(rule('arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'))
  found = kmsFindings()
  assert.equal(found.length, 1)
  assert.match(found[0]!.message, /key of us-east-1, not of the destination's Region eu-west-1/)

  // A key of eu-west-1 with the default key policy: IAM decides, and the role's IAM policy has no kms action.
  const west = new KMSClient({ endpoint: s.endpoint, region: 'eu-west-1', credentials: ADMIN, maxAttempts: 1 })
  const key = (await west.send(new CreateKeyCommand({}))).KeyMetadata!
  await replicate(rule(key.Arn!))
  found = kmsFindings()
  assert.equal(found.length, 1)
  assert.match(found[0]!.message, /role .*s3-replication may not kms:Encrypt with its replica key/)
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
      {
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::DOC-EXAMPLE-BUCKET2/*' } },
      },
    ],
  }
  await west.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) }))
  assert.deepEqual(kmsFindings(), [])

  // A DSSE-KMS default: its objects need the same opt-in (docs/decisions/encryption.md §DSSE-KMS).
  await s.client().send(
    new PutBucketEncryptionCommand({
      Bucket: 'DOC-EXAMPLE-BUCKET1',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: 'alias/app' } }] },
    }),
  )
  assert.deepEqual(kmsFindings(), [])
  await replicate(rule())
  found = kmsFindings()
  assert.equal(found.length, 1)
  assert.match(found[0]!.message, /DOC-EXAMPLE-BUCKET1 .*DSSE-KMS.*rule to DOC-EXAMPLE-BUCKET2 has no SseKmsEncryptedObjects\/ReplicaKmsKeyID, so its DSSE-KMS objects/)
  await replicate(rule(key.Arn!))
  assert.deepEqual(kmsFindings(), [])

  await s.client().send(new DeleteBucketEncryptionCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
  assert.deepEqual(kmsFindings(), [])
  await s.client().send(new DeleteBucketReplicationCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
})

test("replication-kms counts the replica key's grants, as the replication worker does", async () => {
  await s.client().send(
    new PutBucketEncryptionCommand({
      Bucket: 'DOC-EXAMPLE-BUCKET1',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/app' } }] },
    }),
  )
  const west = new KMSClient({ endpoint: s.endpoint, region: 'eu-west-1', credentials: ADMIN, maxAttempts: 1 })
  // The default key policy: IAM decides, and the role's IAM policy has no kms action.
  const key = (await west.send(new CreateKeyCommand({}))).KeyMetadata!
  await replicate(rule(key.Arn!))
  assert.match(kmsFindings()[0]?.message ?? '', /may not kms:Encrypt with its replica key/)
  const g = await west.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Encrypt'] }))
  assert.deepEqual(kmsFindings(), [])
  await west.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g.GrantId }))
  assert.equal(kmsFindings().length, 1)
  await s.client().send(new DeleteBucketEncryptionCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
  await s.client().send(new DeleteBucketReplicationCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
})

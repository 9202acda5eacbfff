/**
 * A world bucket's default encryption (`buckets[].encryption`): applied as PutBucketEncryption
 * stores it, so new objects are SSE-KMS under the world's key; exported back; and `mrap explain
 * --world` judges the KMS layer from the file alone (the world's keys and their policies), agreeing
 * with what the server then answers.
 *
 * AWS: PutBucketEncryption (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html):
 * KMSMasterKeyID takes a key id, key ARN or alias ARN; "Protecting data with server-side encryption
 * with AWS KMS keys (SSE-KMS)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html):
 * downloading an SSE-KMS object needs kms:Decrypt on its key.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DescribeKeyCommand } from '@aws-sdk/client-kms'
import { GetBucketEncryptionCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { stringify } from 'yaml'
import { runExplain } from '../../src/cli/explain.js'
import { exportWorldYaml } from '../../src/world/export.js'
import { parseWorld } from '../../src/world/load.js'
import { kmsClient, noDecryptThroughS3 } from '../helpers/kms-keys.js'
import { failure, startTestServer, testWorld } from '../helpers/server.js'

const OWNER = '123456789012'
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`
const SSE_BUCKET = 'world-sse-kms'
const AES_BUCKET = 'world-sse-s3'

function worldWithEncryption() {
  const world = testWorld()
  const owner = world.accounts.find((a) => a.id === OWNER)!
  // The admin may use the key in every way but one: kms:Decrypt when S3 asks for an object of SSE_BUCKET.
  owner.kmsKeys.push({ alias: 'alias/world-sse', region: 'us-east-1', enabled: true, policy: noDecryptThroughS3(ADMIN_ARN, SSE_BUCKET) as never })
  world.buckets.push(
    { name: SSE_BUCKET, region: 'us-east-1', owner: OWNER, encryption: { algorithm: 'aws:kms', key: 'alias/world-sse', bucketKey: true } },
    { name: AES_BUCKET, region: 'us-east-1', owner: OWNER, encryption: 'AES256' },
  )
  return world
}

test('world bucket encryption: applied as PutBucketEncryption stores it, new objects under the world key, exported back', async () => {
  const s = await startTestServer({ world: worldWithEncryption() })
  try {
    const c = s.client()
    const conf = (await c.send(new GetBucketEncryptionCommand({ Bucket: SSE_BUCKET }))).ServerSideEncryptionConfiguration!.Rules![0]!
    assert.deepEqual(conf.ApplyServerSideEncryptionByDefault, { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/world-sse' })
    assert.equal(conf.BucketKeyEnabled, true)
    const aes = (await c.send(new GetBucketEncryptionCommand({ Bucket: AES_BUCKET }))).ServerSideEncryptionConfiguration!.Rules![0]!
    assert.equal(aes.ApplyServerSideEncryptionByDefault!.SSEAlgorithm, 'AES256')

    const keyArn = (await kmsClient(s).send(new DescribeKeyCommand({ KeyId: 'alias/world-sse' }))).KeyMetadata!.Arn
    const put = await c.send(new PutObjectCommand({ Bucket: SSE_BUCKET, Key: 'k', Body: 'under the world key' }))
    assert.equal(put.ServerSideEncryption, 'aws:kms')
    assert.equal(put.SSEKMSKeyId, keyArn)
    assert.equal(put.BucketKeyEnabled, true)
    // The key policy the world gave the key decides the read.
    const denied = await failure(() => c.send(new GetObjectCommand({ Bucket: SSE_BUCKET, Key: 'k' })))
    assert.equal(denied.$metadata.httpStatusCode, 403)
    assert.equal(denied.name, 'AccessDenied')

    const exported = parseWorld(exportWorldYaml(s.services), 'export.yaml').buckets
    assert.deepEqual(exported.find((b) => b.name === SSE_BUCKET)!.encryption, { algorithm: 'aws:kms', key: 'alias/world-sse', bucketKey: true })
    assert.equal(exported.find((b) => b.name === AES_BUCKET)!.encryption, 'AES256')
    // A bucket the world leaves on S3's default exports none.
    assert.equal(exported.find((b) => b.name === 'DOC-EXAMPLE-BUCKET1')!.encryption, undefined)
  } finally {
    await s.stop()
  }
})

test('mrap explain --world: the KMS layer from the file alone refuses what the server refuses', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'mrap-world-sse-')), 'world.yaml')
  writeFileSync(file, stringify(worldWithEncryption()))
  const ask = async (action: string) => {
    const json = await runExplain({ world: file, as: 'admin', action, key: 'k', bucket: SSE_BUCKET, json: true }, false)
    return json.results[0]!.routes[0]!
  }
  const get = await ask('s3:GetObject')
  assert.equal(get.status, 403)
  assert.equal(get.code, 'AccessDenied')
  assert.equal(get.kms?.blocking, true)
  assert.match(get.kms?.detail ?? '', /kms:Decrypt on arn:aws:kms:us-east-1:123456789012:key\//)
  // Writing needs kms:GenerateDataKey, which the key policy leaves to IAM: allowed.
  const put = await ask('s3:PutObject')
  assert.equal(put.status, 200)
  assert.equal(put.kms?.result, 'allow')
  // On the SSE-S3 bucket no KMS is asked.
  const plain = (await runExplain({ world: file, as: 'admin', action: 's3:GetObject', key: 'k', bucket: AES_BUCKET, json: true }, false)).results[0]!.routes[0]!
  assert.equal(plain.kms, undefined)
  assert.equal(plain.status, 200)
})

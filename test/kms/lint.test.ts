/**
 * `mrap lint` on a running server: an MRAP bucket whose default encryption is SSE-KMS gets the
 * replication-kms finding (its replicas cannot use the regional key; mrap does not replicate SSE-KMS
 * objects), and an SSE-S3 bucket does not. docs/decisions/encryption.md §SSE-KMS.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DeleteBucketEncryptionCommand, PutBucketEncryptionCommand } from '@aws-sdk/client-s3'
import { modelFromServices } from '../../src/explain/from-services.js'
import { runLint } from '../../src/lint/index.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

const kmsFindings = () => runLint({ model: modelFromServices(s.services, 'test'), catalog: s.services.policies.catalog!, timeMs: 0 }).filter((f) => f.rule === 'replication-kms')

test('replication-kms: an MRAP bucket with aws:kms default encryption is named; without it, nothing', async () => {
  assert.deepEqual(kmsFindings(), [])
  await s.client().send(
    new PutBucketEncryptionCommand({
      Bucket: 'DOC-EXAMPLE-BUCKET1',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/app' } }] },
    }),
  )
  const found = kmsFindings()
  assert.equal(found.length, 1)
  assert.equal(found[0]!.severity, 'warning')
  assert.match(found[0]!.message, /DOC-EXAMPLE-BUCKET1 .*KMS key alias\/app/)
  await s.client().send(new DeleteBucketEncryptionCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
  assert.deepEqual(kmsFindings(), [])
})

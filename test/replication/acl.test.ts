/**
 * Object ACLs under replication: a replica keeps its source's owner and ACL, and a later
 * PutObjectAcl on the source reaches the replica ("What does Amazon S3 replicate?": object ACL
 * updates are replicated, https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { ROLE_ARN, replicationWorld, replicationXml, waitFor } from './helpers.js'

let s: TestServer
before(async () => {
  s = await startTestServer({ world: replicationWorld() })
})
after(async () => s.stop())

async function aclBucket(c: S3Client, region: string): Promise<string> {
  const b = bucketName('racl')
  await c.send(
    new CreateBucketCommand({
      Bucket: b,
      ObjectOwnership: 'ObjectWriter',
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
    }),
  )
  await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  return b
}

test('a replica carries the source ACL, and a PutObjectAcl on the source follows', async () => {
  const east = s.client(),
    west = s.client(undefined, 'eu-west-1')
  const src = await aclBucket(east, 'us-east-1')
  const dst = await aclBucket(west, 'eu-west-1')
  const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${src}`, query: { replication: '' }, body: replicationXml(ROLE_ARN, [{ dest: dst }]) })
  assert.ok(r.status < 300, `${codeOf(r.body)} ${r.body}`)
  const pb = bucketName('racl-ids')
  await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: pb }))
  const partner = (await s.client(PARTNER_ADMIN).send(new GetBucketAclCommand({ Bucket: pb }))).Owner!.ID!
  await east.send(new PutObjectCommand({ Bucket: src, Key: 'k', Body: 'x', GrantRead: `id="${partner}"` }))
  await waitFor('COMPLETED', async () => (await east.send(new HeadObjectCommand({ Bucket: src, Key: 'k' }))).ReplicationStatus === 'COMPLETED')
  const replica = await west.send(new GetObjectAclCommand({ Bucket: dst, Key: 'k' }))
  assert.deepEqual(
    replica.Grants?.map((g) => `${g.Grantee?.ID}:${g.Permission}`),
    [`${partner}:READ`],
  )
  await east.send(new PutObjectAclCommand({ Bucket: src, Key: 'k', GrantReadACP: `id="${partner}"` }))
  await waitFor('the new ACL on the replica', async () => {
    const g = (await west.send(new GetObjectAclCommand({ Bucket: dst, Key: 'k' }))).Grants
    return g?.length === 1 && g[0]?.Permission === 'READ_ACP'
  })
})

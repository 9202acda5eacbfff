/**
 * Object owners on a region whose bytes an engine (Ceph RGW) holds are the ones the embedded store
 * reports for the same writes: the same steps run on a bucket in us-east-1 (on RGW) and one in
 * us-west-2 (embedded) of one server, and every answer that names an owner must agree.
 * AWS: "Controlling ownership of objects and disabling ACLs for your bucket"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html): under
 * ObjectWriter the uploading account owns the object; under BucketOwnerPreferred the bucket owner
 * does when the writer sent bucket-owner-full-control. ListObjectsV2 names owners only with
 * FetchOwner (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html), ListObjects
 * (v1) and ListObjectVersions always (API_ListObjects.html, API_ListObjectVersions.html).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { DEFAULT_WORLD_FILE, parseWorld } from '../../src/world/load.js'
import { upstreamStorageSchema } from '../../src/world/schema.js'
import { PARTNER_ACCOUNT } from '../helpers/accounts.js'
import type { CephCluster } from '../helpers/ceph.js'
import { ADMIN, bucketName, PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'
import { startClusters } from './helpers.js'

let ceph: CephCluster
let s: TestServer

before(async () => {
  ;[ceph] = (await startClusters('owners')) as [CephCluster]
  process.env.MRAP_TEST_OWNERS_ACCESS_KEY_ID = ceph.accessKeyId
  process.env.MRAP_TEST_OWNERS_SECRET_ACCESS_KEY = ceph.secretAccessKey
  // testWorld()'s partner-admin in the seed world, its bucket names lower-cased as an engine needs.
  const world = parseWorld(readFileSync(DEFAULT_WORLD_FILE, 'utf8').replaceAll('DOC-EXAMPLE-BUCKET', 'doc-example-bucket'), 'seed.yaml')
  const partnerAdmin = testWorld()
    .accounts.find((a) => a.id === PARTNER_ACCOUNT)!
    .users.find((u) => u.name === 'partner-admin')!
  world.accounts.find((a) => a.id === PARTNER_ACCOUNT)!.users.push(partnerAdmin)
  world.regions.find((r) => r.name === 'us-east-1')!.storage = upstreamStorageSchema.parse({
    kind: 's3',
    endpoint: ceph.endpoint,
    accessKeyIdEnv: 'MRAP_TEST_OWNERS_ACCESS_KEY_ID',
    secretAccessKeyEnv: 'MRAP_TEST_OWNERS_SECRET_ACCESS_KEY',
  })
  s = await startTestServer({ world })
})
after(async () => {
  await s?.stop()
  await ceph?.down()
})

/** Everything the listings and GetObjectAcl say about owners, after the same writes. */
async function ownersAfterWrites(region: 'us-east-1' | 'us-west-2', ownership: 'ObjectWriter' | 'BucketOwnerPreferred', versioned: boolean) {
  const c = s.client(ADMIN, region)
  const pc = s.client(PARTNER_ADMIN, region)
  const b = bucketName(`own-${region}`)
  await c.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: ownership, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region } } : {}) }))
  await c.send(new DeletePublicAccessBlockCommand({ Bucket: b }))
  if (versioned) await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${PARTNER_ACCOUNT}:root` }, Action: ['s3:PutObject', 's3:GetObjectAcl'], Resource: `arn:aws:s3:::${b}/*` }],
  }
  await c.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }))
  await pc.send(new PutObjectCommand({ Bucket: b, Key: 'theirs', Body: 'x' }))
  await pc.send(new PutObjectCommand({ Bucket: b, Key: 'given', Body: 'x', ACL: 'bucket-owner-full-control' }))
  // Above the upstream store's 64 KiB: streamed, its digests learned after the headers left.
  await pc.send(new PutObjectCommand({ Bucket: b, Key: 'big', Body: Buffer.alloc(200 * 1024, 7), ContentLength: 200 * 1024 }))
  const up = await pc.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'parts' }))
  const part = await pc.send(new UploadPartCommand({ Bucket: b, Key: 'parts', UploadId: up.UploadId, PartNumber: 1, Body: 'p' }))
  await pc.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'parts', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  // The same bytes under one key, the partner's first, then the bucket owner's: one ETag, two owners.
  await pc.send(new PutObjectCommand({ Bucket: b, Key: 'same', Body: 'same bytes' }))
  await c.send(new PutObjectCommand({ Bucket: b, Key: 'same', Body: 'same bytes' }))
  await c.send(new PutObjectCommand({ Bucket: b, Key: 'mine', Body: 'mine' }))
  const v2 = (await c.send(new ListObjectsV2Command({ Bucket: b, FetchOwner: true }))).Contents?.map((o) => [o.Key, o.Owner?.ID, o.Owner?.DisplayName])
  const v2bare = (await c.send(new ListObjectsV2Command({ Bucket: b }))).Contents?.map((o) => o.Owner)
  const v1 = (await c.send(new ListObjectsCommand({ Bucket: b }))).Contents?.map((o) => [o.Key, o.Owner?.ID])
  const versions = (await c.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions?.map((v) => [v.Key, v.IsLatest, v.Owner?.ID])
  const acls: string[][] = []
  for (const key of ['big', 'given', 'mine', 'parts', 'same', 'theirs']) {
    // The partner asks: the bucket owner may not read the ACL of an object it does not own.
    acls.push([key, (await pc.send(new GetObjectAclCommand({ Bucket: b, Key: key }))).Owner!.ID!])
  }
  return { v2, v2bare, v1, versions, acls }
}

test('owners in ListObjectsV2 (FetchOwner), ListObjects, ListObjectVersions and GetObjectAcl: the writer under ObjectWriter, the same on RGW as embedded', async () => {
  const me = (await s.client().send(new GetBucketAclCommand({ Bucket: 'doc-example-bucket1' }))).Owner!.ID!
  const pb = bucketName('own-partner')
  await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: pb }))
  const partner = (await s.client(PARTNER_ADMIN).send(new GetBucketAclCommand({ Bucket: pb }))).Owner!.ID!
  assert.notEqual(me, partner)
  for (const versioned of [true, false]) {
    const engine = await ownersAfterWrites('us-east-1', 'ObjectWriter', versioned)
    const embedded = await ownersAfterWrites('us-west-2', 'ObjectWriter', versioned)
    const what = versioned ? 'versioned' : 'unversioned'
    // The expected owners, spelled out (so two stores wrong the same way cannot agree unnoticed).
    const expected: [string, string][] = [
      ['big', partner],
      ['given', partner],
      ['mine', me],
      ['parts', partner],
      ['same', me],
      ['theirs', partner],
    ]
    assert.deepEqual(
      embedded.v1,
      expected.map(([k, o]) => [k, o]),
      `embedded ${what}`,
    )
    assert.deepEqual(engine.v1, embedded.v1, `ListObjects ${what}`)
    assert.deepEqual(engine.v2, embedded.v2, `ListObjectsV2 FetchOwner ${what}`)
    assert.deepEqual(
      engine.v2?.map((o) => o[1]),
      expected.map(([, o]) => o),
      `ListObjectsV2 FetchOwner ${what}`,
    )
    assert.deepEqual(
      engine.v2bare,
      expected.map(() => undefined),
      `ListObjectsV2 without FetchOwner ${what}`,
    )
    assert.deepEqual(engine.versions, embedded.versions, `ListObjectVersions ${what}`)
    assert.deepEqual(engine.acls, embedded.acls, `GetObjectAcl ${what}`)
    assert.deepEqual(engine.acls, expected, `GetObjectAcl ${what}`)
    if (versioned) {
      assert.deepEqual(
        engine.versions?.filter((v) => v[0] === 'same'),
        [
          ['same', true, me],
          ['same', false, partner],
        ],
      )
    }
  }
})

test('BucketOwnerPreferred: the bucket owner owns what was written with bucket-owner-full-control, on RGW as embedded', async () => {
  const engine = await ownersAfterWrites('us-east-1', 'BucketOwnerPreferred', false)
  const embedded = await ownersAfterWrites('us-west-2', 'BucketOwnerPreferred', false)
  const given = engine.v1?.find((o) => o[0] === 'given')
  const theirs = engine.v1?.find((o) => o[0] === 'theirs')
  assert.notEqual(given?.[1], theirs?.[1], 'given is the bucket owner’s, theirs the writer’s')
  assert.deepEqual(engine, embedded)
})

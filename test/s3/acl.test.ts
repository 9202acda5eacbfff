/**
 * ACLs: Put/GetBucketAcl, Put/GetObjectAcl (canned, x-amz-grant-* headers, AccessControlPolicy XML;
 * grantees by canonical id, email address and group URI), ACLs on PutObject, CopyObject and
 * CreateMultipartUpload, object owners under each Object Ownership setting, BlockPublicAcls, the
 * BucketOwnerEnforced refusals, with the JS SDK and the AWS CLI, directly and through an MRAP.
 * AWS: "Access control list (ACL) overview" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html),
 * "Controlling ownership of objects and disabling ACLs for your bucket"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html), "Troubleshooting"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html), "Blocking
 * public access to your Amazon S3 storage" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  type Grant,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { PARTNER_ACCOUNT, SEED_ACCOUNT } from '../helpers/accounts.js'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, failure, PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery'
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers'
const PARTNER_EMAIL = 'partner-root@example.com'

const shape = (grants: Grant[] | undefined) => (grants ?? []).map((g) => `${g.Grantee?.Type}:${g.Grantee?.URI ?? g.Grantee?.ID}:${g.Permission}`).sort()

describe('ACLs', () => {
  let s: TestServer
  let cli: CliSandbox
  let me: string
  let partner: string
  before(async () => {
    const world = testWorld()
    world.accounts.find((a) => a.id === PARTNER_ACCOUNT)!.email = PARTNER_EMAIL
    s = await startTestServer({ world })
    cli = new CliSandbox('mrap-acl')
    const b = bucketName('acl-ids')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    me = (await s.client().send(new GetBucketAclCommand({ Bucket: b }))).Owner!.ID!
    const pb = bucketName('acl-ids-p')
    await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: pb }))
    partner = (await s.client(PARTNER_ADMIN).send(new GetBucketAclCommand({ Bucket: pb }))).Owner!.ID!
  })
  after(async () => {
    await s.stop()
    cli.dispose()
  })
  const aws = (args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env: cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true }) })

  /** A bucket with ACLs enabled (ObjectWriter) and, unless kept, no Block Public Access. */
  async function aclBucket(prefix: string, opts: { ownership?: 'ObjectWriter' | 'BucketOwnerPreferred'; keepBpa?: boolean } = {}): Promise<string> {
    const b = bucketName(prefix)
    await s.client().send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: opts.ownership ?? 'ObjectWriter' }))
    if (!opts.keepBpa) await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: b }))
    return b
  }

  test('BucketOwnerEnforced: reads show the owner FULL_CONTROL, ACL writes other than the owner-only one are AccessControlListNotSupported', async () => {
    const c = s.client()
    const b = bucketName('acl-enf')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    await c.send(new DeletePublicAccessBlockCommand({ Bucket: b }))
    assert.deepEqual(shape((await c.send(new GetBucketAclCommand({ Bucket: b }))).Grants), [`CanonicalUser:${me}:FULL_CONTROL`])
    for (const attempt of [
      () => c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })),
      () => c.send(new PutBucketAclCommand({ Bucket: b, GrantRead: `id="${partner}"` })),
      () => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'public-read' })),
      () => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'private' })),
      () => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', GrantRead: 'id="0000"' })),
      () => c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k', GrantFullControl: `id="${partner}"` })),
    ]) {
      const e = await failure(attempt)
      assert.equal(e.name, 'AccessControlListNotSupported')
      assert.equal(e.$metadata.httpStatusCode, 400)
      assert.equal(e.message, 'The bucket does not allow ACLs')
    }
    await c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }))
    const copy = await failure(() => c.send(new CopyObjectCommand({ Bucket: b, Key: 'k2', CopySource: `${b}/k`, ACL: 'public-read' })))
    assert.equal(copy.name, 'AccessControlListNotSupported')
    assert.equal((await failure(() => c.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'public-read' })))).name, 'AccessControlListNotSupported')
    await c.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'bucket-owner-full-control' }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }))).Grants), [`CanonicalUser:${me}:FULL_CONTROL`])
    assert.equal((await failure(() => c.send(new HeadObjectCommand({ Bucket: b, Key: 'k2' })))).$metadata.httpStatusCode, 404)
  })

  test('PutBucketAcl: canned, grant headers (id, emailAddress, uri) and an XML body; refusals for bad grantees and mixed forms', async () => {
    const c = s.client()
    const b = await aclBucket('acl-bucket')
    await c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'log-delivery-write' as 'private' }))
    assert.deepEqual(shape((await c.send(new GetBucketAclCommand({ Bucket: b }))).Grants), [
      `CanonicalUser:${me}:FULL_CONTROL`,
      `Group:${LOG_DELIVERY}:READ_ACP`,
      `Group:${LOG_DELIVERY}:WRITE`,
    ])
    await c.send(new PutBucketAclCommand({ Bucket: b, GrantFullControl: `id="${me}"`, GrantRead: `emailAddress="${PARTNER_EMAIL}", uri="${ALL_USERS}"` }))
    const got = await c.send(new GetBucketAclCommand({ Bucket: b }))
    assert.deepEqual(shape(got.Grants), [`CanonicalUser:${me}:FULL_CONTROL`, `CanonicalUser:${partner}:READ`, `Group:${ALL_USERS}:READ`])
    // The email grant is answered as the account's canonical user, as S3 answers it.
    assert.equal(got.Owner?.ID, me)
    await c.send(
      new PutBucketAclCommand({
        Bucket: b,
        AccessControlPolicy: { Owner: { ID: me }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: partner }, Permission: 'WRITE' }] },
      }),
    )
    assert.deepEqual(shape((await c.send(new GetBucketAclCommand({ Bucket: b }))).Grants), [`CanonicalUser:${partner}:WRITE`])
    const email = await failure(() => c.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'emailAddress="nobody@example.com"' })))
    assert.equal(email.name, 'UnresolvableGrantByEmailAddress')
    const both = await failure(() => c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private', GrantRead: `id="${partner}"` })))
    assert.equal(both.name, 'InvalidRequest')
    const badId = await failure(() => c.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'id="not-an-id"' })))
    assert.equal(badId.name, 'InvalidArgument')
    const canned = await failure(() => c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'everyone' as 'private' })))
    assert.equal(canned.name, 'InvalidArgument')
    const otherOwner = await failure(() =>
      c.send(
        new PutBucketAclCommand({ Bucket: b, AccessControlPolicy: { Owner: { ID: partner }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: partner }, Permission: 'READ' }] } }),
      ),
    )
    assert.equal(otherOwner.name, 'AccessDenied')
    // None of the refused ones changed the ACL.
    assert.deepEqual(shape((await c.send(new GetBucketAclCommand({ Bucket: b }))).Grants), [`CanonicalUser:${partner}:WRITE`])
  })

  test('object ACLs on PutObject, CopyObject, CreateMultipartUpload and PutObjectAcl; a copy does not carry its source ACL', async () => {
    const c = s.client()
    const b = await aclBucket('acl-obj')
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'x', ACL: 'public-read' }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'p' }))).Grants), [`CanonicalUser:${me}:FULL_CONTROL`, `Group:${ALL_USERS}:READ`])
    await c.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${b}/p` }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'copy' }))).Grants), [`CanonicalUser:${me}:FULL_CONTROL`])
    await c.send(new CopyObjectCommand({ Bucket: b, Key: 'copy2', CopySource: `${b}/p`, GrantReadACP: `id="${partner}"` }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'copy2' }))).Grants), [`CanonicalUser:${partner}:READ_ACP`])
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mpu', ACL: 'authenticated-read' }))
    const part = await c.send(new UploadPartCommand({ Bucket: b, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'parts' }))
    await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mpu', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'mpu' }))).Grants), [
      `CanonicalUser:${me}:FULL_CONTROL`,
      'Group:http://acs.amazonaws.com/groups/global/AuthenticatedUsers:READ',
    ])
    await c.send(new PutObjectAclCommand({ Bucket: b, Key: 'p', ACL: 'private' }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'p' }))).Grants), [`CanonicalUser:${me}:FULL_CONTROL`])
    const missing = await failure(() => c.send(new GetObjectAclCommand({ Bucket: b, Key: 'nope' })))
    assert.equal(missing.name, 'NoSuchKey')
  })

  test("object owners: the writer's account under ObjectWriter, the bucket owner's with bucket-owner-full-control under BucketOwnerPreferred, the same in every listing", async () => {
    const c = s.client()
    const pc = s.client(PARTNER_ADMIN)
    for (const ownership of ['ObjectWriter', 'BucketOwnerPreferred'] as const) {
      const b = await aclBucket('acl-own', { ownership })
      await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${PARTNER_ACCOUNT}:root` },
            Action: ['s3:PutObject', 's3:PutObjectAcl', 's3:GetObjectAcl'],
            Resource: `arn:aws:s3:::${b}/*`,
          },
        ],
      }
      await c.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }))
      await pc.send(new PutObjectCommand({ Bucket: b, Key: 'theirs', Body: 'x' }))
      await pc.send(new PutObjectCommand({ Bucket: b, Key: 'given', Body: 'x', ACL: 'bucket-owner-full-control' }))
      await pc.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'open' }))
      const theirs = await pc.send(new GetObjectAclCommand({ Bucket: b, Key: 'theirs' }))
      assert.equal(theirs.Owner?.ID, partner, ownership)
      const given = await pc.send(new GetObjectAclCommand({ Bucket: b, Key: 'given' }))
      const givenOwner = ownership === 'ObjectWriter' ? partner : me
      assert.equal(given.Owner?.ID, givenOwner, ownership)
      assert.ok(
        given.Grants?.some((g) => g.Grantee?.ID === me && g.Permission === 'FULL_CONTROL'),
        ownership,
      )
      const owners = (await c.send(new ListObjectsV2Command({ Bucket: b, FetchOwner: true }))).Contents?.map((o) => [o.Key, o.Owner?.ID, o.Owner?.DisplayName])
      assert.deepEqual(owners, [
        ['given', givenOwner, givenOwner === me ? SEED_ACCOUNT : PARTNER_ACCOUNT],
        ['theirs', partner, PARTNER_ACCOUNT],
      ])
      const versions = (await c.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions?.map((v) => [v.Key, v.Owner?.ID])
      assert.deepEqual(versions, [
        ['given', givenOwner],
        ['theirs', partner],
      ])
      const uploads = (await c.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads?.map((u) => [u.Owner?.ID, u.Initiator?.ID])
      assert.deepEqual(uploads, [[partner, partner]])
    }
  })

  test('Block Public Access: BlockPublicAcls refuses public ACLs on PutBucketAcl, PutObjectAcl and PutObject with AccessDenied; private ones pass', async () => {
    const c = s.client()
    const b = await aclBucket('acl-bpa', { keepBpa: true })
    for (const attempt of [
      () => c.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })),
      () => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'public-read-write' })),
      () => c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', GrantRead: `uri="${ALL_USERS}"` })),
    ]) {
      const e = await failure(attempt)
      assert.equal(e.name, 'AccessDenied')
      assert.equal(e.$metadata.httpStatusCode, 403)
    }
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', GrantRead: `id="${partner}"` }))
    assert.equal((await failure(() => c.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'authenticated-read' })))).name, 'AccessDenied')
    await c.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: true } }))
    await c.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'authenticated-read' }))
    assert.deepEqual(shape((await c.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }))).Grants), [
      `CanonicalUser:${me}:FULL_CONTROL`,
      'Group:http://acs.amazonaws.com/groups/global/AuthenticatedUsers:READ',
    ])
  })

  test('AWS CLI: put-bucket-acl, get-bucket-acl, put-object --acl, put-object-acl --grant-read, get-object-acl, and a refusal', async () => {
    const b = await aclBucket('acl-cli')
    const put = await aws(['s3api', 'put-bucket-acl', '--bucket', b, '--grant-read', `id=${partner}`, '--grant-full-control', `id=${me}`])
    assert.equal(put.code, 0, put.stderr)
    const got = cliJson((await aws(['s3api', 'get-bucket-acl', '--bucket', b])).stdout)
    assert.equal(got.Owner.ID, me)
    assert.deepEqual(got.Grants.map((g: Grant) => `${g.Grantee?.ID}:${g.Permission}`).sort(), [`${me}:FULL_CONTROL`, `${partner}:READ`].sort())
    const file = cli.write('body.txt', 'cli body')
    const obj = await aws(['s3api', 'put-object', '--bucket', b, '--key', 'o', '--body', file, '--acl', 'public-read'])
    assert.equal(obj.code, 0, obj.stderr)
    const pa = await aws(['s3api', 'put-object-acl', '--bucket', b, '--key', 'o', '--grant-read', `emailaddress=${PARTNER_EMAIL}`])
    assert.equal(pa.code, 0, pa.stderr)
    const oacl = cliJson((await aws(['s3api', 'get-object-acl', '--bucket', b, '--key', 'o'])).stdout)
    assert.deepEqual(
      oacl.Grants.map((g: Grant) => `${g.Grantee?.Type}:${g.Grantee?.ID}:${g.Permission}`),
      [`CanonicalUser:${partner}:READ`],
    )
    const bad = await aws(['s3api', 'put-object-acl', '--bucket', b, '--key', 'o', '--grant-read', 'emailaddress=nobody@example.com'])
    assert.equal(cliErrorCode(bad), 'UnresolvableGrantByEmailAddress')
    const enforced = bucketName('acl-cli-enf')
    await s.client().send(new CreateBucketCommand({ Bucket: enforced }))
    const refused = await aws(['s3api', 'put-bucket-acl', '--bucket', enforced, '--acl', 'public-read'])
    assert.equal(cliErrorCode(refused), 'AccessControlListNotSupported')
  })

  test("through a Multi-Region Access Point: Get/PutObjectAcl work, the MRAP's BlockPublicAcls refuses a public one, GetBucketAcl is not served", async () => {
    const b = await aclBucket('acl-mrap')
    const alias = s.services.mraps.newAlias()
    const mrap = (bpa: boolean) =>
      s.services.mraps.put({
        name: 'acl-mrap',
        alias,
        owner: SEED_ACCOUNT,
        createdAt: new Date().toISOString(),
        status: 'READY',
        publicAccessBlock: { BlockPublicAcls: bpa, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
        regions: [{ bucket: b, bucketAccountId: SEED_ACCOUNT, region: 'us-east-1', trafficDialPercentage: 100 }],
      })
    mrap(false)
    const arn = mrapArnOf(SEED_ACCOUNT, alias)
    const mc = proxiedS3Client(s)
    await mc.send(new PutObjectCommand({ Bucket: arn, Key: 'm', Body: 'x' }))
    await mc.send(new PutObjectAclCommand({ Bucket: arn, Key: 'm', GrantRead: `id="${partner}"` }))
    assert.deepEqual(shape((await mc.send(new GetObjectAclCommand({ Bucket: arn, Key: 'm' }))).Grants), [`CanonicalUser:${partner}:READ`])
    await mc.send(new PutObjectAclCommand({ Bucket: arn, Key: 'm', ACL: 'public-read' }))
    mrap(true)
    const blocked = await failure(() => mc.send(new PutObjectAclCommand({ Bucket: arn, Key: 'm', ACL: 'public-read-write' })))
    assert.equal(blocked.name, 'AccessDenied')
    // The same ACL directly on the bucket, whose own Block Public Access is off, is accepted.
    await s.client().send(new PutObjectAclCommand({ Bucket: b, Key: 'm', ACL: 'public-read-write' }))
    const bucketAcl = await failure(() => mc.send(new GetBucketAclCommand({ Bucket: arn })))
    assert.notEqual(bucketAcl.$metadata.httpStatusCode, 200)
  })
})

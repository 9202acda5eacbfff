/**
 * ACLs in authorization, where the bucket's Object Ownership enables them: a grant allows like a
 * resource-policy statement (the ACL overview's permission mapping), an account grant is the
 * resource side another account's identity policy still has to match, group grants are public and
 * IgnorePublicAcls drops them, objects another account owns are out of the bucket owner's reach,
 * and the s3:x-amz-acl condition key. With the JS SDK, raw anonymous requests and the AWS CLI.
 * AWS: "Access control list (ACL) overview" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html),
 * "Blocking public access to your Amazon S3 storage"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html),
 * "How Amazon S3 authorizes a request for an object operation"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetObjectCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3'
import { PARTNER_ACCOUNT } from '../helpers/accounts.js'
import { CliSandbox, cliErrorCode, runAws } from '../helpers/aws-cli.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, PARTNER, PARTNER_ADMIN, READER, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

describe('ACLs in authorization', () => {
  let s: TestServer
  let cli: CliSandbox
  let partner: string
  before(async () => {
    s = await startTestServer()
    cli = new CliSandbox('mrap-acl-authz')
    const pb = bucketName('authz-ids')
    await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: pb }))
    partner = (await s.client(PARTNER_ADMIN).send(new GetBucketAclCommand({ Bucket: pb }))).Owner!.ID!
  })
  after(async () => {
    await s.stop()
    cli.dispose()
  })
  const anonymousGet = (b: string, key: string) => rawRequest(s.endpoint, { method: 'GET', path: `/${b}/${key}`, creds: null })

  async function aclBucket(prefix: string): Promise<string> {
    const b = bucketName(prefix)
    await s.client().send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' }))
    await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: b }))
    return b
  }

  test('a READ grant to another account lets its identity-allowed principals read; its principals without an identity allow are still refused', async () => {
    const b = await aclBucket('authz-grant')
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'granted bytes' }))
    const before = await failure(() => s.client(PARTNER_ADMIN).send(new GetObjectCommand({ Bucket: b, Key: 'doc' })))
    assert.equal(before.name, 'AccessDenied')
    await s.client().send(new PutObjectAclCommand({ Bucket: b, Key: 'doc', GrantRead: `id="${partner}"` }))
    const got = await s.client(PARTNER_ADMIN).send(new GetObjectCommand({ Bucket: b, Key: 'doc' }))
    assert.equal(await got.Body!.transformToString(), 'granted bytes')
    // `partner` (same account) has no identity policy for this bucket: cross-account needs both sides.
    const noIdentity = await failure(() => s.client(PARTNER).send(new GetObjectCommand({ Bucket: b, Key: 'doc' })))
    assert.equal(noIdentity.name, 'AccessDenied')
    // READ is not READ_ACP, nor WRITE.
    assert.equal((await failure(() => s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'x' })))).name, 'AccessDenied')
    // The AWS CLI, as the partner's administrator.
    const env = cli.env({ credentials: PARTNER_ADMIN, region: 'us-east-1', direct: true })
    const out = cli.dir + '/doc.out'
    const r = await runAws(['--endpoint-url', s.endpoint, 's3api', 'get-object', '--bucket', b, '--key', 'doc', out], { env })
    assert.equal(r.code, 0, r.stderr)
    const denied = await runAws(['--endpoint-url', s.endpoint, 's3api', 'get-object-acl', '--bucket', b, '--key', 'doc'], { env })
    assert.equal(cliErrorCode(denied), 'AccessDenied')
  })

  test('a bucket WRITE grant lets another account put objects (which it then owns)', async () => {
    const b = await aclBucket('authz-write')
    const refused = await failure(() => s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'in', Body: 'x' })))
    assert.equal(refused.name, 'AccessDenied')
    await s.client().send(new PutBucketAclCommand({ Bucket: b, GrantWrite: `id="${partner}"` }))
    await s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'in', Body: 'x' }))
    // The object is the partner's: the bucket owner's administrator cannot read it without a grant.
    const foreign = await failure(() => s.client().send(new GetObjectCommand({ Bucket: b, Key: 'in' })))
    assert.equal(foreign.name, 'AccessDenied')
    // Nor copy it (the copy source is judged with its ACL as a GetObject is).
    const copied = await failure(() => s.client().send(new CopyObjectCommand({ Bucket: b, Key: 'stolen', CopySource: `${b}/in` })))
    assert.equal(copied.name, 'AccessDenied')
    await s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'shared', Body: 'y', ACL: 'bucket-owner-read' }))
    assert.equal(await (await s.client().send(new GetObjectCommand({ Bucket: b, Key: 'shared' }))).Body!.transformToString(), 'y')
  })

  test('an AllUsers READ grant lets anonymous callers read; IgnorePublicAcls stops it; a grant to the owner account gives its users nothing alone', async () => {
    const b = await aclBucket('authz-public')
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'public bytes', ACL: 'public-read' }))
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'priv', Body: 'private bytes' }))
    const ok = await anonymousGet(b, 'pub')
    assert.equal(ok.status, 200)
    assert.equal(ok.body, 'public bytes')
    const priv = await anonymousGet(b, 'priv')
    assert.equal(priv.status, 403)
    // The owner's FULL_CONTROL grant is to the account: the reader (no identity policy) is refused.
    assert.equal((await failure(() => s.client(READER).send(new GetObjectCommand({ Bucket: b, Key: 'priv' })))).name, 'AccessDenied')
    // ...while AllUsers includes it.
    assert.equal(await (await s.client(READER).send(new GetObjectCommand({ Bucket: b, Key: 'pub' }))).Body!.transformToString(), 'public bytes')
    await s.client().send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }))
    const ignored = await anonymousGet(b, 'pub')
    assert.equal(ignored.status, 403)
    assert.equal(codeOf(ignored.body), 'AccessDenied')
    assert.equal((await failure(() => s.client(READER).send(new GetObjectCommand({ Bucket: b, Key: 'pub' })))).name, 'AccessDenied')
    await s.client().send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { IgnorePublicAcls: false } }))
    assert.equal((await anonymousGet(b, 'pub')).status, 200)
    // A bucket READ grant to AllUsers lists it anonymously.
    assert.equal((await rawRequest(s.endpoint, { method: 'GET', path: `/${b}`, creds: null })).status, 403)
    await s.client().send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }))
    const listed = await rawRequest(s.endpoint, { method: 'GET', path: `/${b}`, creds: null })
    assert.equal(listed.status, 200)
    assert.match(listed.body, /<Key>pub<\/Key>/)
  })

  test('ACLs take no part on a BucketOwnerEnforced bucket: an ACL set before the switch stops granting', async () => {
    const b = await aclBucket('authz-enforce')
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'x', ACL: 'public-read' }))
    assert.equal((await anonymousGet(b, 'pub')).status, 200)
    await s.client().send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }))
    assert.equal((await anonymousGet(b, 'pub')).status, 403)
  })

  test('the s3:x-amz-acl condition key: a bucket policy that requires bucket-owner-full-control', async () => {
    const b = await aclBucket('authz-cond')
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${PARTNER_ACCOUNT}:root` },
          Action: 's3:PutObject',
          Resource: `arn:aws:s3:::${b}/*`,
          Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
        },
      ],
    }
    await s.client().send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }))
    const bare = await failure(() => s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' })))
    assert.equal(bare.name, 'AccessDenied')
    await s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }))
    assert.equal(await (await s.client().send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'x')
  })
})

describe("the account's Block Public Access applies to ACLs too", () => {
  test('account IgnorePublicAcls drops a public grant; account BlockPublicAcls refuses a public ACL', async () => {
    const world = testWorld()
    world.accounts.find((a) => a.id === '123456789012')!.blockPublicAccess = {
      BlockPublicAcls: false,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    }
    const s = await startTestServer({ world })
    try {
      const b = bucketName('authz-acct')
      await s.client().send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' }))
      await s.client().send(new DeletePublicAccessBlockCommand({ Bucket: b }))
      await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'x', ACL: 'public-read' }))
      assert.equal((await rawRequest(s.endpoint, { method: 'GET', path: `/${b}/pub`, creds: null })).status, 403)
    } finally {
      await s.stop()
    }
    world.accounts.find((a) => a.id === '123456789012')!.blockPublicAccess = {
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    }
    const s2 = await startTestServer({ world })
    try {
      const b = bucketName('authz-acct2')
      await s2.client().send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' }))
      await s2.client().send(new DeletePublicAccessBlockCommand({ Bucket: b }))
      const e = await failure(() => s2.client().send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'x', ACL: 'public-read' })))
      assert.equal(e.name, 'AccessDenied')
      await s2.client().send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'x' }))
      assert.equal((await rawRequest(s2.endpoint, { method: 'GET', path: `/${b}/pub`, creds: null })).status, 403)
    } finally {
      await s2.stop()
    }
  })
})

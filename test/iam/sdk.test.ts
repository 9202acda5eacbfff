/**
 * IAM and STS through the JS SDK v3 against an in-process server: users, keys and policies, a
 * cross-account role assumed and its temporary credentials used on a bucket, and the refusals
 * (AccessDenied, ValidationError, revoked and expired keys).
 *
 * The MRAP half of "use the temporary credentials on an MRAP" belongs to the MRAP data-plane tests
 * (test/mrap/): the credentials here are ordinary KeyRecords, the same ones the MRAP path looks up.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetRoleCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { ADMIN, bucketName, failure, PARTNER_ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

let server: TestServer
/** The server's clock runs `offset` ms ahead of the wall clock; clients sign with the same offset. */
let offset = 0

const iam = (creds: Creds) => new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1, systemClockOffset: offset })
const sts = (creds: Creds) => new STSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1, systemClockOffset: offset })
const s3 = (creds: Creds) => server.client(creds as never, 'us-east-1', { systemClockOffset: offset })

async function newUser(admin: Creds, name: string, policy?: object): Promise<Creds> {
  await iam(admin).send(new CreateUserCommand({ UserName: name }))
  if (policy) await iam(admin).send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) }))
  const k = await iam(admin).send(new CreateAccessKeyCommand({ UserName: name }))
  return { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! }
}

before(async () => {
  server = await startTestServer({ clock: () => new Date(Date.now() + offset) })
})
after(async () => {
  await server.stop()
})

describe('IAM through the SDK', () => {
  test('admin creates a user, a key and a managed policy; the user can do what the policy allows and nothing else', async () => {
    const bucket = bucketName('iam')
    await s3(ADMIN).send(new CreateBucketCommand({ Bucket: bucket }))
    await s3(ADMIN).send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'hello' }))

    const user = await iam(ADMIN).send(new CreateUserCommand({ UserName: 'alice', Tags: [{ Key: 'team', Value: 'blue' }] }))
    assert.equal(user.User?.Arn, 'arn:aws:iam::123456789012:user/alice')
    assert.match(user.User?.UserId ?? '', /^AIDA[A-Z2-7]{17}$/)
    const key = await iam(ADMIN).send(new CreateAccessKeyCommand({ UserName: 'alice' }))
    assert.match(key.AccessKey?.AccessKeyId ?? '', /^AKIA[A-Z2-7]{16}$/)
    assert.equal(key.AccessKey?.SecretAccessKey?.length, 40)
    const alice = { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! }

    // Before any grant: nothing.
    assert.equal((await failure(() => s3(alice).send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' })))).name, 'AccessDenied')

    const policy = await iam(ADMIN).send(
      new CreatePolicyCommand({
        PolicyName: 'read-one-bucket',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${bucket}/*` },
            { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: `arn:aws:s3:::${bucket}` },
          ],
        }),
      }),
    )
    assert.equal(policy.Policy?.Arn, 'arn:aws:iam::123456789012:policy/read-one-bucket')
    await iam(ADMIN).send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: policy.Policy!.Arn! }))

    const got = await s3(alice).send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }))
    assert.equal(await got.Body?.transformToString(), 'hello')
    const listed = await s3(alice).send(new ListObjectsV2Command({ Bucket: bucket }))
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['hello.txt'],
    )
    assert.equal((await failure(() => s3(alice).send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' })))).name, 'AccessDenied')
    // IAM itself is authorized too: alice has no iam:* grant.
    const denied = await failure(() => iam(alice).send(new ListUsersCommand({})))
    assert.equal(denied.name, 'AccessDenied')
    assert.match(denied.message, /user\/alice is not authorized to perform: iam:ListUsers/)

    const me = await sts(alice).send(new GetCallerIdentityCommand({}))
    assert.equal(me.Arn, 'arn:aws:iam::123456789012:user/alice')
    assert.equal(me.Account, '123456789012')
    assert.equal(me.UserId, user.User?.UserId)

    const keys = await iam(ADMIN).send(new ListAccessKeysCommand({ UserName: 'alice' }))
    assert.deepEqual(
      keys.AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status]),
      [[alice.accessKeyId, 'Active']],
    )
    assert.equal((keys.AccessKeyMetadata![0] as unknown as Record<string, unknown>).SecretAccessKey, undefined)
  })

  test('inline, group and boundary policies combine as IAM combines them', async () => {
    const bucket = bucketName('grp')
    await s3(ADMIN).send(new CreateBucketCommand({ Bucket: bucket }))
    const bob = await newUser(ADMIN, 'bob')
    await iam(ADMIN).send(new CreateGroupCommand({ GroupName: 'writers' }))
    await iam(ADMIN).send(
      new PutGroupPolicyCommand({
        GroupName: 'writers',
        PolicyName: 'w',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }),
      }),
    )
    assert.equal((await failure(() => s3(bob).send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' })))).name, 'AccessDenied')
    await iam(ADMIN).send(new AddUserToGroupCommand({ GroupName: 'writers', UserName: 'bob' }))
    await s3(bob).send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }))
    // A boundary that allows only reads caps the group's s3:*.
    const boundary = await iam(ADMIN).send(
      new CreatePolicyCommand({
        PolicyName: 'read-only-boundary',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    )
    await iam(ADMIN).send(new PutUserPermissionsBoundaryCommand({ UserName: 'bob', PermissionsBoundary: boundary.Policy!.Arn! }))
    assert.equal((await failure(() => s3(bob).send(new PutObjectCommand({ Bucket: bucket, Key: 'k2', Body: 'v' })))).name, 'AccessDenied')
    const got = await s3(bob).send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
    assert.equal(await got.Body?.transformToString(), 'v')
    const u = await iam(ADMIN).send(new GetUserCommand({ UserName: 'bob' }))
    assert.equal(u.User?.PermissionsBoundary?.PermissionsBoundaryArn, boundary.Policy!.Arn)
  })

  test('IAM errors: EntityAlreadyExists, NoSuchEntity, MalformedPolicyDocument, DeleteConflict, AccessDenied', async () => {
    await iam(ADMIN).send(new CreateUserCommand({ UserName: 'carol' }))
    const dup = await failure(() => iam(ADMIN).send(new CreateUserCommand({ UserName: 'CAROL' })))
    assert.equal(dup.name, 'EntityAlreadyExistsException') // the SDK's name for IAM's EntityAlreadyExists
    assert.equal(dup.$metadata.httpStatusCode, 409)
    const missing = await failure(() => iam(ADMIN).send(new GetUserCommand({ UserName: 'nobody' })))
    assert.equal(missing.name, 'NoSuchEntityException')
    assert.equal(missing.$metadata.httpStatusCode, 404)
    assert.match(missing.message, /The user with name nobody cannot be found/)
    const bad = await failure(() =>
      iam(ADMIN).send(
        new PutUserPolicyCommand({ UserName: 'carol', PolicyName: 'p', PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}' }),
      ),
    )
    assert.equal(bad.name, 'MalformedPolicyDocumentException')
    assert.match(bad.message, /Resource/)
    await iam(ADMIN).send(
      new PutUserPolicyCommand({
        UserName: 'carol',
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    )
    const doc = await iam(ADMIN).send(new GetUserPolicyCommand({ UserName: 'carol', PolicyName: 'p' }))
    assert.equal(JSON.parse(decodeURIComponent(doc.PolicyDocument!)).Statement[0].Action, 's3:GetObject')
    assert.equal((await failure(() => iam(ADMIN).send(new DeleteUserCommand({ UserName: 'carol' })))).name, 'DeleteConflictException')
    const denied = await failure(() => iam(READER).send(new CreateUserCommand({ UserName: 'mallory' })))
    assert.equal(denied.name, 'AccessDenied')
    assert.equal(denied.$metadata.httpStatusCode, 403)
  })
})

describe('STS through the SDK', () => {
  const partnerBucket = bucketName('partner')
  let dave: Creds
  const roleArn = 'arn:aws:iam::444455556666:role/cross-reader'

  before(async () => {
    // 444455556666 owns a bucket and a role that trusts account 123456789012.
    await s3(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: partnerBucket }))
    await s3(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: partnerBucket, Key: 'shared.txt', Body: 'from partner' }))
    const role = await iam(PARTNER_ADMIN).send(
      new CreateRoleCommand({
        RoleName: 'cross-reader',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
    assert.equal(role.Role?.Arn, roleArn)
    await iam(PARTNER_ADMIN).send(
      new PutRolePolicyCommand({
        RoleName: 'cross-reader',
        PolicyName: 'bucket',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${partnerBucket}/*` }],
        }),
      }),
    )
    // In 123456789012, dave may assume it (cross-account: his own policy must allow it too).
    dave = await newUser(ADMIN, 'dave', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }] })
  })

  test('a cross-account role is assumed and its temporary credentials work on the bucket', async () => {
    const r = await sts(dave).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'dave-session', DurationSeconds: 1800 }))
    const c = r.Credentials!
    assert.match(c.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/)
    assert.ok(c.SessionToken && c.SessionToken.length > 100)
    const lifetime = c.Expiration!.getTime() - Date.now() - offset
    assert.ok(lifetime > 1790_000 && lifetime <= 1801_000, `expires in ${lifetime} ms`)
    assert.equal(r.AssumedRoleUser?.Arn, 'arn:aws:sts::444455556666:assumed-role/cross-reader/dave-session')
    const temp = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }

    const me = await sts(temp).send(new GetCallerIdentityCommand({}))
    assert.equal(me.Arn, 'arn:aws:sts::444455556666:assumed-role/cross-reader/dave-session')
    assert.equal(me.Account, '444455556666')
    assert.match(me.UserId!, /^AROA[A-Z2-7]{17}:dave-session$/)

    const got = await s3(temp).send(new GetObjectCommand({ Bucket: partnerBucket, Key: 'shared.txt' }))
    assert.equal(await got.Body?.transformToString(), 'from partner')
    await s3(temp).send(new PutObjectCommand({ Bucket: partnerBucket, Key: 'from-dave.txt', Body: 'hi' }))
    // The role grants nothing on the listing, nor anywhere else.
    assert.equal((await failure(() => s3(temp).send(new ListObjectsV2Command({ Bucket: partnerBucket })))).name, 'AccessDenied')
    // Without the token the temporary key id is unknown.
    const noToken = await failure(() =>
      s3({ accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey }).send(new GetObjectCommand({ Bucket: partnerBucket, Key: 'shared.txt' })),
    )
    assert.equal(noToken.name, 'InvalidAccessKeyId')
  })

  test("a session policy narrows the session; the trust policy and the caller's identity both decide", async () => {
    const r = await sts(dave).send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'narrow',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    )
    assert.ok((r.PackedPolicySize ?? 0) > 0)
    const temp = { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken! }
    await s3(temp).send(new GetObjectCommand({ Bucket: partnerBucket, Key: 'shared.txt' }))
    assert.equal((await failure(() => s3(temp).send(new PutObjectCommand({ Bucket: partnerBucket, Key: 'nope', Body: 'x' })))).name, 'AccessDenied')

    // reader is in the trusted account but has no identity grant: cross-account needs both sides.
    const denied = await failure(() => sts(READER).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's1' })))
    assert.equal(denied.name, 'AccessDenied')
    assert.match(denied.message, /not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role\/cross-reader/)
    // A role that does not exist looks the same as one that does not trust you.
    assert.equal((await failure(() => sts(dave).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::444455556666:role/none', RoleSessionName: 's1' })))).name, 'AccessDenied')
    // Session tags need sts:TagSession in the trust policy.
    assert.equal((await failure(() => sts(dave).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's2', Tags: [{ Key: 'k', Value: 'v' }] })))).name, 'AccessDenied')
    const tooLong = await failure(() => sts(dave).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's3', DurationSeconds: 7200 })))
    assert.equal(tooLong.name, 'ValidationError')
    assert.match(tooLong.message, /MaxSessionDuration/)
    assert.equal((await failure(() => sts(dave).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's4', DurationSeconds: 60 })))).name, 'ValidationError')
  })

  test('a same-account trust naming the user directly needs no identity grant', async () => {
    await iam(ADMIN).send(
      new CreateRoleCommand({
        RoleName: 'reader-role',
        MaxSessionDuration: 7200,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/reader' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
        }),
      }),
    )
    const r = await sts(READER).send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/reader-role', RoleSessionName: 'r1', DurationSeconds: 7200, Tags: [{ Key: 'project', Value: 'mrap' }] }),
    )
    assert.equal(r.AssumedRoleUser?.Arn, 'arn:aws:sts::123456789012:assumed-role/reader-role/r1')
    const role = await iam(ADMIN).send(new GetRoleCommand({ RoleName: 'reader-role' }))
    assert.equal(role.Role?.MaxSessionDuration, 7200)
    assert.equal(JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!)).Statement[0].Principal.AWS, 'arn:aws:iam::123456789012:user/reader')
  })
})

describe('revoked and expired credentials', () => {
  test('an inactive or deleted key is refused: InvalidAccessKeyId (S3), InvalidClientTokenId (IAM, STS)', async () => {
    const erin = await newUser(ADMIN, 'erin', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 'iam:GetUser'], Resource: '*' }] })
    await s3(erin)
      .send(new ListObjectsV2Command({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
      .catch(() => undefined)
    await iam(erin).send(new GetUserCommand({}))
    await iam(ADMIN).send(new UpdateAccessKeyCommand({ UserName: 'erin', AccessKeyId: erin.accessKeyId, Status: 'Inactive' }))
    const s3Err = await failure(() => s3(erin).send(new ListObjectsV2Command({ Bucket: 'DOC-EXAMPLE-BUCKET1' })))
    assert.equal(s3Err.name, 'InvalidAccessKeyId')
    assert.equal(s3Err.$metadata.httpStatusCode, 403)
    assert.equal((await failure(() => iam(erin).send(new GetUserCommand({})))).name, 'InvalidClientTokenId')
    assert.equal((await failure(() => sts(erin).send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId')
    await iam(ADMIN).send(new UpdateAccessKeyCommand({ UserName: 'erin', AccessKeyId: erin.accessKeyId, Status: 'Active' }))
    assert.equal((await sts(erin).send(new GetCallerIdentityCommand({}))).Arn, 'arn:aws:iam::123456789012:user/erin')
    await iam(ADMIN).send(new DeleteAccessKeyCommand({ UserName: 'erin', AccessKeyId: erin.accessKeyId }))
    assert.equal((await failure(() => sts(erin).send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId')
    assert.equal((await failure(() => s3(erin).send(new ListObjectsV2Command({ Bucket: 'DOC-EXAMPLE-BUCKET1' })))).name, 'InvalidAccessKeyId')
  })

  test('temporary credentials expire: ExpiredToken on S3 and STS', async () => {
    const frank = await newUser(ADMIN, 'frank', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: '*' }] })
    await iam(ADMIN).send(
      new CreateRoleCommand({
        RoleName: 'short-lived',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '123456789012' }, Action: 'sts:AssumeRole' }] }),
      }),
    )
    await iam(ADMIN).send(
      new PutRolePolicyCommand({
        RoleName: 'short-lived',
        PolicyName: 'all',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }),
      }),
    )
    const r = await sts(frank).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/short-lived', RoleSessionName: 'brief', DurationSeconds: 900 }))
    const temp = { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken! }
    await s3(temp).send(new ListObjectsV2Command({ Bucket: 'DOC-EXAMPLE-BUCKET1' }))
    offset += 901_000 // 15 minutes and a second later (clients sign in the server's time)
    try {
      const e = await failure(() => s3(temp).send(new ListObjectsV2Command({ Bucket: 'DOC-EXAMPLE-BUCKET1' })))
      assert.equal(e.name, 'ExpiredToken')
      assert.equal(e.$metadata.httpStatusCode, 400)
      assert.equal((await failure(() => sts(temp).send(new GetCallerIdentityCommand({})))).name, 'ExpiredToken')
      // The long-term key of the same user still works.
      assert.equal((await sts(frank).send(new GetCallerIdentityCommand({}))).Arn, 'arn:aws:iam::123456789012:user/frank')
    } finally {
      offset -= 901_000
    }
  })
})

/**
 * Issue 12 items 1–2 end to end: the server's own path into the policy engine (IAM state, bucket
 * policy, request context built from the connection) with the SDK as the client. The rules and
 * their AWS sources are in docs/decisions/policy-evaluation.md and test/fixtures/policy/.
 * - A bucket policy granting the account delegates to identity policies ("AWS JSON policy
 *   elements: Principal", AWS account principals).
 * - A Deny with NotPrincipal denies a principal with a permissions boundary even when it is listed
 *   ("Permissions boundaries for IAM entities").
 * - A grant to Principal "*" does not pass a boundary that does not allow the action.
 * - NotResource with `${aws:username}` for a role session: the entry matches no resource, so the
 *   Deny applies ("IAM policy elements: Variables and tags", policy variables with no value).
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { CreateBucketCommand, DeletePublicAccessBlockCommand, GetObjectCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
const ACCOUNT = '123456789012'

let server: TestServer
const iam = () => new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
const s3 = (creds: Creds) => server.client(creds as never)

async function newUser(name: string, policy: object | undefined, boundaryArn?: string): Promise<Creds> {
  await iam().send(new CreateUserCommand({ UserName: name }))
  if (policy) await iam().send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) }))
  if (boundaryArn) await iam().send(new PutUserPermissionsBoundaryCommand({ UserName: name, PermissionsBoundary: boundaryArn }))
  const k = await iam().send(new CreateAccessKeyCommand({ UserName: name }))
  return { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! }
}

async function bucketWith(policy: (bucket: string) => object, keys: string[], opts: { publicPolicy?: boolean } = {}): Promise<string> {
  const bucket = bucketName('pp')
  await s3(ADMIN).send(new CreateBucketCommand({ Bucket: bucket }))
  // New buckets block public policies, as on AWS.
  if (opts.publicPolicy) await s3(ADMIN).send(new DeletePublicAccessBlockCommand({ Bucket: bucket }))
  for (const key of keys) await s3(ADMIN).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))
  await s3(ADMIN).send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy(bucket)) }))
  return bucket
}

const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 200
  } catch (e) {
    return (e as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode ?? 0
  }
}

before(async () => {
  server = await startTestServer()
})
after(async () => {
  await server.stop()
})

test('a bucket policy granting the account does not grant frank, whose only identity Allow is ruled out by NotIpAddress', async () => {
  const bucket = bucketName('pp')
  await s3(ADMIN).send(new CreateBucketCommand({ Bucket: bucket }))
  await s3(ADMIN).send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }))
  const put = await s3(ADMIN).send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }))
  await s3(ADMIN).send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 's3:GetObjectVersion', Resource: `arn:aws:s3:::${bucket}/*` }],
      }),
    }),
  )
  // The test client connects over loopback: this condition rules the Allow out.
  const frank = await newUser('frank', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObjectVersion', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } } }],
  })
  const e = await failure(() => s3(frank).send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: put.VersionId! })))
  assert.equal(e.name, 'AccessDenied')
  assert.equal(e.$metadata.httpStatusCode, 403)
  // Control: an identity Allow that holds gets the same version.
  const grace = await newUser('grace', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObjectVersion', Resource: '*' }] })
  assert.equal(await status(s3(grace).send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: put.VersionId! }))), 200)
})

test('a Deny with NotPrincipal denies the listed user who has a permissions boundary; the listed user without one passes', async () => {
  const bucket = await bucketWith(
    (b) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          NotPrincipal: { AWS: [ACCOUNT, `arn:aws:iam::${ACCOUNT}:user/ivy`, `arn:aws:iam::${ACCOUNT}:user/jack`] },
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${b}/*`,
        },
      ],
    }),
    ['k'],
  )
  const boundary = await iam().send(new CreatePolicyCommand({ PolicyName: 'all-s3', PolicyDocument: JSON.stringify(allowAll) }))
  const ivy = await newUser('ivy', allowAll, boundary.Policy!.Arn!)
  const jack = await newUser('jack', allowAll)
  const e = await failure(() => s3(ivy).send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))
  assert.equal(e.name, 'AccessDenied')
  assert.equal(await status(s3(jack).send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))), 200)
})

test('a grant to Principal "*" does not pass a boundary that leaves the action out', async () => {
  const bucket = await bucketWith(
    (b) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }],
    }),
    ['k'],
    { publicPolicy: true },
  )
  const listOnly = await iam().send(
    new CreatePolicyCommand({
      PolicyName: 'list-only',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }] }),
    }),
  )
  const kim = await newUser('kim', undefined, listOnly.Policy!.Arn!)
  assert.equal((await failure(() => s3(kim).send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))).name, 'AccessDenied')
  // Control: the same grant works for a user of the account without a boundary.
  const lee = await newUser('lee', undefined)
  assert.equal(await status(s3(lee).send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))), 200)
})

test('Deny + NotResource home/${aws:username}/*: a role session (no aws:username) is denied, the user in their home is not', async () => {
  const bucket = await bucketWith(
    (b) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: `arn:aws:s3:::${b}/home/\${aws:username}/*` }],
    }),
    ['home/mia/k', 'home/s1/k'],
  )
  const mia = await newUser('mia', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 'sts:AssumeRole'], Resource: '*' }] })
  assert.equal(await status(s3(mia).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/mia/k' }))), 200)
  await iam().send(
    new CreateRoleCommand({
      RoleName: 'home-reader',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/mia` }, Action: 'sts:AssumeRole' }],
      }),
    }),
  )
  await iam().send(new PutRolePolicyCommand({ RoleName: 'home-reader', PolicyName: 'p', PolicyDocument: JSON.stringify(allowAll) }))
  const sts = new STSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: mia, maxAttempts: 1 })
  const r = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/home-reader`, RoleSessionName: 's1' }))
  const session = { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken! }
  assert.equal((await failure(() => s3(session).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/s1/k' })))).name, 'AccessDenied')
})

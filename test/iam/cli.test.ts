/**
 * IAM and STS with the AWS CLI v2 (Debian's /usr/bin/aws, 2.9.19) against an in-process server:
 * create a user, a key and a managed policy; assume a cross-account role; use the temporary
 * credentials on a bucket; a deactivated key is refused. The CLI runs asynchronously with an
 * isolated environment (temporary HOME, empty config files, no IMDS, no CA bundle).
 */

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { PARTNER_ACCOUNT, SEED_ACCOUNT } from '../helpers/accounts.js'
import { type CliCredentials, type CliResult, CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, bucketName, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

type Creds = CliCredentials

let server: TestServer
let box: CliSandbox
let work: string

async function aws(creds: Creds, args: string[]): Promise<CliResult> {
  const env = box.env({ credentials: creds, region: 'us-east-1', direct: true })
  return runAws(['--endpoint-url', server.endpoint, '--output', 'json', ...args], { env, cwd: work })
}

async function ok(creds: Creds, args: string[]): Promise<Record<string, any>> {
  const r = await aws(creds, args)
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}`)
  return cliJson(r.stdout)
}

function file(name: string, content: object): string {
  return box.fileArg(name, content)
}

before(async () => {
  server = await startTestServer()
  box = new CliSandbox('mrap-iamcli')
  work = box.dir
})

after(async () => {
  await server.stop()
  box.dispose()
})

test('the AWS CLI creates a user, a key and a policy, assumes a cross-account role and uses it on a bucket', async () => {
  const bucket = bucketName('clipartner')
  const roleArn = `arn:aws:iam::${PARTNER_ACCOUNT}:role/cli-cross`

  // 444455556666: a bucket with an object, and a role that 123456789012 may assume.
  await ok(PARTNER_ADMIN, ['s3api', 'create-bucket', '--bucket', bucket])
  writeFileSync(join(work, 'obj.txt'), 'partner data')
  await ok(PARTNER_ADMIN, ['s3api', 'put-object', '--bucket', bucket, '--key', 'obj.txt', '--body', join(work, 'obj.txt')])
  const role = await ok(PARTNER_ADMIN, [
    'iam',
    'create-role',
    '--role-name',
    'cli-cross',
    '--assume-role-policy-document',
    file('trust.json', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${SEED_ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] }),
  ])
  assert.equal(role.Role.Arn, roleArn)
  // botocore decodes IAM's URL-encoded policy documents: the CLI shows JSON.
  assert.equal(role.Role.AssumeRolePolicyDocument.Statement[0].Action, 'sts:AssumeRole')
  await ok(PARTNER_ADMIN, [
    'iam',
    'put-role-policy',
    '--role-name',
    'cli-cross',
    '--policy-name',
    'read',
    '--policy-document',
    file('role-policy.json', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] }),
  ])

  // 123456789012: a user with a key and a managed policy that lets it assume the role.
  const user = await ok(ADMIN, ['iam', 'create-user', '--user-name', 'cli-alice'])
  assert.equal(user.User.Arn, `arn:aws:iam::${SEED_ACCOUNT}:user/cli-alice`)
  const key = await ok(ADMIN, ['iam', 'create-access-key', '--user-name', 'cli-alice'])
  const alice: Creds = { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey }
  const policy = await ok(ADMIN, [
    'iam',
    'create-policy',
    '--policy-name',
    'cli-assume',
    '--policy-document',
    file('assume.json', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }] }),
  ])
  assert.equal(policy.Policy.Arn, `arn:aws:iam::${SEED_ACCOUNT}:policy/cli-assume`)
  await ok(ADMIN, ['iam', 'attach-user-policy', '--user-name', 'cli-alice', '--policy-arn', policy.Policy.Arn])
  const attached = await ok(ADMIN, ['iam', 'list-attached-user-policies', '--user-name', 'cli-alice'])
  assert.deepEqual(attached.AttachedPolicies, [{ PolicyName: 'cli-assume', PolicyArn: policy.Policy.Arn }])

  assert.equal((await ok(alice, ['sts', 'get-caller-identity'])).Arn, `arn:aws:iam::${SEED_ACCOUNT}:user/cli-alice`)
  // alice's own key reads nothing in the partner's bucket.
  const direct = await aws(alice, ['s3api', 'get-object', '--bucket', bucket, '--key', 'obj.txt', join(work, 'direct.txt')])
  assert.notEqual(direct.code, 0)
  assert.match(direct.stderr, /AccessDenied/)

  const assumed = await ok(alice, ['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'cli-session', '--duration-seconds', '900'])
  assert.match(assumed.Credentials.AccessKeyId, /^ASIA/)
  assert.equal(assumed.AssumedRoleUser.Arn, `arn:aws:sts::${PARTNER_ACCOUNT}:assumed-role/cli-cross/cli-session`)
  const temp: Creds = { accessKeyId: assumed.Credentials.AccessKeyId, secretAccessKey: assumed.Credentials.SecretAccessKey, sessionToken: assumed.Credentials.SessionToken }
  assert.equal((await ok(temp, ['sts', 'get-caller-identity'])).Arn, `arn:aws:sts::${PARTNER_ACCOUNT}:assumed-role/cli-cross/cli-session`)
  await ok(temp, ['s3api', 'get-object', '--bucket', bucket, '--key', 'obj.txt', join(work, 'got.txt')])
  assert.equal(readFileSync(join(work, 'got.txt'), 'utf8'), 'partner data')
  const put = await aws(temp, ['s3api', 'put-object', '--bucket', bucket, '--key', 'no.txt', '--body', join(work, 'obj.txt')])
  assert.notEqual(put.code, 0)
  assert.match(put.stderr, /AccessDenied/)

  // Deactivated: refused by IAM/STS (InvalidClientTokenId) and S3 (InvalidAccessKeyId).
  await ok(ADMIN, ['iam', 'update-access-key', '--user-name', 'cli-alice', '--access-key-id', alice.accessKeyId, '--status', 'Inactive'])
  const off = await aws(alice, ['sts', 'get-caller-identity'])
  assert.notEqual(off.code, 0)
  assert.match(off.stderr, /InvalidClientTokenId/)
  const offS3 = await aws(alice, ['s3api', 'list-objects-v2', '--bucket', bucket])
  assert.match(offS3.stderr, /InvalidAccessKeyId/)
})

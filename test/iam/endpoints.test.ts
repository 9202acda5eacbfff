/**
 * IAM and STS on their AWS host names (as a client reaching the server through DNS or a proxy
 * would send them): IAM is global and signs in us-east-1; STS is global (`sts.amazonaws.com`)
 * and regional (`sts.<region>.amazonaws.com`, whose tokens AWS recommends, e.g. for SigV4A), each
 * requiring its own region in the credential scope. Unsigned calls are refused.
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { CreateRoleCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { codeOf, send } from '../helpers/raw.js'
import { ADMIN, failure, startTestServer, type TestServer } from '../helpers/server.js'

let server: TestServer
before(async () => {
  server = await startTestServer()
})
after(async () => {
  await server.stop()
})

/** A client that talks to the server but names `host` in the (signed) Host header. */
function onHost<T extends STSClient | IAMClient>(client: T, host: string): T {
  const stack = client.middlewareStack as unknown as { add(mw: (next: (a: unknown) => Promise<unknown>) => (a: { request: unknown }) => Promise<unknown>, o: object): void }
  stack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string> }
      req.headers.host = host
      return next(args)
    },
    { step: 'build', name: 'awsHostName' },
  )
  return client
}
const sts = (region: string, host: string) => onHost(new STSClient({ endpoint: server.endpoint, region, credentials: ADMIN, maxAttempts: 1 }), host)
const iam = (region: string) => onHost(new IAMClient({ endpoint: server.endpoint, region, credentials: ADMIN, maxAttempts: 1 }), 'iam.amazonaws.com')

test('regional and global STS endpoints take their own region', async () => {
  assert.equal((await sts('eu-west-1', 'sts.eu-west-1.amazonaws.com').send(new GetCallerIdentityCommand({}))).Account, '123456789012')
  assert.equal((await sts('us-east-1', 'sts.amazonaws.com').send(new GetCallerIdentityCommand({}))).Account, '123456789012')
  const wrong = await failure(() => sts('us-east-1', 'sts.eu-west-1.amazonaws.com').send(new GetCallerIdentityCommand({})))
  assert.equal(wrong.name, 'SignatureDoesNotMatch')
  assert.match(wrong.message, /Credential should be scoped to a valid region/)
})

test('IAM is global: us-east-1 only', async () => {
  assert.equal((await iam('us-east-1').send(new GetUserCommand({}))).User?.UserName, 'admin')
  assert.equal((await failure(() => iam('eu-west-1').send(new GetUserCommand({})))).name, 'SignatureDoesNotMatch')
})

test('a session records which STS endpoint issued it', async () => {
  await new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 }).send(
    new CreateRoleCommand({
      RoleName: 'self',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 'sts:AssumeRole' }],
      }),
    }),
  )
  const arn = 'arn:aws:iam::123456789012:role/self'
  const regional = await sts('eu-west-1', 'sts.eu-west-1.amazonaws.com').send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'regional' }))
  const global = await sts('us-east-1', 'sts.amazonaws.com').send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'global' }))
  const sessions = server.services.identities.store.sessions
  assert.equal(sessions.get(regional.Credentials!.AccessKeyId!)?.issuer, 'eu-west-1')
  assert.equal(sessions.get(global.Credentials!.AccessKeyId!)?.issuer, 'global')
})

test('an unsigned call is refused with MissingAuthenticationToken in the IAM envelope', async () => {
  const body = 'Action=GetCallerIdentity&Version=2011-06-15'
  const r = await send(
    new URL(server.endpoint),
    'POST',
    '/',
    { host: 'sts.amazonaws.com', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': String(body.length) },
    body,
  )
  assert.equal(r.status, 403)
  assert.equal(codeOf(r.body), 'MissingAuthenticationToken')
  assert.match(r.body, /<ErrorResponse><Error><Type>Sender<\/Type>/)
})

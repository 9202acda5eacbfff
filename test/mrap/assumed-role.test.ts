/** Temporary credentials from STS AssumeRole used on the seed MRAP (SigV4A with a session token), as issue 4 asks. */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { CaProxyAgent, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, failure, startTestServer, type TestServer } from '../helpers/server.js'

const MRAP = 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap'

describe('assumed-role credentials on the MRAP', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer()
  })
  after(async () => {
    await s.stop()
  })

  async function assume(roleName: string, policy: object): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }> {
    const iam = new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    await iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) }))
    // A regional STS endpoint: SigV4A does not accept tokens of the global endpoint (docs/aws/mrap.md §SigV4A).
    const sts = new STSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::123456789012:role/${roleName}`, RoleSessionName: 'mrap-test' }))
    const c = r.Credentials!
    assert.match(c.AccessKeyId!, /^ASIA/)
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }
  }

  test('a role allowed on the MRAP and its buckets writes and reads through the MRAP', async () => {
    const creds = await assume('mrap-writer', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject'],
          Resource: [`${MRAP}/object/*`, 'arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET2/*'],
        },
      ],
    })
    const c = proxiedS3Client(s, { creds })
    await c.send(new PutObjectCommand({ Bucket: MRAP, Key: 'session/hello.txt', Body: 'written by a role session' }))
    const got = await c.send(new GetObjectCommand({ Bucket: MRAP, Key: 'session/hello.txt' }))
    assert.equal(await got.Body!.transformToString(), 'written by a role session')
  })

  test('a role allowed on the MRAP but not on the routed bucket is refused', async () => {
    const creds = await assume('mrap-only', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${MRAP}/object/*`] }],
    })
    const e = await failure(() => proxiedS3Client(s, { creds }).send(new PutObjectCommand({ Bucket: MRAP, Key: 'session/no.txt', Body: 'x' })))
    assert.equal(e.$metadata.httpStatusCode, 403)
  })

  test('a session from the global STS endpoint works with SigV4 on a bucket but is refused for SigV4A on the MRAP', async () => {
    const iam = new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'mrap-global-sts',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'mrap-global-sts',
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: '*' }] }),
      }),
    )
    // sts.amazonaws.com itself, through the internet proxy (as a client without a regional endpoint configured would).
    const agent = new CaProxyAgent(s.proxy, readFileSync(s.caPath))
    const sts = new STSClient({
      endpoint: 'https://sts.amazonaws.com',
      region: 'us-east-1',
      credentials: ADMIN,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
    })
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/mrap-global-sts', RoleSessionName: 'global' }))).Credentials!
    const creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }
    await s.client(creds).send(new PutObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1', Key: 'session/global.txt', Body: 'sigv4 is fine' }))
    const e = await failure(() => proxiedS3Client(s, { creds }).send(new GetObjectCommand({ Bucket: MRAP, Key: 'session/global.txt' })))
    assert.equal(e.$metadata.httpStatusCode, 400)
    assert.equal(e.name, 'InvalidToken')
    agent.destroy()
  })

  test('a tampered session token is refused', async () => {
    const creds = await assume('mrap-token', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] })
    const e = await failure(() =>
      proxiedS3Client(s, { creds: { ...creds, sessionToken: creds.sessionToken.slice(0, -4) + 'AAAA' } }).send(new GetObjectCommand({ Bucket: MRAP, Key: 'session/hello.txt' })),
    )
    assert.equal(e.$metadata.httpStatusCode, 400)
  })
})

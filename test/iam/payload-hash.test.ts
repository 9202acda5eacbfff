/**
 * The query services (IAM, STS, EC2) take their call from the body, so the signature must cover
 * the body actually received: AWS computes the canonical request's last line as the hash of the
 * payload it got (AWS General Reference, "Create a canonical request for Signature Version 4",
 * https://docs.aws.amazon.com/general/latest/gr/sigv4-create-canonical-request.html, the IAM
 * ListUsers example); only S3 accepts x-amz-content-sha256 in its place (UNSIGNED-PAYLOAD,
 * streaming: Amazon S3 API Reference, "Signature Calculations for the Authorization Header",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html). A signed
 * ListUsers / GetCallerIdentity / DescribeVpcs replayed with a CreateUser / AssumeRole / CreateVpc
 * body is refused (SignatureDoesNotMatch; EC2's AuthFailure) and changes nothing.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { nameKey } from '../../src/iam/store.js'
import { codeOf, type RawResponse, Sha256, send } from '../helpers/raw.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

const run = promisify(execFile)
const ACCOUNT = '123456789012'
const FORM = 'application/x-www-form-urlencoded; charset=utf-8'
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

let server: TestServer
before(async () => {
  server = await startTestServer()
})
after(async () => {
  await server.stop()
})

const HOSTS = { iam: 'iam.amazonaws.com', sts: 'sts.amazonaws.com', ec2: 'ec2.us-east-1.amazonaws.com' } as const
type Svc = keyof typeof HOSTS

/** Headers of `signedBody` signed for `service` (with `declare`: x-amz-content-sha256 set to it and signed). */
async function signFor(service: Svc, signedBody: string, declare?: string): Promise<Record<string, string>> {
  const headers: Record<string, string> = { host: HOSTS[service], 'content-type': FORM }
  if (declare !== undefined) headers['x-amz-content-sha256'] = declare
  const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: HOSTS[service], path: '/', headers, body: signedBody })
  const signer = new SignatureV4({ credentials: ADMIN, region: 'us-east-1', service, sha256: Sha256 })
  return (await signer.sign(req)).headers
}

/** Sends `body` with headers signed for another body (the replay of a captured request). */
async function swap(service: Svc, signedBody: string, sentBody: string, declare?: string): Promise<RawResponse> {
  const headers = await signFor(service, signedBody, declare)
  return send(new URL(server.endpoint), 'POST', '/', { ...headers, 'content-length': String(Buffer.byteLength(sentBody)) }, sentBody)
}

const LIST_USERS = 'Action=ListUsers&Version=2010-05-08'
const createUser = (name: string) => `Action=CreateUser&UserName=${name}&Version=2010-05-08`
const userExists = (name: string) => server.services.identities.store.users.has(nameKey(ACCOUNT, name))

test('the signed call itself is served, with or without a declared hash (the refusals below are about the swap)', async () => {
  for (const declare of [undefined, sha(LIST_USERS)]) {
    const r = await swap('iam', LIST_USERS, LIST_USERS, declare)
    assert.equal(r.status, 200, r.body)
    assert.match(r.body, /<ListUsersResponse/)
  }
})

test('IAM: a signed ListUsers carrying a CreateUser body is refused and creates no user', async () => {
  // The declared hash is what the signature covers: the ListUsers body's.
  const r = await swap('iam', LIST_USERS, createUser('smuggled1'), sha(LIST_USERS))
  assert.equal(r.status, 403, r.body)
  assert.equal(codeOf(r.body), 'SignatureDoesNotMatch')
  assert.match(r.body, /<ErrorResponse/)
  assert.equal(userExists('smuggled1'), false)
  // Without a declared hash the server hashes the body itself: refused as well.
  const bare = await swap('iam', LIST_USERS, createUser('smuggled2'))
  assert.equal(codeOf(bare.body), 'SignatureDoesNotMatch')
  assert.equal(userExists('smuggled2'), false)
})

test('STS: a signed GetCallerIdentity carrying an AssumeRole body is refused and issues no session', async () => {
  await new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 }).send(
    new CreateRoleCommand({
      RoleName: 'swap-target',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/admin` }, Action: 'sts:AssumeRole' }],
      }),
    }),
  )
  const gci = 'Action=GetCallerIdentity&Version=2011-06-15'
  const assume = `Action=AssumeRole&RoleArn=${encodeURIComponent(`arn:aws:iam::${ACCOUNT}:role/swap-target`)}&RoleSessionName=swap&Version=2011-06-15`
  const sessions = server.services.identities.store.sessions.size
  const r = await swap('sts', gci, assume, sha(gci))
  assert.equal(r.status, 403, r.body)
  assert.equal(codeOf(r.body), 'SignatureDoesNotMatch')
  assert.equal(server.services.identities.store.sessions.size, sessions)
  // The same AssumeRole, signed over its own body, works: the role and trust are right.
  const ok = await swap('sts', assume, assume, sha(assume))
  assert.equal(ok.status, 200, ok.body)
})

test('EC2: a signed DescribeVpcs carrying a CreateVpc body is refused (AuthFailure) and creates no VPC', async () => {
  const describe = 'Action=DescribeVpcs&Version=2016-11-15'
  const create = 'Action=CreateVpc&CidrBlock=10.99.0.0%2F16&Version=2016-11-15'
  const before = server.services.vpcs.listVpcs().length
  const r = await swap('ec2', describe, create, sha(describe))
  assert.equal(r.status, 401, r.body)
  assert.equal(codeOf(r.body), 'AuthFailure')
  assert.match(r.body, /<Response><Errors>/)
  assert.equal(server.services.vpcs.listVpcs().length, before)
})

test('UNSIGNED-PAYLOAD is refused by IAM, STS and EC2 (the body is the call)', async () => {
  const cases: [Svc, string, number, string][] = [
    ['iam', createUser('unsigned1'), 403, 'SignatureDoesNotMatch'],
    ['sts', 'Action=GetCallerIdentity&Version=2011-06-15', 403, 'SignatureDoesNotMatch'],
    ['ec2', 'Action=CreateVpc&CidrBlock=10.98.0.0%2F16&Version=2016-11-15', 401, 'AuthFailure'],
  ]
  const vpcs = server.services.vpcs.listVpcs().length
  for (const [svc, body, status, code] of cases) {
    const r = await swap(svc, body, body, 'UNSIGNED-PAYLOAD')
    assert.equal(r.status, status, `${svc}: ${r.body}`)
    assert.equal(codeOf(r.body), code, svc)
  }
  assert.equal(userExists('unsigned1'), false)
  assert.equal(server.services.vpcs.listVpcs().length, vpcs)
})

test('curl --aws-sigv4: a declared hash of another body, and UNSIGNED-PAYLOAD, are refused; the honest call works', async () => {
  const curl = async (body: string, declare?: string): Promise<{ status: number; body: string }> => {
    const args = [
      '-s',
      '-w',
      '\n%{http_code}',
      '--aws-sigv4',
      'aws:amz:us-east-1:iam',
      '--user',
      `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}`,
      '-H',
      `Host: ${HOSTS.iam}`,
      '-H',
      `Content-Type: ${FORM}`,
      ...(declare !== undefined ? ['-H', `x-amz-content-sha256: ${declare}`] : []),
      '--data-binary',
      body,
      server.endpoint + '/',
    ]
    const { stdout } = await run('curl', args)
    const i = stdout.lastIndexOf('\n')
    return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) }
  }
  const honest = await curl(LIST_USERS)
  assert.equal(honest.status, 200, honest.body)
  assert.equal((await curl(createUser('curl0'), sha(createUser('curl0')))).status, 200)
  assert.equal(userExists('curl0'), true)

  const swapped = await curl(createUser('curl1'), sha(LIST_USERS))
  assert.equal(swapped.status, 403, swapped.body)
  assert.equal(codeOf(swapped.body), 'SignatureDoesNotMatch')
  assert.equal(userExists('curl1'), false)

  const unsigned = await curl(createUser('curl2'), 'UNSIGNED-PAYLOAD')
  assert.equal(unsigned.status, 403, unsigned.body)
  assert.equal(userExists('curl2'), false)
})

test('S3 Control (checked, held already): a declared hash must equal the body; UNSIGNED-PAYLOAD is accepted, as S3 does', async () => {
  const xml = (name: string) =>
    '<CreateMultiRegionAccessPointRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">' +
    `<ClientToken>${name}</ClientToken><Details><Name>${name}</Name><Regions><Region><Bucket>no-such-bucket-${name}</Bucket></Region></Regions></Details>` +
    '</CreateMultiRegionAccessPointRequest>'
  const post = async (signedBody: string, sentBody: string, declare: string): Promise<RawResponse> => {
    const url = new URL(server.endpoint)
    const headers = { host: url.host, 'x-amz-account-id': ACCOUNT, 'x-amz-content-sha256': declare, 'content-type': 'application/xml' }
    const path = '/v20180820/async-requests/mrap/create'
    const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, headers, body: signedBody })
    const signed = await new SignatureV4({ credentials: ADMIN, region: 'us-west-2', service: 's3', sha256: Sha256, uriEscapePath: false }).sign(req)
    return send(url, 'POST', path, { ...signed.headers, 'content-length': String(Buffer.byteLength(sentBody)) }, sentBody)
  }
  const swapped = await post(xml('ctl-a'), xml('ctl-b'), sha(xml('ctl-a')))
  assert.equal(swapped.status, 400, swapped.body)
  assert.equal(codeOf(swapped.body), 'XAmzContentSHA256Mismatch')
  const honest = await post(xml('ctl-c'), xml('ctl-c'), sha(xml('ctl-c')))
  assert.equal(honest.status, 200, honest.body)
  const unsigned = await post(xml('ctl-d'), xml('ctl-d'), 'UNSIGNED-PAYLOAD')
  assert.equal(unsigned.status, 200, unsigned.body)
})

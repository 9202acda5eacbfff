/**
 * A Region the world does not have (us-east-2 here; the test world has us-east-1, us-west-2 and
 * eu-west-1), called by its real AWS names through the internet proxy with mrap's CA, as `mrap exec`
 * sets clients up. TLS must succeed (a certificate for that region's names), and the service then
 * answers as AWS does where the resource is not (docs/decisions/unserved-regions.md):
 * - S3: a bucket of another region gets 301 PermanentRedirect with x-amz-bucket-region, which the
 *   CLI and the SDK follow ("Making requests", Amazon S3 API Reference: redirects and the
 *   x-amz-bucket-region header); CreateBucket in the region is InvalidLocationConstraint.
 * - S3 Control: MRAP management answers only in us-west-2 ("This API operation is only available
 *   in the following Regions", PermanentRedirect, MultiRegionAccessPointRestrictions).
 * - EC2: AuthFailure for the region.
 * Never a certificate-name mismatch that lists every name of the server certificate.
 */

import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { CreateVpcCommand } from '@aws-sdk/client-ec2'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { ListMultiRegionAccessPointsCommand, S3ControlClient } from '@aws-sdk/client-s3-control'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { ACCOUNT, makeBucket } from '../control/helpers.js'
import { AWS_CLI, type CliResult, CliSandbox, runAws } from '../helpers/aws-cli.js'
import { CaProxyAgent } from '../helpers/mrap.js'
import { ADMIN, failure, startTestServer, type TestServer } from '../helpers/server.js'
import { ec2Client, proxyOf, rawConnect } from './helpers.js'

const CERT_MISMATCH = /doesn't match|SSL validation failed|altnames|certificate/i

describe('a region the world does not have', () => {
  let s: TestServer
  let box: CliSandbox
  let bucket: string
  before(async () => {
    assert.ok(existsSync(AWS_CLI), 'the AWS CLI must be installed at /usr/bin/aws')
    s = await startTestServer()
    box = new CliSandbox('mrap-unserved')
    bucket = await makeBucket(s, 'us-east-1')
    const c = s.client()
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello' }))
    c.destroy()
  })
  after(async () => {
    await s.stop()
    box.dispose()
  })

  function cli(args: string[]): Promise<CliResult> {
    return runAws(args, { env: box.env({ credentials: ADMIN, region: 'us-east-2', proxy: s.proxy, caBundle: s.caPath }), cwd: box.dir })
  }

  test("TLS: the region's names get a certificate from mrap's CA", async () => {
    const names = ['s3.us-east-2.amazonaws.com', `${bucket}.s3.us-east-2.amazonaws.com`, `${ACCOUNT}.s3-control.us-east-2.amazonaws.com`, 'ec2.ap-south-2.amazonaws.com']
    for (const servername of names) {
      const cert = await new Promise<{ authorized: boolean; san: string }>((resolve, reject) => {
        const sock = tlsConnect({ host: '127.0.0.1', port: s.tlsPort, servername, ca: readFileSync(s.caPath) }, () => {
          resolve({ authorized: sock.authorized, san: sock.getPeerCertificate().subjectaltname ?? '' })
          sock.end()
        })
        sock.on('error', reject)
      })
      assert.equal(cert.authorized, true, servername)
      assert.ok(!cert.san.includes('us-west-2'), `a certificate of the region's names only, got ${cert.san}`)
    }
  })

  test('CLI, S3: a bucket of us-east-1 asked in us-east-2 is redirected and read', async () => {
    const r = await cli(['s3api', 'get-object', '--bucket', bucket, '--key', 'k', 'out.txt'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(readFileSync(`${box.dir}/out.txt`, 'utf8'), 'hello')
  })

  test('CLI, S3: a bucket made in us-east-2 is refused naming the regions there are', async () => {
    const r = await cli(['s3', 'mb', `s3://${bucket}-ue2`])
    assert.notEqual(r.code, 0)
    assert.doesNotMatch(r.stderr, CERT_MISMATCH)
    assert.match(r.stderr, /InvalidLocationConstraint/)
    assert.match(r.stderr, /us-east-2 is not a region of this server's world \(its regions: us-east-1, us-west-2, eu-west-1\)/)
  })

  test("CLI, S3 Control: PermanentRedirect names us-west-2 and the world's regions", async () => {
    const r = await cli(['s3control', 'list-multi-region-access-points', '--account-id', ACCOUNT])
    assert.notEqual(r.code, 0)
    assert.doesNotMatch(r.stderr, CERT_MISMATCH)
    assert.match(r.stderr, /\(PermanentRedirect\).*only available in the following Regions: us-west-2\./)
    assert.match(r.stderr, /us-east-2 is not a region of this server's world, which has us-east-1, us-west-2, eu-west-1/)
  })

  test("CLI, EC2: AuthFailure names the world's regions", async () => {
    const r = await cli(['ec2', 'describe-vpcs'])
    assert.notEqual(r.code, 0)
    assert.doesNotMatch(r.stderr, CERT_MISMATCH)
    assert.match(r.stderr, /\(AuthFailure\).*us-east-2 is not one of this world's regions: us-east-1, us-west-2, eu-west-1/)
  })

  test('JS SDK through the proxy: S3 follows the redirect; S3 Control gets PermanentRedirect', async () => {
    const agent = new CaProxyAgent(s.proxy, readFileSync(s.caPath))
    const handler = new NodeHttpHandler({ httpsAgent: agent, httpAgent: agent })
    const s3 = new S3Client({ region: 'us-east-2', credentials: ADMIN, maxAttempts: 1, followRegionRedirects: true, requestHandler: handler })
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
    assert.equal(await got.Body!.transformToString(), 'hello')
    const control = new S3ControlClient({ region: 'us-east-2', credentials: ADMIN, maxAttempts: 1, requestHandler: handler })
    const e = await failure(() => control.send(new ListMultiRegionAccessPointsCommand({ AccountId: ACCOUNT })))
    assert.equal(e.name, 'PermanentRedirect')
    assert.equal(e.$metadata.httpStatusCode, 301)
    assert.match(e.message, /us-west-2/)
    s3.destroy()
    control.destroy()
    agent.destroy()
  })

  test('VPC proxies: with an internet path S3 Control answers; a private VPC refuses the name with its reason', async () => {
    const ec2 = ec2Client(s)
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'mrap:internet', Value: 'true' }] }] })))
      .Vpc!.VpcId!
    const env = box.env({ credentials: ADMIN, region: 'us-east-2', proxy: await proxyOf(s, vpc), caBundle: s.caPath })
    const r = await runAws(['s3control', 'list-multi-region-access-points', '--account-id', ACCOUNT], { env })
    assert.doesNotMatch(r.stderr, CERT_MISMATCH)
    assert.match(r.stderr, /\(PermanentRedirect\).*us-west-2/)
    // A VPC without an internet path (no tag) and no endpoint has no route to us-east-2 at all.
    const privateVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.78.0.0/16' }))).Vpc!.VpcId!
    const refused = await rawConnect(await proxyOf(s, privateVpc), `${ACCOUNT}.s3-control.us-east-2.amazonaws.com:443`)
    assert.equal(refused.status, 403)
    assert.match(refused.text, new RegExp(`not reachable from ${privateVpc}: the VPC has no endpoint`))
    ec2.destroy()
  })

  test('the proxy refuses, with its reason, a name whose region label is no AWS Region', async () => {
    const answer = await rawConnect(s.proxy, 's3.nowhere.amazonaws.com:443')
    assert.equal(answer.status, 403)
    assert.match(answer.text, /s3\.nowhere\.amazonaws\.com is not a name mrap serves/)
  })
})

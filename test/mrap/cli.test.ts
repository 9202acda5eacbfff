/**
 * The MRAP with the AWS CLI (awscrt gives it SigV4A), run through `mrap exec`: S3 Control to create,
 * describe and route an MRAP, s3api and s3 cp with the MRAP ARN, a presigned SigV4A URL fetched with
 * curl through the proxy; and refusals (wrong signature, region set outside the serving region,
 * expired presign). Every child runs asynchronously with an isolated environment.
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { SignatureV4a } from '@aws-sdk/signature-v4a'
import { HttpRequest } from '@smithy/protocol-http'
import { SEED_ACCOUNT as ACCOUNT, mrapArn } from '../helpers/accounts.js'
import { AWS_CLI as AWS, CliSandbox, type CliResult as Result, runAws, runCommand } from '../helpers/aws-cli.js'
import { Sha256 } from '../helpers/raw.js'
import { ADMIN, bucketName, startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))

describe('MRAP with the AWS CLI through mrap exec', { timeout: 600_000 }, () => {
  let s: TestServer
  let box: CliSandbox
  let work: string
  let env: Record<string, string>
  let east: string, west: string
  let arn: string

  async function exec(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
    return runCommand(process.execPath, [BIN, 'exec', '--data-dir', s.dataDir, '--as', 'admin', '--', ...args], { env: { ...env, ...extraEnv }, cwd: work, timeoutMs: 120_000 })
  }

  /** curl with nothing of the runner's environment but PATH; curl exits 0 on an HTTP error status. */
  async function curl(args: string[]): Promise<string> {
    const r = await runCommand('curl', args, { env: { PATH: env.PATH! } })
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`)
    return r.stdout
  }

  async function ok(args: string[]): Promise<string> {
    const r = await exec(args)
    assert.equal(r.code, 0, `${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }

  before(async () => {
    s = await startTestServer()
    box = new CliSandbox('mrap-cli')
    work = box.dir
    // No credentials, region or proxy: `mrap exec` supplies them, so they are what is under test.
    env = box.env()
    east = bucketName('clie')
    west = bucketName('cliw')
    await s.client().send(new CreateBucketCommand({ Bucket: east }))
    await s.client(undefined, 'eu-west-1').send(new CreateBucketCommand({ Bucket: west, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
  })
  after(async () => {
    await s.stop()
    box.dispose()
  })

  test('s3control creates the MRAP; describe follows the operation to SUCCEEDED; get gives the alias', async () => {
    const created = JSON.parse(
      await ok([
        AWS,
        's3control',
        'create-multi-region-access-point',
        '--region',
        'us-west-2',
        '--account-id',
        ACCOUNT,
        '--details',
        JSON.stringify({ Name: 'cli-mrap', Regions: [{ Bucket: east }, { Bucket: west }] }),
      ]),
    ) as { RequestTokenARN: string }
    assert.match(created.RequestTokenARN, /^arn:aws:s3:us-west-2:123456789012:async-request\/mrap\/create\//)
    let status = ''
    for (let i = 0; i < 30 && status !== 'SUCCEEDED'; i++) {
      const d = JSON.parse(
        await ok([
          AWS,
          's3control',
          'describe-multi-region-access-point-operation',
          '--region',
          'us-west-2',
          '--account-id',
          ACCOUNT,
          '--request-token-arn',
          created.RequestTokenARN,
        ]),
      ) as { AsyncOperation: { RequestStatus: string } }
      status = d.AsyncOperation.RequestStatus
      assert.notEqual(status, 'FAILED')
      if (status !== 'SUCCEEDED') await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(status, 'SUCCEEDED')
    const got = JSON.parse(await ok([AWS, 's3control', 'get-multi-region-access-point', '--region', 'us-west-2', '--account-id', ACCOUNT, '--name', 'cli-mrap'])) as {
      AccessPoint: { Alias: string; Status: string }
    }
    assert.match(got.AccessPoint.Alias, /^[a-z][a-z0-9]{12}\.mrap$/)
    assert.equal(got.AccessPoint.Status, 'READY')
    arn = mrapArn(got.AccessPoint.Alias)
  })

  test('s3api put-object and get-object with the MRAP ARN (SigV4A), then aws s3 cp both ways', async () => {
    assert.ok(arn, 'the MRAP exists')
    const body = join(work, 'body.txt')
    writeFileSync(body, 'through the mrap with the cli')
    await ok([AWS, 's3api', 'put-object', '--bucket', arn, '--key', 'cli/one.txt', '--body', body])
    const out = join(work, 'out.txt')
    await ok([AWS, 's3api', 'get-object', '--bucket', arn, '--key', 'cli/one.txt', out])
    assert.equal(readFileSync(out, 'utf8'), 'through the mrap with the cli')
    // us-east-1 is the nearest active region to the front door: the write landed in the east bucket.
    const direct = await s.client().send(new GetObjectCommand({ Bucket: east, Key: 'cli/one.txt' }))
    assert.equal(await direct.Body!.transformToString(), 'through the mrap with the cli')
    const big = join(work, 'big.bin')
    const data = randomBytes(9 * 1024 * 1024)
    writeFileSync(big, data)
    await ok([AWS, 's3', 'cp', big, `s3://${arn}/cli/big.bin`])
    const back = join(work, 'big-back.bin')
    await ok([AWS, 's3', 'cp', `s3://${arn}/cli/big.bin`, back])
    assert.equal(createHash('sha256').update(readFileSync(back)).digest('hex'), createHash('sha256').update(data).digest('hex'))
  })

  test('submit-multi-region-access-point-routes moves new requests to the other bucket', async () => {
    await ok([
      AWS,
      's3control',
      'submit-multi-region-access-point-routes',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--mrap',
      arn,
      '--route-updates',
      `Bucket=${east},TrafficDialPercentage=0`,
      `Bucket=${west},TrafficDialPercentage=100`,
    ])
    const routes = JSON.parse(await ok([AWS, 's3control', 'get-multi-region-access-point-routes', '--region', 'us-west-2', '--account-id', ACCOUNT, '--mrap', arn])) as {
      Routes: { Bucket: string; TrafficDialPercentage: number }[]
    }
    assert.deepEqual(
      routes.Routes.map((r) => [r.Bucket, r.TrafficDialPercentage]).sort(),
      [
        [east, 0],
        [west, 100],
      ].sort(),
    )
    const body = join(work, 'west.txt')
    writeFileSync(body, 'now in the west')
    await ok([AWS, 's3api', 'put-object', '--bucket', arn, '--key', 'cli/two.txt', '--body', body])
    const direct = await s.client(undefined, 'eu-west-1').send(new GetObjectCommand({ Bucket: west, Key: 'cli/two.txt' }))
    assert.equal(await direct.Body!.transformToString(), 'now in the west')
    const allPassive = await exec([
      AWS,
      's3control',
      'submit-multi-region-access-point-routes',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--mrap',
      arn,
      '--route-updates',
      `Bucket=${west},TrafficDialPercentage=0`,
    ])
    assert.notEqual(allPassive.code, 0)
    assert.match(allPassive.stderr, /InvalidRequest/)
  })

  test('a presigned SigV4A URL from the CLI works with curl through the proxy; an expired one does not', async () => {
    const url = (await ok([AWS, 's3', 'presign', `s3://${arn}/cli/two.txt`, '--expires-in', '300'])).trim()
    assert.match(url, /X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256/)
    assert.equal(await curl(['-sS', '--proxy', s.proxy, '--cacert', s.caPath, url]), 'now in the west')
    const expired = (await ok([AWS, 's3', 'presign', `s3://${arn}/cli/two.txt`, '--expires-in', '1'])).trim()
    await new Promise((r) => setTimeout(r, 2500))
    const denied = await curl(['-sS', '-w', '\n%{http_code}', '--proxy', s.proxy, '--cacert', s.caPath, expired])
    assert.match(denied, /Request has expired/)
    assert.match(denied, /403$/)
  })

  test('a wrong secret is SignatureDoesNotMatch', async () => {
    const wrong = { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'not-the-secret-at-all-000000000000000000' }
    const r = await runAws(['s3api', 'get-object', '--bucket', arn, '--key', 'cli/two.txt', join(work, 'x')], {
      env: box.env({ credentials: wrong, region: 'us-east-1', proxy: s.proxy, caBundle: s.caPath }),
      cwd: work,
    })
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /SignatureDoesNotMatch/)
  })

  test('a SigV4A region set that does not cover the serving region is refused', async () => {
    const alias = arn.split('/')[1]!
    const host = `${alias}.accesspoint.s3-global.amazonaws.com`
    const signer = new SignatureV4a({ credentials: ADMIN, region: '*', service: 's3', sha256: Sha256 })
    const req = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: host, path: '/cli/two.txt', headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
    const signed = await signer.sign(req, { signingRegion: 'ap-south-1' })
    const args = ['-sS', '-w', '\n%{http_code}', '--proxy', s.proxy, '--cacert', s.caPath]
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') args.push('-H', `${k}: ${v}`)
    const out = await curl([...args, `https://${host}/cli/two.txt`])
    assert.match(out, /x-amz-region-set|region set/i)
    assert.match(out, /400$/)
  })
})

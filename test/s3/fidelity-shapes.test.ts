/**
 * Shapes scripts written for AWS read (issue 13): CreateBucket's Location, through the Debian AWS
 * CLI and the JS SDK v3.
 *
 * AWS CLI Command Reference, s3api create-bucket, examples: "Location": "/my-bucket" in us-east-1,
 * "Location": "http://my-bucket.s3.amazonaws.com/" for a bucket made in eu-west-1.
 * https://docs.aws.amazon.com/cli/latest/reference/s3api/create-bucket.html
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { AWS_CLI, CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, bucketName, startTestServer, type TestServer } from '../helpers/server.js'

describe('CreateBucket Location', () => {
  let s: TestServer
  let box: CliSandbox
  before(async () => {
    assert.ok(existsSync(AWS_CLI), 'the AWS CLI must be installed at /usr/bin/aws')
    s = await startTestServer()
    box = new CliSandbox('mrap-location')
  })
  after(async () => {
    await s.stop()
    box.dispose()
  })

  async function cliCreate(name: string, region: string): Promise<Record<string, any>> {
    const args = ['--endpoint-url', s.endpoint, 's3api', 'create-bucket', '--bucket', name, '--output', 'json']
    if (region !== 'us-east-1') args.push('--create-bucket-configuration', `LocationConstraint=${region}`)
    const r = await runAws(args, { env: box.env({ credentials: ADMIN, region, direct: true }) })
    assert.equal(r.code, 0, r.stderr)
    return cliJson(r.stdout)
  }

  test('the CLI prints /<bucket> in us-east-1 and http://<bucket>.s3.amazonaws.com/ elsewhere', async () => {
    const east = bucketName('loc')
    assert.deepEqual(await cliCreate(east, 'us-east-1'), { Location: `/${east}` })
    const eu = bucketName('loc')
    assert.deepEqual(await cliCreate(eu, 'eu-west-1'), { Location: `http://${eu}.s3.amazonaws.com/` })
  })

  test('the SDK reads the same Location', async () => {
    const name = bucketName('loc')
    const c = s.client(ADMIN, 'us-west-2')
    const out = await c.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }))
    assert.equal(out.Location, `http://${name}.s3.amazonaws.com/`)
    c.destroy()
  })
})

/**
 * S3 Object Ownership: Put/Get/DeleteBucketOwnershipControls and CreateBucket's
 * x-amz-object-ownership, with the JS SDK and the AWS CLI, kept across a restart.
 * AWS: "Controlling ownership of objects and disabling ACLs for your bucket"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html), the
 * PutBucketOwnershipControls / DeleteBucketOwnershipControls API reference pages and
 * "Troubleshooting" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  DeleteBucketOwnershipControlsCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
} from '@aws-sdk/client-s3'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, READER, startTestServer, type TestServer } from '../helpers/server.js'

const rule = (o: string) => ({ Rules: [{ ObjectOwnership: o as 'ObjectWriter' }] })

describe('S3 Object Ownership', () => {
  let s: TestServer
  let cli: CliSandbox
  before(async () => {
    s = await startTestServer()
    cli = new CliSandbox('mrap-ownership')
  })
  let restartedDir: string | undefined
  after(async () => {
    await s.stop()
    cli.dispose()
    if (restartedDir) rmSync(restartedDir, { recursive: true, force: true })
  })
  const aws = (args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env: cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true }) })

  test('SDK: a new bucket is BucketOwnerEnforced; Put, Get and Delete change it; Delete leaves none (404)', async () => {
    const c = s.client()
    const b = bucketName('own')
    await c.send(new CreateBucketCommand({ Bucket: b }))
    const first = await c.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))
    assert.deepEqual(first.OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }])
    for (const o of ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced']) {
      await c.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: rule(o) }))
      const got = await c.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))
      assert.equal(got.OwnershipControls?.Rules?.[0]?.ObjectOwnership, o)
    }
    await c.send(new DeleteBucketOwnershipControlsCommand({ Bucket: b }))
    const none = await failure(() => c.send(new GetBucketOwnershipControlsCommand({ Bucket: b })))
    assert.equal(none.name, 'OwnershipControlsNotFoundError')
    assert.equal(none.$metadata.httpStatusCode, 404)
    // Without ownership controls S3 acts as ObjectWriter: ACLs are enabled.
    await c.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"' }))
    // Grant headers replace the whole ACL (the owner's FULL_CONTROL is not added).
    const acl = await c.send(new GetBucketAclCommand({ Bucket: b }))
    assert.deepEqual(
      acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.URI, g.Permission]),
      [['Group', 'http://acs.amazonaws.com/groups/s3/LogDelivery', 'READ']],
    )
  })

  test('refusals: a bad rule is MalformedXML, BucketOwnerEnforced over a granting ACL is InvalidBucketAclWithObjectOwnership, another user needs the action', async () => {
    const c = s.client()
    const b = bucketName('own-bad')
    await c.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' }))
    const bad = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${b}`,
      query: { ownershipControls: '' },
      body: '<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>Everyone</ObjectOwnership></Rule></OwnershipControls>',
    })
    assert.equal(bad.status, 400)
    assert.equal(codeOf(bad.body), 'MalformedXML')
    await c.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'id="' + (await ownerId(b)) + '", uri="http://acs.amazonaws.com/groups/s3/LogDelivery"' }))
    const enforced = await failure(() => c.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: rule('BucketOwnerEnforced') })))
    assert.equal(enforced.name, 'InvalidBucketAclWithObjectOwnership')
    assert.equal((await c.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership, 'ObjectWriter')
    // The reader has no identity policy: s3:PutBucketOwnershipControls / s3:GetBucketOwnershipControls are needed.
    const denied = await failure(() => s.client(READER).send(new GetBucketOwnershipControlsCommand({ Bucket: b })))
    assert.equal(denied.name, 'AccessDenied')
    const denied2 = await failure(() => s.client(READER).send(new DeleteBucketOwnershipControlsCommand({ Bucket: b })))
    assert.equal(denied2.name, 'AccessDenied')
  })

  async function ownerId(b: string): Promise<string> {
    return (await s.client().send(new GetBucketAclCommand({ Bucket: b }))).Owner!.ID!
  }

  test('CreateBucket: x-amz-object-ownership sets the rule; an ACL beyond the owner is refused on BucketOwnerEnforced and a public one by Block Public Access', async () => {
    const c = s.client()
    for (const o of ['BucketOwnerPreferred', 'ObjectWriter'] as const) {
      const b = bucketName('own-create')
      await c.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: o }))
      assert.equal((await c.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership, o)
    }
    const enforced = await failure(() => c.send(new CreateBucketCommand({ Bucket: bucketName('own-x'), ACL: 'public-read' })))
    assert.equal(enforced.name, 'InvalidBucketAclWithObjectOwnership')
    // A new bucket's Block Public Access is all on.
    const blocked = await failure(() => c.send(new CreateBucketCommand({ Bucket: bucketName('own-y'), ObjectOwnership: 'ObjectWriter', ACL: 'public-read' })))
    assert.equal(blocked.name, 'InvalidBucketAclWithBlockPublicAccessError')
    const b = bucketName('own-z')
    await c.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter', GrantWriteACP: 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"' }))
    const acl = await c.send(new GetBucketAclCommand({ Bucket: b }))
    assert.equal(acl.Grants?.length, 1)
    assert.ok(acl.Grants?.some((g) => g.Grantee?.URI === 'http://acs.amazonaws.com/groups/s3/LogDelivery' && g.Permission === 'WRITE_ACP'))
  })

  test('AWS CLI: put-, get- and delete-bucket-ownership-controls, create-bucket --object-ownership', async () => {
    const b = bucketName('own-cli')
    const made = await aws(['s3api', 'create-bucket', '--bucket', b, '--object-ownership', 'BucketOwnerPreferred'])
    assert.equal(made.code, 0, made.stderr)
    const got = await aws(['s3api', 'get-bucket-ownership-controls', '--bucket', b])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(cliJson(got.stdout).OwnershipControls.Rules[0].ObjectOwnership, 'BucketOwnerPreferred')
    const put = await aws(['s3api', 'put-bucket-ownership-controls', '--bucket', b, '--ownership-controls', 'Rules=[{ObjectOwnership=ObjectWriter}]'])
    assert.equal(put.code, 0, put.stderr)
    assert.equal(cliJson((await aws(['s3api', 'get-bucket-ownership-controls', '--bucket', b])).stdout).OwnershipControls.Rules[0].ObjectOwnership, 'ObjectWriter')
    const del = await aws(['s3api', 'delete-bucket-ownership-controls', '--bucket', b])
    assert.equal(del.code, 0, del.stderr)
    const gone = await aws(['s3api', 'get-bucket-ownership-controls', '--bucket', b])
    assert.notEqual(gone.code, 0)
    assert.equal(cliErrorCode(gone), 'OwnershipControlsNotFoundError')
    const refused = await aws(['s3api', 'create-bucket', '--bucket', bucketName('own-cli-x'), '--acl', 'public-read'])
    assert.equal(cliErrorCode(refused), 'InvalidBucketAclWithObjectOwnership')
  })

  test('the setting is kept in the state store: it survives a restart', async () => {
    const dataDir = s.dataDir
    restartedDir = dataDir
    const b = bucketName('own-keep')
    await s.client().send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'BucketOwnerPreferred' }))
    const other = bucketName('own-keep-none')
    await s.client().send(new CreateBucketCommand({ Bucket: other }))
    await s.client().send(new DeleteBucketOwnershipControlsCommand({ Bucket: other }))
    await s.close()
    s = await startTestServer({ dataDir })
    assert.equal((await s.client().send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership, 'BucketOwnerPreferred')
    assert.equal((await failure(() => s.client().send(new GetBucketOwnershipControlsCommand({ Bucket: other })))).name, 'OwnershipControlsNotFoundError')
  })
})

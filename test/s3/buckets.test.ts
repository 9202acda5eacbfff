/** Buckets through the AWS SDK v3: create in regions, list, head, location, delete, naming, conflicts, wrong region. */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketTaggingCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, PARTNER, PARTNER_ADMIN, startTestServer, type TestServer } from '../helpers/server.js'

describe('buckets', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer()
  })
  after(async () => {
    await s.stop()
  })

  test('CreateBucket with LocationConstraint puts the bucket in that region', async () => {
    const name = bucketName('eu')
    const eu = s.client(undefined, 'eu-west-1')
    await eu.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const loc = await eu.send(new GetBucketLocationCommand({ Bucket: name }))
    assert.equal(loc.LocationConstraint, 'eu-west-1')
    const head = await eu.send(new HeadBucketCommand({ Bucket: name }))
    assert.equal(head.BucketRegion, 'eu-west-1')
    const list = await s.client().send(new ListBucketsCommand({}))
    const entry = list.Buckets?.find((b) => b.Name === name)
    assert.ok(entry, 'new bucket is listed')
    assert.equal(entry.BucketRegion, 'eu-west-1')
    assert.ok(list.Owner?.ID && /^[0-9a-f]{64}$/.test(list.Owner.ID))
  })

  test('a us-east-1 bucket has an empty location constraint', async () => {
    const name = bucketName()
    await s.client().send(new CreateBucketCommand({ Bucket: name }))
    const loc = await s.client().send(new GetBucketLocationCommand({ Bucket: name }))
    assert.equal(loc.LocationConstraint ?? '', '')
  })

  test('invalid names are refused with InvalidBucketName', async () => {
    for (const bad of ['ab', 'Upper-Case-Name', 'under_score', '192.168.1.1', 'a..b', '-start', 'xn--punycode', 'ends.mrap']) {
      const e = await failure(() => s.client().send(new CreateBucketCommand({ Bucket: bad })))
      assert.equal(e.name, 'InvalidBucketName', bad)
      assert.equal(e.$metadata.httpStatusCode, 400)
    }
  })

  test('an unknown region is InvalidLocationConstraint; a constraint for another regional endpoint is refused', async () => {
    const e1 = await failure(() => s.client().send(new CreateBucketCommand({ Bucket: bucketName(), CreateBucketConfiguration: { LocationConstraint: 'ap-south-2' } })))
    assert.equal(e1.name, 'InvalidLocationConstraint')
    // The SDK adds the client's region as LocationConstraint itself, so send this one by hand.
    const e2 = await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucketName()}`, region: 'eu-west-1' })
    assert.equal(e2.status, 400)
    assert.equal(codeOf(e2.body), 'IllegalLocationConstraintException')
    const e3 = await failure(() => s.client().send(new CreateBucketCommand({ Bucket: bucketName(), CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never } })))
    assert.equal(e3.name, 'InvalidLocationConstraint')
  })

  test('BucketAlreadyOwnedByYou for your own bucket, BucketAlreadyExists across accounts', async () => {
    const name = bucketName('dup')
    const eu = s.client(undefined, 'eu-west-1')
    await eu.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const mine = await failure(() => eu.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })))
    assert.equal(mine.name, 'BucketAlreadyOwnedByYou')
    assert.equal(mine.$metadata.httpStatusCode, 409)
    const theirs = await failure(() =>
      s.client(PARTNER_ADMIN, 'eu-west-1').send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
    )
    assert.equal(theirs.name, 'BucketAlreadyExists')
    assert.equal(theirs.$metadata.httpStatusCode, 409)
  })

  test('a principal without identity grants is refused ListBuckets and CreateBucket', async () => {
    assert.equal((await failure(() => s.client(PARTNER).send(new ListBucketsCommand({})))).name, 'AccessDenied')
    assert.equal((await failure(() => s.client(PARTNER).send(new CreateBucketCommand({ Bucket: bucketName('nope') })))).name, 'AccessDenied')
  })

  test('a bucket is listed only for its owner account', async () => {
    const name = bucketName('own')
    await s.client().send(new CreateBucketCommand({ Bucket: name }))
    // The owner's listing first: without it, a ListBuckets that listed nothing would pass.
    const owner = await s.client().send(new ListBucketsCommand({}))
    assert.equal(owner.Buckets?.filter((b) => b.Name === name).length, 1)
    const partner = await s.client(PARTNER_ADMIN).send(new ListBucketsCommand({}))
    assert.ok(Array.isArray(partner.Buckets), 'the partner gets a listing, not an error')
    assert.ok(!partner.Buckets.some((b) => b.Name === name))
  })

  test('DeleteBucket: BucketNotEmpty while objects remain, then deleted, then NoSuchBucket', async () => {
    const name = bucketName('del')
    const c = s.client()
    await c.send(new CreateBucketCommand({ Bucket: name }))
    await c.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'x' }))
    const e = await failure(() => c.send(new DeleteBucketCommand({ Bucket: name })))
    assert.equal(e.name, 'BucketNotEmpty')
    assert.equal(e.$metadata.httpStatusCode, 409)
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3')
    await c.send(new DeleteObjectCommand({ Bucket: name, Key: 'k' }))
    await c.send(new DeleteBucketCommand({ Bucket: name }))
    const gone = await failure(() => c.send(new HeadBucketCommand({ Bucket: name })))
    assert.equal(gone.$metadata.httpStatusCode, 404)
    const list = await failure(() => c.send(new ListObjectsV2Command({ Bucket: name })))
    assert.equal(list.name, 'NoSuchBucket')
  })

  test('a request signed for the wrong region is AuthorizationHeaderMalformed naming the right one', async () => {
    const name = bucketName('region')
    await s.client(undefined, 'eu-west-1').send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${name}/`, query: { 'list-type': '2' }, region: 'us-east-1' })
    assert.equal(r.status, 400)
    assert.equal(codeOf(r.body), 'AuthorizationHeaderMalformed')
    assert.match(r.body, /<Region>eu-west-1<\/Region>/)
  })

  test("a path-style request to another region's AWS host is PermanentRedirect", async () => {
    const name = bucketName('redir')
    await s.client(undefined, 'eu-west-1').send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${name}/`, headers: { host: 's3.us-west-2.amazonaws.com' }, region: 'us-west-2' })
    assert.equal(r.status, 301)
    assert.equal(codeOf(r.body), 'PermanentRedirect')
    assert.equal(r.headers['x-amz-bucket-region'], 'eu-west-1')
  })

  test('virtual-host style under the AWS host name reaches the bucket', async () => {
    const name = bucketName('vhost')
    await s.client().send(new CreateBucketCommand({ Bucket: name }))
    await s.client().send(new PutObjectCommand({ Bucket: name, Key: 'hello.txt', Body: 'vhost body' }))
    const r = await rawRequest(s.endpoint, { method: 'GET', path: '/hello.txt', headers: { host: `${name}.s3.us-east-1.amazonaws.com` } })
    assert.equal(r.status, 200)
    assert.equal(r.body, 'vhost body')
    const custom = await rawRequest(s.endpoint, { method: 'GET', path: '/hello.txt', headers: { host: `${name}.localhost:${s.port}` } })
    assert.equal(custom.status, 200)
    assert.equal(custom.body, 'vhost body')
  })

  test('versioning and tagging configuration round-trip', async () => {
    const name = bucketName('cfg')
    const c = s.client()
    await c.send(new CreateBucketCommand({ Bucket: name }))
    assert.equal((await c.send(new GetBucketVersioningCommand({ Bucket: name }))).Status, undefined)
    await c.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }))
    assert.equal((await c.send(new GetBucketVersioningCommand({ Bucket: name }))).Status, 'Enabled')
    await c.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Suspended' } }))
    assert.equal((await c.send(new GetBucketVersioningCommand({ Bucket: name }))).Status, 'Suspended')
    const none = await failure(() => c.send(new GetBucketTaggingCommand({ Bucket: name })))
    assert.equal(none.name, 'NoSuchTagSet')
    await c.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] } }))
    assert.deepEqual((await c.send(new GetBucketTaggingCommand({ Bucket: name }))).TagSet, [{ Key: 'team', Value: 'storage' }])
    await c.send(new DeleteBucketTaggingCommand({ Bucket: name }))
    assert.equal((await failure(() => c.send(new GetBucketTaggingCommand({ Bucket: name })))).name, 'NoSuchTagSet')
    const acl = await c.send(new GetBucketAclCommand({ Bucket: name }))
    assert.equal(acl.Grants?.[0]?.Permission, 'FULL_CONTROL')
  })

  test('malformed versioning XML is MalformedXML', async () => {
    const name = bucketName('badxml')
    await s.client().send(new CreateBucketCommand({ Bucket: name }))
    const r = await rawRequest(s.endpoint, { method: 'PUT', path: `/${name}`, query: { versioning: '' }, body: '<VersioningConfiguration><Status>Enabled</Status>' })
    assert.equal(r.status, 400)
    assert.equal(codeOf(r.body), 'MalformedXML')
    const r2 = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${name}`,
      query: { versioning: '' },
      body: '<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>',
    })
    assert.equal(codeOf(r2.body), 'MalformedXML')
  })

  test('unknown subresources are NotImplemented; every response has a request id', async () => {
    const name = bucketName('sub')
    await s.client().send(new CreateBucketCommand({ Bucket: name }))
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${name}`, query: { analytics: '' } })
    assert.equal(r.status, 501)
    assert.equal(codeOf(r.body), 'NotImplemented')
    assert.match(String(r.headers['x-amz-request-id']), /^[0-9A-F]{16}$/)
    assert.match(r.body, /<RequestId>[0-9A-F]{16}<\/RequestId>/)
  })
})

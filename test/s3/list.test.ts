/** ListObjects (v1) and ListObjectsV2: prefix, delimiter, max-keys, continuation-token, start-after, marker, encoding-type. */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const KEYS = ['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/3.txt', 'd e/f+g.txt', 'z', 'ä/ü.txt', 'b0']

describe('listing', () => {
  let s: TestServer
  let bucket: string
  before(async () => {
    s = await startTestServer()
    bucket = bucketName('list')
    const c = s.client()
    await c.send(new CreateBucketCommand({ Bucket: bucket }))
    for (const k of KEYS) await c.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))
  })
  after(async () => {
    await s.stop()
  })

  test('V2 lists every key in UTF-8 binary order', async () => {
    const r = await s.client().send(new ListObjectsV2Command({ Bucket: bucket }))
    const expected = [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    assert.deepEqual(
      r.Contents?.map((o) => o.Key),
      expected,
    )
    assert.equal(r.KeyCount, KEYS.length)
    assert.equal(r.IsTruncated, false)
  })

  test('prefix and delimiter roll keys up into common prefixes', async () => {
    const r = await s.client().send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }))
    assert.deepEqual(
      r.Contents?.map((o) => o.Key),
      ['a.txt', 'b0', 'z'],
    )
    assert.deepEqual(
      r.CommonPrefixes?.map((p) => p.Prefix),
      ['b/', 'd e/', 'ä/'],
    )
    const sub = await s.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'b/', Delimiter: '/' }))
    assert.deepEqual(
      sub.Contents?.map((o) => o.Key),
      ['b/1.txt', 'b/2.txt'],
    )
    assert.deepEqual(
      sub.CommonPrefixes?.map((p) => p.Prefix),
      ['b/c/'],
    )
  })

  test('max-keys pages with continuation tokens, common prefixes counted', async () => {
    const seen: string[] = []
    let pages = 0
    for await (const page of paginateListObjectsV2({ client: s.client(), pageSize: 2 }, { Bucket: bucket, Delimiter: '/' })) {
      pages += 1
      assert.ok((page.KeyCount ?? 0) <= 2)
      for (const o of page.Contents ?? []) seen.push(o.Key!)
      for (const p of page.CommonPrefixes ?? []) seen.push(p.Prefix!)
    }
    assert.deepEqual(seen, ['a.txt', 'b/', 'b0', 'd e/', 'z', 'ä/'])
    assert.equal(pages, 3)
  })

  test('start-after skips keys; a garbage continuation token is InvalidArgument', async () => {
    const r = await s.client().send(new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'b/2.txt' }))
    assert.equal(r.Contents?.[0]?.Key, 'b/c/3.txt')
    const e = await failure(() => s.client().send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'garbage' })))
    assert.equal(e.name, 'InvalidArgument')
  })

  test('max-keys 0 returns nothing, not truncated; a negative max-keys is InvalidArgument', async () => {
    const r = await s.client().send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 0 }))
    assert.equal(r.KeyCount, 0)
    assert.equal(r.IsTruncated, false)
    const bad = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'max-keys': '-1' } })
    assert.equal(codeOf(bad.body), 'InvalidArgument')
    assert.match(bad.body, /<ArgumentName>max-keys<\/ArgumentName>/)
  })

  test('V1 with marker and NextMarker (with a delimiter)', async () => {
    const c = s.client()
    const first = await c.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 3, Delimiter: '/' }))
    assert.deepEqual([...(first.Contents ?? []).map((o) => o.Key), ...(first.CommonPrefixes ?? []).map((p) => p.Prefix)].sort(), ['a.txt', 'b/', 'b0'])
    assert.equal(first.IsTruncated, true)
    assert.equal(first.NextMarker, 'b0')
    const second = await c.send(new ListObjectsCommand({ Bucket: bucket, Marker: first.NextMarker, Delimiter: '/' }))
    assert.deepEqual(
      second.Contents?.map((o) => o.Key),
      ['z'],
    )
    assert.deepEqual(
      second.CommonPrefixes?.map((p) => p.Prefix),
      ['d e/', 'ä/'],
    )
    assert.equal(second.IsTruncated, false)
    const all = await c.send(new ListObjectsCommand({ Bucket: bucket, Marker: 'b/c/3.txt' }))
    assert.equal(all.Contents?.[0]?.Key, 'b0')
    assert.ok(all.Contents?.[0]?.Owner?.ID)
  })

  test('encoding-type=url encodes keys and prefixes', async () => {
    const r = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'encoding-type': 'url', prefix: 'd e/' } })
    assert.equal(r.status, 200)
    // A space is %20, never '+' (test/s3/fidelity-list.test.ts has the rest).
    assert.match(r.body, /<Key>d%20e\/f%2Bg\.txt<\/Key>/)
    assert.match(r.body, /<EncodingType>url<\/EncodingType>/)
    const bad = await rawRequest(s.endpoint, { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'encoding-type': 'base64' } })
    assert.equal(codeOf(bad.body), 'InvalidArgument')
    // The SDK asks for url encoding and decodes it back.
    const sdk = await s.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'ä/', EncodingType: 'url' }))
    assert.ok(sdk.Contents?.length === 1)
  })
})

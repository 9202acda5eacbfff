import assert from 'node:assert/strict'
import { test } from 'node:test'
import { s3Query } from './address.js'

test("s3Query: a presigned URL's own X-Amz-* parameters are not part of what the operations see", () => {
  const presigned =
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab'
  assert.deepEqual([...s3Query(presigned).keys()], [])
  assert.deepEqual([...s3Query('x-amz-date=1&X-Amz-foo=2').keys()], [])
  assert.deepEqual([...s3Query('X-AMZ-Foo=2').keys()], ['X-AMZ-Foo'], 'other casings take the general path')
  assert.deepEqual([...s3Query('').keys()], [])
})

test('s3Query: any other parameter keeps the whole query, parsed as URLSearchParams does', () => {
  const q = s3Query('X-Amz-Signature=ab&versionId=v%201&response-content-type=text%2Fplain&tagging')
  assert.equal(q.get('versionId'), 'v 1')
  assert.equal(q.get('response-content-type'), 'text/plain')
  assert.equal(q.has('tagging'), true)
  assert.equal(q.get('X-Amz-Signature'), 'ab')
  assert.deepEqual([...s3Query('uploads').keys()], ['uploads'])
  assert.deepEqual([...s3Query('x-amz=1').keys()], ['x-amz'], 'only the x-amz- prefix counts')
})

/**
 * A client that hangs up in the middle of a body (src/shared/chain.ts carries the body from the
 * socket through the digester to the store): the write fails without an object, a temp file or an
 * uncaught error (which would end this test process), and the server goes on answering. S3 keeps
 * nothing of an upload whose connection broke ("Amazon S3 never adds partial objects", PutObject,
 * Amazon S3 API Reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html).
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checksumOf } from '../../src/shared/checksums.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { openPut } from '../helpers/slow-body.js'

const KiB = 1024
const crc32 = (s: string): string => checksumOf('CRC32', s)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: TestServer
const bucket = 'client-abort-test'

before(async () => {
  server = await startTestServer()
  assert.equal((await rawRequest(server.endpoint, { method: 'PUT', path: `/${bucket}` })).status, 200)
})
after(async () => {
  await server.stop()
})

const tmpFiles = () => readdirSync(join(server.dataDir, 'regions', 'us-east-1', 'tmp'))

/** Waits until `check` holds (the server notices a closed socket asynchronously). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(20)
  assert.ok(check(), what)
}

describe('a client hangs up mid-body', { timeout: 60_000 }, () => {
  for (const [what, size] of [
    ['file-backed', 300 * KiB],
    ['inline', 8 * KiB],
  ] as const) {
    test(`PutObject (${what}): no object, no temp file, the next request is answered`, async () => {
      const key = `hung-up-${what}`
      const put = await openPut(server.endpoint, `/${bucket}/${key}`, size)
      await put.write(randomBytes(size / 2))
      await sleep(50)
      put.req.destroy()
      await eventually(() => tmpFiles().length === 0, `temp files left: ${tmpFiles().join(', ')}`)
      const get = await rawRequest(server.endpoint, { method: 'GET', path: `/${bucket}/${key}` })
      assert.equal(get.status, 404)
      assert.equal(codeOf(get.body), 'NoSuchKey')
      // The same key written whole afterwards is stored as sent.
      const body = randomBytes(size)
      const ok = await openPut(server.endpoint, `/${bucket}/${key}`, size)
      await ok.write(body)
      assert.equal((await ok.finish()).status, 200)
      const again = await rawRequest(server.endpoint, { method: 'GET', path: `/${bucket}/${key}` })
      assert.equal(again.status, 200)
      assert.equal(again.headers['content-length'], String(size))
      assert.equal(again.headers.etag, `"${createHash('md5').update(body).digest('hex')}"`)
    })
  }

  test('PutBucketLifecycleConfiguration: the half-sent rules are not applied', async () => {
    const xml = `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>${' '.repeat(4 * KiB)}</LifecycleConfiguration>`
    const put = await openPut(server.endpoint, `/${bucket}`, Buffer.byteLength(xml), undefined, { 'x-amz-checksum-crc32': crc32(xml) }, { lifecycle: '' })
    await put.write(Buffer.from(xml.slice(0, 200)))
    await sleep(50)
    put.req.destroy()
    await sleep(100)
    const get = await rawRequest(server.endpoint, { method: 'GET', path: `/${bucket}`, query: { lifecycle: '' } })
    assert.equal(get.status, 404)
    assert.equal(codeOf(get.body), 'NoSuchLifecycleConfiguration')
    // The same request sent whole is applied (so the one above was refused for its hang-up alone).
    const whole = await openPut(server.endpoint, `/${bucket}`, Buffer.byteLength(xml), undefined, { 'x-amz-checksum-crc32': crc32(xml) }, { lifecycle: '' })
    await whole.write(Buffer.from(xml))
    assert.equal((await whole.finish()).status, 200)
    const rules = await rawRequest(server.endpoint, { method: 'GET', path: `/${bucket}`, query: { lifecycle: '' } })
    assert.equal(rules.status, 200)
    assert.match(rules.body, /<Prefix>logs\/<\/Prefix>/)
  })
})

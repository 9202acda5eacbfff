/**
 * A browser's form upload to a bucket, from Debian's Chromium driven by playwright-core: a page
 * served from another origin (its own node:http server) posts the form with fetch, so the bucket's
 * CORS rules decide what the browser lets the page do, and submits a plain HTML form, which
 * follows success_action_redirect back to the page's site.
 *
 * AWS: "Browser-Based Uploads Using POST (AWS Signature Version 4)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html), "Using cross-origin
 * resource sharing (CORS)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html), and
 * docs/aws/cors.md. scripts/test.mjs installs Debian's `chromium` when it is missing.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3'
import { type Browser, chromium, type Page } from 'playwright-core'
import { postPolicyFields } from '../helpers/post-policy.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let site: Server
let siteOrigin: string
let browser: Browser
let page: Page
let bucket: string

/** The application's page: a file input, and a form whose fields the test fills per case. */
const PAGE = `<!doctype html>
<html><body>
<form id="upload" method="post" enctype="multipart/form-data"></form>
<input id="pick" type="file">
<script>
  // fetch() the form to the bucket; the result is what the page's script is allowed to see.
  window.sendForm = async (action, fields, extraHeaders) => {
    const form = new FormData()
    for (const [k, v] of Object.entries(fields)) form.append(k, v)
    form.append('file', document.getElementById('pick').files[0])
    try {
      const res = await fetch(action, { method: 'POST', body: form, headers: extraHeaders || {} })
      return { ok: true, status: res.status, etag: res.headers.get('etag'), body: await res.text() }
    } catch (e) {
      return { ok: false, error: String(e) }
    }
  }
  // A plain HTML form: the browser itself encodes and submits it, the file part last.
  window.submitForm = (action, fields) => {
    const f = document.getElementById('upload')
    f.action = action
    for (const [k, v] of Object.entries(fields)) {
      const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i)
    }
    const file = document.getElementById('pick'); file.name = 'file'; f.appendChild(file)
    f.submit()
  }
</script>
</body></html>`

before(async () => {
  s = await startTestServer()
  bucket = bucketName('browser')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  site = createServer((req, res) => {
    if (req.url?.startsWith('/done')) {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<p id="done">uploaded</p>')
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(PAGE)
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
  assert.notEqual(siteOrigin, new URL(s.endpoint).origin)
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] })
})
after(async () => {
  await browser?.close()
  await new Promise((resolve) => site?.close(resolve))
  await s?.stop()
})

async function openPage(file: string): Promise<Page> {
  page = await browser.newPage()
  await page.goto(`${siteOrigin}/`)
  await page.setInputFiles('#pick', { name: file, mimeType: 'text/plain', buffer: Buffer.from(`contents of ${file}`) })
  return page
}

async function allow(origin: string): Promise<void> {
  await s.client().send(
    new PutBucketCorsCommand({
      Bucket: bucket,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ['POST', 'GET'], AllowedHeaders: ['x-app-*'], ExposeHeaders: ['ETag'] }] },
    }),
  )
}

type Sent = { ok: boolean; status?: number; etag?: string | null; body?: string; error?: string }

describe('a form upload from Chromium', () => {
  test('fetch() of the form from an allowed origin, preflighted: stored, and the page reads the 201 and the exposed ETag', async () => {
    await allow(siteOrigin)
    const p = await openPage('allowed.txt')
    const fields = {
      ...postPolicyFields({
        bucket,
        key: 'uploads/${filename}',
        conditions: [['starts-with', '$key', 'uploads/'], { success_action_status: '201' }, ['content-length-range', 1, 1024]],
      }),
      success_action_status: '201',
    }
    // A header of the application's own makes the browser ask first (OPTIONS), then send.
    const sent = await p.evaluate(
      ([action, f]) => (window as unknown as { sendForm: (a: string, f: unknown, h: unknown) => Promise<Sent> }).sendForm(action, f, { 'x-app-trace': '1' }),
      [`${s.endpoint}/${bucket}`, fields] as const,
    )
    assert.equal(sent.ok, true, sent.error)
    assert.equal(sent.status, 201)
    assert.match(sent.body!, /<Key>uploads\/allowed\.txt<\/Key>/)
    assert.match(sent.etag ?? '', /^"[0-9a-f]{32}"$/)
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'uploads/allowed.txt' }))
    assert.equal(await got.Body!.transformToString(), 'contents of allowed.txt')
    await p.close()
  })

  test('a rule for another origin: the browser fails the fetch, and a preflighted one never uploads', async () => {
    await allow('https://elsewhere.example.com')
    const p = await openPage('refused.txt')
    const fields = postPolicyFields({ bucket, key: 'uploads/${filename}', conditions: [['starts-with', '$key', 'uploads/']] })
    const send = (headers?: Record<string, string>) =>
      p.evaluate(([action, f, h]) => (window as unknown as { sendForm: (a: string, f: unknown, h: unknown) => Promise<Sent> }).sendForm(action, f, h), [
        `${s.endpoint}/${bucket}`,
        fields,
        headers,
      ] as const)
    // A form POST is a "simple" request: sent without a preflight, its answer withheld from the page.
    const simple = await send()
    assert.equal(simple.ok, false)
    assert.match(simple.error!, /TypeError: Failed to fetch/)
    // With a header no rule allows, the browser asks first; S3 refuses the preflight and nothing is sent.
    await s.client().send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: [siteOrigin], AllowedMethods: ['POST'] }] } }))
    const preflighted = await p.evaluate(
      ([action, f]) =>
        (window as unknown as { sendForm: (a: string, f: unknown, h: unknown) => Promise<Sent> }).sendForm(
          action,
          { ...(f as object), key: 'uploads/preflighted.txt' },
          { 'x-app-trace': '1' },
        ),
      [`${s.endpoint}/${bucket}`, fields] as const,
    )
    assert.equal(preflighted.ok, false)
    assert.equal((await failure(() => s.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'uploads/preflighted.txt' })))).$metadata.httpStatusCode, 404)
    await p.close()
  })

  test('a plain HTML form submits, S3 stores the file and redirects back with bucket, key and etag', async () => {
    const p = await openPage('form.txt')
    const done = `${siteOrigin}/done`
    const fields = {
      ...postPolicyFields({
        bucket,
        key: 'forms/${filename}',
        conditions: [
          ['starts-with', '$key', 'forms/'],
          ['starts-with', '$success_action_redirect', `${siteOrigin}/`],
          ['starts-with', '$x-amz-meta-from', ''],
        ],
      }),
      success_action_redirect: done,
      'x-amz-meta-from': 'html form',
    }
    await Promise.all([
      p.waitForURL(`${done}?**`),
      p.evaluate(([action, f]) => (window as unknown as { submitForm: (a: string, f: unknown) => void }).submitForm(action, f), [`${s.endpoint}/${bucket}`, fields] as const),
    ])
    const url = new URL(p.url())
    assert.equal(url.searchParams.get('bucket'), bucket)
    assert.equal(url.searchParams.get('key'), 'forms/form.txt')
    assert.match(url.searchParams.get('etag') ?? '', /^"[0-9a-f]{32}"$/)
    assert.equal(await p.textContent('#done'), 'uploaded')
    const got = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'forms/form.txt' }))
    assert.equal(await got.Body!.transformToString(), 'contents of form.txt')
    assert.deepEqual(got.Metadata, { from: 'html form' })
    await p.close()
  })
})

/**
 * The console's Buckets page in Debian's Chromium: create a bucket, upload through the browser
 * (per-file progress, multipart above one part), list, download byte-identical, versions and
 * delete, the policy editor with PutBucketPolicy's MalformedPolicy and lint findings, a reader's
 * refused upload with its explain link, and a bucket of 100,000 objects whose first page the
 * server renders in under a second.
 *
 * AWS: "Uploading and copying objects using multipart upload" (an ETag of a multipart object ends
 * in -<parts>, https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html);
 * "PutBucketPolicy" (MalformedPolicy, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html);
 * "ListObjectsV2" (continuation tokens, https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  CreateBucketCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import Database from 'better-sqlite3'
import type { Page } from 'playwright-core'
import { bucketName } from '../helpers/server.js'
import { ADMIN, axe, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'

let h: ConsoleHarness
let admin: Page

before(async () => {
  h = await startConsoleHarness()
  admin = await h.pageAs(ADMIN)
})
after(async () => {
  await h?.close()
})

/**
 * The guards, where a test expects the console to answer a refusal with its HTTP status: the
 * browser logs each 4xx document or XHR as a console error, which is then the point of the test.
 */
async function checkPage(page: Page, expectedStatuses: number[] = []): Promise<void> {
  const allowed = expectedStatuses.map((s) => `status of ${s}`)
  const problems = h.problems(page).filter((p) => !(p.includes('Failed to load resource') && allowed.some((a) => p.includes(a))))
  assert.deepEqual(problems, [], 'the page made a foreign request or logged an error')
  assert.deepEqual(await axe(page), [], 'axe found accessibility violations')
}

async function uploadFiles(page: Page, files: { name: string; buffer: Buffer }[]): Promise<void> {
  await page.getByLabel(/Files to upload/).setInputFiles(files.map((f) => ({ ...f, mimeType: 'application/octet-stream' })))
  await page.getByRole('button', { name: 'Upload', exact: true }).click()
}

async function download(page: Page, link: ReturnType<Page['getByRole']>): Promise<Buffer> {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()])
  const path = await dl.path()
  return readFileSync(path)
}

test('create a bucket, upload with progress, list, download byte-identical, delete', async () => {
  const name = bucketName('console')
  await admin.goto(h.url('/buckets'))
  await admin.getByLabel('Bucket name').first().fill(name)
  await admin.getByLabel('Region').selectOption('us-west-2')
  await admin.getByRole('button', { name: 'Create bucket' }).click()
  await admin.getByRole('heading', { level: 1, name }).waitFor()
  assert.equal(h.server.services.state.getBucket(name)?.region, 'us-west-2')

  const body = randomBytes(300 * 1024)
  await uploadFiles(admin, [{ name: 'hello.bin', buffer: body }])
  const item = admin.locator('.upload-item').filter({ hasText: 'hello.bin' })
  await item.getByText('Uploaded', { exact: true }).waitFor()
  const bar = item.getByRole('progressbar', { name: 'Upload of hello.bin' })
  assert.equal(await bar.getAttribute('value'), await bar.getAttribute('max'), 'the progress bar ends full')
  // The listing reloads in place once the uploads settle.
  const row = admin.getByRole('table', { name: 'Objects' }).getByRole('row', { name: /hello\.bin/ })
  await row.waitFor()
  assert.match((await row.textContent()) ?? '', /300\.0 KiB|300 KiB/)
  await checkPage(admin)

  const got = await download(admin, row.getByRole('link', { name: 'Download' }))
  assert.ok(got.equals(body), 'the download is byte-identical to the upload')

  // A presigned link on the API's own port: anyone holding it reads the object, until it expires.
  await row.getByRole('link', { name: 'hello.bin' }).click()
  await admin.getByLabel('Link valid for').selectOption({ label: '1 hour' })
  await admin.getByRole('button', { name: 'Create link' }).click()
  const link = new URL(await admin.getByLabel('Presigned link').inputValue())
  assert.equal(link.port, String(h.server.port), 'the link names the API, not the console')
  assert.equal(link.searchParams.get('X-Amz-Expires'), '3600')
  const shared = await fetch(link)
  assert.equal(shared.status, 200, await shared.clone().text())
  assert.ok(Buffer.from(await shared.arrayBuffer()).equals(body), 'the shared link serves the object')

  await admin.getByText('Delete object…').click()
  await admin.getByRole('button', { name: 'Delete hello.bin' }).click()
  await admin.getByRole('status').filter({ hasText: 'Object deleted.' }).waitFor()
  const head = await h.server
    .client(ADMIN, 'us-west-2')
    .send(new HeadObjectCommand({ Bucket: name, Key: 'hello.bin' }))
    .catch((e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode)
  assert.equal(head, 404)
})

test('a versioned bucket shows both versions of a key uploaded twice; a version downloads and deletes', async () => {
  const name = bucketName('versions')
  const s3 = h.server.client(ADMIN)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  await admin.goto(h.url(`/buckets/${name}?tab=versioning`))
  await admin.getByRole('button', { name: 'Enable versioning' }).click()
  await admin.getByRole('status').filter({ hasText: 'Versioning updated.' }).waitFor()
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: name }))).Status, 'Enabled')
  await admin.getByRole('link', { name: 'Objects' }).click()
  const first = Buffer.from('first version\n')
  const second = Buffer.from('second version, longer\n')
  await uploadFiles(admin, [{ name: 'notes.txt', buffer: first }])
  await admin.locator('.upload-item').getByText('Uploaded', { exact: true }).waitFor()
  await admin.reload()
  await uploadFiles(admin, [{ name: 'notes.txt', buffer: second }])
  await admin.locator('.upload-item').getByText('Uploaded', { exact: true }).waitFor()

  await admin.getByRole('link', { name: 'Show versions' }).click()
  await admin.getByRole('link', { name: 'Hide versions' }).waitFor()
  const table = admin.getByRole('table', { name: 'Objects' })
  const rows = table.getByRole('row', { name: /notes\.txt/ })
  await rows.first().waitFor()
  assert.equal(await rows.count(), 2)
  assert.match((await rows.nth(0).textContent()) ?? '', /Latest/)
  assert.match((await rows.nth(1).textContent()) ?? '', /Noncurrent/)
  const old = await download(admin, rows.nth(1).getByRole('link', { name: 'Download' }))
  assert.ok(old.equals(first), 'the noncurrent version downloads as it was first uploaded')
  await checkPage(admin)

  await rows.nth(1).getByText('Delete version…').click()
  await rows
    .nth(1)
    .getByRole('button', { name: /Delete version .* permanently/ })
    .click()
  await admin.getByRole('status').filter({ hasText: 'Version deleted.' }).waitFor()
  const left = await s3.send(new ListObjectVersionsCommand({ Bucket: name }))
  assert.equal(left.Versions?.length, 1)
  assert.equal(left.Versions?.[0]?.IsLatest, true)
})

test("a replication rule added on the Replication tab; the object's page shows its replication status", async () => {
  const source = bucketName('repl-src')
  const dest = bucketName('repl-dst')
  const s3 = h.server.client(ADMIN)
  for (const b of [source, dest]) {
    await s3.send(new CreateBucketCommand({ Bucket: b }))
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  }
  await admin.goto(h.url(`/buckets/${source}?tab=replication`))
  await admin.getByText('Add a rule').click()
  await admin.getByLabel('Rule ID').fill('to-dest')
  await admin.getByLabel('Destination bucket').fill(dest)
  await admin.getByRole('button', { name: 'Add rule' }).click()
  await admin.getByRole('status').filter({ hasText: 'Replication configuration saved.' }).waitFor()
  const rule = (await s3.send(new GetBucketReplicationCommand({ Bucket: source }))).ReplicationConfiguration?.Rules?.[0]
  assert.equal(rule?.ID, 'to-dest')
  assert.equal(rule?.Destination?.Bucket, `arn:aws:s3:::${dest}`)
  await s3.send(new PutObjectCommand({ Bucket: source, Key: 'r.txt', Body: 'replicate me' }))
  await admin.goto(h.url(`/buckets/${source}/object?key=r.txt`))
  // HeadObject's x-amz-replication-status: PENDING, then COMPLETED, or FAILED (the seed world has
  // no replication role, so the worker's copy is refused); an object no rule covers has none.
  const status = admin.getByRole('definition').filter({ hasText: /Pending|Completed|Failed/ })
  await status.waitFor()
})

test('a 6 MiB upload goes multipart (ETag -2) and is stored whole', async () => {
  const name = bucketName('multipart')
  await h.server.client(ADMIN).send(new CreateBucketCommand({ Bucket: name }))
  await admin.goto(h.url(`/buckets/${name}`))
  const body = randomBytes(6 * 1024 * 1024)
  await uploadFiles(admin, [{ name: 'big.bin', buffer: body }])
  const item = admin.locator('.upload-item').filter({ hasText: 'big.bin' })
  await item.getByText('Uploaded', { exact: true }).waitFor({ timeout: 20_000 })
  assert.match((await item.textContent()) ?? '', /multipart in 2 parts/)
  const head = await h.server.client(ADMIN).send(new HeadObjectCommand({ Bucket: name, Key: 'big.bin' }))
  assert.match(head.ETag ?? '', /-2"$/)
  assert.equal(head.ContentLength, body.length)
  const row = admin.getByRole('table', { name: 'Objects' }).getByRole('row', { name: /big\.bin/ })
  const got = await download(admin, row.getByRole('link', { name: 'Download' }))
  assert.ok(got.equals(body))
})

test('an upload cancelled half-way leaves no object and no open multipart upload; Retry sends it whole', async () => {
  const name = bucketName('cancel')
  const s3 = h.server.client(ADMIN)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  const page = await h.pageAs(ADMIN)
  await page.goto(h.url(`/buckets/${name}`))
  // A slow link, so that there is time to cancel: Chromium's own network throttling. Slow enough
  // that the click lands before the last byte on a loaded machine (at 4 MiB/s CI once clicked after
  // it, when the upload was complete and rightly stayed so).
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1.5 * 1024 * 1024 })
  const body = randomBytes(10 * 1024 * 1024)
  await uploadFiles(page, [{ name: 'slow.bin', buffer: body }])
  const item = page.locator('.upload-item').filter({ hasText: 'slow.bin' })
  const bar = item.getByRole('progressbar', { name: 'Upload of slow.bin' })
  await page.waitForFunction(() => ((document.querySelector('.upload-item progress') as HTMLProgressElement | null)?.value ?? 0) > 5.5 * 1024 * 1024)
  await item.getByRole('button', { name: 'Cancel upload of slow.bin' }).click()
  await item.getByText('Cancelled', { exact: true }).waitFor()
  assert.ok(Number(await bar.getAttribute('value')) < body.length)
  // The console aborts the multipart upload it had begun (the first part was sent).
  for (let i = 0; ; i++) {
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: name }))
    if ((open.Uploads ?? []).length === 0) break
    assert.ok(i < 50, 'the cancelled multipart upload is still open')
    await new Promise((r) => setTimeout(r, 100))
  }
  const none = await s3.send(new ListObjectsV2Command({ Bucket: name }))
  assert.equal(none.KeyCount, 0, 'a cancelled upload leaves no object')

  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  await item.getByRole('button', { name: 'Retry upload of slow.bin' }).click()
  await item.getByText('Uploaded', { exact: true }).waitFor({ timeout: 20_000 })
  const head = await s3.send(new HeadObjectCommand({ Bucket: name, Key: 'slow.bin' }))
  assert.equal(head.ContentLength, body.length)
})

test("the policy editor shows PutBucketPolicy's MalformedPolicy above the draft; lint findings are inline", async () => {
  const name = bucketName('policy')
  await h.server.client(ADMIN).send(new CreateBucketCommand({ Bucket: name }))
  // Its own page: the refusal's 400 stays in this page's guard log.
  const admin = await h.pageAs(ADMIN)
  await admin.goto(h.url(`/buckets/${name}?tab=permissions`))
  // s3:GetObject on the bucket's own ARN: "Action does not apply to any resource(s) in statement".
  const draft = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${name}` }],
  })
  await admin.getByLabel(/Policy \(JSON\)/).fill(draft)
  await admin.getByRole('button', { name: 'Save policy' }).click()
  const alert = admin.getByRole('alert').filter({ hasText: 'MalformedPolicy' })
  await alert.waitFor()
  assert.match((await alert.textContent()) ?? '', /Action does not apply to any resource\(s\) in statement/)
  assert.equal(await admin.getByLabel(/Policy \(JSON\)/).inputValue(), draft, 'the refused draft stays in the editor')
  // The seed's DOC-EXAMPLE-BUCKET2 has a public policy, which mrap lint reports.
  await admin.goto(h.url('/buckets/DOC-EXAMPLE-BUCKET2?tab=permissions'))
  const findings = admin.getByRole('table', { name: /mrap lint findings for DOC-EXAMPLE-BUCKET2/ })
  assert.match((await findings.textContent()) ?? '', /public-policy/)
  await checkPage(admin, [400])
})

test("a reader's upload is refused with AccessDenied and an explain link", async () => {
  const reader = await h.pageAs(READER)
  await reader.goto(h.url('/buckets/DOC-EXAMPLE-BUCKET1'))
  await uploadFiles(reader, [{ name: 'nope.txt', buffer: Buffer.from('not allowed') }])
  const item = reader.locator('.upload-item').filter({ hasText: 'nope.txt' })
  await item.getByText('Failed (HTTP 403)', { exact: true }).waitFor()
  assert.match((await item.getByRole('alert').textContent()) ?? '', /AccessDenied/)
  const explain = item.getByRole('link', { name: 'Explain this decision' })
  const target = new URL((await explain.getAttribute('href')) ?? '', h.url('/'))
  assert.equal(target.pathname, '/access')
  assert.equal(target.searchParams.get('action'), 's3:PutObject')
  assert.equal(target.searchParams.get('resource'), 'arn:aws:s3:::DOC-EXAMPLE-BUCKET1/nope.txt')
  assert.equal(target.searchParams.get('principal'), 'arn:aws:iam::123456789012:user/reader')
  await assert.rejects(h.server.client(ADMIN).send(new HeadObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1', Key: 'nope.txt' })))
  await checkPage(reader, [403])
})

test('a share link names the host the browser reached the console at, on the API port', async () => {
  const name = bucketName('share')
  const s3 = h.server.client(ADMIN)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  await s3.send(new PutObjectCommand({ Bucket: name, Key: 'a b/c.txt', Body: 'shared' }))
  // The console as reached by another name for this machine (a server listening on every address
  // would otherwise hand out the loopback address it dials).
  const origin = h.url('/').replace('127.0.0.1', 'localhost').replace(/\/$/, '')
  const page = await h.newPage()
  const session = h.server.console!.sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
  assert.ok(session.ok)
  await page.context().addCookies([{ name: 'mrap_console', value: session.entry.session.id, url: `${origin}/`, httpOnly: true, sameSite: 'Strict' }])
  await page.goto(`${origin}/buckets/${name}/object?key=${encodeURIComponent('a b/c.txt')}`)
  await page.getByRole('button', { name: 'Create link' }).click()
  const link = new URL(await page.getByLabel('Presigned link').inputValue())
  assert.equal(link.hostname, 'localhost')
  assert.equal(link.port, String(h.server.port))
  assert.equal(link.pathname, `/${name}/a%20b/c.txt`)
  assert.equal(link.searchParams.get('X-Amz-Expires'), '86400')
  await checkPage(page)
})

test('an upload whose body ends short, or whose size is beyond the console, is refused and stores nothing', async () => {
  const name = bucketName('short')
  await h.server.client(ADMIN).send(new CreateBucketCommand({ Bucket: name }))
  const r = h.server.console!.sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
  assert.ok(r.ok)
  // What a cancelled XHR leaves: fewer bytes than the file's announced size, then the end.
  const res = await fetch(h.url(`/buckets/${name}/upload?key=cut.bin&size=1000`), {
    method: 'POST',
    headers: { cookie: `mrap_console=${r.entry.session.id}`, 'x-csrf-token': r.entry.session.csrf, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(400, 1),
  })
  assert.equal(res.status, 400)
  assert.match(await res.text(), /IncompleteBody/)
  // The announced size picks the part size, and parts are held in memory: a size beyond what the
  // console uploads (10,000 parts of 16 MiB) is refused before any byte is read.
  const huge = await fetch(h.url(`/buckets/${name}/upload?key=huge.bin&size=${200 * 1024 ** 3}`), {
    method: 'POST',
    headers: { cookie: `mrap_console=${r.entry.session.id}`, 'x-csrf-token': r.entry.session.csrf, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(16, 1),
  })
  assert.equal(huge.status, 400)
  assert.match(await huge.text(), /EntityTooLarge/)
  const head = await h.server
    .client(ADMIN)
    .send(new HeadObjectCommand({ Bucket: name, Key: 'cut.bin' }))
    .catch((e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode)
  assert.equal(head, 404)
})

test("a download is served as bytes to save, never as the object's own type on the console's origin", async () => {
  const name = bucketName('html')
  const s3 = h.server.client(ADMIN)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  await s3.send(new PutObjectCommand({ Bucket: name, Key: 'page.html', Body: '<script>alert(1)</script>', ContentType: 'text/html' }))
  const r = h.server.console!.sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
  assert.ok(r.ok)
  const res = await fetch(h.url(`/buckets/${name}/download?key=page.html`), { headers: { cookie: `mrap_console=${r.entry.session.id}` } })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'application/octet-stream')
  assert.equal(res.headers.get('content-disposition'), "attachment; filename*=UTF-8''page.html")
  assert.equal(await res.text(), '<script>alert(1)</script>')
})

/**
 * 100,000 keys written straight into the region's store: the rows of one real object copied in a
 * single SQLite statement (through the SDK it would take minutes on a loaded machine).
 */
function fill(bucket: string, template: string, count: number): void {
  const db = new Database(join(h.server.dataDir, 'regions', 'us-east-1', 'meta.db'))
  try {
    db.pragma('busy_timeout = 10000')
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
       INSERT INTO versions (bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified_ms, attrs, checksums, checksum_type, inline, blob, manifest)
       SELECT v.bucket, printf('obj-%06d', n.i), v.version_id, 1, 0, v.size, v.etag, v.last_modified_ms, v.attrs, v.checksums, v.checksum_type, v.inline, v.blob, v.manifest
       FROM n, versions v WHERE v.bucket = ? AND v.key = ?`,
    ).run(count, bucket, template)
  } finally {
    db.close()
  }
}

test('a bucket of 100,000 objects: the first page is rendered in under a second, Next pages on', async () => {
  const name = bucketName('big')
  const s3 = h.server.client(ADMIN)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  await s3.send(new PutObjectCommand({ Bucket: name, Key: 'template', Body: 'x' }))
  fill(name, 'template', 100_000)

  // Server time of the page's own request (request sent → first byte), not the browser's load.
  await admin.goto(h.url(`/buckets/${name}`))
  const serverMs = await admin.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
    return nav.responseStart - nav.requestStart
  })
  assert.ok(serverMs < 1000, `the first page took ${serverMs} ms on the server`)
  const table = admin.getByRole('table', { name: 'Objects' })
  assert.equal(await table.getByRole('row').count(), 101, 'a header row and 100 objects')
  assert.match((await table.getByRole('row').nth(1).textContent()) ?? '', /obj-000000/)

  await admin.getByRole('link', { name: 'Next' }).click()
  await table.getByRole('row', { name: /obj-000100/ }).waitFor()
  assert.equal(await table.getByRole('row').count(), 101)
  await admin.getByRole('link', { name: 'Next' }).click()
  await table.getByRole('row', { name: /obj-000200/ }).waitFor()
  await admin.getByRole('link', { name: 'Previous' }).click()
  await table.getByRole('row', { name: /obj-000100/ }).waitFor()

  // A prefix search is the server's: the page holds only the matching keys.
  await admin.getByLabel(/Keys starting with/).fill('obj-09999')
  await admin.getByRole('button', { name: 'Search' }).click()
  await table.getByRole('row', { name: /obj-099999/ }).waitFor()
  assert.equal(await table.getByRole('row').count(), 11)
  await checkPage(admin)
})

/**
 * The console's Requests page in Debian's Chromium (harness guards: loopback only, no console error,
 * axe clean): the server's last requests, newest first, filterable and paged; a denied one opens the
 * replay `mrap explain --request-id` shows. A principal sees its own account's requests, not another
 * account's, and a replay needs iam:SimulatePrincipalPolicy on the caller
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { failure, PARTNER } from '../helpers/server.js'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'

const B1 = 'DOC-EXAMPLE-BUCKET1'

let h: ConsoleHarness
let readerDenied: string
let partnerDenied: string

before(async () => {
  h = await startConsoleHarness()
  // BUCKET1 runs without a policy (the seed's is refused), so the reader may not read it, nor the
  // partner write it; the admin's requests succeed.
  const reader = await failure(() => h.server.client(READER).send(new GetObjectCommand({ Bucket: B1, Key: 'k' })))
  assert.equal(reader.name, 'AccessDenied')
  readerDenied = (reader.$metadata as { requestId?: string }).requestId as string
  const partner = await failure(() => h.server.client(PARTNER).send(new PutObjectCommand({ Bucket: B1, Key: 'p', Body: 'x' })))
  assert.equal(partner.name, 'AccessDenied')
  partnerDenied = (partner.$metadata as { requestId?: string }).requestId as string
  const admin = h.server.client(ADMIN)
  await admin.send(new PutObjectCommand({ Bucket: B1, Key: 'a', Body: 'x' }))
  for (let i = 0; i < 30; i++) await admin.send(new HeadBucketCommand({ Bucket: B1 }))
})
after(async () => {
  await h?.close()
})

test("reader sees its account's requests, newest first and paged, not another account's; a filter narrows them", async () => {
  const page = await h.pageAs(READER)
  await page.goto(h.url('/requests'))
  const table = page.getByRole('table', { name: /Requests 1–25 of \d+, newest first/ })
  await table.waitFor()
  // Newest first: the admin's HeadBuckets came last.
  assert.match((await table.getByRole('row').nth(1).textContent()) ?? '', /HEAD.*HeadBucket.*arn:aws:iam::123456789012:user\/admin.*200 OK.*us-east-1/)
  await page.getByRole('link', { name: 'Older' }).click()
  await page.getByRole('table', { name: /Requests 26–/ }).waitFor()
  assert.ok(await page.getByText(readerDenied).isVisible(), "the reader's own denied request is on the second page")

  await page.goto(h.url('/requests'))
  await page.getByLabel('Status').selectOption('denied')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.waitForURL(/status=denied/)
  const rows = page.getByRole('table').getByRole('row')
  assert.equal(await rows.count(), 2, 'a header and the one denied request of this account')
  assert.match((await rows.nth(1).textContent()) ?? '', new RegExp(`GET.*${B1}/k.*GetObject.*user/reader.*403 AccessDenied.*${readerDenied}`))
  assert.equal(await page.getByText(partnerDenied).count(), 0, "another account's request is not shown")

  await page.goto(h.url(`/requests?q=${partnerDenied}`))
  assert.ok(await page.getByText('No requests match').isVisible())
  await page.getByLabel('Text').fill(readerDenied)
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.waitForURL(/q=/)
  assert.equal(await page.getByRole('table').getByRole('row').count(), 2)
  await h.check(page)
})

test('a denied request opens its explain replay: the bucket policy decided (there is none)', async () => {
  const page = await h.pageAs(READER)
  await page.goto(h.url(`/requests?status=denied`))
  await page.getByRole('link', { name: 'Explain denial' }).click()
  await page.waitForURL(new RegExp(`/requests/${readerDenied}$`))
  assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', new RegExp(readerDenied))
  assert.match((await page.locator('.xm-verdict').textContent()) ?? '', /Denied\./)
  const row = page.getByRole('row', { name: new RegExp(B1) })
  const deciding = row.locator('td.xm-deciding')
  assert.equal(await deciding.getAttribute('data-col'), 'bucket')
  assert.match((await deciding.textContent()) ?? '', /No policy.*deciding layer.*no bucket policy/)
  assert.match((await row.locator('td[data-col="result"]').textContent()) ?? '', /403 AccessDenied/)
  assert.ok(await page.getByText(`--request-id ${readerDenied}`).isVisible())
  await h.check(page)
})

test("another account's replay is not shown, even to the admin; the admin sees the reader's", async () => {
  const page = await h.pageAs(ADMIN)
  await page.goto(h.url(`/requests/${partnerDenied}`))
  assert.ok(await page.getByText('No replay for this request').isVisible())
  assert.equal(await page.locator('table.xm-matrix').count(), 0)
  await page.goto(h.url(`/requests/${readerDenied}`))
  await page.locator('table.xm-matrix').waitFor()
  await h.check(page)
})

/**
 * The console's Multi-Region Access Point pages in Chromium: create through the form and watch the
 * async operation end READY; flip a route in the "Edit routing status" dialog and see the next GET
 * through the MRAP served by the other Region; all-passive refused in the browser and by the server;
 * the MRAP policy editor showing MalformedPolicy; a reader's route change refused with AccessDenied.
 *
 * AWS: "Creating Multi-Region Access Points"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/CreatingMultiRegionAccessPoints.html),
 * "Using Amazon S3 Multi-Region Access Points failover controls"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingFailover.html),
 * SubmitMultiRegionAccessPointRoutes ("at least one Region must be active",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { GetObjectCommand, PutBucketReplicationCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3'
import {
  GetMultiRegionAccessPointCommand,
  GetMultiRegionAccessPointPolicyCommand,
  GetMultiRegionAccessPointRoutesCommand,
  PutMultiRegionAccessPointPolicyCommand,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control'
import type { Page } from 'playwright-core'
import type { ControlHandler } from '../../src/control/handler.js'
import { ACCOUNT, controlClient } from '../control/helpers.js'
import { proxiedS3Client } from '../helpers/mrap.js'
import { failure } from '../helpers/server.js'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'
import { consoleWorld, regionBucket, twoRegionMrap } from './mraps-world.js'

let h: ConsoleHarness
let control: S3ControlClient

before(async () => {
  h = await startConsoleHarness({ world: consoleWorld() })
  control = controlClient(h.server)
})
after(async () => {
  control.destroy()
  await h.close()
})

/** GET where.txt through the MRAP: the body and the x-mrap-served-region header both name the Region. */
async function servedBy(arn: string): Promise<{ body: string; header: string | undefined }> {
  const c = proxiedS3Client(h.server)
  let header: string | undefined
  c.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args)
      header = (out.response as { headers?: Record<string, string> }).headers?.['x-mrap-served-region']
      return out
    },
    { step: 'deserialize', name: 'servedRegion' },
  )
  const got = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'where.txt' }))
  const body = await got.Body!.transformToString()
  c.destroy()
  return { body, header }
}

async function dials(arn: string): Promise<Record<string, number>> {
  const r = await control.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: arn }))
  return Object.fromEntries((r.Routes ?? []).map((x) => [x.Region!, x.TrafficDialPercentage!]))
}

async function openRoutingDialog(page: Page) {
  await page.getByRole('button', { name: 'Edit routing status' }).click()
  const dialog = page.getByRole('dialog', { name: 'Edit routing status' })
  await dialog.waitFor()
  return dialog
}

describe('console: Multi-Region Access Points', () => {
  test('create through the form: the details page polls the operation until the MRAP is READY', async () => {
    const east = await regionBucket(h.server, 'us-east-1')
    const west = await regionBucket(h.server, 'eu-west-1')
    // Named like a word the page could use for itself: the MRAP's own pages must still be its.
    const name = 'create'
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url('/mraps/_create'))
    await page.getByLabel('Multi-Region Access Point name').fill(name)
    await page.getByLabel('Bucket in us-east-1').selectOption(east)
    await page.getByLabel('Bucket in eu-west-1').selectOption(west)
    // Block Public Access is all on by default, and the form says buckets and BPA are fixed afterwards.
    for (const f of ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets']) assert.equal(await page.getByLabel(f).isChecked(), true, f)
    assert.match(await page.getByRole('note').innerText(), /cannot be changed once it is created/)
    await h.check(page)
    // Slow steps, so the page opens on a running operation and only its polls see the end.
    const config = (h.server.app.handlers.control as ControlHandler).config
    config.asyncDelayMs = { min: 1000, max: 1000 }
    try {
      await page.getByRole('button', { name: 'Create Multi-Region Access Point' }).click()
      await page.waitForURL((u) => u.pathname === `/mraps/${name}` && u.searchParams.has('op'))
      const panel = page.locator('#mrap-operation')
      assert.match(await panel.innerText(), /Creating .*(NEW|IN_PROGRESS)/s)
      assert.equal(await panel.getAttribute('hx-trigger'), 'every 1s')
      await panel.getByText('READY').waitFor({ timeout: 10_000 })
      assert.match(await panel.innerText(), /Creating .*SUCCEEDED/s)
      assert.equal(await panel.getAttribute('hx-trigger'), null, 'a finished operation is not polled')
      assert.match(await page.locator('#mrap-status').innerText(), /READY/, "the header's status follows the operation")
    } finally {
      config.asyncDelayMs = { min: 0, max: 0 }
    }
    const got = await control.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name }))
    assert.equal(got.AccessPoint?.Status, 'READY')
    assert.deepEqual(got.AccessPoint?.PublicAccessBlock, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true })
    await page.goto(h.url(`/mraps/${name}`))
    assert.match(await page.getByRole('tabpanel').innerText(), new RegExp(`arn:aws:s3::${ACCOUNT}:accesspoint/${got.AccessPoint!.Alias!.replace('.', '\\.')}`))
    await h.check(page)

    // Delete, confirmed in the dialog; the list follows the operation to its end.
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page
      .getByRole('dialog', { name: `Delete ${name}?` })
      .getByRole('button', { name: 'Delete Multi-Region Access Point' })
      .click()
    await page.waitForURL((u) => u.pathname === '/mraps' && u.searchParams.has('op'))
    await page.locator('#mrap-operation .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 10_000 })
    const e = await failure(() => control.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: name })))
    assert.equal(e.name, 'NoSuchMultiRegionAccessPoint')
    await h.check(page)
  })

  test('flipping a route in the dial dialog moves the next GET through the MRAP to the other Region', async () => {
    const m = await twoRegionMrap(h.server, control)
    // The front door is in us-east-1: with both active, the nearest bucket serves.
    assert.deepEqual(await servedBy(m.arn), { body: 'us-east-1', header: 'us-east-1' })
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url(`/mraps/${m.name}?tab=replication`))
    assert.match(await page.locator('figcaption').innerText(), /go to us-east-1/)
    const dialog = await openRoutingDialog(page)
    await dialog
      .getByRole('group', { name: /us-east-1/ })
      .getByLabel('Passive')
      .check()
    await h.check(page)
    await dialog.getByRole('button', { name: 'Save routing status' }).click()
    await page.waitForLoadState()
    assert.deepEqual(await dials(m.arn), { 'us-east-1': 0, 'eu-west-1': 100 })
    assert.deepEqual(await servedBy(m.arn), { body: 'eu-west-1', header: 'eu-west-1' })
    const row = page.getByRole('row', { name: /us-east-1/ }).filter({ hasText: 'Passive' })
    assert.equal(await row.count(), 1)
    assert.match(await page.locator('figcaption').innerText(), /go to eu-west-1/)

    // Failover swaps the two back.
    await page.getByRole('button', { name: 'Failover' }).click()
    const fo = page.getByRole('dialog', { name: 'Failover' })
    await fo.getByLabel('Active Region to make passive').selectOption('eu-west-1')
    await fo.getByLabel('Passive Region to make active').selectOption('us-east-1')
    await fo.getByRole('button', { name: 'Fail over' }).click()
    await page.waitForLoadState()
    assert.deepEqual(await dials(m.arn), { 'us-east-1': 100, 'eu-west-1': 0 })
    assert.deepEqual(await servedBy(m.arn), { body: 'us-east-1', header: 'us-east-1' })
    await h.check(page)
  })

  test("every Region passive: refused in the browser, and the server's InvalidRequest shown when the check is bypassed", async () => {
    const m = await twoRegionMrap(h.server, control)
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url(`/mraps/${m.name}?tab=replication`))
    const dialog = await openRoutingDialog(page)
    for (const r of ['us-east-1', 'eu-west-1'])
      await dialog
        .getByRole('group', { name: new RegExp(r) })
        .getByLabel('Passive')
        .check()
    await dialog.getByRole('button', { name: 'Save routing status' }).click()
    await dialog.getByRole('alert').getByText('At least one Region must be active').waitFor()
    assert.equal(new URL(page.url()).search, '?tab=replication', 'the form was not sent')
    assert.deepEqual(await dials(m.arn), { 'us-east-1': 100, 'eu-west-1': 100 })

    await page.evaluate(() => document.querySelector('form[data-require-active]')!.removeAttribute('data-require-active'))
    await dialog.getByRole('button', { name: 'Save routing status' }).click()
    await page.waitForLoadState()
    const alert = page.locator('.api-error')
    assert.match(await alert.innerText(), /InvalidRequest[\s\S]*At least one Region must be active: every Region in the routing configuration would be passive\./)
    assert.deepEqual(await dials(m.arn), { 'us-east-1': 100, 'eu-west-1': 100 })
    await h.check(page)
  })

  test("the MRAP policy editor shows MalformedPolicy with AWS's wording, and saves a good policy", async () => {
    const m = await twoRegionMrap(h.server, control)
    const bad = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}'
    const sdk = await failure(() => control.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: m.name, Policy: bad } })))
    assert.equal(sdk.name, 'MalformedPolicy')
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url(`/mraps/${m.name}?tab=permissions`))
    await page.getByLabel('Policy (JSON)').fill(bad)
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.waitForLoadState()
    const box = page.locator('#mrap-policy-error')
    assert.match(await box.innerText(), /MalformedPolicy/)
    assert.ok((await box.innerText()).includes(sdk.message), `the editor shows the server's message: ${sdk.message}`)
    assert.equal(await page.getByLabel('Policy (JSON)').inputValue(), bad, 'the draft stays in the editor')
    await h.check(page)

    const good = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:GetObject', Resource: `${m.arn}/object/*` }],
    })
    await page.getByLabel('Policy (JSON)').fill(good)
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.locator('#mrap-operation .badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 10_000 })
    const stored = await control.send(new GetMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Name: m.name }))
    assert.equal(stored.Policy?.Established?.Policy, good)
  })

  test('as reader, a route change is refused with AccessDenied and a link that explains it', async () => {
    const m = await twoRegionMrap(h.server, control)
    // A replication rule the reader may read (s3:Get*) shows beside the routes.
    const [east, west] = m.buckets as [string, string]
    for (const [bucket, region] of [
      [east, 'us-east-1'],
      [west, 'eu-west-1'],
    ] as const)
      await h.server.client(undefined, region).send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }))
    await h.server.client().send(
      new PutBucketReplicationCommand({
        Bucket: east,
        ReplicationConfiguration: {
          Role: `arn:aws:iam::${ACCOUNT}:role/console-replication`,
          Rules: [
            {
              ID: 'to-west',
              Priority: 1,
              Status: 'Enabled',
              Filter: { Prefix: 'logs/' },
              DeleteMarkerReplication: { Status: 'Disabled' },
              Destination: { Bucket: `arn:aws:s3:::${west}` },
            },
          ],
        },
      }),
    )
    const page = await h.pageAs(READER)
    await page.goto(h.url(`/mraps/${m.name}?tab=replication`))
    const rules = page.getByRole('table', { name: 'Replication rules of the buckets' })
    const row = (bucket: string) => rules.locator('tr').filter({ has: page.getByRole('rowheader', { name: bucket, exact: true }) })
    assert.match(await row(east).innerText(), new RegExp(`to-west: ✓ Enabled → arn:aws:s3:::${west}`))
    assert.match(await row(west).innerText(), /No replication rules/)
    const dialog = await openRoutingDialog(page)
    await dialog
      .getByRole('group', { name: /us-east-1/ })
      .getByLabel('Passive')
      .check()
    await dialog.getByRole('button', { name: 'Save routing status' }).click()
    await page.waitForLoadState()
    const box = page.locator('.api-error')
    assert.match(await box.innerText(), /AccessDenied/)
    const link = box.getByRole('link', { name: 'Explain this decision' })
    const url = new URL((await link.getAttribute('href'))!, h.url('/'))
    assert.equal(url.pathname, '/access')
    assert.equal(url.searchParams.get('action'), 's3:SubmitMultiRegionAccessPointRoutes')
    assert.equal(url.searchParams.get('resource'), m.arn)
    assert.equal(url.searchParams.get('principal'), `arn:aws:iam::${ACCOUNT}:user/reader`)
    assert.deepEqual(await dials(m.arn), { 'us-east-1': 100, 'eu-west-1': 100 })
    await h.check(page)
  })
})

/**
 * The console's Access page in Debian's Chromium (harness guards: loopback only, no console error,
 * axe clean). The issue's case: the seed's reader through the seed VPC's endpoint, GetObject through
 * the seed MRAP, is denied when routed to DOC-EXAMPLE-BUCKET1 (its policy is the one S3 refuses, so
 * the bucket runs without one: "no bucket policy") and allowed on DOC-EXAMPLE-BUCKET2; the page's
 * cells are `mrap explain --json`'s for the command the page offers to copy, and so are those of a
 * cross-account PutObject an ACL's WRITE grant allows, in an ACL column shown when the CLI shows
 * one ("Access control list (ACL) overview",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html). Who may explain whom
 * follows IAM's policy simulator: iam:SimulatePrincipalPolicy on the principal
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html).
 * Lint findings are listed, as IAM Access Analyzer lists its findings, only to a principal allowed
 * access-analyzer:ListFindings ("ListFindings", IAM Access Analyzer API Reference,
 * https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListFindings.html; "Permissions
 * required to use IAM Access Analyzer", https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html):
 * reader gets the AccessDeniedException and no finding; analyst (ListFindings only) sees them and S3
 * refuses its Apply; a fix applied as admin removes its finding.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { Page } from 'playwright-core'
import { createElement } from 'preact'
import { render } from 'preact-render-to-string'
import { formatResults, runExplain } from '../../src/cli/explain.js'
import { readInputs } from '../../src/console/pages/access.js'
import { cellView, Matrix } from '../../src/console/pages/access-matrix.js'
import { statementPieces } from '../../src/console/pages/access-policies.js'
import type { Cell } from '../../src/explain/cells.js'
import { explainRequest } from '../../src/explain/evaluate.js'
import { modelFromServices } from '../../src/explain/from-services.js'
import { PARTNER_ACCOUNT } from '../helpers/accounts.js'
import { PARTNER_ADMIN, testWorld } from '../helpers/server.js'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'

const B1 = 'DOC-EXAMPLE-BUCKET1'
const B2 = 'DOC-EXAMPLE-BUCKET2'
const VPC = 'vpc-0seed0000000000001'
const ACL_BUCKET = 'console-acl-open'

/** A user of the seed account allowed to list Access Analyzer findings and nothing else. */
const ANALYST = { accessKeyId: 'AKIAANALYSTEXAMPLE01', secretAccessKey: 'aNaLySt/K7MDENG/bPxRfiCYEXAMPLEKEYANALYST' }

function accessWorld() {
  const world = testWorld()
  world.accounts
    .find((a) => a.id === '123456789012')!
    .users.push({
      name: 'analyst',
      path: '/',
      managedPolicies: [],
      groups: [],
      tags: {},
      accessKeys: [{ id: ANALYST.accessKeyId, secret: ANALYST.secretAccessKey, status: 'Active' }],
      policies: [
        {
          name: 'ReadFindings',
          document: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'access-analyzer:ListFindings', Resource: 'arn:aws:access-analyzer:*:123456789012:analyzer/*' }],
          },
        },
      ],
    })
  // ObjectWriter keeps the bucket's ACLs in force; its WRITE grant is what lets the partner write.
  world.buckets.push({
    name: ACL_BUCKET,
    region: 'us-east-1',
    owner: '123456789012',
    objectOwnership: 'ObjectWriter',
    blockPublicAccess: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
    acl: [{ grantee: PARTNER_ACCOUNT, permission: 'WRITE' }],
  })
  return world
}

let h: ConsoleHarness
before(async () => {
  h = await startConsoleHarness({ world: accessWorld() })
  // The matrices below ask about key `k`: the page, as explain on a running server, answers a key a
  // routed bucket lacks as the real request would (404, or 403 without s3:ListBucket), so `k` is there.
  await h.server.client(ADMIN).send(new PutObjectCommand({ Bucket: B1, Key: 'k', Body: 'k' }))
  await h.server.client(ADMIN, 'eu-west-1').send(new PutObjectCommand({ Bucket: B2, Key: 'k', Body: 'k' }))
})
after(async () => {
  await h?.close()
})

/** The matrix through the form, as a person fills it in. */
async function explainReaderThroughVpc(page: Page): Promise<void> {
  await page.goto(h.url('/access'))
  await page.getByLabel('Principal').selectOption('123456789012/reader')
  await page.getByLabel('Action').fill('s3:GetObject')
  await page.getByLabel('Multi-Region Access Point or bucket').selectOption('mrap:mfzwi23gnjvgw.mrap')
  await page.getByLabel('Object key').fill('k')
  await page.getByLabel(/VPC seed-vpc/).check()
  await page.getByRole('button', { name: 'Run' }).click()
  await page.getByRole('table', { name: /Decision per route/ }).waitFor()
}

/** The page's cells: what each `<td>` says it shows (the CLI's cell fields). */
async function pageCells(page: Page): Promise<Record<string, Record<string, { result: string; blocking: boolean; statement?: string; text: string }>>> {
  return page.evaluate(() => {
    const out: Record<string, Record<string, { result: string; blocking: boolean; statement?: string; text: string }>> = {}
    for (const tr of document.querySelectorAll('table.xm-matrix tbody tr')) {
      const row: Record<string, { result: string; blocking: boolean; statement?: string; text: string }> = {}
      for (const td of tr.querySelectorAll('td[data-result]')) {
        const e = td as HTMLElement
        row[e.dataset.col!] = {
          result: e.dataset.result!,
          blocking: e.dataset.blocking === 'true',
          ...(e.dataset.statement ? { statement: e.dataset.statement } : {}),
          text: e.textContent ?? '',
        }
      }
      out[(tr as HTMLElement).dataset.bucket!] = row
    }
    return out
  })
}

/**
 * The CLI command the page offers, run by the CLI's own code in-process (`runExplain` is `mrap
 * explain` but the printing; `formatResults` is what it prints for --json): the page shows the ACL
 * column exactly when the CLI's table does, and every cell, the ACL one included, is the CLI's.
 */
async function assertCellsAreTheCli(page: Page, exitStatus: number): Promise<void> {
  const cli = await page.getByLabel('Equivalent CLI command').inputValue()
  const args = cli.split(' ')
  assert.deepEqual(args.slice(0, 2), ['mrap', 'explain'])
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : undefined)
  const opts = { dataDir: flag('--data-dir'), as: flag('--as'), action: flag('--action')!, mrap: flag('--mrap'), bucket: flag('--bucket'), key: flag('--key'), vpc: flag('--vpc') }
  assert.equal(opts.dataDir, h.server.dataDir)
  const out = await runExplain({ ...opts, json: true }, false)
  assert.equal(out.status, exitStatus, 'mrap explain exits 1 when a route denies, 0 when all allow')
  const json = JSON.parse(formatResults(out.results, { json: true, color: false })) as {
    results: { routes: { bucket: string; cells: Record<string, Cell>; acl?: Cell }[] }[]
  }
  const table = (await runExplain(opts, false)).text
  const cliHasAcl = /\sACL\s/.test(table.split('\n').find((l) => l.startsWith('ROUTE')) ?? '')
  assert.equal(await page.getByRole('columnheader', { name: 'ACL', exact: true }).count(), cliHasAcl ? 1 : 0, 'an ACL column exactly when mrap explain prints one')
  const shown = await pageCells(page)
  const routes = json.results[0]!.routes
  assert.deepEqual(Object.keys(shown).sort(), routes.map((r) => r.bucket).sort())
  for (const r of routes) {
    const cells: Record<string, Cell> = { ...r.cells, ...(cliHasAcl ? { acl: r.acl ?? { result: 'n/a', blocking: false } } : {}) }
    assert.deepEqual(Object.keys(shown[r.bucket]!).sort(), Object.keys(cells).sort(), `${r.bucket}: the same columns`)
    for (const [col, cell] of Object.entries(cells)) {
      const p = shown[r.bucket]![col]!
      assert.deepEqual(
        { result: p.result, blocking: p.blocking, statement: p.statement },
        { result: cell.result, blocking: cell.blocking, statement: cell.statement },
        `${r.bucket} ${col}`,
      )
      if (cell.detail) assert.ok(p.text.includes(cell.detail), `${r.bucket} ${col}: the cell shows ${JSON.stringify(cell.detail)}`)
    }
  }
}

test("the seed's reader through the seed VPC: BUCKET1 denied with the reason, BUCKET2 allowed; cells equal mrap explain --json", async () => {
  const page = await h.pageAs(READER)
  await explainReaderThroughVpc(page)
  assert.match(page.url(), /principal=123456789012%2Freader/)
  assert.match(page.url(), new RegExp(`via=${VPC}`))
  const verdict = await page.locator('.xm-verdict').textContent()
  assert.match(verdict ?? '', new RegExp(`Allowed on 1 of 2 routes\\. Fails when routed to ${B1} \\(us-east-1\\)`))

  const denied = page.getByRole('row', { name: new RegExp(B1) })
  const allowed = page.getByRole('row', { name: new RegExp(B2) })
  assert.match((await denied.locator('td[data-col="result"]').textContent()) ?? '', /Denied.*403 AccessDenied/)
  assert.match((await allowed.locator('td[data-col="result"]').textContent()) ?? '', /Allowed/)
  // The deciding layer of the denied route is its bucket policy (there is none), said in words.
  const deciding = denied.locator('td.xm-deciding')
  assert.equal(await deciding.getAttribute('data-col'), 'bucket')
  assert.match((await deciding.textContent()) ?? '', /No policy.*deciding layer/)
  await deciding.locator('summary').click()
  await assert.doesNotReject(deciding.getByText('no bucket policy').first().waitFor())
  assert.equal(await allowed.locator('td[data-col="bucket"]').getAttribute('data-statement'), 'Public-read')

  await assertCellsAreTheCli(page, 1)
  await h.check(page)
})

test("an ACL decides: partner-admin's cross-account PutObject allowed by the bucket's WRITE grant; the ACL column is the CLI's", async () => {
  // "Access control list (ACL) overview" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html):
  // WRITE on a bucket lets the grantee create objects in it.
  const page = await h.pageAs(PARTNER_ADMIN)
  await page.goto(h.url(`/access?principal=${PARTNER_ACCOUNT}/partner-admin&action=s3:PutObject&target=bucket:${ACL_BUCKET}&key=k&via=internet`))
  await page.getByRole('table', { name: /Decision per route/ }).waitFor()
  assert.match((await page.locator('.xm-verdict').textContent()) ?? '', /Allowed\./)
  await assertCellsAreTheCli(page, 0)
  const acl = page.getByRole('row', { name: new RegExp(ACL_BUCKET) }).locator('td[data-col="acl"]')
  assert.equal(await acl.getAttribute('data-statement'), `WRITE to ${PARTNER_ACCOUNT}`)
  assert.match((await acl.textContent()) ?? '', /Allow.*deciding layer/)
  await acl.locator('summary').click()
  await acl.getByText(`grant: WRITE to ${PARTNER_ACCOUNT}`).waitFor()
  await h.check(page)
})

test('keyboard: the form, a cell and "Show statement" are reachable; a changed input marks the results stale', async () => {
  const page = await h.pageAs(READER)
  await explainReaderThroughVpc(page)
  const target = page.getByRole('row', { name: new RegExp(B2) }).locator('td[data-col="bucket"] summary')
  // Tab from the button above the matrix until the cell's summary has the focus.
  await page.getByRole('button', { name: 'Expand all denies' }).focus()
  let reached = false
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await target.evaluate((el) => el === document.activeElement)
  }
  assert.ok(reached, 'the bucket cell of BUCKET2 is reachable with Tab')
  await page.keyboard.press('Enter')
  const show = page
    .getByRole('row', { name: new RegExp(B2) })
    .locator('td[data-col="bucket"]')
    .getByRole('link', { name: 'Show statement' })
  await show.focus()
  await page.keyboard.press('Enter')
  // The policy opens with the statement addressed (and focused) by the link.
  const stmt = page.locator('.xm-stmt:target')
  await stmt.waitFor()
  assert.match((await stmt.textContent()) ?? '', /"Sid": "Public-read"/)
  assert.ok(await stmt.evaluate((el) => (el.closest('details') as HTMLDetailsElement).open))

  const banner = page.getByText('The inputs changed')
  assert.equal(await banner.isVisible(), false)
  await page.getByLabel('Object key').fill('other')
  await banner.waitFor({ state: 'visible' })
  await h.check(page)
})

test('who may explain: reader only itself; admin its own account, not another account; a denied ask shows IAM AccessDenied', async () => {
  const reader = await h.pageAs(READER)
  await reader.goto(h.url('/access'))
  assert.deepEqual(await reader.getByLabel('Principal').locator('option').allTextContents(), ['123456789012/reader (arn:aws:iam::123456789012:user/reader)'])
  await reader.goto(h.url(`/access?principal=admin&action=s3:GetObject&target=mrap:mfzwi23gnjvgw.mrap&key=k&via=internet`))
  const alert = reader.getByRole('alert')
  assert.match((await alert.textContent()) ?? '', /AccessDenied.*not authorized to perform: iam:SimulatePrincipalPolicy on resource: arn:aws:iam::123456789012:user\/admin/)
  assert.equal(await reader.locator('table.xm-matrix').count(), 0)
  await h.check(reader)

  const admin = await h.pageAs(ADMIN)
  await admin.goto(h.url('/access'))
  const options = await admin.getByLabel('Principal').locator('option').allTextContents()
  assert.ok(options.some((o) => o.startsWith('123456789012/reader')))
  assert.ok(!options.some((o) => o.startsWith('444455556666/')), 'another account is not offered')
  await admin.goto(h.url(`/access?principal=444455556666/partner&action=s3:GetObject&target=mrap:mfzwi23gnjvgw.mrap&key=k&via=internet`))
  assert.match((await admin.getByRole('alert').textContent()) ?? '', /AccessDenied/)
  // The explain link of an error box (principal ARN + resource ARN) opens a run.
  await admin.goto(
    h.url(`/access?principal=${encodeURIComponent('arn:aws:iam::123456789012:user/reader')}&action=s3:GetObject&resource=${encodeURIComponent(`arn:aws:s3:::${B1}/k`)}`),
  )
  assert.match((await admin.locator('.xm-verdict').textContent()) ?? '', /Denied\./)
})

async function routeFinding(page: Page) {
  await page.goto(h.url('/access/lint'))
  return page.locator('article.lint-finding[data-rule="route-inconsistent"]', { hasText: B1 })
}

test('lint: reader may not list findings (none shown, a forged Apply refused); analyst sees them and S3 refuses its Apply; admin applies the fix', async () => {
  const admin = await h.pageAs(ADMIN)
  let finding = await routeFinding(admin)
  assert.equal(await finding.count(), 1)
  const id = (await finding.getAttribute('id'))!
  const text = ((await finding.locator(`[id="${id}-msg"]`).textContent()) ?? '').trim()
  assert.ok(text.includes(B1), 'the finding names the bucket')

  // Reader: Access Analyzer's refusal, and no trace of any finding.
  const reader = await h.pageAs(READER)
  await reader.goto(h.url('/access/lint'))
  assert.equal(await reader.locator('article.lint-finding').count(), 0)
  assert.match(
    (await reader.getByRole('alert').textContent()) ?? '',
    /AccessDeniedException.*User: arn:aws:iam::123456789012:user\/reader is not authorized to perform: access-analyzer:ListFindings on resource: arn:aws:access-analyzer:us-east-1:123456789012:analyzer\/mrap-lint/,
  )
  assert.ok(!((await reader.locator('body').textContent()) ?? '').includes(text), "the finding's text is not in the page")
  await h.check(reader)
  // An Apply posted by hand (a valid CSRF token, a real finding id) is refused before any change.
  await reader.evaluate(
    ({ action, finding }) => {
      const f = document.createElement('form')
      f.method = 'post'
      f.action = action
      for (const [k, v] of [
        ['_csrf', document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content],
        ['finding', finding],
      ] as const) {
        const i = document.createElement('input')
        i.type = 'hidden'
        i.name = k
        i.value = v
        f.append(i)
      }
      document.body.append(f)
      f.submit()
    },
    { action: h.url('/access/lint/apply'), finding: id },
  )
  await reader.waitForURL(/\/access\/lint\/apply$/)
  assert.match((await reader.getByRole('alert').textContent()) ?? '', /access-analyzer:ListFindings/)
  assert.ok(!((await reader.locator('body').textContent()) ?? '').includes(text))
  assert.equal(h.server.services.state.getBucket(B1)?.policy, undefined, 'the refused fix changed nothing')

  // Analyst: allowed to list, not to write the policy: the API refuses the change as analyst.
  const analyst = await h.pageAs(ANALYST)
  finding = await routeFinding(analyst)
  assert.equal(await finding.count(), 1)
  assert.ok(((await finding.textContent()) ?? '').includes(text), 'analyst sees the same finding')
  await finding.getByRole('button', { name: 'Apply' }).click()
  await analyst.waitForLoadState()
  assert.match((await analyst.getByRole('alert').textContent()) ?? '', /AccessDenied/)
  assert.equal(h.server.services.state.getBucket(B1)?.policy, undefined, 'the refused fix changed nothing')
  assert.equal(await (await routeFinding(analyst)).count(), 1)
  await h.check(analyst)

  // Admin: the fix is applied and its finding goes away.
  finding = await routeFinding(admin)
  await finding.getByRole('button', { name: 'Apply' }).click()
  await admin.waitForURL(/applied=PutBucketPolicy/)
  assert.match((await admin.getByRole('status').first().textContent()) ?? '', /Applied/)
  assert.equal(await admin.locator('article.lint-finding[data-rule="route-inconsistent"]').count(), 0)
  assert.ok(h.server.services.state.getBucket(B1)?.policy?.includes(`arn:aws:s3:::${B1}/*`))
  await h.check(admin)
  // And the matrix agrees: the reader is now allowed on both routes.
  await explainReaderThroughVpc(reader)
  assert.match((await reader.locator('.xm-verdict').textContent()) ?? '', /Allowed on all 2 routes/)
})

test('inputs from an error box link, a policy cut into statements, and "needs input" for a condition key the request lacks', async () => {
  assert.deepEqual(
    readInputs(new URLSearchParams({ principal: 'arn:aws:iam::123456789012:user/reader', resource: 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/a/b' })),
    {
      principal: 'arn:aws:iam::123456789012:user/reader',
      action: 's3:GetObject',
      target: 'mrap:mfzwi23gnjvgw.mrap',
      key: 'a/b',
      via: 'internet',
    },
  )
  assert.equal(readInputs(new URLSearchParams({ resource: `arn:aws:s3:::${B1}` })).target, `bucket:${B1}`)

  const text = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'A', Effect: 'Allow' },
      { Sid: 'B', Effect: 'Deny' },
    ],
  })
  const pieces = statementPieces(text)
  assert.equal(pieces.map((p) => p.text).join(''), JSON.stringify(JSON.parse(text), null, 2))
  assert.deepEqual(
    pieces.filter((p) => p.kind === 'statement').map((p) => [p.index, JSON.parse(p.text).Sid]),
    [
      [0, 'A'],
      [1, 'B'],
    ],
  )

  // A bucket policy that allows only through an endpoint: from the internet the key is absent.
  const model = structuredClone(modelFromServices(h.server.services, 'test'))
  const b2 = model.buckets.find((b) => b.name === B2)!
  const policy = {
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B2}/*`, Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } }],
  }
  b2.policy = { kind: 'bucket', owner: `bucket ${B2}`, name: `bucket policy of ${B2}`, text: JSON.stringify(policy) }
  const r = explainRequest(model, h.server.services.policies.catalog, { as: 'reader', action: 's3:GetObject', bucket: B2, key: 'k', timeMs: Date.now() }, { verbose: true })
  const route = r.routes[0]!
  assert.equal(route.cells.bucket.blocking, true)
  assert.deepEqual(cellView(route, 'bucket'), { state: 'input', word: 'Needs input', missing: 'aws:SourceVpce' })
})

test('three routes, one passive and one with an explicit deny: the matrix says which, and the deny decides its row', () => {
  const model = structuredClone(modelFromServices(h.server.services, 'test'))
  const mrap = model.mraps[0]!
  model.buckets.push({ name: 'standby-usw2', region: 'us-west-2', owner: '123456789012', versioning: 'Enabled' })
  mrap.routes.push({ bucket: 'standby-usw2', bucketAccountId: '123456789012', region: 'us-west-2', trafficDialPercentage: 0 })
  const b2 = model.buckets.find((b) => b.name === B2)!
  const deny = { Sid: 'NoAdminReads', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B2}/*` }
  b2.policy = { kind: 'bucket', owner: `bucket ${B2}`, name: `bucket policy of ${B2}`, text: JSON.stringify({ Version: '2012-10-17', Statement: [deny] }) }
  const r = explainRequest(model, h.server.services.policies.catalog, { as: 'admin', action: 's3:GetObject', mrap: mrap.alias, key: 'k', timeMs: Date.now() }, { verbose: true })
  const html = render(createElement(Matrix, { result: r, expandDenies: true }))
  assert.match(html, new RegExp(`Allowed on 2 of 3 routes\\. Fails when routed to ${B2} \\(eu-west-1\\)`))
  assert.match(html, /Passive \(receives traffic after failover\)/)
  const row = html.slice(html.indexOf(`data-bucket="${B2}"`), html.indexOf('</tr>', html.indexOf(`data-bucket="${B2}"`)))
  assert.match(row, /class="xm-cell xm-deny xm-blocking xm-deciding" data-col="bucket" data-result="deny"[^>]*data-statement="NoAdminReads"/)
  assert.match(row, /<details open><summary>.*Explicit deny.*deciding layer/)
  assert.match(row, /data-effect="ExplicitDeny"/)
})

/**
 * The Buckets page's lint findings (Permissions tab) follow the Access page's lint tab: listed only
 * to a principal allowed access-analyzer:ListFindings, as IAM Access Analyzer lists its findings
 * ("ListFindings", IAM Access Analyzer API Reference,
 * https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListFindings.html: "You must
 * have permission to perform the access-analyzer:ListFindings action"). A user allowed to read the
 * bucket's policy (GetBucketPolicy) but not to list findings sees the policy and a note, no finding;
 * the same grant plus ListFindings, and admin, see the seed's public-policy finding on DOC-EXAMPLE-BUCKET2.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { World } from '../../src/world/schema.js'
import { testWorld } from '../helpers/server.js'
import { ADMIN, type ConsoleHarness, startConsoleHarness } from './harness.js'

const B2 = 'DOC-EXAMPLE-BUCKET2'
const POLICY_READER = { accessKeyId: 'AKIAPOLICYREADER0001', secretAccessKey: 'pOlIcYrEaDeR/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const POLICY_ANALYST = { accessKeyId: 'AKIAPOLICYANALYST001', secretAccessKey: 'pOlIcYaNaLySt/K7MDENG/bPxRfiCYEXAMPLEKEY' }

function user(name: string, creds: { accessKeyId: string; secretAccessKey: string }, actions: string[]) {
  return {
    name,
    path: '/',
    managedPolicies: [],
    groups: [],
    tags: {},
    accessKeys: [{ id: creds.accessKeyId, secret: creds.secretAccessKey, status: 'Active' as const }],
    policies: [{ name: 'Grants', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] } }],
  }
}

function world(): World {
  const w = testWorld()
  w.accounts
    .find((a) => a.id === '123456789012')!
    .users.push(user('policy-reader', POLICY_READER, ['s3:GetBucketPolicy']), user('policy-analyst', POLICY_ANALYST, ['s3:GetBucketPolicy', 'access-analyzer:ListFindings']))
  return w
}

let h: ConsoleHarness
before(async () => {
  h = await startConsoleHarness({ world: world() })
})
after(async () => {
  await h?.close()
})

const TABLE = new RegExp(`mrap lint findings for ${B2}`)

test('bucket settings: lint findings only for access-analyzer:ListFindings; the policy itself still shows', async () => {
  const admin = await h.pageAs(ADMIN)
  await admin.goto(h.url(`/buckets/${B2}?tab=permissions`))
  const table = admin.getByRole('table', { name: TABLE })
  const rows = table.locator('tbody tr')
  assert.ok((await rows.count()) > 0, 'admin sees findings')
  const text = (await table.textContent()) ?? ''
  assert.match(text, /public-policy/)
  const finding = ((await rows.first().locator('td').nth(2).textContent()) ?? '').trim()
  assert.ok(finding.length > 10, `a finding's message: ${finding}`)
  await h.check(admin)

  const reader = await h.pageAs(POLICY_READER)
  await reader.goto(h.url(`/buckets/${B2}?tab=permissions`))
  // The policy is readable (the rest of the tab works), the findings are not.
  assert.match(await reader.getByLabel(/Policy \(JSON\)/).inputValue(), /"Statement"/)
  assert.equal(await reader.getByRole('table', { name: TABLE }).count(), 0)
  const section = reader.getByRole('region', { name: 'Lint findings for this bucket' })
  assert.match((await section.textContent()) ?? '', /access-analyzer:ListFindings/)
  const body = (await reader.locator('body').textContent()) ?? ''
  assert.ok(!body.includes(finding), "the finding's text is not in the page")
  assert.ok(!body.includes('public-policy'), "the finding's rule is not in the page")
  await h.check(reader)

  const analyst = await h.pageAs(POLICY_ANALYST)
  await analyst.goto(h.url(`/buckets/${B2}?tab=permissions`))
  assert.ok(((await analyst.getByRole('table', { name: TABLE }).textContent()) ?? '').includes(finding), 'GetBucketPolicy plus ListFindings sees the finding')
  await h.check(analyst)
})

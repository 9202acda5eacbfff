/**
 * The console's IAM pages in Chromium: an access key created through the page shows its secret once
 * (and never again), and works with the SDK; deactivating it stops it working; an inline policy with
 * a mistake is refused with IAM's MalformedPolicyDocument words beside the editor; a reader without
 * IAM permissions sees AWS's AccessDenied and an explain link.
 *
 * AWS: "Manage access keys for IAM users" ("This is the only time that the secret access key can be
 * viewed or downloaded", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html);
 * PutUserPolicy (https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { GetUserPolicyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { failure } from '../helpers/server.js'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'
import { consoleWorld } from './mraps-world.js'

type Creds = { accessKeyId: string; secretAccessKey: string }
let h: ConsoleHarness
const sts = (creds: Creds) => new STSClient({ endpoint: h.server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 })
const iam = (creds: Creds) => new IAMClient({ endpoint: h.server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 })

before(async () => {
  h = await startConsoleHarness({ world: consoleWorld() })
})
after(async () => {
  await h.close()
})

describe('console: IAM', () => {
  test('create an access key: the secret is shown once, works with the SDK, and stops working when deactivated', async () => {
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url('/iam'))
    await page.getByRole('link', { name: 'reader', exact: true }).click()
    await page.waitForURL((u) => u.pathname === '/iam/users/reader')
    // The managed policy the test world attaches, with its document.
    const attached = page.getByRole('table', { name: 'Attached managed policies' })
    await attached.getByText('Show').click()
    assert.match(await attached.innerText(), /AmazonS3ReadOnlyAccess[\s\S]*arn:aws:iam::aws:policy\/AmazonS3ReadOnlyAccess[\s\S]*"s3:Get\*"/)
    await h.check(page)
    await page.getByRole('button', { name: 'Create access key' }).click()
    await page.waitForLoadState()
    const shown = page.getByRole('article', { name: 'Access key created' })
    assert.match(await shown.innerText(), /only time the secret access key is shown/)
    const codes = await shown.locator('code').allInnerTexts()
    const key = { accessKeyId: codes[0]!, secretAccessKey: codes[1]! }
    assert.match(key.accessKeyId, /^AKIA[A-Z0-9]{16}$/)
    assert.ok(key.secretAccessKey.length >= 40)
    await h.check(page)
    const who = await sts(key).send(new GetCallerIdentityCommand({}))
    assert.equal(who.Arn, 'arn:aws:iam::123456789012:user/reader')

    // Shown once: the user's page, opened again, lists the key but has no secret in it.
    await page.goto(h.url('/iam/users/reader'))
    const html = await page.content()
    assert.ok(html.includes(key.accessKeyId))
    assert.ok(!html.includes(key.secretAccessKey), 'the secret is not on the page a second time')

    await page.getByRole('button', { name: `Deactivate ${key.accessKeyId}` }).click()
    await page.waitForLoadState()
    assert.equal((await failure(() => sts(key).send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId')
    await page.getByRole('button', { name: `Delete ${key.accessKeyId}` }).click()
    await page.waitForLoadState()
    const left = await iam(ADMIN).send(new ListAccessKeysCommand({ UserName: 'reader' }))
    assert.deepEqual(
      left.AccessKeyMetadata?.map((k) => k.AccessKeyId),
      [READER.accessKeyId],
    )
    await h.check(page)
  })

  test("an inline policy with a mistake shows IAM's MalformedPolicyDocument beside the editor; a good one is stored", async () => {
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url('/iam/users/reader'))
    await page.getByText('Add an inline policy').click()
    await page.getByLabel('Policy name').fill('console-test')
    const bad = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}'
    await page.getByLabel('Policy document (JSON)').fill(bad)
    await page.getByRole('button', { name: 'Save policy' }).last().click()
    await page.waitForLoadState()
    const box = page.locator('#policy-new-error')
    assert.match(await box.innerText(), /MalformedPolicyDocument/)
    assert.match(await box.innerText(), /Resource/)
    assert.equal(await page.getByLabel('Policy document (JSON)').inputValue(), bad, 'the draft stays in the editor')
    await h.check(page)

    const good = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    await page.getByLabel('Policy document (JSON)').fill(good)
    await page.getByRole('button', { name: 'Save policy' }).last().click()
    await page.waitForLoadState()
    const stored = await iam(ADMIN).send(new GetUserPolicyCommand({ UserName: 'reader', PolicyName: 'console-test' }))
    assert.deepEqual(JSON.parse(decodeURIComponent(stored.PolicyDocument!)), JSON.parse(good))
    assert.deepEqual(JSON.parse(await page.getByLabel('Policy document of console-test').inputValue()), JSON.parse(good))
  })

  test('as reader, IAM is refused with AccessDenied and an explain link', async () => {
    const page = await h.pageAs(READER)
    await page.goto(h.url('/iam'))
    const box = page.locator('.api-error')
    assert.match(await box.innerText(), /AccessDenied[\s\S]*not authorized to perform: iam:ListUsers/)
    const link = new URL((await box.getByRole('link', { name: 'Explain this decision' }).getAttribute('href'))!, h.url('/'))
    assert.equal(link.searchParams.get('action'), 'iam:ListUsers')
    await page.goto(h.url('/iam/users/admin'))
    assert.match(await page.locator('.api-error').innerText(), /AccessDenied/)
    await h.check(page)
  })
})

/**
 * The console's sign-in, sessions, one-time links and CSRF check, in Debian's Chromium (the harness's
 * guards: no request leaves loopback, no console error, axe clean), plus the overview's region switch.
 * Sign-in with an access key id + secret is MinIO's console's; the cookie and CSRF rules are the
 * OWASP cheat sheets' (Session Management; Cross-Site Request Forgery Prevention).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ADMIN, type ConsoleHarness, READER, startConsoleHarness } from './harness.js'

const HOUR = 3600_000

let h: ConsoleHarness
/** The console's session clock runs `skew` ms ahead of real time (to expire sessions and links). */
let skew = 0

before(async () => {
  h = await startConsoleHarness({ now: () => Date.now() + skew })
})
after(async () => {
  await h?.close()
})

describe('sign-in', () => {
  test('the sign-in page is labelled, axe clean, and a wrong secret gets one message that names no key', async () => {
    const page = await h.newPage()
    await page.goto(h.url('/'))
    assert.match(page.url(), /\/sign-in$/)
    await h.check(page)
    await h.signIn(page, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong' })
    const wrongSecret = await page.getByRole('alert').textContent()
    await h.signIn(page, { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: 'wrong' })
    const unknownKey = await page.getByRole('alert').textContent()
    assert.match(wrongSecret ?? '', /not correct/)
    assert.equal(wrongSecret, unknownKey)
    assert.match(page.url(), /\/sign-in$/)
    await h.check(page)
  })

  test('a good key signs in, shows the principal, and sign-out ends the session', async () => {
    const page = await h.newPage()
    await h.signIn(page, READER)
    assert.equal(new URL(page.url()).pathname, '/')
    await assert.doesNotReject(page.getByText('Signed in as').waitFor())
    assert.match((await page.locator('.principal').textContent()) ?? '', /reader/)
    const cookies = await page.context().cookies()
    const c = cookies.find((x) => x.name === 'mrap_console')
    assert.ok(c, 'no session cookie')
    assert.equal(c.httpOnly, true)
    assert.equal(c.sameSite, 'Strict')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/sign-in$/)
    await page.goto(h.url('/'))
    assert.match(page.url(), /\/sign-in$/)
    assert.deepEqual(h.problems(page), [])
  })
})

describe('CSRF', () => {
  test('a POST without the token, or from a foreign origin, is refused with 403 and changes nothing', async () => {
    const page = await h.pageAs(ADMIN)
    await page.goto(h.url('/'))
    const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content')
    assert.ok(csrf)
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      page.evaluate(
        async ([u, b, hd]) => {
          const r = await fetch(u, { method: 'POST', body: new URLSearchParams(b), headers: hd, redirect: 'manual' })
          return r.status
        },
        [h.url('/'), body, headers] as const,
      )
    const region = 'eu-west-1'
    assert.equal(await post({ region, state: 'down' }), 403)
    assert.equal(await post({ region, state: 'down', _csrf: 'not-the-token' }), 403)
    assert.equal(h.server.services.health.isUp(region), true)
    // The right token from a foreign page: the browser's Origin gives it away.
    const foreign = await page.context().request.post(h.url('/'), { form: { region, state: 'down', _csrf: csrf }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 })
    assert.equal(foreign.status(), 403)
    assert.equal(h.server.services.health.isUp(region), true)
  })
})

describe('sessions', () => {
  test('a session unused for an hour ends: the next page sends to sign-in, the old cookie is cleared', async () => {
    const page = await h.pageAs(READER)
    await page.goto(h.url('/'))
    assert.equal(new URL(page.url()).pathname, '/')
    skew = HOUR + 1000
    try {
      const r = await page.goto(h.url('/'))
      assert.equal(new URL(page.url()).pathname, '/sign-in')
      assert.equal(r?.status(), 200)
      assert.equal(
        (await page.context().cookies()).find((c) => c.name === 'mrap_console'),
        undefined,
      )
    } finally {
      skew = 0
    }
  })

  test('a forged cookie is no session', async () => {
    const page = await h.newPage()
    await page.context().addCookies([{ name: 'mrap_console', value: 'x'.repeat(43), url: h.url('/') }])
    await page.goto(h.url('/'))
    assert.equal(new URL(page.url()).pathname, '/sign-in')
  })
})

describe('one-time links', () => {
  test('a link signs in once as its principal, not twice, and not after 5 minutes', async () => {
    const link = h.server.console!.signInLink('reader')
    assert.match(link.url, /\/sign-in\/once\?token=[A-Za-z0-9_-]{43}$/)
    const page = await h.newPage()
    await page.goto(link.url)
    await page.waitForURL((u) => u.pathname === '/')
    assert.match((await page.locator('.principal').textContent()) ?? '', /reader/)
    const again = await h.newPage()
    const r = await again.goto(link.url)
    assert.equal(r?.status(), 401)
    assert.match((await again.getByRole('alert').textContent()) ?? '', /already used|expired/)

    const late = h.server.console!.signInLink('admin')
    skew = 5 * 60_000 + 1000
    try {
      const p3 = await h.newPage()
      assert.equal((await p3.goto(late.url))?.status(), 401)
    } finally {
      skew = 0
    }
    assert.deepEqual(h.problems(page), [])
  })

  test('an unknown principal gets no link', () => {
    assert.throws(() => h.server.console!.signInLink('nobody-here'), /no principal/)
  })
})

describe('overview', () => {
  test('the admin takes a region down and up; the overview shows it; axe clean', async () => {
    const page = await h.pageAs(ADMIN)
    page.on('dialog', (d) => void d.accept())
    await page.goto(h.url('/'))
    await h.check(page)
    const row = page.getByRole('table', { name: 'Regions and their health' }).getByRole('row', { name: /eu-west-1/ })
    assert.match((await row.textContent()) ?? '', /Healthy/)
    await page.getByRole('button', { name: 'Take down eu-west-1' }).click()
    await page.waitForURL(/changed=eu-west-1/)
    assert.match(
      (await page
        .getByRole('table', { name: 'Regions and their health' })
        .getByRole('row', { name: /eu-west-1/ })
        .textContent()) ?? '',
      /Down/,
    )
    assert.equal(h.server.services.health.isUp('eu-west-1'), false)
    await page.getByRole('button', { name: 'Bring up eu-west-1' }).click()
    await page.waitForURL(/changed=eu-west-1%3Aup|changed=eu-west-1:up/)
    assert.match(
      (await page
        .getByRole('table', { name: 'Regions and their health' })
        .getByRole('row', { name: /eu-west-1/ })
        .textContent()) ?? '',
      /Healthy/,
    )
    assert.equal(h.server.services.health.isUp('eu-west-1'), true)
    await h.check(page)
    // A phone-sized window: the page reflows, nothing runs off to the side.
    await page.setViewportSize({ width: 390, height: 844 })
    const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
    assert.ok(scroll <= inner, `the page is ${scroll}px wide in a ${inner}px window`)
  })

  test('the reader sees no switch, and a well-formed POST from it is refused', async () => {
    const page = await h.pageAs(READER)
    await page.goto(h.url('/'))
    assert.equal(await page.getByRole('button', { name: /Take down/ }).count(), 0)
    const status = await page.evaluate(async (u) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!
      const r = await fetch(u, { method: 'POST', body: new URLSearchParams({ region: 'eu-west-1', state: 'down', _csrf: csrf }) })
      return r.status
    }, h.url('/'))
    assert.equal(status, 403)
    assert.equal(h.server.services.health.isUp('eu-west-1'), true)
    // htmx (under the CSP, with the CSRF header script) refreshes the request rates in place.
    const poll = await page.waitForResponse((r) => r.url().includes('part=rates'), { timeout: 15_000 })
    assert.equal(poll.status(), 200)
    assert.equal(poll.request().headers()['hx-request'], 'true')
    assert.equal(poll.request().headers()['x-csrf-token'], await page.locator('meta[name="csrf-token"]').getAttribute('content'))
    assert.doesNotMatch(await poll.text(), /<html/)
    assert.equal(await page.locator('#live-rates').count(), 1)
    await h.check(page)
  })
})

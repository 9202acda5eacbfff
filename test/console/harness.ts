/**
 * Console test harness: an in-process server with the web console on a free port, one Debian
 * Chromium per test file (playwright-core; scripts/test.mjs installs `chromium` when missing), and
 * pages signed in as a principal of test/helpers/server.ts (ADMIN, READER, …). Every page carries
 * the guards of the design note (/work/shared/design … §5, summarised here): a request to anything
 * but loopback is refused and fails the test, and so does a console error or an uncaught page error;
 * `axe(page)` fails on any accessibility violation.
 *
 *   const h = await startConsoleHarness()
 *   const page = await h.pageAs(READER)
 *   await page.goto(h.url('/buckets'))
 *   …
 *   await h.check(page)       // guards: no foreign request, no console error, axe clean
 *   await h.close()
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import type { SessionLimits } from '../../src/console/sessions.js'
import type { World } from '../../src/world/schema.js'
import { ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

export { ADMIN, READER }

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
}

export interface HarnessOptions {
  world?: World
  sessions?: Partial<SessionLimits>
  /** The console's session clock (move it to expire sessions and links). */
  now?: () => number
  base?: string
}

export interface ConsoleHarness {
  server: TestServer
  browser: Browser
  /** The console's root URL plus `path` (`h.url('/buckets')`). */
  url(path?: string): string
  /** A new page (own context, so own cookies) with the guards, not signed in. */
  newPage(opts?: { colorScheme?: 'light' | 'dark' }): Promise<Page>
  /** A new page signed in as `creds` (a session opened directly, not through the form). */
  pageAs(creds: Creds, opts?: { colorScheme?: 'light' | 'dark' }): Promise<Page>
  /** Signs `page` in through the form (the page must be on the console's origin or blank). */
  signIn(page: Page, creds: Creds): Promise<void>
  /** What the guards saw on a page: foreign requests, console errors, page errors. */
  problems(page: Page): string[]
  /** Fails on any guard finding and on any axe violation of the page as it is now. */
  check(page: Page): Promise<void>
  close(): Promise<void>
}

const AXE_SOURCE = (): string => readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** Runs axe-core on the page; returns the violations as readable lines. */
export async function axe(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE() })
  const violations = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, opts: unknown): Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }> }
    }
    const r = await w.axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
  })
  return violations
}

export async function startConsoleHarness(opts: HarnessOptions = {}): Promise<ConsoleHarness> {
  const server = await startTestServer({
    ...(opts.world ? { world: opts.world } : {}),
    console: { ...(opts.sessions ? { sessions: opts.sessions } : {}), ...(opts.now ? { now: opts.now } : {}), ...(opts.base ? { base: opts.base } : {}) },
  })
  const consoleSrv = server.console
  assert.ok(consoleSrv, 'the console did not start')
  const browser = await launchBrowser()
  const found = new WeakMap<Page, string[]>()
  const contexts: BrowserContext[] = []

  async function newPage(o: { colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
    // bypassCSP: axe is injected as an inline script, which the console's CSP (rightly) refuses.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 }, colorScheme: o.colorScheme ?? 'light' })
    contexts.push(context)
    const page = await context.newPage()
    const list: string[] = []
    found.set(page, list)
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url())
      if ((u.protocol === 'http:' || u.protocol === 'https:') && !LOOPBACK.has(u.hostname)) {
        list.push(`non-loopback request: ${u.href}`)
        return route.abort()
      }
      return route.continue()
    })
    // Chromium logs every 4xx/5xx answer as a console error; a page answered 401/403/404 on purpose
    // (or an htmx request refused by the API) is a result the test asserts, not a fault. A style, a
    // script or an image that fails to load is one.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) list.push(`console error: ${m.text()}`)
    })
    page.on('response', (r) => {
      const type = r.request().resourceType()
      if (r.status() >= 400 && type !== 'document' && type !== 'xhr' && type !== 'fetch') list.push(`${type} ${r.url()} answered ${r.status()}`)
    })
    page.on('pageerror', (e) => list.push(`page error: ${e.message}`))
    return page
  }

  const url = (path = '/'): string => `${consoleSrv.url}${path}`

  return {
    server,
    browser,
    url,
    newPage,
    async pageAs(creds, o) {
      const page = await newPage(o)
      const r = consoleSrv.sessions.signIn(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken ?? '', 'test-harness')
      assert.ok(r.ok, `cannot sign in as ${creds.accessKeyId}: ${r.ok ? '' : r.message}`)
      await page.context().addCookies([{ name: 'mrap_console', value: r.entry.session.id, url: url('/'), httpOnly: true, sameSite: 'Strict' }])
      return page
    },
    async signIn(page, creds) {
      await page.goto(url('/sign-in'))
      await page.getByLabel('Access key ID').fill(creds.accessKeyId)
      await page.getByLabel('Secret access key').fill(creds.secretAccessKey)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForLoadState()
    },
    problems: (page) => [...(found.get(page) ?? [])],
    async check(page) {
      assert.deepEqual(found.get(page) ?? [], [], 'the page made a foreign request or logged an error')
      assert.deepEqual(await axe(page), [], 'axe found accessibility violations')
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close()
      await server.stop()
    },
  }
}

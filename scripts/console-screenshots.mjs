#!/usr/bin/env node
// Screenshots of every console page (src/console/pages/index.ts) for people to review: a server on
// the seed world in a temporary data dir, Debian's Chromium signed in as the seed's admin, each page
// at 1280×800 in light and dark, saved as docs/console/<page>-{light,dark}.png. No pixel assertions.
// Usage: node --import tsx scripts/console-screenshots.mjs   (SHOTS_OUT=<dir> to write elsewhere)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { pino } from 'pino'
import { chromium } from 'playwright-core'

const root = resolve(import.meta.dirname, '..')
const { startServer } = await import(join(root, 'src/main.ts'))
const { PAGES } = await import(join(root, 'src/console/pages/index.ts'))
const { DEFAULT_WORLD_FILE, loadWorldFile } = await import(join(root, 'src/world/load.ts'))

const out = process.env.SHOTS_OUT ?? join(root, 'docs', 'console')
mkdirSync(out, { recursive: true })
const dataDir = mkdtempSync(join(tmpdir(), 'mrap-shots-'))
const server = await startServer({
  dataDir,
  port: 0,
  tlsPort: 0,
  proxyPort: 0,
  consolePort: 0,
  world: loadWorldFile(DEFAULT_WORLD_FILE),
  logger: pino({ level: 'silent' }),
})
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
})
try {
  // The seed's admin key (examples/seed.yaml): every page shows what it can.
  const admin = server.services.identities.findPrincipal('admin')
  const key = server.services.identities.keyOf(admin)
  const pages = [...PAGES].sort((a, b) => a.nav.order - b.nav.order)
  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme })
    const signedIn = server.console.sessions.signIn(key.accessKeyId, key.secretAccessKey, '', 'screenshots')
    if (!signedIn.ok) throw new Error(signedIn.message)
    await context.addCookies([{ name: 'mrap_console', value: signedIn.entry.session.id, url: `${server.console.url}/` }])
    const page = await context.newPage()
    for (const p of pages) {
      const name = p.mount === '/' ? 'overview' : p.mount.replace(/^\//, '').replace(/\//g, '-')
      await page.goto(`${server.console.url}${p.mount === '/' ? '/' : p.mount}`)
      await page.waitForLoadState('networkidle')
      const file = join(out, `${name}-${scheme}.png`)
      await page.screenshot({ path: file })
      console.log(relative(root, file))
    }
    // The views people come for, beyond each page's landing: the seed reader's decision matrix
    // through the seed VPC (BUCKET1 denied, BUCKET2 allowed), lint findings, the MRAP's route dials.
    const extra = [
      ['access-matrix', '/access?principal=123456789012/reader&target=mrap:mfzwi23gnjvgw.mrap&key=k&via=vpc-0seed0000000000001'],
      ['access-lint', '/access/lint'],
      ['mrap-failover', '/mraps/seed-mrap?tab=replication'],
    ]
    for (const [name, path] of extra) {
      await page.goto(`${server.console.url}${path}`)
      await page.waitForLoadState('networkidle')
      const file = join(out, `${name}-${scheme}.png`)
      await page.screenshot({ path: file, fullPage: true })
      console.log(relative(root, file))
    }
    // The sign-in page, signed out.
    const anon = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme })
    const signIn = await anon.newPage()
    await signIn.goto(`${server.console.url}/sign-in`)
    await signIn.screenshot({ path: join(out, `sign-in-${scheme}.png`) })
    console.log(relative(root, join(out, `sign-in-${scheme}.png`)))
    await anon.close()
    await context.close()
  }
} finally {
  await browser.close()
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
}

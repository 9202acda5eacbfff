/**
 * The console as `mrap serve` runs it: the banner names it, `mrap console-url --as` asks the running
 * server over its admin socket for a one-time link that signs in once, and the console port's rules
 * (the default one busy: warn and go on; an explicit one busy: refuse to start).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)
const BASE_ARGS = ['--port', '0', '--tls-port', '0', '--proxy-port', '0']

/** Starts `mrap serve`, resolves with its banner once it is ready. */
function serve(dataDir: string, args: string[]): { child: ChildProcess; banner: Promise<string> } {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, ...BASE_ARGS, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  const banner = new Promise<string>((resolve, reject) => {
    let text = ''
    child.stderr!.on('data', (b: Buffer) => {
      text += b.toString()
      if (text.includes('try:')) resolve(text)
    })
    child.once('exit', (code) => reject(Object.assign(new Error(`exited ${code}: ${text}`), { code, text })))
  })
  return { child, banner }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
}

describe('mrap serve with the console', { timeout: 240_000 }, () => {
  test('console-url --as prints a one-time link to the running console; it signs in once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-console-url-'))
    const dataDir = join(dir, 'data')
    const { child, banner } = serve(dataDir, ['--console-port', '0'])
    try {
      const text = await banner
      const consoleUrl = /console: +(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1]
      assert.ok(consoleUrl, text)
      // server.json names it too, for tools.
      assert.equal(JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')).console, consoleUrl)
      const { stdout, stderr } = await run(process.execPath, [BIN, 'console-url', '--as', 'reader', '--data-dir', dataDir])
      const link = stdout.trim()
      assert.match(link, new RegExp(`^${consoleUrl.replace(/\./g, '\\.')}/sign-in/once\\?token=[A-Za-z0-9_-]{43}$`))
      assert.match(stderr, /arn:aws:iam::123456789012:user\/reader/)
      const first = await fetch(link, { redirect: 'manual' })
      assert.equal(first.status, 200)
      const cookie = first.headers.get('set-cookie') ?? ''
      assert.match(cookie, /^mrap_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//)
      const home = await fetch(`${consoleUrl}/`, { headers: { cookie: cookie.split(';')[0]! }, redirect: 'manual' })
      assert.equal(home.status, 200)
      assert.match(await home.text(), /Signed in as <strong>reader<\/strong>/)
      assert.equal((await fetch(link, { redirect: 'manual' })).status, 401)

      const refused = await run(process.execPath, [BIN, 'console-url', '--as', 'nobody-here', '--data-dir', dataDir]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      )
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /no principal nobody-here/)
    } finally {
      await stop(child)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the default console port taken: a warning, and the server runs; an explicit one taken: no start', async () => {
    // Hold 9001 ourselves: another test's server that holds it now could let it go at any moment.
    let blocker: Server = createServer()
    for (let i = 0; i < 60; i++) {
      blocker = createServer()
      const b = blocker
      const held = await new Promise<boolean>((resolve) => {
        b.once('error', () => resolve(false))
        b.listen(9001, '127.0.0.1', () => resolve(true))
      })
      if (held) break
      await new Promise((r) => setTimeout(r, 500))
    }
    const dir = mkdtempSync(join(tmpdir(), 'mrap-console-port-'))
    const { child, banner } = serve(join(dir, 'a'), [])
    try {
      assert.match(await banner, /console: +not started \(port 9001 in use\)/)
      await stop(child)
      const other: Server = createServer()
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()))
      const port = (other.address() as AddressInfo).port
      try {
        const explicit = serve(join(dir, 'b'), ['--console-port', String(port)])
        const e = (await explicit.banner.then(
          () => ({ code: 0, text: 'started' }),
          (x: { code: number; text: string }) => x,
        )) as { code: number; text: string }
        assert.equal(e.code, 1)
        assert.match(e.text, new RegExp(`cannot serve the console on 127\\.0\\.0\\.1:${port}: the port is in use`))
      } finally {
        other.close()
      }
    } finally {
      await stop(child)
      blocker.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** `mrap serve`: it says what it serves when ready, and exits non-zero with a clear message when it cannot start. */

import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)

async function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, 'serve', ...args], { timeout: 120_000 })
  } catch (e) {
    const err = e as { code: number; stderr: string }
    return { code: err.code, stderr: err.stderr }
  }
  throw new Error('mrap serve was expected to fail and exited 0')
}

describe('mrap serve', { timeout: 300_000 }, () => {
  test('prints its endpoints when ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-serve-'))
    const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(dir, 'data'), '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = ''
        child.stderr!.on('data', (b: Buffer) => {
          text += b.toString()
          if (text.includes('internet proxy')) resolve(text)
        })
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)))
      })
      assert.match(banner, /mrap ready: S3 front door http:\/\/127\.0\.0\.1:\d+/)
      assert.match(banner, /TLS front door: https:\/\/127\.0\.0\.1:\d+/)
      assert.match(banner, /internet proxy: http:\/\/127\.0\.0\.1:\d+/)
      assert.match(banner, /DOC-EXAMPLE-BUCKET1 \(us-east-1\)/)
      // `mrap ca` names the CA the banner names, and it is a certificate.
      const ca = (await run(process.execPath, [BIN, 'ca', '--data-dir', join(dir, 'data')])).stdout.trim()
      assert.ok(banner.includes(`CA ${ca}`), `banner names ${ca}`)
      assert.match(readFileSync(ca, 'utf8'), /^-----BEGIN CERTIFICATE-----/)
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('mrap ca without a CA yet: exit 1 and what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-ca-'))
    try {
      const r = await run(process.execPath, [BIN, 'ca', '--data-dir', dir]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      )
      assert.equal(r.code, 1)
      assert.match(r.stderr, /mrap serve/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a port in use: exit 1 and a message that says so', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as AddressInfo).port
    const dir = mkdtempSync(join(tmpdir(), 'mrap-serve-'))
    try {
      const r = await serveFails(['--data-dir', join(dir, 'data'), '--port', String(port), '--tls-port', '0', '--proxy-port', '0'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /already in use/)
    } finally {
      blocker.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a data directory that cannot be written: exit 1 and a message that names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-serve-'))
    const file = join(dir, 'a-file')
    writeFileSync(file, 'not a directory')
    try {
      const r = await serveFails(['--data-dir', join(file, 'data'), '--port', '0', '--tls-port', '0', '--proxy-port', '0'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /data directory .* is not writable/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a world file with a mistake: exit 1 and the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-serve-'))
    const world = join(dir, 'world.yaml')
    writeFileSync(world, 'regions:\n  - name: us-east-1\naccounts:\n  - id: "12345"\n')
    try {
      const r = await serveFails(['--data-dir', join(dir, 'data'), '--world', world, '--port', '0', '--tls-port', '0', '--proxy-port', '0'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /world\.yaml:4/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

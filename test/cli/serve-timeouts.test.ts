/** `mrap serve` timeout flags reach the listeners; a nonsense value is refused before anything starts. */

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'mrap.mjs')
const run = promisify(execFile)
const scratch = mkdtempSync(join(tmpdir(), 'mrap-serve-timeouts-'))
let child: ChildProcess | undefined
after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

test('--tls-handshake-timeout: a TLS connection that never handshakes is dropped after it', { timeout: 60_000 }, async () => {
  child = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(scratch, 'data'), '--port', '0', '--tls-port', '0', '--proxy-port', '0', '--tls-handshake-timeout', '300'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MRAP_LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
  })
  let stderr = ''
  const tlsPort = await new Promise<number>((res, rej) => {
    child!.stderr!.setEncoding('utf8')
    child!.stderr!.on('data', (d: string) => {
      stderr += d
      const m = /TLS front door: https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)
      if (m) res(Number(m[1]))
    })
    child!.once('exit', (code) => rej(new Error(`exited ${code}: ${stderr}`)))
  })
  const sock = connect(tlsPort, '127.0.0.1')
  const t0 = Date.now()
  const ms = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      sock.destroy()
      rej(new Error('still open after 5 s'))
    }, 5_000)
    sock.once('close', () => {
      clearTimeout(timer)
      res(Date.now() - t0)
    })
    sock.on('error', () => {})
  })
  assert.ok(ms >= 200, `closed after ${ms} ms`)
  child.kill('SIGTERM')
  await new Promise((r) => child!.once('exit', r))
})

test('a timeout of 0 is refused: exit 1, nothing created', { timeout: 60_000 }, async () => {
  const dataDir = join(scratch, 'never')
  const r = await run(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--body-timeout', '0'], { cwd: ROOT, timeout: 30_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  )
  assert.equal(r.code, 1)
  assert.match(r.stderr, /positive whole number of milliseconds/)
  assert.equal(existsSync(dataDir), false)
})

/**
 * The data directory (issue 12, items 6 and 7): one server per data dir, and private files.
 * - A second `mrap serve` on a live data dir exits 1 with "data dir X is in use by pid N" and changes
 *   nothing: ten uploads of the first server that are in flight (staged in tmp/) meanwhile all succeed.
 * - The lock is the kernel's (fcntl through SQLite): after `kill -9` a new server starts at once.
 * - A fresh data dir is 0700 and every file in it 0600 (SQLite files, blobs, TLS keys); an existing
 *   data dir open to group/others is reported at start.
 */

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { rawRequest } from '../helpers/raw.js'
import { ADMIN, startTestServer } from '../helpers/server.js'
import { openPut } from '../helpers/slow-body.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'mrap.mjs')
const run = promisify(execFile)
const KiB = 1024

const children = new Set<ChildProcess>()
const scratch = mkdtempSync(join(tmpdir(), 'mrap-datadir-'))
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

async function startChild(dataDir: string): Promise<{ child: ChildProcess; endpoint: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MRAP_LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
  })
  children.add(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  const endpoint = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`mrap serve not ready in 30 s:\n${stderr}`)), 30_000)
    child.stderr!.on('data', (d: string) => {
      stderr += d
      const m = /mrap ready: S3 front door (http:\/\/\S+)/.exec(stderr)
      if (m) {
        clearTimeout(timer)
        res(m[1]!)
      }
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      rej(new Error(`mrap serve exited (${code ?? sig}) before ready:\n${stderr}`))
    })
  })
  return { child, endpoint, stderr: () => stderr }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()))
}

/** Every path under dir with its permission bits and kind. */
function modes(dir: string): { path: string; mode: number; kind: 'dir' | 'file' | 'socket' }[] {
  const out: { path: string; mode: number; kind: 'dir' | 'file' | 'socket' }[] = []
  const walk = (p: string): void => {
    let st: ReturnType<typeof lstatSync>
    try {
      st = lstatSync(p)
    } catch {
      return
    } // gone between readdir and lstat (a live server)
    out.push({ path: p, mode: st.mode & 0o777, kind: st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : 'file' })
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name))
  }
  walk(dir)
  return out
}

function assertPrivate(dir: string): void {
  const all = modes(dir)
  const wrong = all.filter((e) => e.mode !== (e.kind === 'dir' ? 0o700 : 0o600)).map((e) => `${e.path} ${e.mode.toString(8)}`)
  assert.deepEqual(wrong, [], 'every directory 0700, every file 0600')
  // The kinds the issue names are really there (the walk is not vacuous).
  const names = all.map((e) => e.path.slice(dir.length))
  for (const want of [/^$/, /meta\.db$/, /meta\.db-wal$/, /\/blobs\/[0-9a-f]{2}\/[0-9a-f]+$/, /\/tls\/.*key/, /lock\.db$/]) {
    assert.ok(
      names.some((n) => want.test(n)),
      `found ${want} among ${names.length} paths`,
    )
  }
}

describe('data directory', { timeout: 240_000 }, () => {
  test("a second mrap serve on a live data dir exits 1 and leaves the running server's uploads alone", async () => {
    const dataDir = join(scratch, 'live')
    const first = await startChild(dataDir)
    const bucket = 'datadir-lock-test'
    assert.equal((await rawRequest(first.endpoint, { method: 'PUT', path: `/${bucket}` })).status, 200)

    // Ten uploads large enough to be staged in regions/<r>/tmp, half sent, then held open.
    const size = 200 * KiB
    const bodies = Array.from({ length: 10 }, () => randomBytes(size))
    const puts = await Promise.all(bodies.map((_, i) => openPut(first.endpoint, `/${bucket}/k${i}`, size)))
    await Promise.all(puts.map((p, i) => p.write(bodies[i]!.subarray(0, size / 2))))
    const tmp = join(dataDir, 'regions', 'us-east-1', 'tmp')
    for (let i = 0; i < 100 && readdirSync(tmp).length < 10; i++) await new Promise((r) => setTimeout(r, 50))
    const staged = readdirSync(tmp).sort()
    assert.equal(staged.length, 10, 'the ten uploads are staged')
    const serverJson = readFileSync(join(dataDir, 'server.json'), 'utf8')

    const second = await run(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
      cwd: ROOT,
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    )
    assert.equal(second.code, 1, `second server exits 1; stderr: ${second.stderr}`)
    assert.match(second.stderr, new RegExp(`data dir ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by pid ${first.child.pid}`))
    assert.deepEqual(readdirSync(tmp).sort(), staged, 'the staged uploads are untouched')
    assert.equal(readFileSync(join(dataDir, 'server.json'), 'utf8'), serverJson, 'server.json still names the first server')

    const done = await Promise.all(
      puts.map(async (p, i) => {
        await p.write(bodies[i]!.subarray(size / 2))
        return p.finish()
      }),
    )
    assert.deepEqual(
      done.map((r) => r.status),
      Array(10).fill(200),
      done.map((r) => r.body).join('\n'),
    )
    const s3 = new S3Client({ endpoint: first.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
    for (let i = 0; i < 10; i++) {
      const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `k${i}` }))).Body!.transformToByteArray())
      assert.ok(got.equals(bodies[i]!), `k${i} reads back byte for byte`)
    }
    s3.destroy()

    // The server made the directory: 0700, and every file in it 0600 (the `mrap serve` path). While
    // it runs, so the SQLite -wal/-shm files exist.
    assertPrivate(dataDir)
    first.child.kill('SIGTERM')
    await exited(first.child)
  })

  test('kill -9 leaves no stale lock: a new server starts on the same data dir', async () => {
    const dataDir = join(scratch, 'killed')
    const first = await startChild(dataDir)
    first.child.kill('SIGKILL')
    await exited(first.child)
    const second = await startChild(dataDir)
    // The lock's own words (src/state/data-dir-lock.ts): the banner may say another test holds the
    // default console port ('port 9001 in use'), which is not about the data dir.
    assert.doesNotMatch(second.stderr(), /is in use by/)
    assert.equal((await rawRequest(second.endpoint, { method: 'GET', path: '/' })).status, 200)
    second.child.kill('SIGTERM')
    await exited(second.child)
  })

  test('in-process servers: a fresh data dir is 0700 with 0600 files; a second server on it is refused', async () => {
    const dataDir = join(scratch, 'fresh')
    const s = await startTestServer({ dataDir })
    try {
      assert.deepEqual(s.warnings, [])
      await assert.rejects(startTestServer({ dataDir }), /is in use by pid/)
      const bucket = 'datadir-modes-test'
      assert.equal((await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}` })).status, 200)
      // Above the inline threshold, so the bytes are a blob file.
      assert.equal((await rawRequest(s.endpoint, { method: 'PUT', path: `/${bucket}/big`, body: randomBytes(100 * KiB) })).status, 200)
      assertPrivate(dataDir)
    } finally {
      await s.stop()
    }
    // Released on close: the same process can start a server there again.
    const again = await startTestServer({ dataDir })
    await again.stop()
  })

  test('an existing data dir open to others: a warning at start (log and mrap serve stderr)', async () => {
    const dataDir = join(scratch, 'open')
    mkdirSync(dataDir)
    chmodSync(dataDir, 0o755)
    const s = await startTestServer({ dataDir })
    try {
      assert.equal(s.warnings.length, 1)
      assert.match(s.warnings[0]!, /is open to other users .*chmod 700/)
    } finally {
      await s.stop()
    }
    const child = await startChild(dataDir)
    assert.match(child.stderr(), /mrap: warning: data dir .* is open to other users/)
    child.child.kill('SIGTERM')
    await exited(child.child)
  })
})

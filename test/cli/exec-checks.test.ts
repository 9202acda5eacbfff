/**
 * `mrap exec` warns before an AWS CLI that cannot sign SigV4A meets an MRAP. MRAP requests are
 * signed with SigV4A (docs/aws/mrap.md §SigV4A), which botocore signs only with the AWS CRT
 * (awscrt; docs/aws/clients.md). The `aws` here are stand-ins first on PATH
 * whose `#!` names the system Python with and without its site packages (where awscrt lives), so
 * the check must run the very interpreter the CLI runs on. And a tunnel the VPC's proxy refuses
 * shows its reason on stderr (curl alone says "CONNECT tunnel failed, response 403").
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)
const MRAP_ARN = 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap'

describe('mrap exec: SigV4A capability of the aws on PATH, proxy refusals', { timeout: 180_000 }, () => {
  let s: TestServer
  let dir: string
  before(async () => {
    s = await startTestServer()
    dir = mkdtempSync(join(tmpdir(), 'mrap-exec-checks-'))
  })
  after(async () => {
    await s.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Runs `mrap exec --as admin -- aws ARGS` with a stand-in `aws` whose first line is `shebang`. */
  async function execAws(shebang: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const bin = join(dir, `bin-${Math.random().toString(36).slice(2)}`)
    mkdirSync(bin)
    writeFileSync(join(bin, 'aws'), `${shebang}\nprint("stand-in ran")\n`)
    chmodSync(join(bin, 'aws'), 0o755)
    const env = { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, LANG: 'C.UTF-8' }
    return run(process.execPath, [BIN, 'exec', '--as', 'admin', '--data-dir', s.dataDir, '--', 'aws', ...args], { env, timeout: 120_000 })
  }

  test('a Python without awscrt: a warning naming the fix, then the command runs', async () => {
    const r = await execAws('#!/usr/bin/python3 -S', ['s3api', 'get-object', '--bucket', MRAP_ARN, '--key', 'k', '/dev/null'])
    assert.match(r.stderr, /cannot sign SigV4A/)
    assert.match(r.stderr, /Missing Dependency/)
    assert.match(r.stderr, /apt install python3-awscrt/)
    assert.match(r.stderr, /\/usr\/bin\/python3 -S/)
    assert.equal(r.stdout.trim(), 'stand-in ran')
  })

  test('the same Python with its site packages (awscrt installed): no warning', async () => {
    const r = await execAws('#!/usr/bin/python3', ['s3api', 'get-object', '--bucket', MRAP_ARN, '--key', 'k', '/dev/null'])
    assert.doesNotMatch(r.stderr, /SigV4A/)
    assert.equal(r.stdout.trim(), 'stand-in ran')
  })

  /** `mrap exec --as admin [exec options] -- curl ...`, exit status kept. */
  async function execCurl(opts: string[], url: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, LANG: 'C.UTF-8' }
    return run(process.execPath, [BIN, 'exec', '--as', 'admin', '--data-dir', s.dataDir, ...opts, '--', 'curl', '-sS', url], { env, timeout: 120_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    )
  }

  test('a tunnel the VPC proxy refuses: its reason on stderr, not only in the server log', async () => {
    const r = await execCurl(['--vpc', 'seed-vpc'], 'https://example.com/')
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /CONNECT tunnel failed, response 403/)
    assert.match(r.stderr, /mrap exec: mrap proxy \(vpc-0seed0000000000001 \(seed-vpc\)\): example\.com is not a name mrap serves/)
  })

  test('a tunnel the proxies allow: bytes pass unchanged and nothing is reported', async () => {
    // S3's own 403 for an anonymous ListBuckets comes back through the tunnel; it is no proxy refusal.
    const r = await execCurl(['--vpc', 'seed-vpc'], 'https://s3.us-east-1.amazonaws.com/')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /<Error><Code>AccessDenied<\/Code>/)
    assert.doesNotMatch(r.stderr, /mrap proxy/)
  })

  test('a command that names no MRAP is not checked', async () => {
    const r = await execAws('#!/usr/bin/python3 -S', ['s3', 'ls'])
    assert.doesNotMatch(r.stderr, /SigV4A/)
  })
})

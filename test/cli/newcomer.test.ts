/**
 * What a newcomer meets first with their own world file: a minimal world (one account, one user)
 * starts with the seed's regions; an empty file says what it needs; the banner's "try:" line
 * names a user of the loaded world (never the seed's key, never a secret) and works as printed.
 */

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CliSandbox } from '../helpers/aws-cli.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)
const KEY = { id: 'AKIANEWCOMER00000001', secret: 'nEwCoMeR/K7MDENG/bPxRfiCYEXAMPLEKEY0001' }

const dir = mkdtempSync(join(tmpdir(), 'mrap-newcomer-'))
const children: ChildProcess[] = []
const sandbox = new CliSandbox('mrap-newcomer-cli')
after(async () => {
  sandbox.dispose()
  for (const c of children) {
    c.kill('SIGTERM')
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r))
  }
  rmSync(dir, { recursive: true, force: true })
})

function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

/** Starts `mrap serve --world` and returns its banner (up to the "try:" line). */
async function serve(world: string, data: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'serve', '--world', world, '--data-dir', data, '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  children.push(child)
  return new Promise<string>((resolve, reject) => {
    let text = ''
    child.stderr!.on('data', (b: Buffer) => {
      text += b.toString()
      if (/try: .*\n/.test(text)) resolve(text)
    })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)))
  })
}

describe("a newcomer's own world file", { timeout: 300_000 }, () => {
  test('one account and one user: regions defaulted, and the try line works as printed', async () => {
    const world = file(
      'minimal.yaml',
      [
        'accounts:',
        '  - id: "210987654321"',
        '    users:',
        '      - name: dev',
        `        accessKeys: [{ id: ${KEY.id}, secret: "${KEY.secret}" }]`,
        '        managedPolicies: [AmazonS3FullAccess]',
        '',
      ].join('\n'),
    )
    const data = join(dir, 'data-min')
    const banner = await serve(world, data)
    assert.match(banner, /regions: {2}us-east-1, us-west-2, eu-west-1/)
    const tryLine = banner.split('\n').find((l) => l.includes('try:'))!
    assert.ok(!tryLine.includes('AKIAIOSFODNN7EXAMPLE'), tryLine)
    assert.ok(!tryLine.includes(KEY.secret), tryLine)
    assert.ok(tryLine.includes(KEY.id), tryLine)
    const cmd = tryLine.replace(/^\s*try:\s*/, '').replace(/\s+\(.*\)$/, '')
    assert.equal(cmd, `mrap exec --as dev --data-dir ${data} -- aws s3 ls`)
    const argv = cmd.split(' ').slice(1)
    // The CLI's environment from nothing (no developer profile), plus node for bin/mrap.mjs.
    const env = { ...sandbox.env(), PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` }
    const r = await run(process.execPath, [BIN, ...argv], { env, timeout: 120_000 })
    assert.equal(r.stdout, '', 'an account without buckets lists none')
  })

  test('a world whose users have no key: the try line says so and prints no key', async () => {
    const world = file('nokey.yaml', 'accounts: [{ id: "210987654322", users: [{ name: dev }] }]\n')
    const tryLine = (await serve(world, join(dir, 'data-nokey'))).split('\n').find((l) => l.includes('try:'))!
    assert.match(tryLine, /no user of this world has an access key/)
    assert.doesNotMatch(tryLine, /AKIA/)
  })

  test('an empty world file: a clear message, no "file:?:"', async () => {
    const empty = file('empty.yaml', '# my world\n')
    const r = await run(process.execPath, [BIN, 'serve', '--world', empty, '--data-dir', join(dir, 'data-empty'), '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
      timeout: 120_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    )
    assert.equal(r.code, 1)
    assert.match(r.stderr, /the world file is empty: declare at least one account/)
    assert.doesNotMatch(r.stderr, /:\?:/)
    const check = await run(process.execPath, [BIN, 'world', 'check', file('noaccounts.yaml', 'buckets: []\n')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    )
    assert.equal(check.code, 1)
    assert.match(check.stderr, /noaccounts\.yaml(:\d+)?: accounts: accounts is required/)
    assert.doesNotMatch(check.stderr, /:\?:/)
  })
})

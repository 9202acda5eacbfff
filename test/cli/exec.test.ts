/**
 * `mrap serve` (the seed world, as a newcomer starts it), then `mrap exec --as <principal>` with
 * the AWS CLI for each of the seed's principals, exit statuses passed through, and `mrap world
 * apply / export` over the admin socket. Every child runs asynchronously with an isolated
 * environment (temporary HOME, empty AWS config files, no instance metadata).
 */

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { DEFAULT_WORLD_FILE } from '../../src/world/load.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const AWS = '/usr/bin/aws'
const run = promisify(execFile)

let work: string
let dataDir: string
let serve: ChildProcess
let endpoint: string
let env: Record<string, string>

interface Result {
  code: number
  stdout: string
  stderr: string
}

async function mrap(args: string[]): Promise<Result> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env, cwd: work, timeout: 180_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string }
    if (typeof err.code !== 'number') throw e
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
  }
}

async function callerArn(as: string): Promise<string> {
  const r = await mrap(['exec', '--as', as, '--data-dir', dataDir, '--', AWS, 'sts', 'get-caller-identity', '--output', 'json'])
  assert.equal(r.code, 0, `mrap exec --as ${as} exited ${r.code}: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { Arn: string }).Arn
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mrap-exec-'))
  dataDir = join(work, 'data')
  const home = join(work, 'home')
  mkdirSync(home)
  writeFileSync(join(work, 'aws-config'), '')
  writeFileSync(join(work, 'aws-credentials'), '')
  env = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_CLI_AUTO_PROMPT: 'off',
    AWS_MAX_ATTEMPTS: '1',
    NO_PROXY: '*',
    MRAP_LOG_LEVEL: 'warn',
  }
  serve = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = ''
    const timer = setTimeout(() => reject(new Error(`mrap serve did not become ready in 120 s; stderr:\n${stderr}`)), 120_000)
    serve.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
      const m = /mrap ready: S3 front door (http:\/\/\S+)/.exec(stderr)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    serve.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`mrap serve exited (${code}) before ready; stderr:\n${stderr}`))
    })
  })
})

after(async () => {
  if (serve.exitCode === null) {
    const exited = new Promise((resolve) => serve.once('exit', resolve))
    serve.kill('SIGTERM')
    await exited
  }
  rmSync(work, { recursive: true, force: true })
})

describe('mrap exec', () => {
  test('--as each principal of the seed world runs the AWS CLI as that principal', async () => {
    assert.equal(await callerArn('admin'), 'arn:aws:iam::123456789012:user/admin')
    assert.equal(await callerArn('reader'), 'arn:aws:iam::123456789012:user/reader')
    assert.equal(await callerArn('partner'), 'arn:aws:iam::444455556666:user/partner')
    assert.equal(await callerArn('444455556666/partner'), 'arn:aws:iam::444455556666:user/partner')
  })

  test("the seed's lessons show: reader has no identity grants, admin has all", async () => {
    const ls = (as: string) => mrap(['exec', '--as', as, '--data-dir', dataDir, '--', AWS, 's3api', 'list-objects-v2', '--bucket', 'DOC-EXAMPLE-BUCKET2'])
    assert.equal((await ls('admin')).code, 0)
    const denied = await ls('reader')
    assert.notEqual(denied.code, 0)
    assert.match(denied.stderr, /AccessDenied/)
  })

  test("the environment names the server; the exit status is the command's", async () => {
    const r = await mrap(['exec', '--as', 'reader', '--data-dir', dataDir, '--', 'sh', '-c', 'echo "$AWS_ENDPOINT_URL_S3 $AWS_ACCESS_KEY_ID $AWS_DEFAULT_REGION"; exit 7'])
    assert.equal(r.code, 7)
    assert.equal(r.stdout.trim(), `${endpoint} AKIAI44QH8DHBEXAMPLE us-east-1`)
    const unknown = await mrap(['exec', '--as', 'nobody', '--data-dir', dataDir, '--', 'true'])
    assert.equal(unknown.code, 125)
    assert.match(unknown.stderr, /no user nobody/)
    const noServer = await mrap(['exec', '--data-dir', join(work, 'elsewhere'), '--', 'true'])
    assert.equal(noServer.code, 125)
    assert.match(noServer.stderr, /no mrap server is running/)
    assert.equal(statSync(join(dataDir, 'admin.sock')).mode & 0o777, 0o600)
  })
})

describe('mrap world apply / export', () => {
  test('apply adds what the file declares (once); exec can use it; export prints a world', async () => {
    const file = join(work, 'more.yaml')
    writeFileSync(
      file,
      readFileSync(DEFAULT_WORLD_FILE, 'utf8').replace(
        '      - name: reader\n',
        `      - name: quinn
        managedPolicies: [ReadOnlyAccess]
        accessKeys:
          - { id: AKIAQUINNQUINNEXAMPL, secret: quinnquinn/K7MDENG/bPxRfiCYEXAMPLEKEY1 }
      - name: reader
`,
      ),
    )
    const applied = await mrap(['world', 'apply', file, '--data-dir', dataDir])
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stdout, /created user 123456789012\/quinn/)
    assert.match(applied.stdout, /created access key AKIAQUINNQUINNEXAMPL/)
    assert.equal(await callerArn('quinn'), 'arn:aws:iam::123456789012:user/quinn')
    const again = await mrap(['world', 'apply', file, '--data-dir', dataDir])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /nothing to change/)

    const exported = await mrap(['world', 'export', '--data-dir', dataDir])
    assert.equal(exported.code, 0, exported.stderr)
    const w = parseYaml(exported.stdout) as { accounts: { id: string; users: { name: string; managedPolicies?: string[]; accessKeys?: unknown }[] }[] }
    const quinn = w.accounts.find((a) => a.id === '123456789012')?.users.find((u) => u.name === 'quinn')
    assert.deepEqual(quinn?.managedPolicies, ['ReadOnlyAccess'])
    assert.equal(quinn?.accessKeys, undefined, 'secrets are left out unless asked for')
  })

  test('a world with a mistake is refused with the line; nothing is applied', async () => {
    const bad = join(work, 'bad.yaml')
    writeFileSync(bad, readFileSync(DEFAULT_WORLD_FILE, 'utf8').replace('      - name: reader\n', '      - name: rita\n        groups: [nope]\n      - name: reader\n'))
    const r = await mrap(['world', 'apply', bad, '--data-dir', dataDir])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /bad\.yaml:\d+: accounts\.0\.users\.1\.groups\.0: group nope is not declared in account 123456789012/)
    const who = await mrap(['exec', '--as', 'rita', '--data-dir', dataDir, '--', 'true'])
    assert.equal(who.code, 125)
  })
})

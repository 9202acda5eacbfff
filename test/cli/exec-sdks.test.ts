/**
 * A developer's own program under `mrap exec`, with today's SDKs and CLIs: the JS SDK v3, Debian's
 * boto3 (botocore 1.29, which reads no endpoint variable), a newer botocore (>= 1.31, which reads
 * AWS_ENDPOINT_URL) when the machine has one, Debian's AWS CLI 2.9 and a pip AWS CLI when present.
 * Each calls S3 (a bucket, and an MRAP ARN signed with SigV4A), S3 Control, IAM, STS (AssumeRole),
 * EC2 and KMS with nothing but the environment exec builds (test/fixtures/exec/*).
 *
 * What the SDKs read: "Service-specific endpoints" (AWS SDKs and Tools Reference Guide,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): AWS_ENDPOINT_URL is
 * every service's endpoint, overridden per service by AWS_ENDPOINT_URL_<SERVICE>, named after the
 * service id ("Identifiers for service-specific endpoints",
 * https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html). A global one sends S3
 * Control to `<account>.127.0.0.1` (docs/aws/clients.md §S3 Control); MRAP ARNs ignore any
 * endpoint and need the proxy, which Node does not follow on its own ("Configure proxies for
 * Node.js", AWS SDK for JavaScript v3 Developer Guide).
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const JS_CALLS = fileURLToPath(new URL('../fixtures/exec/js-sdk-calls.mjs', import.meta.url))
const PY_CALLS = fileURLToPath(new URL('../fixtures/exec/boto3-calls.py', import.meta.url))
const DEBIAN_PYTHON = '/usr/bin/python3'
const DEBIAN_AWS = '/usr/bin/aws'
const ACCOUNT = '123456789012'
const MRAP_ARN = `arn:aws:s3::${ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap`
const SERVICES = ['s3', 's3-mrap', 's3control', 'iam', 'sts', 'ec2', 'kms'] as const
const run = promisify(execFile)

interface Result {
  code: number
  stdout: string
  stderr: string
}
type Calls = Map<string, { ok: boolean; detail: unknown }>

let s: TestServer
let dir: string

/** `mrap exec --as admin [opts] -- argv`, from the repository (the JS fixture resolves the SDK there). */
async function mrapExec(argv: string[], opts: string[] = [], extraEnv: Record<string, string> = {}): Promise<Result> {
  const config = join(dir, 'aws-config')
  const env = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: dir,
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: config,
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
    ...extraEnv,
  }
  return run(process.execPath, [BIN, 'exec', '--as', 'admin', '--data-dir', s.dataDir, ...opts, '--', ...argv], { env, cwd: ROOT, timeout: 150_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: Result) => e,
  )
}

/** Runs a fixture program under exec; its JSON lines by call name. */
async function calls(argv: string[], opts: string[] = [], extraEnv: Record<string, string> = {}): Promise<Calls> {
  const r = await mrapExec(argv, opts, extraEnv)
  assert.equal(r.code, 0, `${argv.join(' ')} exited ${r.code}: ${r.stderr}`)
  const out: Calls = new Map()
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const c = JSON.parse(line) as { call: string; ok: boolean; detail: unknown }
    out.set(c.call, c)
  }
  return out
}

/** What every client must see per service, from the seed world. */
function expectCall(got: Calls | undefined, name: (typeof SERVICES)[number], key: string): void {
  const c = got?.get(name)
  assert.ok(c, `no result for ${name}`)
  assert.equal(c.ok, true, `${name}: ${String(c.detail)}`)
  const want: Record<(typeof SERVICES)[number], unknown> = {
    s3: [key],
    's3-mrap': key === 'exec-js.txt' ? 'from js' : 'from python',
    s3control: [['mfzwi23gnjvgw.mrap'], 'mfzwi23gnjvgw.mrap'],
    iam: `arn:aws:iam::${ACCOUNT}:user/admin`,
    sts: undefined,
    ec2: ['vpc-0seed0000000000001'],
    kms: 0,
  }
  if (name === 'sts') assert.match(String(c.detail), new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/exec-(js|py)-\\d+/exec$`))
  else assert.deepEqual(c.detail, want[name])
}

/** The runner's python3 (resolved past shims) when its botocore reads AWS_ENDPOINT_URL (>= 1.31). */
async function newerPython(): Promise<{ exe: string; crt: boolean } | undefined> {
  try {
    const r = await run('python3', ['-c', 'import sys, botocore, importlib.util as u; print(sys.executable, botocore.__version__, u.find_spec("awscrt") is not None)'], {
      timeout: 30_000,
    })
    const [exe, version, crt] = r.stdout.trim().split(' ')
    const [major, minor] = (version ?? '0.0').split('.').map(Number)
    if (!exe || exe === DEBIAN_PYTHON || major! < 1 || (major === 1 && minor! < 31)) return undefined
    return { exe, crt: crt === 'True' }
  } catch {
    return undefined
  }
}

before(async () => {
  s = await startTestServer()
  dir = mkdtempSync(join(tmpdir(), 'mrap-exec-sdks-'))
  writeFileSync(join(dir, 'aws-config'), '')
})
after(async () => {
  await s.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('mrap exec: the environment', () => {
  test('service-specific endpoints for the front door, none for S3 Control, none global; the Node preload', async () => {
    const r = await mrapExec(['sh', '-c', 'env | grep -E "^(AWS_ENDPOINT_URL|AWS_IGNORE_CONFIGURED|NODE_OPTIONS|HTTPS_PROXY)" | sort'], [], {
      // A developer's own settings that would send S3 Control or everything elsewhere.
      AWS_ENDPOINT_URL_S3_CONTROL: 'http://127.0.0.1:1',
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
      NODE_OPTIONS: '--no-warnings',
    })
    assert.equal(r.code, 0, r.stderr)
    const env = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    for (const k of ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_IAM', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_KMS']) assert.equal(env[k], s.endpoint, k)
    assert.equal(env.AWS_ENDPOINT_URL, undefined)
    assert.equal(env.AWS_ENDPOINT_URL_S3_CONTROL, undefined)
    assert.equal(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, undefined)
    assert.match(env.NODE_OPTIONS ?? '', /^--require ".*\/bin\/node-proxy\.cjs" --no-warnings$/)
    assert.match(env.HTTPS_PROXY ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  test('--vpc: no endpoint variable at all, the VPC proxy for everything', async () => {
    const r = await mrapExec(['sh', '-c', 'env | grep -E "^AWS_ENDPOINT_URL" ; echo "proxy=$HTTPS_PROXY vpc=$MRAP_VPC"'], ['--vpc', 'seed-vpc'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout.trim(), /^proxy=http:\/\/127\.0\.0\.1:\d+ vpc=vpc-0seed0000000000001$/)
  })
})

describe('mrap exec: the JS SDK v3 (its pure-JS SigV4A signer; @aws-sdk/signature-v4-crt is not installed)', () => {
  let got: Calls | undefined
  before(async () => {
    got = await calls([process.execPath, JS_CALLS])
  })
  for (const name of SERVICES) test(name, () => expectCall(got, name, 'exec-js.txt'))

  test('the TLS front door named in the program is reached directly (the proxy refuses loopback names)', async () => {
    const tls = await calls([process.execPath, JS_CALLS, 's3-tls'], [], { TLS_FRONT_DOOR: `https://127.0.0.1:${s.tlsPort}` })
    assert.deepEqual(tls.get('s3-tls'), { call: 's3-tls', ok: true, detail: ['exec-js.txt'] })
  })

  test('--vpc: an MRAP ARN through the VPC endpoint', async () => {
    const vpc = await calls([process.execPath, JS_CALLS, 's3-mrap'], ['--vpc', 'seed-vpc'])
    expectCall(vpc, 's3-mrap', 'exec-js.txt')
  })
})

describe("mrap exec: Debian's boto3 (botocore 1.29, no endpoint variables; awscrt for SigV4A)", () => {
  let got: Calls | undefined
  before(async () => {
    got = await calls([DEBIAN_PYTHON, PY_CALLS])
  })
  for (const name of SERVICES) test(name, () => expectCall(got, name, 'exec-py.txt'))
})

// A newer botocore is not installable here (Debian has 1.29, no PyPI): its cases are registered only
// when the machine has one on PATH, never as skips, and say so when it has not. SigV4A needs awscrt,
// so without it the MRAP call is not one of them.
const newer = await newerPython()
const newerAws = newer && existsSync(join(dirname(newer.exe), 'aws')) ? join(dirname(newer.exe), 'aws') : undefined
if (!newer) console.log('# exec-sdks: no python3 with botocore >= 1.31 on PATH; its cases are not registered')
if (newer)
  describe('mrap exec: boto3 on a botocore that reads AWS_ENDPOINT_URL (>= 1.31)', () => {
    let got: Calls | undefined
    before(async () => {
      got = await calls([newer.exe, PY_CALLS])
    })
    for (const name of SERVICES.filter((n) => n !== 's3-mrap' || newer.crt)) test(name, () => expectCall(got, name, 'exec-py.txt'))
  })

describe('mrap exec: AWS CLIs', () => {
  async function cli(aws: string, args: string[]): Promise<unknown> {
    const r = await mrapExec([aws, ...args, '--output', 'json'])
    assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }

  test("Debian's CLI 2.9 (reads no endpoint variable: exec adds --endpoint-url, S3 Control takes the proxy)", async () => {
    const control = (await cli(DEBIAN_AWS, ['s3control', 'list-multi-region-access-points', '--account-id', ACCOUNT, '--region', 'us-west-2'])) as {
      AccessPoints: { Alias: string }[]
    }
    assert.deepEqual(
      control.AccessPoints.map((a) => a.Alias),
      ['mfzwi23gnjvgw.mrap'],
    )
    const out = join(dir, 'cli-mrap.txt')
    await cli(DEBIAN_AWS, ['s3api', 'put-object', '--bucket', 'DOC-EXAMPLE-BUCKET1', '--key', 'exec-cli.txt', '--body', JS_CALLS])
    await cli(DEBIAN_AWS, ['s3api', 'get-object', '--bucket', MRAP_ARN, '--key', 'exec-cli.txt', out])
    assert.ok(existsSync(out))
    assert.equal(((await cli(DEBIAN_AWS, ['iam', 'get-user'])) as { User: { Arn: string } }).User.Arn, `arn:aws:iam::${ACCOUNT}:user/admin`)
    assert.deepEqual(((await cli(DEBIAN_AWS, ['kms', 'list-keys'])) as { Keys: unknown[] }).Keys, [])
    assert.deepEqual(
      ((await cli(DEBIAN_AWS, ['ec2', 'describe-vpcs'])) as { Vpcs: { VpcId: string }[] }).Vpcs.map((v) => v.VpcId),
      ['vpc-0seed0000000000001'],
    )
  })

  if (newerAws)
    test('a pip AWS CLI beside the newer botocore: S3 Control by its real name', async () => {
      const control = (await cli(newerAws, ['s3control', 'list-multi-region-access-points', '--account-id', ACCOUNT, '--region', 'us-west-2'])) as {
        AccessPoints: { Alias: string }[]
      }
      assert.deepEqual(
        control.AccessPoints.map((a) => a.Alias),
        ['mfzwi23gnjvgw.mrap'],
      )
    })
})

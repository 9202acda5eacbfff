/**
 * The world side of regions on S3 engines, without an engine: examples/two-sites.yaml stays a valid
 * world, `mrap serve` refuses to start (exit 1) when a credential variable the file names is unset,
 * naming the variable and printing no secret, and a bucket the template cannot map is refused.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { createCore, StartupError } from '../../src/app/compose.js'
import { resolveTimeouts } from '../../src/http/timeouts.js'
import { loadWorldFile, parseWorld } from '../../src/world/load.js'
import { runCommand } from '../helpers/aws-cli.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const EXAMPLE = fileURLToPath(new URL('../../examples/two-sites.yaml', import.meta.url))
const dirs: string[] = []
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'mrap-upstream-world-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

test('examples/two-sites.yaml is a valid world with both regions on engines', () => {
  const world = loadWorldFile(EXAMPLE)
  const kinds = world.regions.map((r) => [r.name, typeof r.storage === 'string' ? r.storage : r.storage.kind])
  assert.deepEqual(kinds, [
    ['us-east-1', 's3'],
    ['eu-west-1', 's3'],
  ])
  assert.equal(world.mraps[0]?.buckets.length, 2)
  for (const b of world.buckets) assert.ok(b.replication, `${b.name} replicates to the other site`)
})

test('mrap serve exits 1 naming an unset credential variable, and prints no secret', async () => {
  const secret = 'do-not-print-this-secret-0123456789abcdef'
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch(),
    MRAP_LOG_LEVEL: 'error',
    SITE_A_ACCESS_KEY_ID: 'AKIASITEA',
    SITE_A_SECRET_ACCESS_KEY: secret,
    SITE_B_ACCESS_KEY_ID: 'AKIASITEB',
  }
  const r = await runCommand(process.execPath, [BIN, 'serve', '--data-dir', scratch(), '--world', EXAMPLE, '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
    env,
    timeoutMs: 60_000,
  })
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`)
  assert.match(r.stderr, /region eu-west-1: the environment variable SITE_B_SECRET_ACCESS_KEY .*is not set/)
  assert.ok(!(r.stdout + r.stderr).includes(secret), 'no secret in the output')
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack trace')
})

test('a world bucket the engine template cannot name is a start-up error', async () => {
  const world = parseWorld(
    [
      'regions:',
      '  - name: us-east-1',
      '    storage: { kind: s3, endpoint: "http://127.0.0.1:1", accessKeyIdEnv: K, secretAccessKeyEnv: S }',
      'accounts:',
      '  - { id: "111122223333", name: a }',
      'buckets:',
      '  - { name: Legacy-Capitals, region: us-east-1, owner: "111122223333" }',
    ].join('\n'),
    'inline.yaml',
  )
  await assert.rejects(
    createCore({
      config: { dataDir: scratch(), host: '127.0.0.1', port: 0, endpointHosts: [], timeouts: resolveTimeouts({}) },
      world,
      log: pino({ level: 'silent' }),
      env: { K: 'k', S: 's' },
    }),
    (e: unknown) => e instanceof StartupError && /bucket Legacy-Capitals: bucketTemplate mrap-\{region\}-\{bucket\}/.test(e.message),
  )
})

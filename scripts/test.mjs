#!/usr/bin/env node
// The one test command (README, .ci/run): installs what the tests need, typechecks, lints, runs every test.
// Usage: npm test [-- <file or folder> ...]   (MRAP_SKIP_TYPECHECK=1 to skip tsc and biome while iterating)
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
process.chdir(root)

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts })
  return r.status ?? 1
}

// Dependencies: a fresh clone has no node_modules.
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1)
}

// Debian packages the tests drive as real clients: the AWS CLI v2 (with awscrt for SigV4A), and
// Chromium for the browser form upload with CORS (test/e2e/browser-post.test.ts, via playwright-core,
// which downloads no browser of its own). `apt-get update` runs once, only when something is missing.
const debianNeeds = [
  { path: '/usr/bin/aws', packages: ['awscli', 'python3-awscrt'], what: 'the AWS CLI', tests: 'the CLI tests' },
  { path: '/usr/bin/chromium', packages: ['chromium'], what: 'Chromium', tests: 'the browser tests' },
  // boto3 from Debian (for /usr/bin/python3, not another Python on PATH): the SSE-C tests' third client.
  { path: '/usr/lib/python3/dist-packages/boto3', packages: ['python3-boto3'], what: "Debian's boto3", tests: 'the boto3 tests' },
]
let aptUpdated = false
for (const need of debianNeeds) {
  if (existsSync(need.path)) continue
  if (process.getuid?.() === 0) {
    console.log(`installing ${need.what} from Debian (${need.packages.join(', ')})`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const updated = aptUpdated || run('apt-get', ['update', '-qq'], { env }) === 0
    aptUpdated = updated
    if (!updated || run('apt-get', ['install', '-y', '-qq', ...need.packages], { env }) !== 0) {
      console.error(`could not install ${need.what}; ${need.tests} will fail`)
    }
  } else {
    console.error(`${need.what} (${need.path}) is missing: run \`apt-get install ${need.packages.join(' ')}\` as root`)
  }
}

if (process.env.MRAP_SKIP_TYPECHECK !== '1') {
  console.log('typecheck: tsc --noEmit')
  if (run(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.']) !== 0) process.exit(1)
  // Lint and format (biome.json); `npx biome check --write .` fixes what it can.
  console.log('lint and format: biome ci')
  if (run(join(root, 'node_modules', '.bin', 'biome'), ['ci', '.']) !== 0) process.exit(1)
}

function collect(path, out) {
  const st = statSync(path)
  if (st.isFile()) {
    if (/\.test\.ts$/.test(path)) out.push(path)
    return out
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    collect(join(path, name), out)
  }
  return out
}

const targets = process.argv.slice(2)
const files = (targets.length ? targets : ['src', 'test']).filter(existsSync).flatMap((t) => collect(t, []))
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

console.log(`tests: Node ${process.version}, ${files.length} files`)
const status = run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  env: { ...process.env, NODE_OPTIONS: '', MRAP_TEST: '1' },
})
if (status !== 0) process.exit(status)

// A full run also runs the suite under Node 24 and 22 (scripts/runtimes.mjs; issue 13). A run of
// chosen files stays on this Node, for quick iteration. The two run at the same time: the suite keeps
// two cores only ~75% busy (servers starting, clients waiting on timers), and one after the other they
// took two thirds of CI's time. Each one's report is printed whole when it ends.
if (targets.length === 0 && process.env.MRAP_RUNTIMES !== '0') {
  const { RUNTIMES, startUnder } = await import('./runtimes.mjs')
  console.log(`\nruntimes: the whole suite under Node ${RUNTIMES.join(' and ')}, at the same time (each report printed when it ends)`)
  const runs = RUNTIMES.map((v) =>
    startUnder(v).then((r) => {
      process.stdout.write(`\nruntimes: the whole suite under Node ${r.version}\n`)
      process.stdout.write(r.output)
      return r
    }),
  )
  const failed = (await Promise.all(runs)).filter((r) => r.status !== 0)
  for (const r of failed) console.error(`the suite failed under Node ${r.version}`)
  if (failed.length) process.exit(failed[0].status)
}
process.exit(0)

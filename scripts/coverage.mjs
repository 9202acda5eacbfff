#!/usr/bin/env node
// `npm run coverage [-- <test files>]`: line and branch coverage of src/, per folder (issue 13).
// c8 collects V8's own coverage from every process the tests start (servers spawned as children
// included, through NODE_V8_COVERAGE) and maps it onto the TypeScript sources; this script only
// sums its per-file summary by folder, which no c8 reporter does.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve, sep } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'mrap-coverage-'))
const report = join(work, 'report')
const c8 = join(root, 'node_modules', '.bin', 'c8')
const r = spawnSync(
  c8,
  [
    '--temp-directory',
    join(work, 'v8'),
    '--report-dir',
    report,
    '--reporter=json-summary',
    '--include',
    'src/**',
    '--exclude',
    'src/**/*.test.ts',
    '--all',
    process.execPath,
    join(root, 'scripts', 'test.mjs'),
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MRAP_RUNTIMES: '0', MRAP_SKIP_TYPECHECK: '1' } },
)

const summary = JSON.parse(readFileSync(join(report, 'coverage-summary.json'), 'utf8'))
rmSync(work, { recursive: true, force: true })

const folders = new Map()
for (const [file, s] of Object.entries(summary)) {
  if (file === 'total') continue
  const parts = relative(root, file).split(sep)
  const folder = parts.length > 2 ? parts.slice(0, 2).join('/') : 'src/*.ts'
  const f = folders.get(folder) ?? { files: 0, lines: [0, 0], branches: [0, 0] }
  f.files++
  f.lines[0] += s.lines.covered
  f.lines[1] += s.lines.total
  f.branches[0] += s.branches.covered
  f.branches[1] += s.branches.total
  folders.set(folder, f)
}
const pct = ([c, t]) => (t === 0 ? 100 : (100 * c) / t)
const row = (name, files, lines, branches) =>
  `${name.padEnd(22)} ${String(files).padStart(5)}  ${pct(lines).toFixed(1).padStart(6)}%  ${pct(branches).toFixed(1).padStart(6)}%${pct(lines) < 80 || pct(branches) < 80 ? '   < 80' : ''}`
console.log(`\n${'folder'.padEnd(22)} ${'files'.padStart(5)}  ${'lines'.padStart(7)}  ${'branches'.padStart(7)}`)
for (const [name, f] of [...folders].sort(([a], [b]) => a.localeCompare(b))) console.log(row(name, f.files, f.lines, f.branches))
const t = summary.total
console.log(row('all of src', folders.size ? [...folders.values()].reduce((n, f) => n + f.files, 0) : 0, [t.lines.covered, t.lines.total], [t.branches.covered, t.branches.total]))
process.exit(r.status ?? 1)

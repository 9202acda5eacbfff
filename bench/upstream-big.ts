/**
 * Bench case: a large object through the upstream store on a real Ceph RGW (issue 16: "a 1 GiB PUT
 * and GET through the gateway with server RSS < 150 MiB", the goal run.ts holds the embedded store
 * to). A fresh child (bench/servers/upstream-store.mjs, plain Node on the compiled build, as
 * `mrap serve` runs) takes a streamed PUT of BENCH_BIG_MIB MiB and serves it back through
 * getObject/open; its peak RSS (VmHWM) is the measure. Without a build newer than the sources it
 * runs the sources under tsx and says so (`build: "tsx"`: the loader adds ~30 MiB).
 * BENCH_DIST=<dir> measures a build elsewhere (e.g. `tsc -p tsconfig.build.json --outDir <dir>`).
 * Prints one JSON line. `npm run bench` runs it with the micro-benchmarks (after building dist/);
 * alone: `npm run build && node --import tsx bench/upstream-big.ts`.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { startCeph } from '../test/helpers/ceph.js'

const ROOT = resolve(import.meta.dirname, '..')
const GOAL_RSS_MIB = 150
const sizeMiB = Number(process.env.BENCH_BIG_MIB) > 0 ? Number(process.env.BENCH_BIG_MIB) : 1024

/** The compiled store when dist/ is at least as new as every upstream source, else the sources. */
function storeModule(): { module: string; build: 'dist' | 'tsx' } {
  const built = join(process.env.BENCH_DIST ?? join(ROOT, 'dist'), 'storage', 'upstream', 'upstream-object-store.js')
  const srcDir = join(ROOT, 'src', 'storage', 'upstream')
  const fresh =
    existsSync(built) &&
    readdirSync(srcDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .every((f) => statSync(join(srcDir, f)).mtimeMs <= statSync(built).mtimeMs)
  return fresh ? { module: pathToFileURL(built).href, build: 'dist' } : { module: pathToFileURL(join(srcDir, 'upstream-object-store.ts')).href, build: 'tsx' }
}

const state = mkdtempSync(join(tmpdir(), 'mrap-bench-upstream-'))
const ceph = await startCeph('bench')
try {
  const { module, build } = storeModule()
  const spec = JSON.stringify({ module, engine: ceph.config(), stateDir: state, sizeMiB })
  const args = [...(build === 'tsx' ? ['--import', 'tsx'] : []), join(ROOT, 'bench', 'servers', 'upstream-store.mjs'), spec]
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' } })
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { hwmAfterGetMiB: number }
  console.log(
    JSON.stringify({
      bench: 'upstream-big',
      build,
      sizeMiB,
      ...r,
      goal: `${sizeMiB} MiB PUT + GET through the upstream store, peak RSS < ${GOAL_RSS_MIB} MiB`,
      met: r.hwmAfterGetMiB < GOAL_RSS_MIB,
    }),
  )
} finally {
  await ceph.down()
  rmSync(state, { recursive: true, force: true })
}

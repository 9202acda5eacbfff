/**
 * Bench case, issue 16: a region on a Ceph RGW, the same signed request through mrap and straight
 * to the engine, in the same run (docs/benchmarks.md §Method: same-run ratios, not timed tests).
 * Goals: GET 1 KiB through mrap >= 0.6 x straight, GET 1 MiB >= 0.8 x, PUT 1 KiB >= 0.6 x; mrap's
 * own CPU per request is reported beside RGW's.
 *
 * Layout (docs/decisions/upstream-bench-layout.md): every radosgw thread is pinned to core 0; mrap
 * and wrk share core 1, so mrap has a core of its own as a gateway in front of an engine has, and
 * pays for the load generator's CPU as well (the conservative side for mrap). BENCH_UPSTREAM_LAYOUT
 * =shared puts mrap on core 0 with RGW instead, as this bench did until 2026-12-07: there the rps
 * ratio measures how the two processes split one core more than what mrap costs. Either way each
 * goal line also gives `oneCoreFromCpu`, RGW's CPU per request straight over RGW's plus mrap's
 * through mrap: the ratio if both had to share one core and nothing else ran there. Requests are
 * presigned SigV4 (UNSIGNED-PAYLOAD), to mrap with mrap's identity and to RGW with the engine's
 * service key.
 *
 * Prints one JSON line per case and per goal, then a summary line. `npm run bench` runs it after
 * the micro-benchmarks (BENCH_SKIP_UPSTREAM=1 skips it); alone:
 *   node --import tsx bench/upstream.ts
 * with run.ts's BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_CASES, BENCH_MRAP_NODE_ARGS,
 * BENCH_UPSTREAM_WARMUP (seconds of warm-up per case, default 6), and
 * BENCH_MRAP_MAIN=<a compiled cli/main.js> to measure a build made elsewhere (bin/mrap.mjs falls
 * back to tsx whenever any source is newer than dist/, as it is while others edit the tree).
 * A/B on a shared machine: BENCH_MRAP_MAIN_B=<another build> starts a second mrap on the same RGW
 * (engine buckets `mrapb-...`) and interleaves its cases ("mrap-B signed ...") with the first's, so
 * both builds see the same load. BENCH_MRAP_PERF=<dir> records `perf record -g` of each mrap during
 * its measured rounds (add BENCH_MRAP_NODE_ARGS=--perf-basic-prof for JS names): on-CPU samples, where
 * --cpu-prof's wall-clock samples blame whatever mrap was running when RGW, on the same core, took
 * the CPU from it. BENCH_MRAP_STDOUT=<dir> keeps each mrap's stdout there (`<label>.out`), where
 * V8's --trace-gc writes.
 *
 * Engine requests per client request are counted on RGW's side: its log (debug_rgw 1, the default)
 * has one `beast:` access line per request, read between the rounds of a case.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { startCeph } from '../test/helpers/ceph.js'
import { presignUrl } from './presign.js'

const ROOT = resolve(import.meta.dirname, '..')
const run = promisify(execFile)
const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v > 0 ? v : dflt
}
const SECONDS = num('BENCH_SECONDS', 3)
const ROUNDS = num('BENCH_ROUNDS', 3)
const CONNECTIONS = num('BENCH_CONNECTIONS', 16)
const WARMUP = num('BENCH_UPSTREAM_WARMUP', 6)
const KiB = 1024
const MiB = 1024 * KiB
const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const PIN = cpus().length >= 2
const LAYOUT = process.env.BENCH_UPSTREAM_LAYOUT === 'shared' ? 'shared' : 'split'
/** mrap's core: its own (shared with wrk) in the split layout, RGW's in the shared one. */
const MRAP_CORE = LAYOUT === 'split' ? '1' : '0'
const log = (s: string): void => {
  process.stderr.write(`${s}\n`)
}
const round = (n: number, d: number): number => Math.round(n * 10 ** d) / 10 ** d
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const CLK_TCK = 100

function cpuSeconds(pid: number): number {
  const { user, sys } = cpuSplit(pid)
  return user + sys
}

/** User and kernel CPU seconds of all threads (/proc/<pid>/stat of the thread-group leader sums them). */
function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK }
}

const scratch = mkdtempSync(join(tmpdir(), 'mrap-bench-upstream-http-'))
let scripts = 0

/** wrk on core 1: a plain GET of one URL, or a Lua script cycling through PUT URLs. */
async function wrk(urls: string[], method: 'GET' | 'PUT', size: number, seconds: number): Promise<{ rps: number; requests: number; bad: number; p50Ms: number }> {
  let args: string[]
  if (method === 'GET' && urls.length === 1) args = [urls[0]!]
  else {
    const file = join(scratch, `s${scripts++}.lua`)
    writeFileSync(
      file,
      [
        `wrk.method = "${method}"`,
        size ? `wrk.body = string.rep("x", ${size})` : '',
        `local paths = { ${urls
          .map((x) => {
            const v = new URL(x)
            return JSON.stringify(v.pathname + v.search)
          })
          .join(', ')} }`,
        'local i = 0',
        'request = function()',
        '  i = i % #paths + 1',
        '  return wrk.format(nil, paths[i])',
        'end',
      ].join('\n'),
    )
    args = ['-s', file, `${new URL(urls[0]!).origin}/`]
  }
  const full = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '--latency', ...args]
  const { stdout } = await run(PIN ? 'taskset' : 'wrk', PIN ? ['-c', '1', 'wrk', ...full] : full, { timeout: (seconds + 30) * 1000 })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(stdout)
  const p50Ms = p50 ? Number(p50[1]) * (p50[2] === 'us' ? 0.001 : p50[2] === 's' ? 1000 : 1) : NaN
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${stdout}`)
  return { rps, requests, bad: non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0), p50Ms }
}

function world(endpoint: string, bucketTemplate: string): string {
  return [
    'regions:',
    '  - name: us-east-1',
    `    storage: { kind: s3, endpoint: "${endpoint}", accessKeyIdEnv: BENCH_RGW_KEY_ID, secretAccessKeyEnv: BENCH_RGW_SECRET, bucketTemplate: "${bucketTemplate}" }`,
    'accounts:',
    '  - id: "123456789012"',
    '    name: bench',
    '    users:',
    '      - name: admin',
    `        accessKeys: [{ id: ${ADMIN.accessKeyId}, secret: ${ADMIN.secretAccessKey} }]`,
    '        policies: [{ name: all, document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "*", Resource: "*" }] } }]',
    'buckets:',
    '  - { name: bench, region: us-east-1, owner: "123456789012" }',
  ].join('\n')
}

interface Mrap {
  label: string
  child: ChildProcess
  pid: number
  url: string
}

async function startMrap(label: string, main: string, dir: string, worldFile: string, env: Record<string, string>): Promise<Mrap> {
  const nodeArgs = (process.env.BENCH_MRAP_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const args = [...nodeArgs, main, 'serve', '--data-dir', join(dir, 'data'), '--world', worldFile, '--port', '0', '--tls-port', '0', '--proxy-port', '0', '--host', '127.0.0.1']
  const child = spawn(PIN ? 'taskset' : process.execPath, PIN ? ['-c', MRAP_CORE, process.execPath, ...args] : args, {
    cwd: ROOT,
    // BENCH_MRAP_STDOUT=<dir>: V8's tracing (--trace-gc in BENCH_MRAP_NODE_ARGS) writes to stdout.
    stdio: ['ignore', process.env.BENCH_MRAP_STDOUT ? openSync(join(process.env.BENCH_MRAP_STDOUT, `${label}.out`), 'w') : 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', MRAP_LOG_LEVEL: process.env.BENCH_MRAP_LOG_LEVEL ?? 'warn', ...env },
  })
  let err = ''
  const url = await new Promise<string>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`mrap did not start in 60 s:\n${err}`)), 60_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      err += d
      const m = /mrap ready: S3 front door (http:\/\/\S+)/.exec(err)
      if (m) {
        clearTimeout(t)
        ok(m[1]!)
      }
    })
    child.once('exit', (c) => {
      clearTimeout(t)
      fail(new Error(`mrap exited (${c}):\n${err}`))
    })
  })
  return { label, child, pid: child.pid!, url }
}

interface Case {
  name: string
  mrap?: Mrap
  method: 'GET' | 'PUT'
  size: number
  urls: string[]
}

/** RGW's log from where the last call stopped: engine requests by method (one `beast:` line each). */
function engineRequests(log: { file: string; at: number }): Record<string, number> {
  const size = statSync(log.file).size
  const buf = Buffer.alloc(size - log.at)
  const fd = openSync(log.file, 'r')
  try {
    readSync(fd, buf, 0, buf.length, log.at)
  } finally {
    closeSync(fd)
  }
  log.at = size
  const out: Record<string, number> = {}
  // A GET of "/" is ListBuckets: mrap's health probe (routing/health.ts), not part of a request.
  for (const m of buf.toString('latin1').matchAll(/ beast: \S+ .*?"([A-Z]+) (\S+)/g)) {
    const k = m[1] === 'GET' && /^\/(\?|$)/.test(m[2]!) ? 'probe' : m[1]!
    out[k] = (out[k] ?? 0) + 1
  }
  return out
}

/** The perf recorder of one mrap case's rounds (BENCH_MRAP_PERF), or nothing. */
function perfRecord(c: Case, round: number): ChildProcess | undefined {
  const dir = process.env.BENCH_MRAP_PERF
  if (!dir || !c.mrap) return undefined
  mkdirSync(dir, { recursive: true })
  const out = join(dir, `${c.name.replace(/\W+/g, '-')}-r${round}.data`)
  return spawn('perf', ['record', '-F', '997', '-g', '-p', String(c.mrap.pid), '-o', out], { stdio: 'ignore' })
}

const ceph = await startCeph('bench-http')
const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-upstream-'))
const mraps: Mrap[] = []
try {
  const rgwPid = rgwPidOf(ceph.endpoint)
  if (PIN) await run('taskset', ['-a', '-p', '-c', '0', String(rgwPid)])
  const rgwLog = { file: join(dirname(rgwConf(rgwPid)), 'log', 'client.rgw.a.log'), at: 0 }
  const mains: [string, string, string][] = [['mrap', process.env.BENCH_MRAP_MAIN ?? join(ROOT, 'bin', 'mrap.mjs'), 'mrap-{region}-{bucket}']]
  if (process.env.BENCH_MRAP_MAIN_B) mains.push(['mrap-B', process.env.BENCH_MRAP_MAIN_B, 'mrapb-{region}-{bucket}'])
  for (const [label, main, template] of mains) {
    const d = join(dir, label)
    mkdirSync(d)
    writeFileSync(join(d, 'world.yaml'), world(ceph.endpoint, template))
    mraps.push(await startMrap(label, main, d, join(d, 'world.yaml'), { BENCH_RGW_KEY_ID: ceph.accessKeyId, BENCH_RGW_SECRET: ceph.secretAccessKey }))
  }
  const engineCreds = { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey }
  const rgw = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: engineCreds,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  })
  await rgw.send(new CreateBucketCommand({ Bucket: 'direct' }))
  const clients = [
    [rgw, 'direct'] as const,
    ...mraps.map((m) => [new S3Client({ endpoint: m.url, region: 'us-east-1', forcePathStyle: true, credentials: ADMIN, maxAttempts: 1 }), 'bench'] as const),
  ]
  for (const [c, b] of clients) {
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'get-1k', Body: Buffer.alloc(KiB, 'a') }))
    await c.send(new PutObjectCommand({ Bucket: b, Key: 'get-1m', Body: Buffer.alloc(MiB, 'b') }))
    c.destroy()
  }
  const puts = (creds: typeof ADMIN, endpoint: string, bucket: string) =>
    Promise.all(Array.from({ length: 256 }, (_, i) => presignUrl(creds, 'PUT', endpoint, bucket, `put-1k/${i}`)))
  const cases: Case[] = []
  for (const [what, method, size, key] of [
    ['GET 1 KiB', 'GET', KiB, 'get-1k'],
    ['GET 1 MiB', 'GET', MiB, 'get-1m'],
    ['PUT 1 KiB', 'PUT', KiB, ''],
  ] as const) {
    cases.push({
      name: `rgw signed ${what}`,
      method,
      size,
      urls: method === 'PUT' ? await puts(engineCreds, ceph.endpoint, 'direct') : [await presignUrl(engineCreds, 'GET', ceph.endpoint, 'direct', key)],
    })
    for (const m of mraps)
      cases.push({
        name: `${m.label} signed ${what}`,
        mrap: m,
        method,
        size,
        urls: method === 'PUT' ? await puts(ADMIN, m.url, 'bench') : [await presignUrl(ADMIN, 'GET', m.url, 'bench', key)],
      })
  }
  // BENCH_CASES=<regex>, as run.ts: keeps the matching cases (name them both ways for a ratio).
  const only = process.env.BENCH_CASES ? new RegExp(process.env.BENCH_CASES) : null
  if (only) cases.splice(0, cases.length, ...cases.filter((c) => only.test(c.name)))
  for (const c of cases) {
    const r = await fetch(c.urls[0]!, c.method === 'PUT' ? { method: 'PUT', body: 'x'.repeat(c.size) } : {})
    const body = Buffer.from(await r.arrayBuffer())
    if (r.status !== 200 || (c.method === 'GET' && body.length !== c.size)) throw new Error(`${c.name}: ${r.status} ${body.toString('utf8', 0, 300)}`)
  }
  type Row = { rps: number; bad: number; p50Ms: number; mrapUs: number; mrapSysUs: number; rgwUs: number; engine: Record<string, number> }
  const results = new Map<string, Row[]>(cases.map((c) => [c.name, []]))
  // Warm-up: V8 optimizes mrap's request path over its first few thousand requests, and at the
  // 100-500 rps of these cases a 1 s warm-up left that compiling inside the measured rounds (a
  // perf profile of mrap during a PUT round: 27% of its CPU in TurboFan's compile threads, on the
  // engine's core). RGW is compiled C++; warming it longer changes nothing.
  for (const c of cases) await wrk(c.urls, c.method, c.size, WARMUP)
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const pid = (c.mrap ?? mraps[0]!).pid
      const perf = perfRecord(c, r + 1)
      if (perf) await new Promise((ok) => setTimeout(ok, 300))
      engineRequests(rgwLog)
      const m0 = cpuSplit(pid),
        g0 = cpuSeconds(rgwPid)
      const m = await wrk(c.urls, c.method, c.size, SECONDS)
      const per = (s: number): number => (m.requests > 0 ? (s / m.requests) * 1e6 : NaN)
      const m1 = cpuSplit(pid)
      const g1 = cpuSeconds(rgwPid)
      if (perf) {
        perf.kill('SIGINT')
        await new Promise((ok) => perf.once('exit', ok))
      }
      // Requests still in flight when wrk stops reach RGW but are not in wrk's count: 16 in thousands.
      const engine = Object.fromEntries(Object.entries(engineRequests(rgwLog)).map(([k, v]) => [k, round(v / m.requests, 3)]))
      const row: Row = { ...m, mrapUs: per(m1.user + m1.sys - m0.user - m0.sys), mrapSysUs: per(m1.sys - m0.sys), rgwUs: per(g1 - g0), engine }
      results.get(c.name)!.push(row)
      log(
        `  round ${r + 1} ${c.name.padEnd(22)} ${row.rps.toFixed(0).padStart(6)} rps  p50 ${row.p50Ms.toFixed(2)} ms  mrap ${row.mrapUs.toFixed(0)} µs/req (kernel ${row.mrapSysUs.toFixed(0)})  rgw ${row.rgwUs.toFixed(0)} µs/req  engine/req ${JSON.stringify(engine)}${row.bad ? `  (${row.bad} non-2xx/errors!)` : ''}`,
      )
    }
  }
  const summary = cases.map((c) => {
    const rs = results.get(c.name)!
    const engine: Record<string, number> = {}
    for (const k of new Set(rs.flatMap((x) => Object.keys(x.engine)))) engine[k] = round(median(rs.map((x) => x.engine[k] ?? 0)), 3)
    return {
      bench: 'upstream-http',
      case: c.name,
      rps: round(median(rs.map((x) => x.rps)), 0),
      rpsRounds: rs.map((x) => round(x.rps, 0)),
      p50Ms: round(median(rs.map((x) => x.p50Ms)), 2),
      mrapCpuUsPerReq: c.mrap ? round(median(rs.map((x) => x.mrapUs)), 0) : undefined,
      mrapKernelUsPerReq: c.mrap ? round(median(rs.map((x) => x.mrapSysUs)), 0) : undefined,
      rgwCpuUsPerReq: round(median(rs.map((x) => x.rgwUs)), 0),
      engineRequestsPerReq: engine,
      bad: rs.reduce((a, x) => a + x.bad, 0),
    }
  })
  for (const s of summary) console.log(JSON.stringify(s))
  const rps = (n: string): number => summary.find((s) => s.case === n)?.rps ?? NaN
  for (const m of mraps) {
    for (const [what, goal] of [
      ['GET 1 KiB', 0.6],
      ['GET 1 MiB', 0.8],
      ['PUT 1 KiB', 0.6],
    ] as const) {
      if (only && !(only.test(`${m.label} signed ${what}`) && only.test(`rgw signed ${what}`))) continue
      const value = round(rps(`${m.label} signed ${what}`) / rps(`rgw signed ${what}`), 3)
      // From CPU per request: the rps ratio if mrap and RGW shared one core and nothing else ran
      // there (the shared layout's question, answered in either layout).
      const via = summary.find((s) => s.case === `${m.label} signed ${what}`)
      const direct = summary.find((s) => s.case === `rgw signed ${what}`)
      const oneCoreFromCpu = via && direct ? round(direct.rgwCpuUsPerReq / ((via.mrapCpuUsPerReq ?? 0) + via.rgwCpuUsPerReq), 3) : NaN
      console.log(
        JSON.stringify({
          bench: 'upstream-http',
          goal: `signed ${what} through ${m.label} over RGW >= ${goal} x straight to RGW (rps, same run, ${LAYOUT === 'split' ? 'RGW on core 0, mrap and wrk on core 1' : 'mrap and RGW on core 0'})`,
          value,
          met: value >= goal,
          oneCoreFromCpu,
        }),
      )
    }
  }
} finally {
  for (const m of mraps) {
    if (m.child.exitCode !== null) continue
    m.child.kill('SIGTERM')
    await new Promise((r) => {
      const t = setTimeout(() => {
        m.child.kill('SIGKILL')
        r(undefined)
      }, 5000)
      m.child.once('exit', () => {
        clearTimeout(t)
        r(undefined)
      })
    })
  }
  await ceph.down()
  rmSync(dir, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
}

/** The ceph.conf a radosgw process was started with (`-c`). */
function rgwConf(pid: number): string {
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  return cmd[cmd.indexOf('-c') + 1]!
}

/** radosgw's pid: the one whose command line names the cluster serving `endpoint`. */
function rgwPidOf(endpoint: string): number {
  const port = new URL(endpoint).port
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      if (!cmd[0]?.endsWith('radosgw')) continue
      const conf = cmd[cmd.indexOf('-c') + 1]!
      if (readFileSync(conf, 'utf8').includes(`127.0.0.1:${port}`)) return Number(name)
    } catch {
      /* gone, or not ours to read */
    }
  }
  throw new Error(`no radosgw serves ${endpoint}`)
}

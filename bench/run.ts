/**
 * `npm run bench`: the project's benchmark, in one run (~2–3 min).
 *
 * 1. HTTP: starts `mrap serve` (fresh temp data dir) and a bare Node `http` server
 *    (bench/servers/bare-http.mjs) as child processes pinned to core 0, and drives them with wrk pinned
 *    to core 1 (docs/benchmarks.md §Method): signed (presigned SigV4) GET and PUT of 1 KiB and 1 MiB against
 *    mrap, the same GETs and PUTs against the bare server; requests/s, p50/p99 and ratios to bare.
 * 2. Large objects: a fresh mrap child takes a 1 GiB PUT and serves it back, streamed from and to
 *    generators (never held in memory); throughput and the server's peak RSS (VmHWM).
 * 3. Micro-benchmarks: bench/policy.ts, bench/auth.ts, bench/storage.ts (whichever exist), each a
 *    child process printing JSON lines, included as they are.
 *
 * The parts: bench/harness.ts (knobs, child processes, /proc, presigning), bench/load.ts (wrk or the
 * Node load generator), and one module per case that needs its own server: bench/vpc-case.ts,
 * bench/sse-case.ts, bench/big-case.ts; bench/upstream.ts and bench/fleet.ts run as children.
 *
 * Environment knobs: BENCH_SECONDS (per measured case, default 3), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 16), BENCH_BIG_MIB (default 1024), BENCH_WARMUP (seconds per case before the rounds, default 3), BENCH_LOADGEN=wrk|node (default wrk,
 * installed from Debian when missing and root; node = bench/http-load.ts), BENCH_MRAP_LOG_LEVEL
 * (default warn: no per-request access log), BENCH_CASES=<regex> (only the matching HTTP cases), BENCH_SKIP_MICRO=1, BENCH_SKIP_UPSTREAM=1 (no bench/upstream.ts), BENCH_SKIP_FLEET=1 (no bench/fleet.ts), BENCH_JSON=<file> (write the summary), BENCH_MRAP_NODE_ARGS (extra node flags for
 * the mrap children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_NO_BUILD=1 (measure dist/ as it is), BENCH_MRAP_MAIN=<a cli/main.js> (default dist/cli/main.js),
 * BENCH_HOLD_SECONDS=N (print the server pids and a presigned URL, then wait N s before the cases).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { bigPutGet } from './big-case.js'
import {
  ADMIN,
  BIG_MIB,
  BUCKET,
  CONNECTIONS,
  cleanup,
  cpuSeconds,
  execFileP,
  KiB,
  LOG_LEVEL,
  log,
  type Measured,
  MiB,
  median,
  num,
  PIN,
  pinned,
  presign,
  procStatus,
  ROOT,
  ROUNDS,
  round,
  SECONDS,
  startChild,
  startMrap,
  stopChild,
  WARMUP,
} from './harness.js'
import { ensureWrk, runNodeLoad, runWrk } from './load.js'
import { measureSseInSitu, type SseInSitu, sseGoal } from './sse-case.js'
import { runVpcCase, type VpcCaseResult } from './vpc-case.js'

async function fetchStatus(url: string, method: 'GET' | 'PUT', body?: Buffer): Promise<{ status: number; length: number; text: string }> {
  const res = await fetch(url, { method, ...(body ? { body: new Uint8Array(body) } : {}) })
  const buf = Buffer.from(await res.arrayBuffer())
  return { status: res.status, length: buf.length, text: res.status >= 300 ? buf.toString('utf8').slice(0, 500) : '' }
}

// ---------------------------------------------------------------- micro-benchmarks

async function runMicro(name: string, timeoutMs = 60_000): Promise<{ name: string; lines: unknown[]; seconds: number; error?: string }> {
  const file = join(ROOT, 'bench', `${name}.ts`)
  const t0 = Date.now()
  const [cmd, args] = pinned(0, process.execPath, ['--import', 'tsx', file])
  try {
    const { stdout } = await execFileP(cmd, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, NODE_OPTIONS: '' } })
    const lines = stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return JSON.parse(l) as unknown
        } catch {
          return { text: l }
        }
      })
    return { name, lines, seconds: (Date.now() - t0) / 1000 }
  } catch (e) {
    const err = e as { message: string; stdout?: string; stderr?: string }
    return { name, lines: [], seconds: (Date.now() - t0) / 1000, error: `${err.message.split('\n')[0]} ${(err.stderr ?? '').slice(-500)}` }
  }
}

// ---------------------------------------------------------------- main

const GOAL_GET_RATIO = 0.4
const GOAL_RSS_MIB = 150

interface Case {
  name: string
  server: 'mrap' | 'bare'
  method: 'GET' | 'PUT'
  size: number
  urls: string[]
}

async function main(): Promise<void> {
  // Measure the compiled build (what `npx mrap serve` runs after `npm ci`), not the tsx loader.
  if (process.env.BENCH_NO_BUILD !== '1' && spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed')
  // The build itself, not bin/mrap.mjs: that falls back to tsx (~40 MiB more, slower) as soon as any
  // source is newer than dist/, which an edit anywhere in the tree during the run would cause. The
  // sub-benchmarks (upstream.ts, fleet.ts) read the same variable.
  process.env.BENCH_MRAP_MAIN ??= join(ROOT, 'dist', 'cli', 'main.js')
  const started = Date.now()
  const load0 = loadavg()
  log(`bench: ${cpus().length} CPUs, load average ${load0.map((x) => x.toFixed(2)).join(' ')}, pinning ${PIN ? 'server core 0, load core 1' : 'off'}`)
  const wrk = ensureWrk()
  const loadgen = wrk ? 'wrk' : 'node'
  const drive = (urls: string[], method: 'GET' | 'PUT', size: number, seconds: number): Promise<Measured> =>
    wrk ? runWrk(wrk, urls, method, size, seconds) : runNodeLoad(urls, method, size, seconds)

  const [mrap, bare] = await Promise.all([
    startMrap(),
    startChild('bare-http', [join(ROOT, 'bench', 'servers', 'bare-http.mjs'), '--port', '0'], /bare-http ready: (http:\/\/\S+)/),
  ])
  log(`mrap ${mrap.url} (pid ${mrap.pid}), bare ${bare.url} (pid ${bare.pid}), load generator ${loadgen}, ${ROUNDS} rounds x ${SECONDS} s, c${CONNECTIONS}`)

  // Setup with the SDK (correctness path), then presigned URLs for the load.
  const s3 = new S3Client({ endpoint: mrap.url, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'get-1k', Body: Buffer.alloc(KiB, 'a') }))
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'get-1m', Body: Buffer.alloc(MiB, 'b') }))
  s3.destroy()
  const PUT_KEYS = 256
  const putUrls = async (tag: string, endpoint = mrap.url): Promise<string[]> =>
    Promise.all(Array.from({ length: PUT_KEYS }, (_, i) => presign('PUT', endpoint, `put-${tag}/${i}`)))

  const hold = num('BENCH_HOLD_SECONDS', 0)
  if (hold > 0) {
    // For measuring by hand (strace -c, perf): the servers and a presigned URL, kept alive a while.
    log(`holding ${hold} s: mrap pid ${mrap.pid} ${await presign('GET', mrap.url, 'get-1k')}\nbare pid ${bare.pid} ${bare.url}/1k`)
    await new Promise((r) => setTimeout(r, hold * 1000))
  }

  const cases: Case[] = [
    { name: 'bare GET 1 KiB', server: 'bare', method: 'GET', size: KiB, urls: [`${bare.url}/1k`] },
    { name: 'mrap signed GET 1 KiB', server: 'mrap', method: 'GET', size: KiB, urls: [await presign('GET', mrap.url, 'get-1k')] },
    { name: 'bare GET 1 MiB', server: 'bare', method: 'GET', size: MiB, urls: [`${bare.url}/1m`] },
    { name: 'mrap signed GET 1 MiB', server: 'mrap', method: 'GET', size: MiB, urls: [await presign('GET', mrap.url, 'get-1m')] },
    { name: 'bare PUT 1 KiB', server: 'bare', method: 'PUT', size: KiB, urls: [`${bare.url}/put`] },
    { name: 'mrap signed PUT 1 KiB', server: 'mrap', method: 'PUT', size: KiB, urls: await putUrls('1k') },
    { name: 'bare PUT 1 MiB', server: 'bare', method: 'PUT', size: MiB, urls: [`${bare.url}/put`] },
    { name: 'mrap signed PUT 1 MiB', server: 'mrap', method: 'PUT', size: MiB, urls: await putUrls('1m') },
  ]

  // BENCH_CASES=<regex> keeps only the matching cases (and skips the ratios whose cases are missing).
  const only = process.env.BENCH_CASES ? new RegExp(process.env.BENCH_CASES) : null
  if (only) cases.splice(0, cases.length, ...cases.filter((c) => only.test(c.name)))

  // Every case must answer 2xx with the right body before it is timed.
  for (const c of cases) {
    const r = await fetchStatus(c.urls[0]!, c.method, c.method === 'PUT' ? Buffer.alloc(c.size, 'x') : undefined)
    if (r.status !== 200 || (c.method === 'GET' && r.length !== c.size)) {
      throw new Error(`${c.name}: ${c.method} ${c.urls[0]} answered ${r.status} with ${r.length} bytes ${r.text}`)
    }
  }

  const results = new Map<string, Measured[]>(cases.map((c) => [c.name, []]))
  // Warm-up (JIT, page cache, connections): 1 s left V8 optimising mrap's request path into round 1
  // (GET 1 KiB rounds of one run: 190, 183, 163 µs), as bench/upstream.ts found at lower rates.
  for (const c of cases) await drive(c.urls, c.method, c.size, WARMUP)
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const pid = c.server === 'mrap' ? mrap.pid : bare.pid
      const cpu0 = cpuSeconds(pid)
      const t0 = process.hrtime.bigint()
      const m = await drive(c.urls, c.method, c.size, SECONDS)
      const wall = Number(process.hrtime.bigint() - t0) / 1e9
      const cpu = cpuSeconds(pid) - cpu0
      m.cpuUsPerReq = m.requests > 0 ? (cpu / m.requests) * 1e6 : NaN
      m.cpuBusy = cpu / wall
      results.get(c.name)!.push(m)
      log(
        `  round ${r + 1} ${c.name.padEnd(24)} ${m.rps.toFixed(0).padStart(7)} rps  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  server CPU ${m.cpuUsPerReq!.toFixed(0)} µs/req, ${(m.cpuBusy! * 100).toFixed(0)}% busy${m.bad ? `  (${m.bad} non-2xx/errors!)` : ''}`,
      )
    }
  }
  // Issue 6: the seed's GetObject through the VPC proxy and endpoint vs the internet path (goal >= 0.8).
  let vpcCase: VpcCaseResult | { error: string } | undefined
  if (!only || only.test('MRAP GET via VPC endpoint')) {
    log('MRAP GET through the seed VPC endpoint vs the internet path')
    try {
      vpcCase = await runVpcCase({
        warmupSeconds: WARMUP,
        dataDir: mrap.dir!,
        frontUrl: mrap.url,
        pid: mrap.pid,
        rounds: ROUNDS,
        seconds: SECONDS,
        connections: CONNECTIONS,
        cpuSeconds,
        log,
        load: async (spec) => {
          const [cmd, args] = pinned(1, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'vpc-load.ts'), spec])
          const { stdout } = await execFileP(cmd, args, { cwd: ROOT, timeout: (SECONDS + 30) * 1000, env: { ...process.env, NODE_OPTIONS: '' } })
          return JSON.parse(stdout.trim().split('\n').pop()!)
        },
      })
    } catch (e) {
      vpcCase = { error: (e as Error).message }
    }
  }
  const mrapAfterLoad = procStatus(mrap.pid)
  await Promise.all([stopChild(mrap), stopChild(bare)])

  const summary = cases.map((c) => {
    const ms = results.get(c.name)!
    return {
      case: c.name,
      server: c.server,
      method: c.method,
      bytes: c.size,
      rps: round(median(ms.map((m) => m.rps)), 0),
      rpsRounds: ms.map((m) => round(m.rps, 0)),
      p50Ms: round(median(ms.map((m) => m.p50Ms)), 3),
      p99Ms: round(median(ms.map((m) => m.p99Ms)), 3),
      requests: ms.reduce((a, m) => a + m.requests, 0),
      bad: ms.reduce((a, m) => a + m.bad, 0),
      cpuUsPerReq: round(median(ms.map((m) => m.cpuUsPerReq!)), 0),
      cpuBusy: round(median(ms.map((m) => m.cpuBusy!)), 2),
    }
  })
  const rpsOf = (name: string): number => summary.find((s) => s.case === name)?.rps ?? NaN
  const ratio = (a: string, b: string): number => round(rpsOf(a) / rpsOf(b), 3)
  const ratios = {
    'GET 1 KiB / bare GET 1 KiB': ratio('mrap signed GET 1 KiB', 'bare GET 1 KiB'),
    'GET 1 MiB / bare GET 1 MiB': ratio('mrap signed GET 1 MiB', 'bare GET 1 MiB'),
    'PUT 1 KiB / bare PUT 1 KiB': ratio('mrap signed PUT 1 KiB', 'bare PUT 1 KiB'),
    'PUT 1 MiB / bare PUT 1 MiB': ratio('mrap signed PUT 1 MiB', 'bare PUT 1 MiB'),
    'PUT 1 KiB / bare GET 1 KiB': ratio('mrap signed PUT 1 KiB', 'bare GET 1 KiB'),
  }
  // The same ratios from server CPU per request (bare µs / mrap µs): what the rps ratio would be if
  // both servers had core 0 to themselves. Steadier than rps when other work shares the core.
  const cpuOf = (name: string): number => summary.find((s) => s.case === name)?.cpuUsPerReq ?? NaN
  const cpuRatio = (a: string, b: string): number => round(cpuOf(b) / cpuOf(a), 3)
  const cpuRatios = {
    'GET 1 KiB / bare GET 1 KiB': cpuRatio('mrap signed GET 1 KiB', 'bare GET 1 KiB'),
    'GET 1 MiB / bare GET 1 MiB': cpuRatio('mrap signed GET 1 MiB', 'bare GET 1 MiB'),
    'PUT 1 KiB / bare PUT 1 KiB': cpuRatio('mrap signed PUT 1 KiB', 'bare PUT 1 KiB'),
    'PUT 1 MiB / bare PUT 1 MiB': cpuRatio('mrap signed PUT 1 MiB', 'bare PUT 1 MiB'),
  }

  // Issue 14's SSE-S3 line, in situ: a fresh server with its metrics port open serves the same
  // 1 MiB GET and PUT, and each round divides the time its request thread spent in the at-rest
  // cipher (mrap_at_rest_cipher_seconds_total) by its CPU over the same requests.
  let sseInSitu: SseInSitu | { error: string } | undefined
  if (!only || only.test('mrap signed GET 1 MiB') || only.test('mrap signed PUT 1 MiB')) {
    log('SSE-S3 line: cipher time over server CPU, same requests (a fresh server with --metrics-port)')
    try {
      sseInSitu = await measureSseInSitu(drive, putUrls)
    } catch (e) {
      sseInSitu = { error: (e as Error).message }
    }
  }

  // Large objects on a fresh server, so its peak RSS is the 1 GiB transfer's alone.
  log(`large object: ${BIG_MIB} MiB PUT then GET on a fresh mrap server`)
  const big = await startMrap()
  let bigResult: Record<string, number | string>
  try {
    const s3big = new S3Client({ endpoint: big.url, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
    await s3big.send(new CreateBucketCommand({ Bucket: BUCKET }))
    s3big.destroy()
    bigResult = await bigPutGet(big.url, big.pid)
  } catch (e) {
    bigResult = { error: (e as Error).message }
  }
  await stopChild(big)

  // Micro-benchmarks.
  const micro: Awaited<ReturnType<typeof runMicro>>[] = []
  if (process.env.BENCH_SKIP_MICRO !== '1') {
    for (const name of ['policy', 'auth', 'storage', 'sse', 'replication', 'upstream-big']) {
      if (!existsSync(join(ROOT, 'bench', `${name}.ts`))) continue
      log(`micro-benchmark: bench/${name}.ts`)
      micro.push(await runMicro(name))
    }
  }
  // Issue 16: mrap over a Ceph RGW against the same signed requests straight to RGW; its own
  // cluster, mrap child and wrk runs (about 1.5 min). BENCH_SKIP_UPSTREAM=1 skips it.
  if (process.env.BENCH_SKIP_UPSTREAM !== '1') {
    log('bench/upstream.ts: signed GET/PUT through mrap over Ceph RGW vs straight to RGW')
    micro.push(await runMicro('upstream', 600_000))
  }
  // Issue 17: a node on PostgreSQL state against one on embedded state, and route flips crossing
  // two nodes (bench/fleet.ts: its own PostgreSQL and RGW, about 1 min). BENCH_SKIP_FLEET=1 skips it.
  if (process.env.BENCH_SKIP_FLEET !== '1') {
    log('bench/fleet.ts: PostgreSQL state vs embedded state; route flips between two nodes')
    micro.push(await runMicro('fleet', 600_000))
  }

  // Issue 5: an MRAP GET (SigV4A, over TLS, routed) costs no more server CPU per request than a
  // direct SigV4 GET plus 1.5 P-256 verifications (the one SigV4A needs cannot be cached). The
  // direct GET is the same object from its bucket's regional endpoint over the same proxy and TLS,
  // so the difference is what the MRAP adds, not what TLS costs (docs/decisions/mrap-bench-baseline.md).
  function mrapCostGoal(): { goal: string; value: number; met: boolean }[] {
    const direct = vpcCase && 'json' in vpcCase ? (vpcCase.json.direct as { cpuUsPerReq?: number } | undefined)?.cpuUsPerReq : undefined
    const viaMrap = vpcCase && 'json' in vpcCase ? (vpcCase.json.internet as { cpuUsPerReq?: number } | undefined)?.cpuUsPerReq : undefined
    const p256 = (micro.find((m) => m.name === 'auth')?.lines as { bench?: string; us_per_op?: number }[] | undefined)?.find(
      (l) => l.bench === 'node-crypto-p256-verify',
    )?.us_per_op
    if (direct === undefined || viaMrap === undefined || p256 === undefined) return []
    const budget = Math.round(direct + 1.5 * p256)
    return [
      { goal: `MRAP GET CPU/req <= direct GET over the same TLS path (${direct} µs) + 1.5 x P-256 verify (${p256} µs) = ${budget} µs`, value: viaMrap, met: viaMrap <= budget },
    ]
  }

  // Report.
  const getRatio = ratios['GET 1 KiB / bare GET 1 KiB']
  const hwm = typeof bigResult.hwmAfterGetMiB === 'number' ? bigResult.hwmAfterGetMiB : NaN
  const goals = [
    { goal: `signed GET 1 KiB >= ${GOAL_GET_RATIO} x bare GET 1 KiB rps`, value: getRatio, met: getRatio >= GOAL_GET_RATIO },
    {
      goal: `same, from server CPU per request (bare µs / mrap µs) >= ${GOAL_GET_RATIO}`,
      value: cpuRatios['GET 1 KiB / bare GET 1 KiB'],
      met: cpuRatios['GET 1 KiB / bare GET 1 KiB'] >= GOAL_GET_RATIO,
    },
    { goal: `${BIG_MIB} MiB PUT + GET with server peak RSS < ${GOAL_RSS_MIB} MiB`, value: hwm, met: hwm < GOAL_RSS_MIB },
    ...(vpcCase && 'ratio' in vpcCase ? [{ goal: 'MRAP GET via the seed VPC endpoint >= 0.8 x via the internet (rps)', value: vpcCase.ratio, met: vpcCase.ratio >= 0.8 }] : []),
    ...mrapCostGoal(),
    // Issue 16: the same large-object goal through the upstream store on Ceph RGW (bench/upstream-big.ts).
    ...((micro.find((m) => m.name === 'upstream-big')?.lines ?? []) as { bench?: string; goal?: string; hwmAfterGetMiB?: number; met?: boolean }[])
      .filter((l) => l.bench === 'upstream-big' && l.goal !== undefined)
      .map((l) => ({ goal: l.goal!, value: l.hwmAfterGetMiB ?? NaN, met: l.met === true })),
    // Issue 16: signed GET/PUT through mrap over RGW vs straight to RGW (bench/upstream.ts).
    ...((micro.find((m) => m.name === 'upstream')?.lines ?? []) as { bench?: string; goal?: string; value?: number; met?: boolean }[])
      .filter((l) => l.bench === 'upstream-http' && l.goal !== undefined)
      .map((l) => ({ goal: l.goal!, value: l.value ?? NaN, met: l.met === true })),
    // Issue 17: what PostgreSQL state costs a node; how fast a change crosses nodes (bench/fleet.ts).
    ...((micro.find((m) => m.name === 'fleet')?.lines ?? []) as { bench?: string; goal?: string; value?: number; met?: boolean }[])
      .filter((l) => l.bench === 'fleet' && l.goal !== undefined)
      .map((l) => ({ goal: l.goal!, value: l.value ?? NaN, met: l.met === true })),
    ...sseGoal(sseInSitu),
  ]
  const out: string[] = []
  out.push('')
  out.push(`HTTP (${loadgen}, c${CONNECTIONS}, ${ROUNDS} x ${SECONDS} s, median of rounds; server on core 0, load on core 1${PIN ? '' : ' [not pinned]'})`)
  out.push(
    `${'case'.padEnd(24)} ${'rps'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'MiB/s'.padStart(8)} ${'CPU µs/req'.padStart(10)} ${'busy'.padStart(5)}  rounds`,
  )
  for (const s of summary) {
    out.push(
      `${s.case.padEnd(24)} ${String(s.rps).padStart(8)} ${s.p50Ms.toFixed(2).padStart(8)} ${s.p99Ms.toFixed(2).padStart(8)} ${((s.rps * s.bytes) / MiB).toFixed(0).padStart(8)} ${String(s.cpuUsPerReq).padStart(10)} ${`${Math.round(s.cpuBusy * 100)}%`.padStart(5)}  ${s.rpsRounds.join(' / ')}${s.bad ? `  ${s.bad} non-2xx/errors!` : ''}`,
    )
  }
  out.push('')
  out.push('ratios to the bare server (same run):')
  out.push(`  ${''.padEnd(28)} ${'rps'.padStart(6)}  ${'CPU/req'.padStart(7)}`)
  for (const [k, v] of Object.entries(ratios)) {
    const c = (cpuRatios as Record<string, number>)[k]
    if (Number.isFinite(v)) out.push(`  ${k.padEnd(28)} ${v.toFixed(3).padStart(6)}  ${c !== undefined && Number.isFinite(c) ? c.toFixed(3).padStart(7) : ''}`)
  }
  if (vpcCase) {
    out.push('')
    out.push(...('error' in vpcCase ? [`MRAP GET via VPC endpoint FAILED: ${vpcCase.error}`] : vpcCase.lines))
  }
  out.push(`mrap RSS after the HTTP cases: ${mrapAfterLoad.rssMiB.toFixed(1)} MiB (peak ${mrapAfterLoad.hwmMiB.toFixed(1)} MiB)`)
  out.push('')
  if (bigResult.error) out.push(`${BIG_MIB} MiB PUT/GET FAILED: ${bigResult.error}`)
  else {
    out.push(`${BIG_MIB} MiB streamed: PUT ${bigResult.putSeconds} s (${bigResult.putMiBps} MiB/s), GET ${bigResult.getSeconds} s (${bigResult.getMiBps} MiB/s)`)
    out.push(
      `  server RSS at start ${bigResult.rssAtStartMiB} MiB; peak (VmHWM) after PUT ${bigResult.hwmAfterPutMiB} MiB, after GET ${bigResult.hwmAfterGetMiB} MiB` +
        ` (+${round(Number(bigResult.hwmAfterGetMiB) - Number(bigResult.rssAtStartMiB), 1)} MiB over the idle server)`,
    )
  }
  out.push('')
  out.push('goals:')
  for (const g of goals) out.push(`  ${g.met ? 'MET   ' : 'MISSED'} ${g.goal}: ${Number.isFinite(g.value) ? g.value : 'n/a'}`)
  for (const m of micro) {
    out.push('')
    out.push(`bench/${m.name}.ts (${m.seconds.toFixed(1)} s)${m.error ? ` FAILED: ${m.error}` : ''}`)
    for (const l of m.lines) out.push(`  ${JSON.stringify(l)}`)
  }
  const load1 = loadavg()
  out.push('')
  out.push(
    `load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')} (other work on the machine skews absolute figures; compare ratios)`,
  )
  out.push(`total ${((Date.now() - started) / 1000).toFixed(0)} s`)
  process.stdout.write(`${out.join('\n')}\n`)

  const json = {
    bench: 'http',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    pinned: PIN,
    loadgen,
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    mrapLogLevel: LOG_LEVEL,
    loadavgBefore: load0,
    loadavgAfter: load1,
    cases: summary,
    ratios,
    cpuRatios,
    mrapAfterLoad,
    sse: sseInSitu,
    big: bigResult,
    goals,
    micro,
    vpc: vpcCase && ('json' in vpcCase ? vpcCase.json : vpcCase),
  }
  process.stdout.write(`${JSON.stringify(json)}\n`)
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(json, null, 2)}\n`)
}

main().then(
  () => {
    cleanup()
    process.exit(0)
  },
  (e: unknown) => {
    log(`bench failed: ${(e as Error).stack ?? String(e)}`)
    cleanup()
    process.exit(1)
  },
)

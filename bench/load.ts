/**
 * The load generators of bench/run.ts: wrk pinned to core 1 (installed from Debian when missing),
 * or bench/http-load.ts where wrk cannot be had (BENCH_LOADGEN=node).
 */

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONNECTIONS, execFileP, log, type Measured, pinned, ROOT, tempDirs } from './harness.js'
export function ensureWrk(): string | null {
  if (process.env.BENCH_LOADGEN === 'node') return null
  if (existsSync('/usr/bin/wrk')) return '/usr/bin/wrk'
  if (process.getuid?.() === 0) {
    log('installing wrk from Debian (apt-get install wrk)')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const ok =
      spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env }).status === 0 ||
      (spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env }).status === 0 &&
        spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env }).status === 0)
    if (ok && existsSync('/usr/bin/wrk')) return '/usr/bin/wrk'
  }
  log('wrk is unavailable: falling back to bench/http-load.ts (a Node load generator; it saturates earlier than wrk)')
  return null
}

export const scratch = mkdtempSync(join(tmpdir(), 'mrap-bench-wrk-'))
tempDirs.push(scratch)
export let scriptCounter = 0

export function wrkScript(method: 'GET' | 'PUT', bodySize: number, paths: string[]): string {
  const file = join(scratch, `s${scriptCounter++}.lua`)
  writeFileSync(
    file,
    [
      `wrk.method = "${method}"`,
      bodySize > 0 ? `wrk.body = string.rep("x", ${bodySize})` : '',
      `local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }`,
      'local i = 0',
      'request = function()',
      '  i = i % #paths + 1',
      '  return wrk.format(nil, paths[i])',
      'end',
    ].join('\n'),
  )
  return file
}

export function parseDuration(v: string, unit: string): number {
  const n = Number(v)
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN
}

export async function runWrk(wrk: string, urls: string[], method: 'GET' | 'PUT', bodySize: number, seconds: number): Promise<Measured> {
  // A single GET needs no Lua (plain wrk, docs/benchmarks.md §Method); PUTs need a body and cycle through keys.
  const plain = method === 'GET' && urls.length === 1
  const script = plain
    ? []
    : [
        '-s',
        wrkScript(
          method,
          bodySize,
          urls.map((u) => {
            const x = new URL(u)
            return x.pathname + x.search
          }),
        ),
      ]
  const target = plain ? urls[0]! : new URL(urls[0]!).origin + '/'
  const [cmd, args] = pinned(1, wrk, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '--latency', ...script, target])
  const { stdout } = await execFileP(cmd, args, { timeout: (seconds + 30) * 1000, maxBuffer: 1 << 20 })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(stdout)
    return m ? parseDuration(m[1]!, m[2]!) : NaN
  }
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${stdout}`)
  return { rps, p50Ms: pct('50'), p99Ms: pct('99'), requests, bad: non2xx + sockErrors }
}

export async function runNodeLoad(urls: string[], method: 'GET' | 'PUT', bodySize: number, seconds: number): Promise<Measured> {
  const spec = JSON.stringify({ urls, method, bodySize, connections: CONNECTIONS, seconds, maxRequests: 2_000_000 })
  const [cmd, args] = pinned(1, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'http-load.ts'), spec])
  const { stdout } = await execFileP(cmd, args, { cwd: ROOT, timeout: (seconds + 30) * 1000, env: { ...process.env, NODE_OPTIONS: '' } })
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { rps: number; p50Ms: number; p99Ms: number; requests: number; non2xx: number; errors: number }
  return { rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, requests: r.requests, bad: r.non2xx + r.errors }
}

// ---------------------------------------------------------------- one request, to check before loading

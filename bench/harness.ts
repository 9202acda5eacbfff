/**
 * What every part of `npm run bench` (bench/run.ts) shares: the knobs it reads from the environment,
 * its child processes (servers pinned to core 0, killed and their temp dirs removed on exit), what
 * /proc says of them (CPU, RSS, page faults), and presigned SigV4 URLs for the load generators.
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { presignUrl } from './presign.js'

export const ROOT = resolve(import.meta.dirname, '..')
export const execFileP = promisify(execFile)
export const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v > 0 ? v : dflt
}
export const SECONDS = num('BENCH_SECONDS', 3)
export const ROUNDS = num('BENCH_ROUNDS', 3)
export const CONNECTIONS = num('BENCH_CONNECTIONS', 16)
export const BIG_MIB = num('BENCH_BIG_MIB', 1024)
/** Seconds of load per case before the measured rounds (BENCH_WARMUP). */
export const WARMUP = num('BENCH_WARMUP', 3)
export const LOG_LEVEL = process.env.BENCH_MRAP_LOG_LEVEL ?? 'warn'
export const KiB = 1024
export const MiB = 1024 * 1024
export const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
export const BUCKET = 'bench'

export const log = (s: string): void => {
  process.stderr.write(`${s}\n`)
}

// ---------------------------------------------------------------- children, pinning, cleanup

export const PIN = existsSync('/usr/bin/taskset') && cpus().length >= 2
export const pinned = (core: number, cmd: string, args: string[]): [string, string[]] => (PIN ? ['/usr/bin/taskset', ['-c', String(core), cmd, ...args]] : [cmd, args])

const children = new Set<ChildProcess>()
export const tempDirs: string[] = []
export function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}
process.on('exit', cleanup)
process.on('SIGINT', () => {
  cleanup()
  process.exit(130)
})
process.on('SIGTERM', () => {
  cleanup()
  process.exit(143)
})

export interface Child {
  child: ChildProcess
  pid: number
  url: string
  dir?: string
  stderr?: () => string
}

/** Starts a server child on core 0 and waits for the URL it prints on stderr. */
export async function startChild(name: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<Child> {
  const [cmd, argv] = pinned(0, process.execPath, args)
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } })
  children.add(child)
  let stderr = ''
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} did not start in 30 s:\n${stderr}`)), 30_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      stderr += d
      const m = ready.exec(stderr)
      if (m) {
        clearTimeout(timer)
        res(m[1]!)
      }
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      rej(new Error(`${name} exited (${code ?? sig}):\n${stderr}`))
    })
  })
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d // the banner's other lines; then just drained
  })
  return { child, pid: child.pid!, url, stderr: () => stderr }
}

export async function stopChild(c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return
  c.child.kill('SIGTERM')
  await new Promise<void>((res) => {
    const t = setTimeout(() => {
      c.child.kill('SIGKILL')
      res()
    }, 5000)
    c.child.once('exit', () => {
      clearTimeout(t)
      res()
    })
  })
}

export function startMrap(extra: string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-'))
  tempDirs.push(dir)
  const nodeArgs = (process.env.BENCH_MRAP_NODE_ARGS ?? '').split(' ').filter(Boolean)
  return startChild(
    'mrap serve',
    [
      ...nodeArgs,
      process.env.BENCH_MRAP_MAIN ?? join(ROOT, 'bin', 'mrap.mjs'),
      'serve',
      '--data-dir',
      dir,
      '--port',
      '0',
      '--tls-port',
      '0',
      '--proxy-port',
      '0',
      '--host',
      '127.0.0.1',
      ...extra,
    ],
    /mrap ready: S3 front door (http:\/\/\S+)/,
    { MRAP_LOG_LEVEL: LOG_LEVEL, ...env },
  ).then((c) => ({ ...c, dir }))
}

/** kB figures from /proc/<pid>/status. */
export function procStatus(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (f: string): number => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN)
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 }
}

/** CPU seconds (user + system, all threads) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from #3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** Minor page faults of the process so far (field 10 of /proc/<pid>/stat). */
export function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
}

// ---------------------------------------------------------------- signing

/** A presigned SigV4 URL for the admin on the bench bucket (bench/presign.ts). */
export const presign = (method: 'GET' | 'PUT', endpoint: string, key: string): Promise<string> => presignUrl(ADMIN, method, endpoint, BUCKET, key)

// ---------------------------------------------------------------- load generation

export interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  bad: number
  cpuUsPerReq?: number
  cpuBusy?: number
}

export const round = (n: number, d: number): number => Math.round(n * 10 ** d) / 10 ** d
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

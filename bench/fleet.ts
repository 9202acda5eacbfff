/**
 * Bench case, issue 17: what PostgreSQL state costs a node, in the same run.
 *
 * 1. Signed GET 1 KiB: a node whose control state is PostgreSQL against a node with the embedded
 *    SQLite state, same world, same embedded region storage, both pinned to core 0 with wrk on
 *    core 1, rounds alternating between them. Goal: within 10% (ratio >= 0.9). Identities,
 *    policies and routes come from memory on both, so the hot path should not differ.
 * 2. Propagation: two nodes on one PostgreSQL over one Ceph RGW (two regions on it, so that a
 *    second node may serve them; embedded regions are one node's own). 100 route flips submitted
 *    to node A's S3 Control; after each acknowledgement node B's GetMultiRegionAccessPointRoutes is
 *    polled (every 5 ms) until it shows the flip. Goal: p99 < 1 s.
 *
 * Prints JSON lines (cases and goals) like bench/upstream.ts. Alone: node --import tsx bench/fleet.ts
 * (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_FLIPS; BENCH_FLEET_SKIP_FLIPS=1).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { GetMultiRegionAccessPointRoutesCommand, S3ControlClient, SubmitMultiRegionAccessPointRoutesCommand } from '@aws-sdk/client-s3-control'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { writeSealingKeyFile } from '../src/iam/secret-box.js'
import { type CephCluster, startCeph } from '../test/helpers/ceph.js'
import { type PgCluster, startPostgres } from '../test/helpers/postgres.js'
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
const FLIPS = num('BENCH_FLIPS', 100)
const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const ACCOUNT = '123456789012'
const PIN = cpus().length >= 2
const log = (s: string): void => {
  process.stderr.write(`${s}\n`)
}
const round = (n: number, d: number): number => Math.round(n * 10 ** d) / 10 ** d
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(parts[11]) + Number(parts[12])) / 100
}

async function wrkGet(url: string, seconds: number): Promise<{ rps: number; requests: number; bad: number }> {
  const full = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', url]
  const { stdout } = await run(PIN ? 'taskset' : 'wrk', PIN ? ['-c', '1', 'wrk', ...full] : full, { timeout: (seconds + 30) * 1000 })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1])
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${stdout}`)
  return { rps, requests, bad }
}

const ADMIN_USER = [
  'accounts:',
  `  - id: "${ACCOUNT}"`,
  '    name: bench',
  '    users:',
  '      - name: admin',
  `        accessKeys: [{ id: ${ADMIN.accessKeyId}, secret: ${ADMIN.secretAccessKey} }]`,
  '        policies: [{ name: all, document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "*", Resource: "*" }] } }]',
]

function embeddedWorld(): string {
  return ['regions:', '  - name: us-east-1', ...ADMIN_USER, 'buckets:', `  - { name: bench, region: us-east-1, owner: "${ACCOUNT}" }`].join('\n')
}

function engineWorld(endpoint: string): string {
  const storage = `{ kind: s3, endpoint: "${endpoint}", accessKeyIdEnv: BENCH_RGW_KEY_ID, secretAccessKeyEnv: BENCH_RGW_SECRET }`
  return [
    'regions:',
    '  - name: us-east-1',
    `    storage: ${storage}`,
    '  - name: eu-west-1',
    `    storage: ${storage}`,
    ...ADMIN_USER,
    'buckets:',
    `  - { name: flip-east, region: us-east-1, owner: "${ACCOUNT}" }`,
    `  - { name: flip-west, region: eu-west-1, owner: "${ACCOUNT}" }`,
    'mraps:',
    '  - name: flips',
    '    alias: mflipbench001.mrap',
    `    owner: "${ACCOUNT}"`,
    '    buckets: [flip-east, flip-west]',
  ].join('\n')
}

interface Node {
  child: ChildProcess
  pid: number
  url: string
}
const nodes: Node[] = []

async function startNode(dataDir: string, worldFile: string, extra: string[], env: Record<string, string> = {}): Promise<Node> {
  const nodeArgs = (process.env.BENCH_MRAP_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const args = [
    ...nodeArgs,
    process.env.BENCH_MRAP_MAIN ?? join(ROOT, 'bin', 'mrap.mjs'),
    'serve',
    '--data-dir',
    dataDir,
    '--world',
    worldFile,
    '--port',
    '0',
    '--tls-port',
    '0',
    '--proxy-port',
    '0',
    '--host',
    '127.0.0.1',
    ...extra,
  ]
  const child = spawn(PIN ? 'taskset' : process.execPath, PIN ? ['-c', '0', process.execPath, ...args] : args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
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
  const n = { child, pid: child.pid!, url }
  nodes.push(n)
  return n
}

function control(n: Node): S3ControlClient {
  // The SDK puts the account in front of the host; every name resolves to the node.
  const lookup = (_h: string, o: { all?: boolean }, cb: (...args: unknown[]) => void): void => {
    if (o.all) cb(null, [{ address: '127.0.0.1', family: 4 }])
    else cb(null, '127.0.0.1', 4)
  }
  return new S3ControlClient({
    endpoint: `http://s3-control.mrap.test:${new URL(n.url).port}`,
    region: 'us-west-2',
    credentials: ADMIN,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, lookup: lookup as never }) }),
  })
}

async function getCase(pg: PgCluster, dir: string, keyFile: string): Promise<void> {
  const worldFile = join(dir, 'embedded.yaml')
  writeFileSync(worldFile, embeddedWorld())
  const sqlite = await startNode(join(dir, 'sqlite'), worldFile, [])
  const postgres = await startNode(join(dir, 'pg'), worldFile, ['--state', pg.url, '--sealing-key-file', keyFile])
  const urls = new Map<string, string>()
  for (const [name, n] of [
    ['embedded state', sqlite],
    ['postgres state', postgres],
  ] as const) {
    const s3 = new S3Client({ endpoint: n.url, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
    await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'get-1k', Body: Buffer.alloc(1024, 'a') }))
    s3.destroy()
    const url = await presignUrl(ADMIN, 'GET', n.url, 'bench', 'get-1k')
    const r = await fetch(url)
    const got = Buffer.from(await r.arrayBuffer())
    if (r.status !== 200 || got.length !== 1024) throw new Error(`${name}: GET answered ${r.status} ${got.toString('utf8', 0, 300)}`)
    urls.set(name, url)
  }
  const pids = new Map([
    ['embedded state', sqlite.pid],
    ['postgres state', postgres.pid],
  ])
  const rows = new Map<string, { rps: number; cpuUs: number; bad: number }[]>([
    ['embedded state', []],
    ['postgres state', []],
  ])
  for (const name of rows.keys()) await wrkGet(urls.get(name)!, 1)
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so a drift in the machine's load falls on both alike.
    const order = r % 2 === 0 ? ['embedded state', 'postgres state'] : ['postgres state', 'embedded state']
    for (const name of order) {
      const c0 = cpuSeconds(pids.get(name)!)
      const m = await wrkGet(urls.get(name)!, SECONDS)
      const cpuUs = m.requests > 0 ? ((cpuSeconds(pids.get(name)!) - c0) / m.requests) * 1e6 : NaN
      rows.get(name)!.push({ rps: m.rps, cpuUs, bad: m.bad })
      log(`  round ${r + 1} signed GET 1 KiB, ${name.padEnd(15)} ${m.rps.toFixed(0).padStart(6)} rps  ${cpuUs.toFixed(0)} µs/req${m.bad ? `  (${m.bad} non-2xx!)` : ''}`)
    }
  }
  const out: Record<string, { rps: number; cpuUs: number }> = {}
  for (const [name, rs] of rows) {
    out[name] = { rps: round(median(rs.map((x) => x.rps)), 0), cpuUs: round(median(rs.map((x) => x.cpuUs)), 0) }
    console.log(
      JSON.stringify({
        bench: 'fleet',
        case: `signed GET 1 KiB, ${name}`,
        rps: out[name].rps,
        rpsRounds: rs.map((x) => round(x.rps, 0)),
        cpuUsPerReq: out[name].cpuUs,
        bad: rs.reduce((a, x) => a + x.bad, 0),
      }),
    )
  }
  const value = round(out['postgres state']!.rps / out['embedded state']!.rps, 3)
  console.log(JSON.stringify({ bench: 'fleet', goal: 'signed GET 1 KiB, PostgreSQL state >= 0.9 x embedded state (rps, same run)', value, met: value >= 0.9 }))
  const cpu = round(out['embedded state']!.cpuUs / out['postgres state']!.cpuUs, 3)
  console.log(JSON.stringify({ bench: 'fleet', note: 'same, from server CPU per request (embedded µs / postgres µs)', value: cpu }))
  for (const n of [sqlite, postgres]) await stop(n)
}

async function flipCase(pg: PgCluster, ceph: CephCluster, dir: string, keyFile: string): Promise<void> {
  const worldFile = join(dir, 'engine.yaml')
  writeFileSync(worldFile, engineWorld(ceph.endpoint))
  const env = { BENCH_RGW_KEY_ID: ceph.accessKeyId, BENCH_RGW_SECRET: ceph.secretAccessKey }
  // A database of its own: the GET case's node claimed us-east-1 as embedded in the first one.
  await pg.sql('CREATE DATABASE flips')
  const url = new URL(pg.url)
  url.pathname = '/flips'
  const flags = ['--state', url.toString(), '--sealing-key-file', keyFile]
  const a = await startNode(join(dir, 'a'), worldFile, flags, env)
  const b = await startNode(join(dir, 'b'), worldFile, flags, env)
  const ca = control(a),
    cb = control(b)
  const mrap = `arn:aws:s3::${ACCOUNT}:accesspoint/mflipbench001.mrap`
  const eastDial = async (): Promise<number | undefined> =>
    (await cb.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap }))).Routes?.find((r) => r.Region === 'us-east-1')?.TrafficDialPercentage
  const lags: number[] = []
  for (let i = 0; i < FLIPS; i++) {
    const dial = i % 2 === 0 ? 0 : 100
    await ca.send(new SubmitMultiRegionAccessPointRoutesCommand({ AccountId: ACCOUNT, Mrap: mrap, RouteUpdates: [{ Region: 'us-east-1', TrafficDialPercentage: dial }] }))
    const t0 = performance.now()
    for (;;) {
      if ((await eastDial()) === dial) break
      if (performance.now() - t0 > 10_000) throw new Error(`flip ${i} did not reach node B in 10 s`)
      await new Promise((r) => setTimeout(r, 5))
    }
    lags.push(performance.now() - t0)
  }
  const p50 = round(quantile(lags, 0.5), 1),
    p99 = round(quantile(lags, 0.99), 1),
    max = round(Math.max(...lags), 1)
  console.log(JSON.stringify({ bench: 'fleet', case: 'route flip on node A seen by node B', flips: FLIPS, p50Ms: p50, p99Ms: p99, maxMs: max }))
  console.log(JSON.stringify({ bench: 'fleet', goal: `S3 Control route flip reaches the other node: p99 over ${FLIPS} flips < 1000 ms`, value: p99, met: p99 < 1000 }))
  ca.destroy()
  cb.destroy()
  for (const n of [a, b]) await stop(n)
}

async function stop(n: Node): Promise<void> {
  if (n.child.exitCode !== null) return
  n.child.kill('SIGTERM')
  await new Promise((r) => {
    const t = setTimeout(() => {
      n.child.kill('SIGKILL')
      r(undefined)
    }, 5000)
    n.child.once('exit', () => {
      clearTimeout(t)
      r(undefined)
    })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-fleet-'))
const pg = await startPostgres('bench-fleet')
let ceph: CephCluster | undefined
try {
  const keyFile = join(dir, 'sealing.key')
  writeSealingKeyFile(keyFile)
  await getCase(pg, dir, keyFile)
  if (process.env.BENCH_FLEET_SKIP_FLIPS !== '1') {
    ceph = await startCeph('bench-fleet')
    await flipCase(pg, ceph, dir, keyFile)
  }
} finally {
  for (const n of nodes) await stop(n)
  await ceph?.down()
  await pg.destroy()
  rmSync(dir, { recursive: true, force: true })
}

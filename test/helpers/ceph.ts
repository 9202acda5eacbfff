/**
 * Test harness: a throw-away single-node Ceph cluster with a RADOS Gateway (scripts/ceph-rgw.sh),
 * one per test file, in its own temp dir on free ports (RGW and monitor), so that the test
 * runner's concurrent files never share one. Installs Ceph's Debian packages on first use (the
 * script does; installs are serialised with flock, as two apt-gets cannot run at once). Only an
 * install takes the lock: holding it through every start-up made concurrent files queue behind a
 * slow (or stuck) start-up of another.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { UpstreamConfig } from '../../src/storage/upstream/config.js'

const run = promisify(execFile)
const SCRIPT = resolve(import.meta.dirname, '../../scripts/ceph-rgw.sh')
const INSTALL_LOCK = join(tmpdir(), 'mrap-ceph-install.lock')
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool']

/** True when every binary the script runs is on PATH (then no install, so no lock). */
function cephInstalled(): boolean {
  return spawnSync('sh', ['-c', `command -v ${BINARIES.join(' ')}`], { stdio: 'ignore' }).status === 0
}

export interface CephCluster {
  endpoint: string
  port: number
  accessKeyId: string
  secretAccessKey: string
  /** An UpstreamConfig for this cluster. */
  config(bucketTemplate?: string): UpstreamConfig
  /** Kills every daemon (SIGKILL) and removes the cluster's directory. */
  down(): Promise<void>
  /** SIGKILLs only the gateway; the cluster's data stays in the OSD. */
  killGateway(): Promise<void>
  /** A new, empty cluster on the same RGW port (after down()). */
  up(): Promise<void>
  /** Seconds the last up() took. */
  startSeconds: number
}

/** A port nothing listens on now (the kernel's pick), for RGW or the monitor. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => ok(port))
    })
  })
}

export async function startCeph(label = 'rgw'): Promise<CephCluster> {
  const port = await freePort()
  const accessKeyId = `MRAPTEST${port}`
  const secretAccessKey = `secret-${port}-${process.pid}-rgw-test`
  let dir = ''
  const cluster: CephCluster = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId,
    secretAccessKey,
    startSeconds: 0,
    config: (bucketTemplate = 'mrap-{region}-{bucket}') => ({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId,
      secretAccessKey,
      bucketTemplate,
      connectTimeoutMs: 500,
      requestTimeoutMs: 10_000,
    }),
    up: async () => {
      dir = mkdtempSync(join(tmpdir(), `mrap-ceph-${label}-`))
      const monPort = await freePort()
      const t0 = Date.now()
      const args = [dir, String(port), accessKeyId, secretAccessKey]
      // flock: only the first file on a fresh machine installs; the others wait for it.
      const [cmd, argv] = cephInstalled() ? [SCRIPT, ['up', ...args]] : ['flock', [INSTALL_LOCK, SCRIPT, 'up', ...args]]
      await run(cmd, argv, {
        env: { ...process.env, MON_PORT: String(monPort), RGW_UP_TIMEOUT: '120' },
        timeout: 600_000,
      }).catch((e: { stderr?: string; message: string }) => {
        throw new Error(`ceph-rgw.sh up failed: ${e.stderr ?? e.message}`)
      })
      cluster.startSeconds = (Date.now() - t0) / 1000
    },
    down: async () => {
      if (!dir) return
      await run(SCRIPT, ['down', dir], { timeout: 60_000 }).catch(() => rmSync(dir, { recursive: true, force: true }))
      dir = ''
    },
    killGateway: async () => {
      const pid = Number(readFileSync(join(dir, 'run', 'client.rgw.a.pid'), 'utf8').trim())
      process.kill(pid, 'SIGKILL')
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0)
        } catch {
          return
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    },
  }
  await cluster.up()
  return cluster
}

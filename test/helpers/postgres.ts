/**
 * Test harness: a throw-away PostgreSQL cluster per test file, from Debian's packages (installed
 * on first use, serialised with flock since two apt-gets cannot run at once). `initdb` and
 * `pg_ctl` run as the `postgres` user in the file's own temp dir, listening on loopback on a
 * free port with its socket in that dir, so concurrent test files never share a cluster. The
 * cluster is removed by `destroy()` and, should the test process die first, at its exit.
 */
import { execFile, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './ceph.js'

const run = promisify(execFile)
const INSTALL_LOCK = join(tmpdir(), 'mrap-apt-install.lock')

export interface PgCluster {
  port: number
  /** A connection string for the cluster's `mrap` database (superuser `mrap`, trust on loopback). */
  url: string
  config: pg.ClientConfig
  /** pg_ctl stop (fast): clients see their connections end; the data stays. */
  stop(): Promise<void>
  /** Starts the stopped cluster again on the same port. */
  start(): Promise<void>
  /** Stops (immediate) and removes the directory; safe to call twice. */
  destroy(): Promise<void>
  /** Runs SQL as the superuser on a fresh connection. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}

async function ensureInstalled(): Promise<string> {
  const found = binDir()
  if (found) return found
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL is missing: run `apt-get install postgresql` as root')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  await run('flock', [INSTALL_LOCK, 'sh', '-c', 'apt-get update -qq && apt-get install -y -qq postgresql'], { env, maxBuffer: 64 << 20 })
  const after = binDir()
  if (!after) throw new Error('apt-get installed postgresql but no initdb was found under /usr/lib/postgresql')
  return after
}

const asPostgres = (bin: string, args: string[]): Promise<unknown> => run('runuser', ['-u', 'postgres', '--', bin, ...args])

export async function startPostgres(label = 'state'): Promise<PgCluster> {
  const bin = await ensureInstalled()
  const dir = mkdtempSync(join(tmpdir(), `mrap-pg-${label}-`))
  const data = join(dir, 'data')
  const log = join(dir, 'log')
  const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const uid = Number(pw.stdout.trim())
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  chownSync(dir, uid, gid)
  const port = await freePort()
  let destroyed = false
  const stopNow = (): void => {
    if (destroyed) return
    destroyed = true
    spawnSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, 'stop', '-m', 'immediate', '-w'], { stdio: 'ignore' })
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', stopNow)

  const options = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses='127.0.0.1'", '-c fsync=off', '-c max_connections=60'].join(' ')
  const start = async (): Promise<void> => {
    try {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-o', options, '-w', '-t', '30', 'start'])
    } catch (err) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''
      throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${tail}`)
    }
  }
  try {
    await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'mrap', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
    await start()
    await run('runuser', ['-u', 'postgres', '--', join(bin, 'createdb'), '-h', '127.0.0.1', '-p', String(port), '-U', 'mrap', 'mrap'])
  } catch (err) {
    stopNow()
    throw err
  }

  const config: pg.ClientConfig = { host: '127.0.0.1', port, user: 'mrap', database: 'mrap' }
  return {
    port,
    config,
    url: `postgres://mrap@127.0.0.1:${port}/mrap`,
    stop: async () => {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'fast', '-w'])
    },
    start,
    destroy: async () => {
      process.removeListener('exit', stopNow)
      stopNow()
    },
    sql: async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> => {
      const c = new pg.Client(config)
      await c.connect()
      try {
        return (await c.query<R>(text, params)).rows
      } finally {
        await c.end()
      }
    },
  }
}

/**
 * @module `mrap serve`: runs until SIGINT/SIGTERM; prints what it serves; exits non-zero with a clear
 * message when it cannot start.
 */

import { redactUrl, StartupError } from '../app/compose.js'
import type { Core } from '../core/core.js'
import type { Timeouts } from '../http/timeouts.js'
import { nameKey } from '../iam/store.js'
import { startServer } from '../main.js'
import { DataDirInUseError } from '../state/data-dir-lock.js'
import { WorldFileError } from '../world/load.js'

export interface ServeOptions {
  dataDir: string
  world?: string
  host: string
  port: number
  tlsPort: number
  proxyPort: number
  metricsPort?: number
  bodyTimeout?: number
  tlsHandshakeTimeout?: number
  tunnelIdleTimeout?: number
  keepAliveTimeout?: number
  headersTimeout?: number
  sealingKeyFile?: string
  state?: string
  consolePort?: number
  consoleBase?: string
  /** false with --no-console. */
  console?: boolean
}

/** The console's port when none is given (MinIO's console port, which its users expect). */
export const DEFAULT_CONSOLE_PORT = 9001

function timeoutsOf(o: ServeOptions): Partial<Timeouts> {
  const t: Partial<Timeouts> = {}
  if (o.bodyTimeout !== undefined) t.bodyIdleMs = o.bodyTimeout
  if (o.tlsHandshakeTimeout !== undefined) t.tlsHandshakeMs = o.tlsHandshakeTimeout
  if (o.tunnelIdleTimeout !== undefined) t.tunnelIdleMs = o.tunnelIdleTimeout
  if (o.keepAliveTimeout !== undefined) t.keepAliveMs = o.keepAliveTimeout
  if (o.headersTimeout !== undefined) t.headersMs = o.headersTimeout
  return t
}

/**
 * A command that works against this world: a user of it that has an active key, by name, through
 * `mrap exec` (which fetches the secret over the admin socket), so no secret is ever printed.
 */
function tryLine(s: Core, dataDir: string): string {
  const st = s.identities.store
  const key = [...st.keys.values()].find((k) => k.status === 'Active' && st.users.has(nameKey(k.account, k.user)))
  if (!key) return 'no user of this world has an access key: give one accessKeys in the world file, then mrap exec --as <user> -- aws s3 ls'
  const p = s.identities.findPrincipal(key.user)
  const as = p?.accountId === key.account ? key.user : `${key.account}/${key.user}`
  const dir = dataDir === (process.env.MRAP_DATA_DIR ?? '.mrap/data') ? '' : ` --data-dir ${dataDir}`
  return `mrap exec --as ${as}${dir} -- aws s3 ls   (access key ${key.id}; exec supplies the secret)`
}

export async function serveCommand(opts: ServeOptions): Promise<void> {
  let running: Awaited<ReturnType<typeof startServer>>
  try {
    running = await startServer({
      dataDir: opts.dataDir,
      host: opts.host,
      port: opts.port,
      tlsPort: opts.tlsPort,
      proxyPort: opts.proxyPort,
      timeouts: timeoutsOf(opts),
      ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
      ...(opts.world ? { worldFile: opts.world } : {}),
      ...(opts.sealingKeyFile ? { sealingKeyFile: opts.sealingKeyFile } : {}),
      ...(opts.state ? { state: opts.state } : {}),
      ...(opts.console === false ? {} : { consolePort: opts.consolePort ?? DEFAULT_CONSOLE_PORT, consolePortIsDefault: opts.consolePort === undefined }),
      ...(opts.consoleBase ? { consoleBase: opts.consoleBase } : {}),
    })
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const errPort = (err as { port?: number }).port
    if (err.code === 'EADDRINUSE' && opts.consolePort !== undefined && opts.consolePort !== 0 && errPort === opts.consolePort)
      console.error(`mrap: cannot serve the console on ${opts.host}:${opts.consolePort}: the port is in use (choose another --console-port, 0 for any, or --no-console)`)
    else if (err.code === 'EADDRINUSE') console.error(`mrap: cannot listen on ${opts.host}: a port is already in use (${err.message})`)
    else if (err.code === 'EACCES') console.error(`mrap: cannot listen on ${opts.host}:${opts.port}: permission denied`)
    else if (err.code === 'EADDRNOTAVAIL') console.error(`mrap: cannot listen on ${opts.host}: no such local address`)
    else if (e instanceof WorldFileError || e instanceof StartupError || e instanceof DataDirInUseError) console.error(`mrap: ${err.message}`)
    else console.error(`mrap: cannot start: ${err.message}`)
    process.exit(1)
  }
  const s = running.services
  const regions = [...s.stores.keys()].join(', ')
  process.stderr.write(
    [
      ...running.warnings.map((w) => `mrap: warning: ${w}`),
      `mrap ready: S3 front door ${running.endpoint}`,
      `  TLS front door: https://${running.host}:${running.tlsPort} (AWS host names; CA ${running.caPath})`,
      `  internet proxy: ${running.proxy} (HTTPS_PROXY for real AWS host names; see mrap exec)`,
      ...(running.metricsUrl ? [`  metrics:        ${running.metricsUrl}`] : []),
      ...(running.consoleStatus ? [`  console:        ${running.consoleStatus}${running.console ? ' (sign in with an access key, or: mrap console-url --as <user>)' : ''}`] : []),
      `  data dir: ${s.config.dataDir}`,
      `  state:    ${s.state.backend === 'postgres' && s.config.state ? redactUrl(s.config.state) : 'embedded (in the data dir)'}`,
      `  regions:  ${regions}`,
      `  buckets:  ${
        s.state
          .listBuckets()
          .map((b) => `${b.name} (${b.region})`)
          .join(', ') || '(none)'
      }`,
      `  try:      ${tryLine(s, opts.dataDir)}`,
      '',
    ].join('\n'),
  )
  s.log.info({ endpoint: running.endpoint, port: running.port, dataDir: s.config.dataDir }, 'mrap ready')
  const stop = async () => {
    await running.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

/**
 * @module Start a server: load the world, lock the data dir, build the application (app/compose.ts),
 * open the listeners (plain-HTTP front door, TLS front door, internet forward proxy, one proxy per
 * VPC, metrics, the admin socket), and write `<data-dir>/server.json`.
 */
import { resolve } from 'node:path'
import { type Logger, pino } from 'pino'
import { type AdminServer, listenAdmin } from './admin/server.js'
import { type App, createApp, StartupError } from './app/compose.js'
import type { ConsoleServer } from './console/server.js'
import type { SessionLimits } from './console/sessions.js'
import type { Core } from './core/core.js'
import { FrontDoor } from './http/server.js'
import { resolveTimeouts, type Timeouts } from './http/timeouts.js'
import { listenMetrics } from './metrics/listener.js'
import { ensureTls } from './network/ca.js'
import { internetNetwork } from './network/internet.js'
import { listenProxy } from './network/proxy.js'
import { unservedRegionCertificates } from './network/region-certs.js'
import { VpcProxies } from './network/vpc-proxies.js'
import type { ReplicationService } from './replication/index.js'
import { DataDirInUseError, type DataDirLock, exposedBits, lockDataDir, privateUmask } from './state/data-dir-lock.js'
import { removeRuntimeInfo, writeRuntimeInfo } from './state/runtime-file.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from './world/load.js'
import type { World } from './world/schema.js'

export interface StartOptions {
  dataDir: string
  host?: string
  /** Plain-HTTP front door; 0 picks a free port. */
  port?: number
  /** TLS front door (AWS host names); 0 picks a free port. */
  tlsPort?: number
  /** Internet forward proxy (HTTPS_PROXY); 0 picks a free port. */
  proxyPort?: number
  /** Prometheus metrics at /metrics; off when undefined, 0 picks a free port. */
  metricsPort?: number
  worldFile?: string
  world?: World
  logger?: Logger
  clock?: () => Date
  /** Connection limits; each one defaults (src/http/timeouts.ts DEFAULT_TIMEOUTS). */
  timeouts?: Partial<Timeouts>
  /** `--state`: the embedded SQLite (default) or a fleet's `postgres://` URL. */
  state?: string
  /** The sealing key file (`--sealing-key-file`); required with shared state. */
  sealingKeyFile?: string
  /** The web console; off when undefined, 0 picks a free port. */
  consolePort?: number
  /** The console's port is the default one, not asked for: when it is taken, warn and go on without it. */
  consolePortIsDefault?: boolean
  /** A path prefix for the console behind a reverse proxy (`/console`). */
  consoleBase?: string
  /** Session limits and the session clock (tests). */
  consoleSessions?: Partial<SessionLimits>
  consoleNow?: () => number
}

export interface RunningServer {
  /** The core services (state, stores, identities, registries) of the running server. */
  services: Core
  replication: ReplicationService
  /** The whole application (core, handlers, replication), for in-process benches. */
  app: App
  host: string
  port: number
  endpoint: string
  tlsPort: number
  /** `http://host:port` of the internet forward proxy. */
  proxy: string
  /** Path of the CA certificate clients must trust. */
  caPath: string
  /** One forward proxy per VPC (`server.json` lists them as `vpcProxies`). */
  vpcProxies: VpcProxies
  /** `http://host:port/metrics` when metrics are on. */
  metricsUrl?: string
  /** The web console when it runs (`console.url`). */
  console?: ConsoleServer
  /** What the start banner says about the console: its URL, or why it did not start. */
  consoleStatus?: string
  /** Start-up warnings (already logged), for `mrap serve` to repeat on stderr. */
  warnings: string[]
  close(): Promise<void>
}

const hostPart = (h: string): string => (h.includes(':') ? `[${h}]` : h)
/** The address to dial for a listen host (a wildcard listens on loopback too). */
const dialHostOf = (h: string): string => (h === '0.0.0.0' || h === '' ? '127.0.0.1' : h === '::' ? '::1' : h)

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.logger ?? pino({ level: process.env.MRAP_LOG_LEVEL ?? 'info' })
  const world = opts.world ?? loadWorldFile(opts.worldFile ?? DEFAULT_WORLD_FILE)
  const timeouts = resolveTimeouts(opts.timeouts)
  const dataDir = resolve(opts.dataDir)
  // Object bytes, IAM records and the CA key are for this user only. Here rather than in `mrap serve`
  // so servers started in-process (tests, benches) write the same modes as the command.
  privateUmask()
  const warnings: string[] = []
  const exposed = exposedBits(dataDir)
  if (exposed !== 0) {
    const text = `data dir ${dataDir} is open to other users (mode has ${exposed.toString(8).padStart(3, '0')} for group/others); \`chmod 700 ${dataDir}\` to make it private`
    log.warn({ dataDir, groupOtherBits: exposed.toString(8) }, text)
    warnings.push(text)
  }
  // Before anything in the directory is touched: a loser must leave a live server's files alone.
  let lock: DataDirLock
  try {
    lock = lockDataDir(dataDir)
  } catch (e) {
    if (e instanceof DataDirInUseError) throw e
    throw new StartupError(`the data directory ${dataDir} is not writable: ${(e as Error).message}`)
  }
  let app: App
  try {
    app = await createApp({
      config: {
        dataDir,
        host,
        port: opts.port ?? 9000,
        endpointHosts: ['localhost', host],
        timeouts,
        ...(opts.state ? { state: opts.state } : {}),
        sealingKeyFile: opts.sealingKeyFile,
      },
      world,
      log,
      ...(opts.clock ? { clock: opts.clock } : {}),
    })
  } catch (e) {
    lock.release()
    throw e
  }
  const services = app.core
  const front = new FrontDoor(app)
  let admin: AdminServer | undefined
  let vpcProxies: VpcProxies | undefined
  let consoleSrv: ConsoleServer | undefined
  let consoleStatus: string | undefined
  try {
    // A fleet's nodes present certificates of its one CA, kept in the shared state.
    const shared = services.state.backend === 'postgres' ? { state: services.state, sealer: services.sealer } : undefined
    const tls = await ensureTls(
      dataDir,
      world.dnsSuffix,
      world.regions.map((r) => r.name),
      shared,
    )
    const hostCfg = { dnsSuffix: world.dnsSuffix, endpointHosts: services.config.endpointHosts }
    front.setTls(
      tls.certPem,
      tls.keyPem,
      unservedRegionCertificates(
        tls,
        hostCfg,
        world.regions.map((r) => r.name),
      ),
    )
    const http = await front.listenHttp(host, opts.port ?? 9000)
    const tlsL = await front.listenTls(host, opts.tlsPort ?? 9443)
    const proxyL = await listenProxy(front, internetNetwork(services), host, opts.proxyPort ?? 9080)
    const endpoint = `http://${hostPart(host)}:${http.port}`
    const proxy = `http://${hostPart(host)}:${proxyL.port}`
    const metricsUrl = opts.metricsPort === undefined ? undefined : `http://${hostPart(host)}:${await listenMetrics(services.metrics, front, host, opts.metricsPort)}/metrics`
    if (opts.consolePort !== undefined) {
      // Loaded only when asked for: a server without the console does not carry its modules.
      const { startConsole } = await import('./console/server.js')
      try {
        consoleSrv = await startConsole({
          core: services,
          frontDoor: { host: dialHostOf(host), port: http.port },
          host,
          port: opts.consolePort,
          ...(opts.consoleBase ? { base: opts.consoleBase } : {}),
          ...(opts.consoleSessions ? { limits: opts.consoleSessions } : {}),
          ...(opts.consoleNow ? { now: opts.consoleNow } : {}),
        })
        consoleStatus = consoleSrv.url
      } catch (e) {
        // Many servers start at once on one machine (tests, a fleet): only the first gets the default port.
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.consolePortIsDefault) throw e
        consoleStatus = `not started (port ${opts.consolePort} in use)`
        log.warn({ port: opts.consolePort }, `console: ${consoleStatus}`)
      }
    }
    const consoleRef = consoleSrv
    // The admin socket (`mrap world`, `mrap exec`); its file permissions are its authorization.
    admin = await listenAdmin(services, dataDir, consoleRef ? { consoleLink: (principal) => consoleRef.signInLink(principal) } : {})
    const startedAt = new Date().toISOString()
    let ready = false
    // Rewritten whenever a VPC proxy opens or closes (a VPC created or deleted through EC2).
    const writeInfo = (): void => {
      if (!ready) return
      writeRuntimeInfo(dataDir, {
        pid: process.pid,
        endpoint,
        startedAt,
        ...(admin ? { admin: admin.path } : {}),
        tlsEndpoint: `https://${hostPart(host)}:${tlsL.port}`,
        proxy,
        caPath: tls.caPath,
        vpcProxies: vpcProxies?.info() ?? {},
        ...(metricsUrl ? { metrics: metricsUrl } : {}),
        ...(consoleSrv ? { console: consoleSrv.url } : {}),
      })
    }
    const vpcs = new VpcProxies(services, services.vpcs, front, host, writeInfo)
    vpcProxies = vpcs
    await vpcs.start()
    ready = true
    writeInfo()
    return {
      services,
      replication: app.replication,
      app,
      host,
      port: http.port,
      endpoint,
      tlsPort: tlsL.port,
      proxy,
      caPath: tls.caPath,
      vpcProxies: vpcs,
      warnings,
      ...(metricsUrl ? { metricsUrl } : {}),
      ...(consoleSrv ? { console: consoleSrv } : {}),
      ...(consoleStatus ? { consoleStatus } : {}),
      close: async () => {
        ready = false
        removeRuntimeInfo(dataDir)
        await admin?.close()
        await consoleSrv?.close()
        await vpcs.close()
        await front.close()
        try {
          await app.close()
        } finally {
          lock.release()
        }
      },
    }
  } catch (e) {
    // The start-up error is the one to report; a failure while undoing it is only logged.
    const undo =
      (what: string) =>
      (err: unknown): void => {
        log.warn({ err }, `closing the ${what} after a failed start failed`)
      }
    await vpcProxies?.close().catch(undo('VPC proxies'))
    await admin?.close().catch(undo('admin socket'))
    await consoleSrv?.close().catch(undo('console'))
    await front.close().catch(undo('listeners'))
    try {
      await app.close()
    } finally {
      lock.release()
    }
    throw e
  }
}

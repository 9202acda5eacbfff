/**
 * @module Composition root: load the world, build the services, open the listeners.
 */
import { resolve } from 'node:path'
import { pino, type Logger } from 'pino'
import { createServices, closeServices, type Services } from './services.js'
import { listenFrontDoor } from './http/server.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from './world/load.js'
import type { World } from './world/schema.js'
import { removeRuntimeInfo, writeRuntimeInfo } from './state/runtime-file.js'

export interface StartOptions {
  dataDir: string
  host?: string
  port?: number
  worldFile?: string
  world?: World
  logger?: Logger
  clock?: () => Date
}

export interface RunningServer {
  services: Services
  host: string
  port: number
  endpoint: string
  close(): Promise<void>
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.logger ?? pino({ level: process.env.MRAP_LOG_LEVEL ?? 'info' })
  const world = opts.world ?? loadWorldFile(opts.worldFile ?? DEFAULT_WORLD_FILE)
  const dataDir = resolve(opts.dataDir)
  const services = await createServices({
    config: { dataDir, host, port: opts.port ?? 9000, endpointHosts: ['localhost', host] },
    world, log, ...(opts.clock ? { clock: opts.clock } : {}),
  })
  let front
  try {
    front = await listenFrontDoor(services, host, opts.port ?? 9000)
  } catch (e) {
    await closeServices(services)
    throw e
  }
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${front.port}`
  writeRuntimeInfo(dataDir, { pid: process.pid, endpoint, startedAt: new Date().toISOString() })
  return {
    services, host, port: front.port, endpoint,
    close: async () => { removeRuntimeInfo(dataDir); await front.close(); await closeServices(services) },
  }
}

/**
 * @module `<data-dir>/server.json`: how other commands (`mrap exec`, `mrap explain`, `mrap world
 * apply`) find the running server of a data directory. Written when the server is ready, removed when
 * it stops; a stale file (dead pid) is ignored.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface RuntimeInfo {
  pid: number
  /** Plain-HTTP front door, e.g. http://127.0.0.1:9000 */
  endpoint: string
  startedAt: string
  /** Filled in by later listeners (TLS front door, forward proxies, CA bundle, admin socket). */
  [extra: string]: unknown
}

export function runtimeFilePath(dataDir: string): string {
  return join(dataDir, 'server.json')
}

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): void {
  const tmp = runtimeFilePath(dataDir) + '.tmp'
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })
  renameSync(tmp, runtimeFilePath(dataDir))
}

export function removeRuntimeInfo(dataDir: string): void {
  rmSync(runtimeFilePath(dataDir), { force: true })
}

/** The running server of a data directory, or undefined when none runs. */
export function readRuntimeInfo(dataDir: string): RuntimeInfo | undefined {
  let info: RuntimeInfo
  try {
    info = JSON.parse(readFileSync(runtimeFilePath(dataDir), 'utf8')) as RuntimeInfo
  } catch {
    return undefined
  }
  try {
    process.kill(info.pid, 0)
  } catch {
    return undefined
  }
  return info
}

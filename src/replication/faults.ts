/**
 * @module Test-only region outages for a server in another process: with MRAP_FAULT_INJECTION=1 in
 * its environment, the existence of `<data-dir>/faults/<region>` makes that region's store
 * unavailable (every call throws ServiceUnavailable, as `setAvailable(false)` does in-process), and
 * removing the file brings it back. Off by default; a file on the server's own disk is not
 * reachable from the network, and the check runs on a timer, never on the request path.
 * See docs/decisions/replication.md.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Core } from '../core/core.js'

export const FAULT_ENV = 'MRAP_FAULT_INJECTION'

export function faultDir(dataDir: string): string {
  return join(dataDir, 'faults')
}

/** Starts watching when the environment asks for it; returns a stop function. */
export function watchFaultFiles(s: Core, env: NodeJS.ProcessEnv = process.env, intervalMs = 100): () => void {
  if (env[FAULT_ENV] !== '1') return () => {}
  const dir = faultDir(s.config.dataDir)
  const apply = (): void => {
    for (const [region, store] of s.stores) {
      const down = existsSync(join(dir, region))
      store.setAvailable?.(!down)
      if (down) s.health.markDown(region)
    }
  }
  apply()
  const timer = setInterval(apply, intervalMs)
  timer.unref()
  s.log.warn({ dir }, 'fault injection is on: a file named after a region in this directory takes its storage down')
  return () => clearInterval(timer)
}

#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm run build`, which `npm ci` runs through `prepare`)
// when it is at least as new as every source file, and otherwise the TypeScript sources through
// tsx, so an edited checkout never runs stale code. The build starts faster and holds ~40 MiB less
// memory than tsx's loader (which keeps a worker thread for its hooks).
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', '.build-stamp')

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

if (process.env.MRAP_FROM_SOURCE !== '1' && existsSync(stamp) && newestMtime(join(root, 'src')) <= statSync(stamp).mtimeMs) {
  await import('../dist/cli/main.js')
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/main.ts')
}

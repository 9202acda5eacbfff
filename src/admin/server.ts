/**
 * @module The admin socket served by `mrap serve` (protocol in ./protocol.ts). It is created
 * race-free with owner-only permissions: bound inside a fresh 0700 directory, chmod 0600, then
 * renamed into `<data-dir>/admin.sock` (a connect resolves the path to the socket's inode, so
 * the rename keeps it reachable), so no other user can connect in between.
 */

import { chmodSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Core } from '../core/core.js'
import { explainAdmin } from '../explain/admin.js'
import { applyWorld } from '../world/apply.js'
import { exportWorldYaml } from '../world/export.js'
import { parseWorld, WorldFileError } from '../world/load.js'
import { ADMIN_SOCKET, type AdminRequest, type AdminResponse, MAX_ADMIN_REQUEST_BYTES } from './protocol.js'

/** Unix socket paths are limited to 108 bytes on Linux (sun_path), 104 on macOS. */
const MAX_SOCKET_PATH = 100

/** What the admin socket offers beyond Core: parts main.ts starts (the console). */
export interface AdminHooks {
  /** A one-time console sign-in link (throws with a message the CLI prints). */
  consoleLink?: (principal: string) => { url: string; arn: string; expiresAt: string }
}

export interface AdminServer {
  path: string
  close(): Promise<void>
}

export async function listenAdmin(s: Core, dataDir: string, hooks: AdminHooks = {}): Promise<AdminServer | undefined> {
  const path = join(dataDir, ADMIN_SOCKET)
  if (process.platform === 'win32') return undefined
  const tmpDir = mkdtempSync(join(dataDir, '.admin-'))
  const tmp = join(tmpDir, 's')
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH || Buffer.byteLength(tmp) > MAX_SOCKET_PATH) {
    rmSync(tmpDir, { recursive: true, force: true })
    s.log.warn({ path }, 'the data directory path is too long for a Unix socket; `mrap world` and `mrap exec` cannot reach this server')
    return undefined
  }
  const server: Server = createServer((sock) => serve(s, sock, hooks))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(tmp, () => {
        server.off('error', reject)
        resolve()
      })
    })
    chmodSync(tmp, 0o600)
    rmSync(path, { force: true }) // a stale socket of a server that died
    renameSync(tmp, path)
  } finally {
    rmSync(tmpDir, { recursive: true, force: true })
  }
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        rmSync(path, { force: true })
      }),
  }
}

function serve(s: Core, sock: Socket, hooks: AdminHooks): void {
  const chunks: Buffer[] = []
  let size = 0
  const reply = (r: AdminResponse): void => {
    sock.end(JSON.stringify(r) + '\n')
  }
  sock.on('error', () => sock.destroy())
  sock.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > MAX_ADMIN_REQUEST_BYTES) {
      reply({ ok: false, error: 'request too large' })
      sock.destroy()
      return
    }
    const nl = chunk.indexOf(0x0a)
    if (nl < 0) {
      chunks.push(chunk)
      return
    }
    chunks.push(chunk.subarray(0, nl))
    sock.removeAllListeners('data')
    let req: AdminRequest
    try {
      req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdminRequest
    } catch {
      reply({ ok: false, error: 'the request is not JSON' })
      return
    }
    handle(s, req, hooks).then(reply, (e: unknown) => {
      if (!(e instanceof WorldFileError)) s.log.error({ err: e, op: req.op }, 'admin request failed')
      reply({ ok: false, error: (e as Error).message })
    })
  })
}

async function handle(s: Core, req: AdminRequest, hooks: AdminHooks): Promise<AdminResponse> {
  switch (req.op) {
    case 'ping':
      return { ok: true, pid: process.pid }
    case 'world.apply': {
      const world = parseWorld(req.text, req.file)
      const result = await applyWorld(s, world)
      s.log.info({ file: req.file, created: result.created.length, updated: result.updated.length }, 'world applied')
      return { ok: true, ...result }
    }
    case 'world.export':
      return { ok: true, yaml: exportWorldYaml(s, { includeSecrets: req.includeSecrets === true }) }
    case 'credentials': {
      const p = s.identities.findPrincipal(req.principal)
      if (!p) return { ok: false, error: `no user ${req.principal} (use a user name, or <account>/<name>)` }
      const key = s.identities.keyOf(p)
      if (!key) return { ok: false, error: `${p.arn} has no active access key` }
      // Handed to the operator's own process; never logged.
      return { ok: true, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, arn: p.arn, accountId: p.accountId }
    }
    case 'explain.model':
    case 'explain.objects':
    case 'explain.request':
      return explainAdmin(s, req)
    case 'console.link': {
      if (!hooks.consoleLink) return { ok: false, error: 'the web console is not running on this server (start it with --console-port)' }
      try {
        return { ok: true, ...hooks.consoleLink(String(req.principal)) }
      } catch (e) {
        return { ok: false, error: (e as Error).message }
      }
    }
    default:
      return { ok: false, error: `unknown admin operation ${(req as { op?: unknown }).op as string}` }
  }
}

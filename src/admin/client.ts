/**
 * @module Talking to a running server's admin socket (for `mrap world`, `mrap exec`).
 */
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { type RuntimeInfo, readRuntimeInfo } from '../state/runtime-file.js'
import { ADMIN_SOCKET, type AdminRequest, type AdminResponse } from './protocol.js'

export class AdminError extends Error {}

/** The running server of a data directory, or an AdminError saying how to start one. */
export function runningServer(dataDir: string): RuntimeInfo {
  const info = readRuntimeInfo(resolve(dataDir))
  if (!info) throw new AdminError(`no mrap server is running with data directory ${resolve(dataDir)} (start one with \`mrap serve --data-dir ${dataDir}\`)`)
  return info
}

export async function adminRequest(dataDir: string, req: AdminRequest): Promise<AdminResponse & { ok: true }> {
  const info = runningServer(dataDir)
  const path = typeof info.admin === 'string' ? info.admin : join(resolve(dataDir), ADMIN_SOCKET)
  const text = await new Promise<string>((resolveText, reject) => {
    const sock = connect(path)
    const chunks: Buffer[] = []
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'))
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('end', () => resolveText(Buffer.concat(chunks).toString('utf8')))
    sock.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new AdminError(
          e.code === 'EACCES' ? `permission denied on ${path}: only the user running the server may use it` : `cannot reach the server's admin socket ${path}: ${e.message}`,
        ),
      )
    })
  })
  let res: AdminResponse
  try {
    res = JSON.parse(text) as AdminResponse
  } catch {
    throw new AdminError(`the server answered something that is not JSON: ${text.slice(0, 200)}`)
  }
  if (!res.ok) throw new AdminError(res.error)
  return res
}

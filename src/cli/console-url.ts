/**
 * @module `mrap console-url --as NAME`: asks the running server, over its admin socket, for a
 * one-time sign-in link to its web console as a principal, and prints it. Whoever can open the admin
 * socket is the operator (docs/decisions/admin-socket-and-exec.md), so it may sign in as anyone; the
 * link works once, for 5 minutes, and carries no secret (the server keeps the key).
 */
import { AdminError, adminRequest } from '../admin/client.js'

export async function consoleUrlCommand(opts: { as: string; dataDir: string }): Promise<void> {
  try {
    const r = await adminRequest(opts.dataDir, { op: 'console.link', principal: opts.as })
    console.log(String(r.url))
    process.stderr.write(`mrap: one-time sign-in link for ${String(r.arn)}; works once, until ${String(r.expiresAt)}\n`)
  } catch (e) {
    if (!(e instanceof AdminError)) throw e
    console.error(`mrap console-url: ${e.message}`)
    process.exit(1)
  }
}

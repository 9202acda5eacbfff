/**
 * @module What `mrap exec` checks about the command before running it. MRAP requests are signed
 * with SigV4A, which the AWS CLI and botocore sign only through the AWS Common Runtime (awscrt);
 * without it the user meets "Missing Dependency" after the request is built, with nothing naming
 * the CLI at fault. AWS's own CLI v2 installer bundles the CRT in a binary, but a pip or distro
 * CLI runs on whatever Python its `#!` line names, and that interpreter may lack awscrt. So for an
 * `aws` command that names an MRAP, exec imports awscrt.auth (what botocore imports for SigV4A)
 * with the very interpreter and flags of the `aws` first on PATH. Cost: one Python start, only then.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs'
import { basename, delimiter, join } from 'node:path'

/** An MRAP ARN (any partition), or an MRAP alias, in the command's arguments. */
export function namesMrap(args: readonly string[]): boolean {
  return args.some((a) => /arn:[a-z-]+:s3::\d{12}:accesspoint\/[a-z0-9]+\.mrap/.test(a) || /\b[a-z][a-z0-9]{12}\.mrap\b/.test(a))
}

/** The executable `cmd` names on `path` (as the spawn will resolve it), or undefined. */
export function resolveCommand(cmd: string, path: string | undefined): string | undefined {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (path ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, cmd))
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK)
      return c
    } catch {
      /* next */
    }
  }
  return undefined
}

/** The `#!` line's interpreter and its arguments, or undefined for a binary. */
function shebang(file: string): string[] | undefined {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const buf = Buffer.alloc(256)
    const n = readSync(fd, buf, 0, buf.length, 0)
    const first = buf.subarray(0, n).toString('latin1').split('\n')[0]!
    if (!first.startsWith('#!')) return undefined
    const words = first
      .slice(2)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '')
    return words.length > 0 ? words : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * A warning when `argv` runs an AWS CLI that names an MRAP and cannot sign SigV4A; undefined when
 * it can, or when the CLI is a binary (AWS's installer, CRT bundled) or cannot be inspected.
 */
export function sigv4aProblem(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const [cmd, ...args] = argv
  if (cmd === undefined || basename(cmd) !== 'aws' || !namesMrap(args)) return undefined
  const file = resolveCommand(cmd, env.PATH)
  if (!file) return undefined
  const interp = shebang(file)
  if (!interp || !/python/.test(interp.join(' '))) return undefined
  const r = spawnSync(interp[0]!, [...interp.slice(1), '-c', 'import awscrt.auth'], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 })
  if (r.status === 0 || r.error) return undefined
  return [
    `${file} cannot sign SigV4A, which Multi-Region Access Point requests need: its Python (${interp.join(' ')}) has no awscrt,`,
    '  so the request would end in "Missing Dependency". Fix one of:',
    `  - install the AWS Common Runtime for that Python (Debian/Ubuntu: apt install python3-awscrt; pip: ${interp.join(' ')} -m pip install awscrt)`,
    "  - put an AWS CLI v2 from AWS's installer (it bundles the CRT) first on PATH",
  ].join('\n')
}

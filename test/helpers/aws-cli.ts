/**
 * The AWS CLI v2 as the tests drive it: Debian's /usr/bin/aws (2.9.19, awscrt for SigV4A), run as an
 * async child process so the in-process server keeps serving while the CLI waits on it.
 *
 * The CLI's environment is built from nothing, never copied from the runner's: a developer's
 * profile, credentials, proxy or CA bundle (AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE,
 * HTTPS_PROXY) would otherwise decide where a request goes and which server it trusts, and a test
 * would pass or fail by the machine it ran on. Proxy and CA are set only when a test asks.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const AWS_CLI = '/usr/bin/aws'

const execFileAsync = promisify(execFile)

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface CliEnvOptions {
  credentials?: CliCredentials
  /** AWS_DEFAULT_REGION. */
  region?: string
  /** HTTPS_PROXY: how MRAP host names reach the server. */
  proxy?: string
  /** AWS_CA_BUNDLE: the server's CA, for HTTPS through the proxy. */
  caBundle?: string
  /** NO_PROXY=*: for --endpoint-url calls, so that no proxy can stand between the CLI and the server. */
  direct?: boolean
}

/** A scratch directory holding the CLI's HOME, empty config and credentials files, and the test's files. */
export class CliSandbox {
  readonly dir: string
  readonly home: string
  readonly configFile: string
  readonly credentialsFile: string

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
    this.home = join(this.dir, 'home')
    mkdirSync(this.home)
    // Empty files rather than absent ones: the CLI then reads no profile even if HOME were shared.
    this.configFile = this.write('aws-config', '')
    this.credentialsFile = this.write('aws-credentials', '')
  }

  /** The CLI's whole environment. */
  env(opts: CliEnvOptions = {}): Record<string, string> {
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      HOME: this.home,
      LANG: 'C.UTF-8',
      NODE_OPTIONS: '',
      AWS_CONFIG_FILE: this.configFile,
      AWS_SHARED_CREDENTIALS_FILE: this.credentialsFile,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      AWS_CLI_AUTO_PROMPT: 'off',
      // A retried request would hide the first answer, which is the one under test.
      AWS_MAX_ATTEMPTS: '1',
    }
    const c = opts.credentials
    if (c) {
      env.AWS_ACCESS_KEY_ID = c.accessKeyId
      env.AWS_SECRET_ACCESS_KEY = c.secretAccessKey
      if (c.sessionToken) env.AWS_SESSION_TOKEN = c.sessionToken
    }
    if (opts.region) env.AWS_DEFAULT_REGION = opts.region
    if (opts.proxy) env.HTTPS_PROXY = opts.proxy
    if (opts.caBundle) env.AWS_CA_BUNDLE = opts.caBundle
    if (opts.direct) env.NO_PROXY = '*'
    return env
  }

  /** Writes a file in the sandbox; returns its path. */
  write(name: string, content: string | Buffer | object): string {
    const path = join(this.dir, name)
    writeFileSync(path, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content))
    return path
  }

  /** `file://<path>` of a file written in the sandbox, as the CLI takes JSON arguments. */
  fileArg(name: string, content: string | object): string {
    return `file://${this.write(name, content)}`
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export interface RunOptions {
  env: Record<string, string>
  cwd?: string
  timeoutMs?: number
  maxBuffer?: number
}

/** Runs a command; a non-zero exit is a result, not an error. A spawn failure or a timeout throws. */
export async function runCommand(cmd: string, args: string[], opts: RunOptions): Promise<CliResult> {
  try {
    const r = await execFileAsync(cmd, args, {
      env: opts.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: opts.maxBuffer ?? 16 << 20,
    })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string }
    if (typeof err.code !== 'number') throw e
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
  }
}

/** Runs /usr/bin/aws with `args`. */
export function runAws(args: string[], opts: RunOptions): Promise<CliResult> {
  return runCommand(AWS_CLI, args, opts)
}

/** The S3 error code the CLI printed ("An error occurred (AccessDenied) when calling ..."). */
export function cliErrorCode(r: CliResult): string | undefined {
  return r.stderr.match(/An error occurred \(([^)]+)\)/)?.[1]
}

/** stdout parsed as JSON; an empty output (a command that prints nothing) is `{}`. */
export function cliJson(stdout: string): Record<string, any> {
  return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, any>)
}

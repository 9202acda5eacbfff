/**
 * @module `mrap exec [--as <principal>] -- CMD ARGS...`: runs a command as one of the world's
 * principals against the running server, and exits with the command's status.
 *
 * The environment is built by `execEnv` from small parts so later options (`--vpc`, the proxy and
 * CA variables) are additions to one function. SDKs (JS v3, botocore >= 1.31, CLI >= 2.13) read
 * the service-specific AWS_ENDPOINT_URL_<SERVICE> for the services the front door answers; S3
 * Control and MRAP ARNs take the real AWS names through the internet proxy. The AWS CLI from Debian
 * (2.9.19) reads no endpoint variable, so for a command named `aws` mrap inserts `--endpoint-url
 * <front door>` unless the command gives its own (see docs/decisions/admin-socket-and-exec.md).
 * Exit status: the command's; 125 when mrap itself cannot run it, 127 when CMD is not found.
 */
import { spawn } from 'node:child_process'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AdminError, adminRequest, runningServer } from '../admin/client.js'
import { findVpcProxy, knownVpcs, type VpcProxyRef, vpcEnv } from '../network/exec-vpc.js'
import type { RuntimeInfo } from '../state/runtime-file.js'
import { sigv4aProblem } from './exec-checks.js'
import { startRelay } from './exec-relay.js'

export interface ExecCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface ExecContext {
  server: RuntimeInfo
  credentials: ExecCredentials
  region: string
}

/** Variables that would make an SDK or the CLI pick other credentials or settings than ours. */
const SHADOWING = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
]

/**
 * The services the front door answers, by the variable the AWS SDKs and CLI read for each one
 * ("Service-specific endpoints" and "Identifiers for service-specific endpoints", AWS SDKs and
 * Tools Reference Guide). Not S3 Control: its host carries the account id (`<account>.<endpoint
 * host>`, which no IP-address endpoint can take, docs/aws/clients.md §S3 Control), so it keeps its
 * real name and reaches mrap through the proxy, as MRAP ARNs do (the SDKs ignore any endpoint for them).
 */
const FRONT_DOOR_ENDPOINT_VARS = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_IAM', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_KMS'] as const

/** Endpoint settings of the caller's own that would send a service elsewhere than exec means. */
const ENDPOINT_VARS = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3_CONTROL', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', ...FRONT_DOOR_ENDPOINT_VARS] as const

/** Loaded into Node programs so their https follows HTTPS_PROXY (a plain .cjs file: never compiled). */
const NODE_PROXY_PRELOAD = fileURLToPath(new URL('../../bin/node-proxy.cjs', import.meta.url))

export function execEnv(base: NodeJS.ProcessEnv, c: ExecContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base }
  for (const k of SHADOWING) delete env[k]
  for (const k of ENDPOINT_VARS) delete env[k]
  env.AWS_ACCESS_KEY_ID = c.credentials.accessKeyId
  env.AWS_SECRET_ACCESS_KEY = c.credentials.secretAccessKey
  if (c.credentials.sessionToken) env.AWS_SESSION_TOKEN = c.credentials.sessionToken
  for (const k of FRONT_DOOR_ENDPOINT_VARS) env[k] = c.server.endpoint
  // A global AWS_ENDPOINT_URL would send S3 Control to `<account>.127.0.0.1` too. Only a server
  // without an internet proxy (where real names lead nowhere) keeps it, to fail locally.
  if (typeof c.server.proxy !== 'string') env.AWS_ENDPOINT_URL = c.server.endpoint
  env.AWS_DEFAULT_REGION = c.region
  env.AWS_REGION = c.region
  // Never reach the real instance metadata service for credentials.
  env.AWS_EC2_METADATA_DISABLED = 'true'
  env.MRAP_ENDPOINT = c.server.endpoint
  // On the internet path too, clients reach the real AWS names (MRAP ARNs ignore any custom
  // endpoint; S3 Control prefixes the account to the host) through the internet proxy, trusting
  // mrap's CA. Only HTTPS goes through it: the plain-HTTP front door is reached directly. No
  // NO_PROXY for the front door: botocore decides a client's proxies from its endpoint URL, so
  // exempting it would send the client's MRAP requests around the proxy too.
  if (typeof c.server.proxy === 'string') {
    for (const k of ['HTTPS_PROXY', 'https_proxy']) env[k] = c.server.proxy
    for (const k of ['NO_PROXY', 'no_proxy']) delete env[k]
    env.NODE_OPTIONS = withNodePreload(env.NODE_OPTIONS)
  }
  if (typeof c.server.caPath === 'string') {
    for (const k of ['AWS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) env[k] = c.server.caPath
  }
  return env
}

/** NODE_OPTIONS with mrap's proxy preload first (once: a nested `mrap exec` adds nothing). */
function withNodePreload(options: string | undefined): string {
  const flag = `--require ${JSON.stringify(NODE_PROXY_PRELOAD)}`
  if (options?.includes(flag)) return options
  return options ? `${flag} ${options}` : flag
}

/** AWS CLI services whose hosts cannot be a custom endpoint (S3 Control puts the account in front). */
const REAL_NAMES_ONLY = new Set(['s3control'])

/** CMD and ARGS as run: the AWS CLI gets `--endpoint-url` (it cannot read AWS_ENDPOINT_URL). */
export function execArgv(argv: string[], c: ExecContext, opts: { endpointArg: boolean }): string[] {
  const [cmd, ...args] = argv
  if (cmd === undefined) return argv
  if (opts.endpointArg && basename(cmd) === 'aws' && !args.some((a) => REAL_NAMES_ONLY.has(a)) && !args.some((a) => a === '--endpoint-url' || a.startsWith('--endpoint-url='))) {
    return [cmd, '--endpoint-url', c.server.endpoint, ...args]
  }
  return argv
}

export interface ExecOptions {
  as: string
  dataDir: string
  /** Default: the VPC's region with --vpc, else us-east-1. */
  region?: string | undefined
  endpointArg: boolean
  /** Run as if on an instance in this VPC (id or Name tag): its proxy, mrap's CA, the real AWS names. */
  vpc?: string | undefined
}

export async function execCommand(argv: string[], opts: ExecOptions): Promise<void> {
  if (argv.length === 0) fail('give a command to run: mrap exec --as admin -- aws s3 ls')
  let ctx: ExecContext
  let vpc: VpcProxyRef | undefined
  try {
    const server = runningServer(opts.dataDir)
    if (opts.vpc !== undefined) {
      vpc = findVpcProxy(server, opts.vpc)
      if (!vpc) fail(`no VPC ${opts.vpc} in the running server (by id or Name tag); VPCs: ${knownVpcs(server)}`)
    }
    const r = await adminRequest(opts.dataDir, { op: 'credentials', principal: opts.as })
    ctx = { server, region: opts.region ?? vpc?.region ?? 'us-east-1', credentials: { accessKeyId: String(r.accessKeyId), secretAccessKey: String(r.secretAccessKey) } }
  } catch (e) {
    if (e instanceof AdminError) fail(e.message)
    throw e
  }
  // Inside a VPC the command calls the real AWS names through the VPC's proxy: no --endpoint-url.
  const [cmd, ...args] = execArgv(argv, ctx, { endpointArg: opts.endpointArg && !vpc })
  const env = vpc ? vpcEnv(execEnv(process.env, ctx), vpc, typeof ctx.server.caPath === 'string' ? ctx.server.caPath : undefined) : execEnv(process.env, ctx)
  await relayProxies(env, [vpc?.proxy, typeof ctx.server.proxy === 'string' ? ctx.server.proxy : undefined])
  const sigv4a = sigv4aProblem([cmd!, ...args], env)
  if (sigv4a) console.error(`mrap exec: warning: ${sigv4a}`)
  const child = spawn(cmd!, args, { stdio: 'inherit', env })
  const forward = (sig: NodeJS.Signals) => () => {
    child.kill(sig)
  }
  process.on('SIGINT', forward('SIGINT'))
  process.on('SIGTERM', forward('SIGTERM'))
  child.on('error', (e: NodeJS.ErrnoException) => {
    console.error(`mrap exec: cannot run ${cmd}: ${e.code === 'ENOENT' ? 'command not found' : e.message}`)
    process.exit(e.code === 'ENOENT' ? 127 : 126)
  })
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1))
  })
}

/**
 * The command reaches mrap's proxies through a relay that prints their refusals (./exec-relay.ts):
 * clients keep only "Failed to connect to proxy" of them. A relay that cannot start is skipped.
 */
async function relayProxies(env: NodeJS.ProcessEnv, proxies: (string | undefined)[]): Promise<void> {
  const relays = new Map<string, string>()
  for (const p of proxies) {
    if (p === undefined || relays.has(p)) continue
    try {
      const r = await startRelay(p, (line) => console.error(`mrap exec: ${line}`))
      relays.set(p, r.url)
    } catch {
      /* the command talks to the proxy directly, as before */
    }
  }
  for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
    const to = env[k] !== undefined ? relays.get(env[k]) : undefined
    if (to !== undefined) env[k] = to
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const n: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 }
  return n[sig]
}

function fail(message: string): never {
  console.error(`mrap exec: ${message}`)
  process.exit(125)
}

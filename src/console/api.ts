/**
 * @module `ConsoleApi`: AWS SDK clients signed with the session's own key and sent to this server's
 * own front door, so everything the console does passes the same authentication, authorization,
 * errors and logs as the principal's CLI would. The SDK packages are imported on first use: a
 * server whose console nobody opens does not load them. `maxAttempts: 1`: a refused call is shown,
 * never retried behind the user's back.
 */
import type { LookupAddress } from 'node:dns'
import http from 'node:http'
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { IAMClient } from '@aws-sdk/client-iam'
import type { S3Client } from '@aws-sdk/client-s3'
import type { S3ControlClient } from '@aws-sdk/client-s3-control'
import type { ConsoleApi } from './page.js'

export interface FrontDoor {
  /** The loopback address the clients connect to (the listen host, or loopback for a wildcard). */
  host: string
  port: number
}

export interface ApiCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

/** The address to dial for a listen host: a wildcard listens on loopback too. */
export function dialHost(listenHost: string): string {
  if (listenHost === '0.0.0.0' || listenHost === '') return '127.0.0.1'
  if (listenHost === '::') return '::1'
  return listenHost
}

/**
 * S3 Control prefixes the account id to the endpoint's host name (`<account>.s3-control…`), which no
 * resolver knows: the client's agent dials the front door for every name, and the server takes the
 * unknown host for a custom endpoint (src/http/target.ts) and the /v20180820/ path for S3 Control.
 */
const CONTROL_HOST = 's3-control.console.invalid'

function frontDoorAgent(door: FrontDoor): http.Agent {
  const family = door.host.includes(':') ? 6 : 4
  const lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void): void => {
    if (opts.all) cb(null, [{ address: door.host, family } satisfies LookupAddress])
    else cb(null, door.host, family)
  }
  return new http.Agent({ keepAlive: true, lookup: lookup as unknown as http.AgentOptions['lookup'] })
}

export class SessionApi implements ConsoleApi {
  private readonly s3s = new Map<string, Promise<S3Client>>()
  private readonly ec2s = new Map<string, Promise<EC2Client>>()
  private control: Promise<S3ControlClient> | undefined
  private iamClient: Promise<IAMClient> | undefined
  private agent: http.Agent | undefined

  constructor(
    private readonly door: FrontDoor,
    private readonly creds: ApiCredentials,
  ) {}

  private get endpoint(): string {
    const h = this.door.host.includes(':') ? `[${this.door.host}]` : this.door.host
    return `http://${h}:${this.door.port}`
  }

  private async handler(): Promise<{ requestHandler: unknown }> {
    const { NodeHttpHandler } = await import('@smithy/node-http-handler')
    this.agent ??= frontDoorAgent(this.door)
    return { requestHandler: new NodeHttpHandler({ httpAgent: this.agent }) }
  }

  private base(region: string) {
    const credentials = {
      accessKeyId: this.creds.accessKeyId,
      secretAccessKey: this.creds.secretAccessKey,
      ...(this.creds.sessionToken ? { sessionToken: this.creds.sessionToken } : {}),
    }
    return { region, credentials, maxAttempts: 1 }
  }

  s3(region = 'us-east-1'): Promise<S3Client> {
    let c = this.s3s.get(region)
    if (!c) {
      c = (async () => {
        const { S3Client } = await import('@aws-sdk/client-s3')
        return new S3Client({ ...this.base(region), ...(await this.handler()), endpoint: this.endpoint, forcePathStyle: true } as never)
      })()
      this.s3s.set(region, c)
    }
    return c
  }

  s3control(): Promise<S3ControlClient> {
    this.control ??= (async () => {
      const { S3ControlClient } = await import('@aws-sdk/client-s3-control')
      // MRAP control requests go to us-west-2, as AWS requires (docs/aws/mrap.md).
      return new S3ControlClient({ ...this.base('us-west-2'), ...(await this.handler()), endpoint: `http://${CONTROL_HOST}:${this.door.port}` } as never)
    })()
    return this.control
  }

  iam(): Promise<IAMClient> {
    this.iamClient ??= (async () => {
      const { IAMClient } = await import('@aws-sdk/client-iam')
      return new IAMClient({ ...this.base('us-east-1'), ...(await this.handler()), endpoint: this.endpoint } as never)
    })()
    return this.iamClient
  }

  ec2(region: string): Promise<EC2Client> {
    let c = this.ec2s.get(region)
    if (!c) {
      c = (async () => {
        const { EC2Client } = await import('@aws-sdk/client-ec2')
        return new EC2Client({ ...this.base(region), ...(await this.handler()), endpoint: this.endpoint } as never)
      })()
      this.ec2s.set(region, c)
    }
    return c
  }

  /** Closes the clients' sockets (sign-out, expiry, server close). */
  destroy(): void {
    const all: Promise<{ destroy(): void }>[] = [...this.s3s.values(), ...this.ec2s.values()]
    if (this.control) all.push(this.control)
    if (this.iamClient) all.push(this.iamClient)
    for (const c of all) void c.then((x) => x.destroy()).catch(() => {})
    this.agent?.destroy()
  }
}

/** An API error as pages show it (`ApiErrorBox`). */
export interface ApiError {
  code: string
  message: string
  /** HTTP status of the answer (0 when no answer came). */
  status: number
  requestId?: string | undefined
  /** For an AccessDenied: what to explain on the Access page. */
  explain?: { action: string; resource: string } | undefined
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess'])

/**
 * Maps what an SDK call threw to an `ApiError`. `attempted` names the permission and the resource
 * the call needed (the SDK's error does not), for the explain link of an AccessDenied.
 */
export function toApiError(e: unknown, attempted?: { action: string; resource: string }): ApiError {
  const err = e as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string }; $response?: unknown }
  const meta = err?.$metadata
  if (!meta) {
    return { code: 'ConsoleError', message: 'The request could not be sent to the server.', status: 0 }
  }
  const code = err.Code ?? err.name ?? 'UnknownError'
  const out: ApiError = { code, message: err.message || code, status: meta.httpStatusCode ?? 0, requestId: meta.requestId }
  if (attempted && DENIED.has(code)) out.explain = attempted
  return out
}

/** Whether a value is an SDK service error (a page handler that lets one escape gets it rendered). */
export function isSdkError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && '$metadata' in e && typeof (e as { name?: unknown }).name === 'string'
}

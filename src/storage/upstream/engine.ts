/**
 * @module The connection to one upstream S3 engine: an SDK v3 client set up for engines that are
 * not AWS (see docs/decisions/upstream-storage.md), the translation of its errors into mrap's,
 * and the health state routing reads.
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { isS3Error, type S3Error, type S3ErrorCode, s3Error } from '../../shared/errors.js'
import { EngineClock } from './clock.js'
import type { UpstreamConfig } from './config.js'
import { type EngineResponse, Wire, type WireRequest } from './wire.js'

/** Engine error codes that mean the same thing to mrap's client and pass through as they are. */
const PASS_THROUGH = new Set<S3ErrorCode>([
  'NoSuchKey',
  'NoSuchVersion',
  'NoSuchUpload',
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'EntityTooLarge',
  'BucketNotEmpty',
  'InvalidRange',
  'PreconditionFailed',
  'NotModified',
  'MethodNotAllowed',
  'MetadataTooLarge',
  'KeyTooLongError',
  'SlowDown',
  'InvalidArgument',
  'InvalidRequest',
  'InvalidDigest',
  'BadDigest',
  'InvalidTag',
])

export interface EngineErrorInfo {
  code: string | undefined
  status: number | undefined
  headers: Record<string, string>
}

/** What an SDK error says: the engine's code, HTTP status and response headers (none if it never answered). */
export function errorInfo(err: unknown): EngineErrorInfo {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } }
  return { code: e?.Code ?? e?.name, status: e?.$metadata?.httpStatusCode, headers: e?.$response?.headers ?? {} }
}

export class Engine {
  readonly client: S3Client
  /** Hand-signed GET/HEAD/PUT of one object (wire.ts says why), on connections of its own (conn.ts). */
  private readonly wire: Wire
  readonly clock = new EngineClock()
  private down = false
  private probing: Promise<boolean> | undefined
  private probedAt = 0
  /** When the engine last answered a signed request of mrap's (a probe or any object call). */
  private answeredAt = 0
  /** Called when the engine answers again after being down (it may have lost state meanwhile). */
  onRecover: () => void = () => {}

  constructor(
    readonly region: string,
    cfg: UpstreamConfig,
  ) {
    const agentOpts = { keepAlive: true, maxSockets: cfg.maxSockets ?? 64 }
    const httpAgent = new HttpAgent(agentOpts)
    const httpsAgent = new HttpsAgent(agentOpts)
    this.wire = new Wire(cfg)
    this.client = new S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
      // A retry hidden here would replay a streamed body (impossible) or delay failover: routing
      // decides where to go next, so one attempt and the error goes up.
      maxAttempts: 1,
      // SDK >= 3.729 adds CRC checksums and aws-chunked trailers by default, which Ceph Pacific
      // and other engines reject or ignore (aws/aws-sdk-js-v3#6819); mrap checks checksums itself.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent,
        httpsAgent,
        connectionTimeout: cfg.connectTimeoutMs ?? 1000,
        requestTimeout: cfg.requestTimeoutMs ?? 30_000,
      }),
    })
  }

  /**
   * Runs one engine call; every failure leaves as an S3Error (see `translate`), except the error
   * of a call mrap aborted itself through `signal` (as in `request`).
   */
  async call<T>(fn: (client: S3Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      const out = await fn(this.client)
      this.up()
      return out
    } catch (err) {
      if (signal?.aborted) throw err
      throw this.translate(err)
    }
  }

  /**
   * One hand-signed object request (wire.ts); resolves at the answer's headers, with the local
   * times it was sent and heard (for `clock`). Failures leave as an S3Error, as `call`'s do.
   */
  async request(r: WireRequest, mapError?: (err: unknown) => unknown): Promise<{ res: EngineResponse; sent: number; received: number }> {
    const sent = Date.now()
    try {
      const res = await this.wire.request(r)
      const received = Date.now()
      this.clock.observe(sent, received, res.headers.date)
      this.up()
      return { res, sent, received }
    } catch (err) {
      // Aborted by mrap (a client's body failed mid-stream): the engine is fine, so no
      // ServiceUnavailable and no region marked down; the caller throws the body's own error.
      if (r.signal?.aborted) throw err
      throw this.translate(mapError ? mapError(err) : err)
    }
  }

  /**
   * An engine that does not answer, answers 5xx or refuses mrap's own credentials cannot serve
   * the region: ServiceUnavailable, and the region is marked down until a probe succeeds. Other
   * answers become the S3 error they name; engine messages are not forwarded (they may name the
   * engine's buckets, which clients must not learn).
   */
  translate(err: unknown): S3Error {
    if (isS3Error(err)) return err
    const { code, status } = errorInfo(err)
    if (code === 'SlowDown') return s3Error('SlowDown')
    if (status === undefined || status >= 500 || status === 403 || code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') {
      this.down = true
      return s3Error('ServiceUnavailable', { fields: { Region: this.region } })
    }
    // HEAD answers have no body, so the SDK names a 404 only 'NotFound'.
    if (status === 404 && code === 'NotFound') return s3Error('NoSuchKey')
    if (code && PASS_THROUGH.has(code as S3ErrorCode)) return s3Error(code as S3ErrorCode)
    return s3Error('InternalError', { message: `The storage engine of region ${this.region} answered ${status} ${code ?? ''}`.trim() })
  }

  /**
   * True when the engine answers a signed request; asked at most every 250 ms, and not at all
   * while requests are answered (a ListBuckets every 500 ms per node was engine work no client
   * asked for, taken from the requests that prove the same).
   */
  async healthy(): Promise<boolean> {
    if (this.probing) return this.probing
    if (Date.now() - this.probedAt < 250) return !this.down
    if (!this.down && Date.now() - this.answeredAt < 250) return true
    this.probing = (async () => {
      try {
        await this.client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(2000) })
        this.up()
      } catch {
        this.down = true
      } finally {
        this.probedAt = Date.now()
        this.probing = undefined
      }
      return !this.down
    })()
    return this.probing
  }

  /**
   * ServiceUnavailable while the engine is known down: for answers mrap could give from its own
   * records (listUploads), so a down region fails the same way for every call.
   */
  assertUp(): void {
    if (this.down) throw s3Error('ServiceUnavailable', { fields: { Region: this.region } })
  }

  private up(): void {
    this.answeredAt = Date.now()
    if (!this.down) return
    this.down = false
    this.onRecover()
  }

  destroy(): void {
    this.client.destroy()
    this.wire.destroy()
  }
}

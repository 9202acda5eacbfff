/**
 * @module Hand-signed engine requests for the hot object calls (GET, HEAD, PUT of one object).
 *
 * Why not the SDK here: profiled under bench/upstream.ts, the SDK v3 middleware stack (endpoint
 * rules, serde, its signer, checksum and retry plumbing) took ~40% of mrap's busy time for a 1 KiB
 * GET, more than mrap's own pipeline. These calls need none of it: one path-style or virtual-host
 * URL, SigV4 with a signing key cached per day, and keep-alive connections of their own (conn.ts
 * says why not node:http's client). Everything else (listings, multipart, buckets, the health
 * probe, readers.ts) stays on the SDK. Errors are shaped as the SDK's (`Code`, `$metadata`,
 * `$response.headers`) so `Engine.translate` and `errorInfo` read them unchanged.
 */
import type { Readable } from 'node:stream'
import { EMPTY_SHA256, hmac, sha256Hex, uriEncode } from '../../auth/canonical.js'
import { HmacSha256 } from '../../auth/hmac.js'
import { s3Error } from '../../shared/errors.js'
import type { UpstreamConfig } from './config.js'
import { type EngineResponse, Pool } from './conn.js'

export type { EngineResponse }

export interface WireRequest {
  method: 'GET' | 'HEAD' | 'PUT'
  bucket: string
  key: string
  query?: Record<string, string>
  /** Lower-case names. */
  headers?: Record<string, string>
  body?: Buffer | Readable
  signal?: AbortSignal
}

/** An engine answer that is not 2xx, in the shape `errorInfo` reads from SDK errors. */
export class EngineHttpError extends Error {
  readonly Code: string
  readonly $metadata: { httpStatusCode: number }
  readonly $response: { headers: Record<string, string> }
  constructor(code: string, status: number, headers: Record<string, string>) {
    super(`engine answered ${status} ${code}`)
    this.name = code
    this.Code = code
    this.$metadata = { httpStatusCode: status }
    this.$response = { headers }
  }
}

/** What the SDK names a bodiless error answer (HEAD), so callers see the same codes either way. */
const BODILESS: Record<number, string> = { 304: 'NotModified', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 412: 'PreconditionFailed' }

/** What cannot be in a header line: its end, or a NUL (node:http refused the same). */
const BAD_HEADER = /[\r\n\0]/

export class Wire {
  private readonly url: URL
  private readonly pool: Pool
  private signingDay = ''
  private signer: HmacSha256 | undefined

  constructor(private readonly cfg: UpstreamConfig) {
    this.url = new URL(cfg.endpoint)
    this.pool = new Pool({ url: this.url, maxSockets: cfg.maxSockets ?? 64, connectTimeoutMs: cfg.connectTimeoutMs ?? 1000, requestTimeoutMs: cfg.requestTimeoutMs ?? 30_000 })
  }

  /**
   * Sends one signed request; resolves with the response once its headers arrived (2xx only; the
   * caller reads or drains the body). Other answers reject with EngineHttpError after their
   * (small, XML) body is read; a connection failure rejects with the socket's error.
   */
  async request(r: WireRequest): Promise<EngineResponse> {
    const path = `/${r.key.split('/').map(uriEncode).join('/')}`
    const host = this.cfg.forcePathStyle ? this.url.host : `${r.bucket}.${this.url.host}`
    const uri = this.cfg.forcePathStyle ? `/${r.bucket}${path}` : path
    const query = Object.entries(r.query ?? {})
      .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    const qs = query.map(([k, v]) => `${k}=${v}`).join('&')
    const now = new Date()
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '')
    const day = amzDate.slice(0, 8)
    // A body in memory (and no body) is signed with its hash, as the SDK does, so a party on
    // the path to an http:// engine cannot swap it; a streamed body is UNSIGNED-PAYLOAD, since
    // hashing it first would mean holding it (mrap checked the client's digests already).
    const payload = r.body === undefined ? EMPTY_SHA256 : Buffer.isBuffer(r.body) ? sha256Hex(r.body) : 'UNSIGNED-PAYLOAD'
    const headers: Record<string, string> = { ...r.headers, host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate }
    if (Buffer.isBuffer(r.body)) headers['content-length'] = String(r.body.length)
    const names = Object.keys(headers).sort()
    let canonical = `${r.method}\n${uri}\n${qs}\n`
    for (const n of names) canonical += `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`
    canonical += `\n${names.join(';')}\n${payload}`
    const scope = `${day}/${this.cfg.region}/s3/aws4_request`
    const signature = this.signerFor(day).digest(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`, 'hex')
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.cfg.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`

    let head = `${r.method} ${qs ? `${uri}?${qs}` : uri} HTTP/1.1\r\n`
    for (const n in headers) {
      const v = headers[n]!
      if (BAD_HEADER.test(v) || BAD_HEADER.test(n)) throw s3Error('InvalidArgument', { message: `The header ${n} cannot be sent to the storage engine` })
      head += `${n}: ${v}\r\n`
    }
    const res = await this.pool.request(r.method, `${head}\r\n`, r.body, r.signal)
    const status = res.statusCode
    if (status >= 200 && status < 300) return res
    const chunks: Buffer[] = []
    let size = 0
    return new Promise<never>((_resolve, reject) => {
      res.on('data', (c: Buffer) => {
        if (size < 65536) {
          chunks.push(c)
          size += c.length
        }
      })
      res.once('error', reject)
      res.once('end', () => {
        const xml = Buffer.concat(chunks).toString('utf8')
        const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? BODILESS[status] ?? `Http${status}`
        reject(new EngineHttpError(code, status, { ...res.headers }))
      })
    })
  }

  destroy(): void {
    this.pool.destroy()
  }

  /** The SigV4 signing key for `day`, derived once a day (it is four HMACs). */
  private signerFor(day: string): HmacSha256 {
    if (day !== this.signingDay || !this.signer) {
      const k = hmac(hmac(hmac(hmac(`AWS4${this.cfg.secretAccessKey}`, day), this.cfg.region), 's3'), 'aws4_request')
      this.signer = new HmacSha256(k)
      this.signingDay = day
    }
    return this.signer
  }
}

/** Reads a whole (small) response body. */
export function readAll(res: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    res.once('error', reject)
  })
}

/**
 * @module Hand-signed engine requests for the hot object calls (GET, HEAD, PUT of one object).
 *
 * Why not the SDK here: profiled under bench/upstream.ts, the SDK v3 middleware stack (endpoint
 * rules, serde, its signer, checksum and retry plumbing) took ~40% of mrap's busy time for a 1 KiB
 * GET, more than mrap's own pipeline. These calls need none of it: one path-style or virtual-host
 * URL, SigV4 with a signing key cached per day, and a keep-alive Agent. Everything else (listings,
 * multipart, buckets, the health probe, readers.ts) stays on the SDK, and both share one
 * Agent so a connection serves either. Errors are shaped as the SDK's (`Code`, `$metadata`,
 * `$response.headers`) so `Engine.translate` and `errorInfo` read them unchanged.
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { EMPTY_SHA256, hmac, sha256Hex, uriEncode } from '../../auth/canonical.js'
import { HmacSha256 } from '../../auth/hmac.js'
import type { UpstreamConfig } from './config.js'

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

export function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
  return out
}

export class Wire {
  private readonly url: URL
  private readonly send: typeof httpRequest
  private signingDay = ''
  private signer: HmacSha256 | undefined

  constructor(private readonly cfg: UpstreamConfig, private readonly agent: Agent) {
    this.url = new URL(cfg.endpoint)
    this.send = this.url.protocol === 'https:' ? httpsRequest : httpRequest
  }

  /**
   * Sends one signed request; resolves with the response once its headers arrived (2xx only; the
   * caller reads or drains the body). Other answers reject with EngineHttpError after their
   * (small, XML) body is read; a connection failure rejects with the socket's error.
   */
  request(r: WireRequest): Promise<IncomingMessage> {
    const path = `/${r.key.split('/').map(uriEncode).join('/')}`
    const host = this.cfg.forcePathStyle ? this.url.host : `${r.bucket}.${this.url.host}`
    const uri = this.cfg.forcePathStyle ? `/${r.bucket}${path}` : path
    const query = Object.entries(r.query ?? {}).map(([k, v]) => [uriEncode(k), uriEncode(v)] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
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

    return new Promise((resolve, reject) => {
      const req = this.send({
        protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, method: r.method,
        path: qs ? `${uri}?${qs}` : uri, headers, agent: this.agent,
      })
      let settled = false
      const fail = (e: Error): void => { if (!settled) { settled = true; reject(e) } }
      const onAbort = (): void => { req.destroy(r.signal?.reason instanceof Error ? r.signal.reason : new Error('aborted')) }
      if (r.signal?.aborted) onAbort()
      r.signal?.addEventListener('abort', onAbort, { once: true })
      req.once('close', () => r.signal?.removeEventListener('abort', onAbort))
      req.on('error', fail)
      // A connection that does not open in time means the engine is down (as the SDK handler's connectionTimeout).
      req.once('socket', (s) => {
        if (!s.connecting) return
        const t = setTimeout(() => req.destroy(new Error(`connect timeout after ${this.cfg.connectTimeoutMs ?? 1000} ms`)), this.cfg.connectTimeoutMs ?? 1000)
        s.once('connect', () => clearTimeout(t)).once('close', () => clearTimeout(t))
      })
      req.setTimeout(this.cfg.requestTimeoutMs ?? 30_000, () => req.destroy(new Error('engine request timed out')))
      req.once('response', (res) => {
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) { settled = true; resolve(res); return }
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => { if (size < 65536) { chunks.push(c); size += c.length } })
        res.once('error', fail)
        res.once('end', () => {
          const xml = Buffer.concat(chunks).toString('utf8')
          const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? BODILESS[status] ?? `Http${status}`
          fail(new EngineHttpError(code, status, flatHeaders(res.headers)))
        })
      })
      if (r.body === undefined) req.end()
      else if (Buffer.isBuffer(r.body)) req.end(r.body)
      else {
        // pipe() does not forward a source error: the caller aborts through `signal` instead.
        r.body.pipe(req)
      }
    })
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
export function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    res.once('error', reject)
  })
}

/**
 * Hand-built requests for cases an SDK will not send (bad digests, broken framing, odd headers):
 * signed with @smithy/signature-v4, sent with node:http.
 */

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { request } from 'node:http'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { ADMIN } from './server.js'

function toBytes(d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof d === 'string') return d
  if (d instanceof ArrayBuffer) return new Uint8Array(d)
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** The hash constructor SignatureV4 wants, on node:crypto. */
export class Sha256 {
  private readonly h: Hash | Hmac
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256')
  }
  update(d: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(d))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface RawOptions {
  method: string
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: string | Buffer
  creds?: { accessKeyId: string; secretAccessKey: string } | null
  region?: string
  /** Sign with x-amz-content-sha256 UNSIGNED-PAYLOAD instead of the body's hash. */
  unsignedPayload?: boolean
  signingDate?: Date
}

export async function rawRequest(endpoint: string, o: RawOptions): Promise<RawResponse> {
  const url = new URL(endpoint)
  const headers: Record<string, string> = { host: url.host, ...(o.headers ?? {}) }
  if (o.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) headers['content-length'] = String(Buffer.byteLength(o.body))
  if (o.unsignedPayload) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
  let req = new HttpRequest({
    method: o.method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: o.path,
    query: o.query ?? {},
    headers,
    ...(o.body !== undefined ? { body: o.body } : {}),
  })
  if (o.creds !== null) {
    const signer = new SignatureV4({
      credentials: o.creds ?? ADMIN,
      region: o.region ?? 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: !o.unsignedPayload,
    })
    req = (await signer.sign(req, o.signingDate ? { signingDate: o.signingDate } : {})) as HttpRequest
  }
  const qs = new URLSearchParams(req.query as Record<string, string>).toString().replace(/\+/g, '%20')
  return send(url, o.method, req.path + (qs ? `?${qs}` : ''), req.headers, o.body)
}

export function send(url: URL, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    r.on('error', reject)
    if (body !== undefined) r.end(body)
    else r.end()
  })
}

/** The <Code> of an S3 error body. */
export function codeOf(body: string): string | undefined {
  return body.match(/<Code>([^<]*)<\/Code>/)?.[1]
}

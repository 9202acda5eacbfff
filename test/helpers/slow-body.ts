/**
 * A signed PutObject whose body the test writes when it chooses: for uploads that must be in flight
 * while something else happens (a second server, a stall timeout). Signed with UNSIGNED-PAYLOAD so
 * the headers can go out before the bytes exist; Content-Length is declared up front.
 */
import { type ClientRequest, request } from 'node:http'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { type RawResponse, Sha256 } from './raw.js'
import { ADMIN } from './server.js'

export interface OpenPut {
  /** Writes bytes of the body now. */
  write(b: Buffer): Promise<void>
  /** Ends the body (after the last write) and waits for the response. */
  finish(): Promise<RawResponse>
  /** The response, whenever it comes (e.g. the server gives up on a stalled body). */
  response: Promise<RawResponse>
  /** The client request, to watch its socket. */
  req: ClientRequest
}

export async function openPut(
  endpoint: string,
  path: string,
  contentLength: number,
  creds = ADMIN,
  extra: Record<string, string> = {},
  query: Record<string, string> = {},
): Promise<OpenPut> {
  const url = new URL(endpoint)
  const headers: Record<string, string> = { ...extra, host: url.host, 'content-length': String(contentLength), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const signed = await signer.sign(new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query, headers }))
  const qs = new URLSearchParams(query).toString()
  // A fresh connection each: no agent pooling hides which socket the server closes.
  const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: qs ? `${path}?${qs}` : path, headers: signed.headers, agent: false })
  const response = new Promise<RawResponse>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  response.catch(() => {})
  req.flushHeaders()
  return {
    req,
    response,
    write: (b) => new Promise<void>((resolve, reject) => req.write(b, (e) => (e ? reject(e) : resolve()))),
    finish: () => {
      req.end()
      return response
    },
  }
}

/**
 * SigV4 signing for the benches, with no side effects on import (bench/harness.ts installs exit
 * handlers; bench/upstream.ts and bench/fleet.ts keep their own): a node:crypto SHA-256 for the
 * Smithy signers, and presigned path-style URLs (X-Amz-Expires=3600, UNSIGNED-PAYLOAD) the load
 * generators replay.
 */

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'

type SourceData = string | ArrayBuffer | ArrayBufferView
const bytes = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d))

/** The Smithy `Checksum` shape over node:crypto (the signers' default is the slower JS one). */
export class NodeSha256 {
  private h: Hash | Hmac
  private readonly s: string | Uint8Array | undefined
  constructor(secret?: SourceData) {
    this.s = secret === undefined ? undefined : bytes(secret)
    this.h = this.fresh()
  }
  private fresh(): Hash | Hmac {
    return this.s !== undefined ? createHmac('sha256', this.s) : createHash('sha256')
  }
  update(d: SourceData): void {
    this.h.update(bytes(d))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
  reset(): void {
    this.h = this.fresh()
  }
}

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
}

/** A presigned SigV4 URL for `method` on `/<bucket>/<key>` of `endpoint` (us-east-1, path-style). */
export async function presignUrl(creds: Credentials, method: 'GET' | 'PUT', endpoint: string, bucket: string, key: string): Promise<string> {
  const u = new URL(endpoint)
  const path = `/${bucket}/${key}`
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: creds, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false })
  const signed = await signer.presign(
    new HttpRequest({ method, protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers: { host: u.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } }),
    { expiresIn: 3600 },
  )
  const q = Object.entries(signed.query ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x ?? '')}`))
  return `${u.origin}${path}?${q.join('&')}`
}

/**
 * MRAP clients for tests: the JS SDK v3 with its pure-JS SigV4A signer, calling the real AWS host
 * name (clients ignore custom endpoints for MRAP ARNs) through an mrap forward proxy, trusting mrap's CA.
 */
import '@aws-sdk/signature-v4a'
import { readFileSync } from 'node:fs'
import { S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { HttpsProxyAgent } from 'https-proxy-agent'
import type { TestServer } from './server.js'
import { ADMIN } from './server.js'

/** https-proxy-agent applies its own `ca` to the proxy hop only; the tunnelled TLS needs it too. */
export class CaProxyAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: string,
    private readonly caPem: Buffer,
  ) {
    super(proxy, { keepAlive: true })
  }
  override connect(req: Parameters<HttpsProxyAgent<string>['connect']>[0], opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    return super.connect(req, { ...opts, ca: this.caPem } as typeof opts)
  }
}

export function proxiedS3Client(
  s: TestServer,
  opts: { creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; proxy?: string; region?: string } = {},
): S3Client {
  const agent = new CaProxyAgent(opts.proxy ?? s.proxy, readFileSync(s.caPath))
  return new S3Client({
    region: opts.region ?? 'us-east-1',
    credentials: opts.creds ?? ADMIN,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: agent, httpAgent: agent }),
  })
}

export function mrapArnOf(owner: string, alias: string): string {
  return `arn:aws:s3::${owner}:accesspoint/${alias}`
}

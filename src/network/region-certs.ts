/**
 * @module Certificates for the AWS names of Regions the world does not have. A client told
 * `--region us-east-2` calls `s3.us-east-2.amazonaws.com` or `<account>.s3-control.us-east-2…`;
 * the server certificate covers only the world's regions, so without this the client's TLS check
 * fails with a name mismatch that lists every name the certificate holds. Instead the TLS listener
 * asks here by SNI, gets a certificate for that region's names (issued once by mrap's CA, kept in
 * memory), and the request reaches the service, which answers as AWS would for a region where the
 * resource is not: S3 redirects to the bucket's region, S3 Control names the Regions its API
 * answers in, EC2 refuses the region (docs/decisions/unserved-regions.md).
 */
import { createSecureContext, type SecureContext } from 'node:tls'
import { type HostConfig, REGION_NAME, resolveTarget } from '../http/target.js'
import { issueRegionCertificate, type TlsMaterial } from './ca.js'

/** Region-shaped labels are unbounded; the certificates kept are not (the least recently asked for goes). */
const MAX_REGIONS = 64

/** The TLS context for a server name, or undefined when the server certificate is the one to show. */
export type SniLookup = (servername: string) => Promise<SecureContext | undefined>

export function unservedRegionCertificates(tls: TlsMaterial, cfg: HostConfig, servedRegions: readonly string[]): SniLookup {
  const served = new Set(servedRegions)
  const cache = new Map<string, Promise<SecureContext>>()
  return (servername) => {
    const host = servername.toLowerCase()
    if (!host.endsWith('.' + cfg.dnsSuffix)) return Promise.resolve(undefined)
    const t = resolveTarget(host, cfg)
    const region = 'region' in t ? t.region : undefined
    if (region === undefined || served.has(region) || !REGION_NAME.test(region)) return Promise.resolve(undefined)
    let ctx = cache.get(region)
    if (ctx) {
      cache.delete(region)
    } else {
      ctx = issueRegionCertificate(tls, cfg.dnsSuffix, region).then((cert) => createSecureContext({ cert, key: tls.keyPem, minVersion: 'TLSv1.2' }))
      // A failed issue is not kept: the next handshake tries again.
      ctx.catch(() => {
        if (cache.get(region) === ctx) cache.delete(region)
      })
    }
    cache.set(region, ctx)
    if (cache.size > MAX_REGIONS) cache.delete(cache.keys().next().value!)
    return ctx
  }
}

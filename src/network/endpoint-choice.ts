/**
 * @module Which VPC endpoint carries a request, from the VPC's region, its endpoints and the target
 * the request's host names: the one rule both the VPC proxies and `mrap explain` apply, so what
 * explain predicts for a VPC path is what the server does. Pure: structural inputs, no registry.
 */
import type { Target } from '../http/target.js'

export const S3_GLOBAL_SERVICE = 'com.amazonaws.s3-global.accesspoint'
export const regionalS3Service = (region: string): string => `com.amazonaws.${region}.s3`

/** The fields of an endpoint the choice reads (an EndpointRecord and explain's model are both one). */
export interface EndpointShape {
  type: 'Interface' | 'Gateway'
  service: string
  privateDns: boolean
  /** Private DNS answers only the VPC's inbound Resolver endpoint, so the VPC's own clients use the gateway. */
  privateDnsOnlyForInboundResolver?: boolean
}

/** What a request's host names, as far as the choice goes. */
export type EndpointTarget = Pick<Target, 'kind'> & { region?: string | undefined }

/**
 * MRAP names go only to an s3-global interface endpoint with private DNS
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html).
 * Regional S3 of the VPC's own region goes to its gateway endpoint (bucket traffic; S3 Control is
 * not in its prefix list), else to its interface endpoint whose private DNS serves the VPC itself
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/privatelink-interface-endpoints.html).
 * Anything else has no endpoint: the VPC's internet path, or nothing.
 */
export function chooseEndpoint<E extends EndpointShape>(vpcRegion: string, endpoints: readonly E[], target: EndpointTarget): E | undefined {
  if (target.kind === 'mrap') {
    return endpoints.find((e) => e.type === 'Interface' && e.service === S3_GLOBAL_SERVICE && e.privateDns)
  }
  const regional = target.kind === 'bucket' || target.kind === 'service' || target.kind === 'control' ? target.region : undefined
  if (regional === undefined || regional !== vpcRegion) return undefined
  const svc = regionalS3Service(vpcRegion)
  if (target.kind !== 'control') {
    const gw = endpoints.find((e) => e.type === 'Gateway' && e.service === svc)
    if (gw) return gw
  }
  return endpoints.find((e) => e.type === 'Interface' && e.service === svc && e.privateDns && !e.privateDnsOnlyForInboundResolver)
}

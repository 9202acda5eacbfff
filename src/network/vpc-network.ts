/**
 * @module A VPC as a network (docs/aws/privatelink.md): what each AWS name resolves to from inside it, given
 * its endpoints, their private DNS, and whether it has a path to the internet.
 *
 * - `*.accesspoint.s3-global.<suffix>` (MRAPs): the VPC's `com.amazonaws.s3-global.accesspoint`
 *   interface endpoint when its private DNS is on. Only that endpoint can carry MRAP traffic
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html);
 *   gateway and regional S3 interface endpoints never do.
 * - Regional S3 of the VPC's own region (`s3.<region>`, `<bucket>.s3.<region>`, and S3 Control
 *   `<account>.s3-control.<region>`): a gateway endpoint `com.amazonaws.<region>.s3` (route table,
 *   bucket traffic only), or an interface endpoint for it with private DNS
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/privatelink-interface-endpoints.html).
 * - Everything else, and the above without an endpoint: the internet (NAT / internet gateway)
 *   when the VPC has one, else refused, as in a private subnet.
 * Through an endpoint a request carries aws:SourceVpce, aws:SourceVpc and aws:VpcSourceIp (no
 * aws:SourceIp) and the endpoint's policy; on the internet path it carries aws:SourceIp (the VPC's
 * public address). Both originate in the VPC's region (MRAP proximity routing).
 * Endpoint-specific names (`*.vpce.amazonaws.com`) are refused: AWS has no certificate for them.
 */
import type { Socket } from 'node:net'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import { resolveTarget, servesHost, type Target } from '../http/target.js'
import { chooseEndpoint } from './endpoint-choice.js'
import type { ProxyNetwork, ProxyVerdict } from './proxy.js'
import { DENY_ALL_ENDPOINT_POLICY, type EndpointRecord, type VpcRecord, type VpcRegistry, vpcPublicIp, vpcSourceIp } from './vpcs.js'

export interface VpcNetwork extends ProxyNetwork {
  readonly vpcId: string
  /**
   * Closes the tunnels that go through `endpointId` (it changed or went away), or all of them.
   * Tunnels on other paths (the internet, other endpoints) stay: a request that changed the
   * endpoint may itself be on one of them, and existing connections keep their route, as TCP
   * connections to an address resolved earlier would.
   */
  closeTunnels(endpointId?: string): void
}

export function vpcNetwork(s: Core, registry: VpcRegistry, vpcId: string): VpcNetwork {
  const tunnels = new Map<Socket, string | undefined>()
  const hostCfg = () => ({ dnsSuffix: s.world.dnsSuffix, endpointHosts: s.config.endpointHosts })
  return {
    vpcId,
    get name() {
      const v = registry.vpc(vpcId)
      return v?.tags.Name ? `${vpcId} (${v.tags.Name})` : vpcId
    },
    resolve(hostname, port, _clientIp, clientPort) {
      const vpc = registry.vpc(vpcId)
      if (!vpc) return { kind: 'refuse', status: 502, reason: `the VPC ${vpcId} no longer exists` }
      const host = hostname.toLowerCase()
      if (host.endsWith(`.vpce.${s.world.dnsSuffix}`)) {
        return {
          kind: 'refuse',
          status: 403,
          reason: `${host} is an endpoint-specific DNS name, which cannot be used directly (AWS has no certificate for it); call the service's own name, which private DNS resolves to the endpoint`,
        }
      }
      if (!servesHost(host, hostCfg())) {
        return { kind: 'refuse', status: 403, reason: `${host} is not a name mrap serves (this proxy never connects outside mrap)` }
      }
      if (port !== 443 && port !== 80) return { kind: 'refuse', status: 403, reason: `only ports 80 and 443 are served, not ${port}` }
      const secure = port === 443
      const endpoint = endpointFor(registry, vpc, resolveTarget(host, hostCfg()))
      if (endpoint) {
        const privateIp = vpcSourceIp(vpc.cidr, clientPort ?? 0)
        const origin: Origin = {
          sourceIp: privateIp,
          secure,
          region: vpc.region,
          vpc: { endpointId: endpoint.id, vpcId: vpc.id, sourceIp: privateIp },
        }
        const policy = s.policies.get(endpoint.policy, 'endpoint', `policy of ${endpoint.id}`)
        // A stored policy always compiles (it was validated when written); a policy that somehow
        // does not must deny, never let everything through.
        origin.endpointPolicy = policy ?? s.policies.get(DENY_ALL_ENDPOINT_POLICY, 'endpoint')!
        return { kind: 'serve', origin }
      }
      if (vpc.internet) return { kind: 'serve', origin: { sourceIp: vpcPublicIp(vpc.id), secure, region: vpc.region } }
      return {
        kind: 'refuse',
        status: 403,
        reason: `${host} is not reachable from ${vpc.id}: the VPC has no endpoint that serves it with private DNS and no path to the internet (a private subnet)`,
      }
    },
    tunnel(socket: Socket, verdict: ProxyVerdict & { kind: 'serve' }) {
      tunnels.set(socket, verdict.origin.vpc?.endpointId)
      socket.once('close', () => tunnels.delete(socket))
    },
    closeTunnels(endpointId?: string) {
      for (const [t, via] of tunnels) {
        if (endpointId !== undefined && via !== endpointId) continue
        t.destroy()
        tunnels.delete(t)
      }
    },
  }
}

/** The endpoint that carries traffic for `target` from inside `vpc`, if any (network/endpoint-choice.ts). */
export function endpointFor(registry: VpcRegistry, vpc: VpcRecord, target: Target): EndpointRecord | undefined {
  return chooseEndpoint(vpc.region, registry.listEndpoints({ vpcId: vpc.id }), target)
}

/**
 * @module What EC2 checks when an endpoint is created or its policy replaced, shared by the EC2 API
 * and the world file: the services mrap offers and their endpoint types, the placement rules
 * (route tables only for gateways, subnets only for interfaces, one private DNS name per VPC) and
 * the policy (validated by the policy engine: grammar, Principal required, 20,480 characters).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 */
import type { Core } from '../core/core.js'
import type { Ec2ErrorCode } from '../shared/errors.js'
import { type EndpointType, privateDnsNames, regionalS3Service, S3_GLOBAL_SERVICE } from './vpcs.js'

export interface OfferedService {
  name: string
  types: EndpointType[]
  /** The private DNS name (interface endpoints with private DNS on). */
  privateDnsName?: string
}

/**
 * The endpoint services a region offers: `com.amazonaws.s3-global.accesspoint` (interface only;
 * mrap offers it in every region of the world, where AWS does not say: docs/aws/privatelink.md §DNS) and
 * the region's own S3 (gateway and interface).
 */
export function offeredServices(s: Core, region: string): OfferedService[] {
  if (!s.world.regions.some((r) => r.name === region)) return []
  const suffix = s.world.dnsSuffix
  return [
    { name: regionalS3Service(region), types: ['Gateway', 'Interface'], privateDnsName: `*.s3.${region}.${suffix}` },
    { name: S3_GLOBAL_SERVICE, types: ['Interface'], privateDnsName: `*.accesspoint.s3-global.${suffix}` },
  ].sort((a, b) => a.name.localeCompare(b.name)) as OfferedService[]
}

export interface EndpointProblem {
  code: Ec2ErrorCode
  message: string
}

export interface EndpointRequest {
  region: string
  type: string
  service: string
  privateDns: boolean
  policy: string | undefined
  subnets: string[]
  routeTables: string[]
  privateDnsOnlyForInboundResolver?: boolean
  /** The VPC's other endpoints. */
  others: { type: string; service: string; privateDns: boolean }[]
}

const MAX_POLICY_CHARS = 20480

export function checkEndpointRequest(s: Core, r: EndpointRequest): EndpointProblem | undefined {
  const svc = offeredServices(s, r.region).find((x) => x.name === r.service)
  if (!svc) return { code: 'InvalidServiceName', message: `The Vpc Endpoint Service '${r.service}' does not exist` }
  if (!(svc.types as string[]).includes(r.type)) {
    return { code: 'InvalidParameter', message: `Endpoint type (${r.type}) does not match available service types ([${svc.types.join(', ')}]).` }
  }
  if (r.type === 'Interface' && r.routeTables.length > 0) return { code: 'InvalidParameter', message: 'Route table IDs are only supported for Gateway type VPC Endpoint.' }
  if (r.type === 'Gateway' && r.subnets.length > 0)
    return { code: 'InvalidParameter', message: 'Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.' }
  if (r.type === 'Gateway' && r.privateDns) return { code: 'InvalidParameter', message: 'Private DNS can only be enabled for Interface type VPC Endpoint.' }
  if (r.type === 'Gateway' && r.others.some((o) => o.type === 'Gateway' && o.service === r.service)) {
    return { code: 'RouteAlreadyExists', message: `A route to the prefix list of ${r.service} already exists in the route table of this VPC.` }
  }
  if (r.type === 'Interface' && r.privateDns) {
    const names = privateDnsNames(r.service, s.world.dnsSuffix)
    if (r.others.some((o) => o.type === 'Interface' && o.service === r.service && o.privateDns)) {
      return { code: 'InvalidParameter', message: `private-dns-enabled cannot be set because there is already a conflicting DNS domain for ${names[0] ?? r.service} in the VPC` }
    }
  }
  if (r.privateDnsOnlyForInboundResolver === true) {
    if (r.service === S3_GLOBAL_SERVICE || r.type !== 'Interface') {
      return { code: 'InvalidParameter', message: 'PrivateDnsOnlyForInboundResolverEndpoint is only supported for services that have both gateway and interface endpoints.' }
    }
    if (!r.others.some((o) => o.type === 'Gateway' && o.service === r.service)) {
      return { code: 'InvalidParameter', message: 'To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC must have a gateway endpoint for the service.' }
    }
  }
  if (r.policy !== undefined) return checkEndpointPolicy(s, r.policy)
  return undefined
}

/** An endpoint policy as EC2 judges it when written (InvalidPolicyDocument, 400). */
export function checkEndpointPolicy(s: Core, text: string): EndpointProblem | undefined {
  if (text.length > MAX_POLICY_CHARS) {
    return { code: 'InvalidPolicyDocument', message: `The Policy Document is not valid. Policy document exceeds the maximum length of ${MAX_POLICY_CHARS} characters.` }
  }
  const p = s.policies.problems(text, { kind: 'endpoint' })[0]
  if (p) return { code: 'InvalidPolicyDocument', message: `The Policy Document is not valid. ${p.message}` }
  return undefined
}

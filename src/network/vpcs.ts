/**
 * @module VPCs and VPC endpoints as the server holds them: records persisted through the state seam
 * (like the MRAP registry), in-memory indexes that follow the store's change events (this node's
 * writes and other nodes' alike, docs/decisions/shared-state.md), and change events of their own
 * (the per-VPC forward proxies follow them: a VPC created through EC2 on any node gets its proxy at
 * once, a deleted one's proxy closes).
 * The model: docs/aws/privatelink.md.
 * https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
 */
import { createHash, randomBytes } from 'node:crypto'
import type { StateOp, StateStore } from '../state/state-store.js'
import { regionalS3Service, S3_GLOBAL_SERVICE } from './endpoint-choice.js'
import { GROUP_NS, RecordIndex, type SecurityGroupRecord, SUBNET_NS, type SubnetRecord } from './subnets.js'

export type EndpointType = 'Interface' | 'Gateway'

export interface VpcRecord {
  id: string
  owner: string
  region: string
  cidr: string
  /** Whether the VPC has a path to the internet (an internet gateway or NAT); else a private subnet. */
  internet: boolean
  /**
   * EC2's enableDnsSupport / enableDnsHostnames. Left out (world-file VPCs, VPCs stored before the
   * attributes existed): both on, since such VPCs may carry private-DNS endpoints.
   */
  dnsSupport?: boolean
  dnsHostnames?: boolean
  /** EC2's enableNetworkAddressUsageMetrics (recorded only). */
  addressUsageMetrics?: boolean
  tags: Record<string, string>
  createdAt: string
}

export interface EndpointRecord {
  id: string
  vpcId: string
  owner: string
  region: string
  type: EndpointType
  service: string
  /** Policy text (default: full access, docs/aws/privatelink.md §Endpoint policy). */
  policy: string
  privateDns: boolean
  /** S3 interface endpoints only: private DNS answers the inbound resolver only (in-VPC traffic uses the gateway). */
  privateDnsOnlyForInboundResolver?: boolean
  subnets: string[]
  securityGroups: string[]
  routeTables: string[]
  tags: Record<string, string>
  createdAt: string
  /** The 8-character label of the endpoint-specific DNS name. */
  dnsLabel: string
  clientToken?: string
  /** A fingerprint of the CreateVpcEndpoint request made with clientToken (idempotency). */
  requestHash?: string
}

export { regionalS3Service, S3_GLOBAL_SERVICE }

/** The full-access policy as the documentation prints it (docs/aws/privatelink.md §Endpoint policy): what explain assumes for an endpoint it knows no policy of. */
export const DEFAULT_ENDPOINT_POLICY = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'

/**
 * The default policy text EC2 attaches when none is given, byte for byte as DescribeVpcEndpoints
 * returns it, which differs by endpoint type (docs/aws/privatelink.md §Endpoint policy): a gateway
 * endpoint's carries `"Version":"2008-10-17"`, an interface endpoint's has no Version and comes
 * pretty-printed. The documentation shows neither (only the Statement); scripts compare what AWS returns.
 */
export const DEFAULT_GATEWAY_ENDPOINT_POLICY = '{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'
export const DEFAULT_INTERFACE_ENDPOINT_POLICY =
  '{\n  "Statement": [\n    {\n      "Action": "*", \n      "Effect": "Allow", \n      "Principal": "*", \n      "Resource": "*"\n    }\n  ]\n}'

export function defaultEndpointPolicy(type: EndpointType): string {
  return type === 'Gateway' ? DEFAULT_GATEWAY_ENDPOINT_POLICY : DEFAULT_INTERFACE_ENDPOINT_POLICY
}

/** Whether a policy text is one of the defaults (world export leaves those out). */
export function isDefaultEndpointPolicy(text: string): boolean {
  return text === DEFAULT_ENDPOINT_POLICY || text === DEFAULT_GATEWAY_ENDPOINT_POLICY || text === DEFAULT_INTERFACE_ENDPOINT_POLICY
}

/** What stands in for an endpoint policy that does not compile: it denies, never lets all through. */
export const DENY_ALL_ENDPOINT_POLICY = '{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}'

export type VpcEvent = { kind: 'vpc-created'; vpc: VpcRecord } | { kind: 'vpc-deleted'; vpc: VpcRecord } | { kind: 'endpoint-changed'; vpcId: string; endpointId: string }

const VPC_NS = 'vpc'
const VPCE_NS = 'vpce'

/** `vpc-` / `vpce-` + 17 hex digits, as EC2 issues them. */
export function newResourceId(prefix: 'vpc' | 'vpce'): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`
}

function dnsLabel(): string {
  const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const b = randomBytes(8)
  let s = ''
  for (const x of b) s += alnum[x % alnum.length]!
  return s
}

export class VpcRegistry {
  private readonly vpcs = new Map<string, VpcRecord>()
  private readonly endpoints = new Map<string, EndpointRecord>()
  private readonly listeners: ((e: VpcEvent) => void)[] = []
  readonly subnets: RecordIndex<SubnetRecord>
  readonly groups: RecordIndex<SecurityGroupRecord>

  constructor(private readonly store: StateStore) {
    this.subnets = new RecordIndex(store, SUBNET_NS)
    this.groups = new RecordIndex(store, GROUP_NS)
    this.load()
    store.onChange((c) => {
      if (c.kind === 'reload') {
        this.reload()
        return
      }
      if (c.kind !== 'record') return
      if (c.ns === VPC_NS) this.followVpc(c.key, c.value === undefined ? undefined : (JSON.parse(c.value) as VpcRecord))
      else if (c.ns === VPCE_NS) this.followEndpoint(c.key, c.value === undefined ? undefined : (JSON.parse(c.value) as EndpointRecord))
    })
  }

  private load(): void {
    for (const { value } of this.store.list(VPC_NS)) {
      const r = JSON.parse(value) as VpcRecord
      this.vpcs.set(r.id, r)
    }
    for (const { value } of this.store.list(VPCE_NS)) {
      const r = JSON.parse(value) as EndpointRecord
      this.endpoints.set(r.id, r)
    }
  }

  /** The store re-read everything: the maps follow, with an event for each difference. */
  private reload(): void {
    const vpcs = new Map(this.store.list(VPC_NS).map(({ key, value }) => [key, JSON.parse(value) as VpcRecord]))
    const eps = new Map(this.store.list(VPCE_NS).map(({ key, value }) => [key, JSON.parse(value) as EndpointRecord]))
    for (const id of [...this.endpoints.keys()]) if (!eps.has(id)) this.followEndpoint(id, undefined)
    for (const id of [...this.vpcs.keys()]) if (!vpcs.has(id)) this.followVpc(id, undefined)
    for (const [id, r] of vpcs) this.followVpc(id, r)
    for (const [id, r] of eps) if (JSON.stringify(r) !== JSON.stringify(this.endpoints.get(id))) this.followEndpoint(id, r)
  }

  private followVpc(id: string, rec: VpcRecord | undefined): void {
    const cur = this.vpcs.get(id)
    if (rec) {
      this.vpcs.set(id, rec)
      if (!cur) this.emit({ kind: 'vpc-created', vpc: rec })
    } else if (cur) {
      this.vpcs.delete(id)
      this.emit({ kind: 'vpc-deleted', vpc: cur })
    }
  }

  private followEndpoint(id: string, rec: EndpointRecord | undefined): void {
    const cur = this.endpoints.get(id)
    if (rec) this.endpoints.set(id, rec)
    else if (cur) this.endpoints.delete(id)
    else return
    this.emit({ kind: 'endpoint-changed', vpcId: (rec ?? cur)!.vpcId, endpointId: id })
  }

  onChange(fn: (e: VpcEvent) => void): () => void {
    this.listeners.push(fn)
    return () => {
      const i = this.listeners.indexOf(fn)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  private emit(e: VpcEvent): void {
    for (const l of [...this.listeners]) l(e)
  }

  vpc(id: string): VpcRecord | undefined {
    return this.vpcs.get(id)
  }
  endpoint(id: string): EndpointRecord | undefined {
    return this.endpoints.get(id)
  }

  listVpcs(filter: { owner?: string; region?: string } = {}): VpcRecord[] {
    return [...this.vpcs.values()]
      .filter((v) => (filter.owner === undefined || v.owner === filter.owner) && (filter.region === undefined || v.region === filter.region))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
  }

  listEndpoints(filter: { owner?: string; region?: string; vpcId?: string } = {}): EndpointRecord[] {
    return [...this.endpoints.values()]
      .filter(
        (e) =>
          (filter.owner === undefined || e.owner === filter.owner) &&
          (filter.region === undefined || e.region === filter.region) &&
          (filter.vpcId === undefined || e.vpcId === filter.vpcId),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
  }

  /** A VPC by id or by its Name tag (`mrap exec --vpc seed-vpc`). */
  find(ref: string): VpcRecord | undefined {
    return this.vpcs.get(ref) ?? [...this.vpcs.values()].find((v) => v.tags.Name === ref)
  }

  /** The maps change when the store reports the write (before the promise resolves). */
  async putVpc(rec: VpcRecord): Promise<void> {
    await this.store.write([putVpcOp(rec)])
  }

  /** The VPC and what is in it (endpoints, subnets, security groups), in one batch. */
  async deleteVpc(id: string): Promise<void> {
    if (!this.vpcs.has(id)) return
    await this.store.write([
      ...this.listEndpoints({ vpcId: id }).map((e) => deleteEndpointOp(e.id)),
      ...this.subnets.list((x) => x.vpcId === id).map((x) => this.subnets.deleteOp(x.id)),
      ...this.groups.list((x) => x.vpcId === id).map((x) => this.groups.deleteOp(x.id)),
      { op: 'delete', ns: VPC_NS, key: id },
    ])
  }

  async putEndpoint(rec: EndpointRecord): Promise<void> {
    await this.store.write([putEndpointOp(rec)])
  }

  async deleteEndpoint(id: string): Promise<void> {
    if (!this.endpoints.has(id)) return
    await this.store.write([deleteEndpointOp(id)])
  }

  newVpcId(): string {
    for (;;) {
      const id = newResourceId('vpc')
      if (!this.vpcs.has(id)) return id
    }
  }

  newEndpoint(fields: Omit<EndpointRecord, 'id' | 'dnsLabel' | 'createdAt'> & { id?: string; createdAt: string }): EndpointRecord {
    let id = fields.id
    while (id === undefined || (fields.id === undefined && this.endpoints.has(id))) id = newResourceId('vpce')
    return { ...fields, id, dnsLabel: dnsLabel() }
  }
}

/** Batch ops (a world apply writes VPCs with everything else in one batch). */
export function putVpcOp(rec: VpcRecord): StateOp {
  return { op: 'put', ns: VPC_NS, key: rec.id, value: JSON.stringify(rec) }
}
export function putEndpointOp(rec: EndpointRecord): StateOp {
  return { op: 'put', ns: VPCE_NS, key: rec.id, value: JSON.stringify(rec) }
}
function deleteEndpointOp(id: string): StateOp {
  return { op: 'delete', ns: VPCE_NS, key: id }
}

/** The endpoint-specific regional DNS name (listed, not usable directly: docs/aws/privatelink.md §DNS). */
export function endpointDnsName(e: EndpointRecord, dnsSuffix: string): string {
  if (e.service === S3_GLOBAL_SERVICE) return `${e.id}-${e.dnsLabel}.accesspoint.s3-global.${e.region}.vpce.${dnsSuffix}`
  return `*.${e.id}-${e.dnsLabel}.s3.${e.region}.vpce.${dnsSuffix}`
}

/** The names private DNS answers inside the VPC for an endpoint of `service`. */
export function privateDnsNames(service: string, dnsSuffix: string): string[] {
  if (service === S3_GLOBAL_SERVICE) return [`*.accesspoint.s3-global.${dnsSuffix}`]
  const m = service.match(/^com\.amazonaws\.([a-z0-9-]+)\.s3$/)
  if (!m) return []
  const r = m[1]!
  return [`s3.${r}.${dnsSuffix}`, `*.s3.${r}.${dnsSuffix}`, `*.s3-control.${r}.${dnsSuffix}`, `*.s3-accesspoint.${r}.${dnsSuffix}`]
}

/** A stable id-like hosted zone per region (EC2 lists one with each DNS entry). */
export function hostedZoneId(region: string): string {
  return (
    'Z' +
    createHash('sha256')
      .update(`vpce:${region}`)
      .digest('hex')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .slice(0, 13)
  )
}

// ---------------------------------------------------------------- addresses

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

/** Parses `a.b.c.d/n` (IPv4); undefined when not a CIDR block. */
export function parseCidr(cidr: string): { base: number; prefix: number } | undefined {
  const m = cidr.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/)
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const prefix = Number(m[5])
  if (octets.some((o) => o > 255) || prefix > 32) return undefined
  const size = 2 ** (32 - prefix)
  const base = Math.floor(ipToInt(octets.join('.')) / size) * size
  return { base, prefix }
}

/**
 * aws:VpcSourceIp of a client connection: a private address inside the VPC's CIDR, derived from
 * the client's local TCP port, so it is stable for the life of the connection (and distinct
 * connections usually differ). The first four addresses and the last are reserved in every AWS
 * subnet (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html), so never used.
 */
export function vpcSourceIp(cidr: string, clientPort: number): string {
  const c = parseCidr(cidr) ?? { base: ipToInt('10.0.0.0'), prefix: 16 }
  const size = 2 ** (32 - c.prefix)
  const usable = Math.max(1, size - 5)
  return intToIp(c.base + 4 + (clientPort % usable))
}

/**
 * The public address a VPC's traffic leaves by when it takes the internet path (its NAT or internet
 * gateway): a stable address per VPC from 203.0.113.0/24 (TEST-NET-3, RFC 5737), so aws:SourceIp
 * is never a private address and never a real one.
 */
export function vpcPublicIp(vpcId: string): string {
  const h = createHash('sha256').update(vpcId).digest()
  return `203.0.113.${1 + (h[0]! % 254)}`
}

/**
 * @module Subnets and security groups of the VPCs: records persisted through the state seam (one
 * namespace each, like VPCs and endpoints, so they work on SQLite and PostgreSQL state alike), an
 * in-memory index that follows the store's change events, the Availability Zones of a region, and
 * the CIDR arithmetic CreateSubnet checks.
 * Every VPC has a default security group that is never stored: its id is derived from the VPC's,
 * so VPCs made before groups existed, and those of the world file, have one too, and it goes with
 * its VPC (https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html).
 * https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
 */
import { createHash, randomBytes } from 'node:crypto'
import type { StateOp, StateStore } from '../state/state-store.js'

export interface SubnetRecord {
  id: string
  vpcId: string
  owner: string
  region: string
  cidr: string
  availabilityZone: string
  tags: Record<string, string>
  createdAt: string
}

export interface SecurityGroupRecord {
  id: string
  vpcId: string
  owner: string
  region: string
  name: string
  description: string
  tags: Record<string, string>
  createdAt: string
}

export const SUBNET_NS = 'subnet'
export const GROUP_NS = 'sg'

/** `subnet-` / `sg-` + 17 hex digits, as EC2 issues them. */
export function newNetId(prefix: 'subnet' | 'sg'): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`
}

/** The VPC's default security group: a stable id, named `default`, described as EC2 describes it. */
export function defaultGroupOf(vpc: { id: string; owner: string; region: string; createdAt: string }): SecurityGroupRecord {
  const id = `sg-${createHash('sha256').update(`default:${vpc.id}`).digest('hex').slice(0, 17)}`
  return { id, vpcId: vpc.id, owner: vpc.owner, region: vpc.region, name: 'default', description: 'default VPC security group', tags: {}, createdAt: vpc.createdAt }
}

/**
 * A region's Availability Zones: three, `<region>a` to `<region>c`, with zone ids in AWS's
 * `use1-az1` form. AWS maps names to ids per account; one mapping for all is enough here.
 */
export function availabilityZones(region: string): { name: string; id: string }[] {
  const parts = region.split('-')
  const dir: Record<string, string> = { east: 'e', west: 'w', north: 'n', south: 's', central: 'c', northeast: 'ne', northwest: 'nw', southeast: 'se', southwest: 'sw' }
  const short = parts.length === 3 ? `${parts[0]}${dir[parts[1]!] ?? parts[1]!.slice(0, 1)}${parts[2]}` : region.replace(/-/g, '')
  return ['a', 'b', 'c'].map((l, i) => ({ name: `${region}${l}`, id: `${short}-az${i + 1}` }))
}

/** The network interface an interface endpoint has in a subnet: a stable id per (endpoint, subnet). */
export function eniId(endpointId: string, subnetId: string): string {
  return `eni-${createHash('sha256').update(`${endpointId}:${subnetId}`).digest('hex').slice(0, 17)}`
}

/** The interface's private address: stable, inside the subnet, never one of its five reserved addresses. */
export function eniAddress(subnetCidr: string, eni: string): string | undefined {
  const b = block(subnetCidr)
  if (!b) return undefined
  const n = b.base + 4 + (createHash('sha256').update(eni).digest().readUInt32BE(0) % Math.max(1, b.size - 5))
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.')
}

// ---------------------------------------------------------------- CIDR arithmetic

export interface Block {
  base: number
  prefix: number
  size: number
}

/** An IPv4 CIDR block; undefined when not one. The base must be the network address (EC2 refuses host bits). */
export function block(cidr: string): (Block & { aligned: boolean }) | undefined {
  const m = cidr.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/)
  if (!m) return undefined
  const o = m.slice(1, 5).map(Number)
  const prefix = Number(m[5])
  if (o.some((x) => x > 255) || prefix > 32) return undefined
  const ip = o.reduce((a, x) => a * 256 + x, 0)
  const size = 2 ** (32 - prefix)
  const base = Math.floor(ip / size) * size
  return { base, prefix, size, aligned: base === ip }
}

export function within(inner: Block, outer: Block): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size
}

export function overlaps(a: Block, b: Block): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size
}

// ---------------------------------------------------------------- the index

/** The records of one namespace, in memory, following the store (this node's writes and other nodes'). */
export class RecordIndex<T extends { id: string; createdAt: string }> {
  private readonly map = new Map<string, T>()

  constructor(
    private readonly store: StateStore,
    private readonly ns: string,
  ) {
    this.reload()
    store.onChange((c) => {
      if (c.kind === 'reload') this.reload()
      else if (c.kind === 'record' && c.ns === ns) {
        if (c.value === undefined) this.map.delete(c.key)
        else this.map.set(c.key, JSON.parse(c.value) as T)
      }
    })
  }

  private reload(): void {
    this.map.clear()
    for (const { key, value } of this.store.list(this.ns)) this.map.set(key, JSON.parse(value) as T)
  }

  get(id: string): T | undefined {
    return this.map.get(id)
  }
  has(id: string): boolean {
    return this.map.has(id)
  }

  list(pred: (r: T) => boolean = () => true): T[] {
    return [...this.map.values()].filter(pred).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
  }

  putOp(rec: T): StateOp {
    return { op: 'put', ns: this.ns, key: rec.id, value: JSON.stringify(rec) }
  }
  deleteOp(id: string): StateOp {
    return { op: 'delete', ns: this.ns, key: id }
  }

  /** The map changes when the store reports the write (before the promise resolves). */
  async put(rec: T): Promise<void> {
    await this.store.write([this.putOp(rec)])
  }
  async delete(id: string): Promise<void> {
    if (this.map.has(id)) await this.store.write([this.deleteOp(id)])
  }
}

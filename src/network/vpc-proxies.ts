/**
 * @module One forward proxy (HTTP CONNECT) per VPC, on an ephemeral loopback port: the way a client
 * "sits" in a VPC (`mrap exec --vpc`, or HTTPS_PROXY set by hand). Proxies follow the VPC registry:
 * a VPC created through EC2 gets its proxy at once, a deleted VPC's proxy and tunnels close, and a
 * changed or deleted endpoint closes the tunnels through it (as its network interfaces going away
 * would) so the next connection sees the new DNS and policy. Every change is reported
 * through `onChange` so `server.json` can list the proxies (`vpcProxies`).
 */

import type { Core } from '../core/core.js'
import type { FrontDoor, Listening } from '../http/server.js'
import { listenProxy } from './proxy.js'
import { type VpcNetwork, vpcNetwork } from './vpc-network.js'
import type { VpcEvent, VpcRegistry } from './vpcs.js'

export interface VpcProxyInfo {
  proxy: string
  name?: string
  region: string
}

interface Running {
  listening: Listening
  network: VpcNetwork
}

export class VpcProxies {
  private readonly running = new Map<string, Running>()
  private readonly pending = new Map<string, Promise<void>>()
  private unsubscribe?: () => void
  private closed = false

  constructor(
    private readonly s: Core,
    private readonly registry: VpcRegistry,
    private readonly front: FrontDoor,
    private readonly host: string,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Starts a proxy for every VPC and follows the registry from now on. */
  async start(): Promise<void> {
    this.unsubscribe = this.registry.onChange((e) => this.follow(e))
    await Promise.all(this.registry.listVpcs().map((v) => this.open(v.id)))
  }

  /** Resolves when every proxy start or stop already asked for has happened. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()])
  }

  /** `server.json`'s `vpcProxies`: proxy URL, Name tag and region per VPC id. */
  info(): Record<string, VpcProxyInfo> {
    const out: Record<string, VpcProxyInfo> = {}
    const hostPart = this.host.includes(':') ? `[${this.host}]` : this.host
    for (const [id, r] of this.running) {
      const v = this.registry.vpc(id)
      if (!v) continue
      out[id] = { proxy: `http://${hostPart}:${r.listening.port}`, region: v.region, ...(v.tags.Name !== undefined ? { name: v.tags.Name } : {}) }
    }
    return out
  }

  /** The proxy URL of a VPC (by id or Name tag). */
  proxyOf(ref: string): string | undefined {
    const v = this.registry.find(ref)
    return v ? this.info()[v.id]?.proxy : undefined
  }

  async close(): Promise<void> {
    this.closed = true
    this.unsubscribe?.()
    await this.settled()
    await Promise.all([...this.running.keys()].map((id) => this.shut(id)))
  }

  private follow(e: VpcEvent): void {
    if (e.kind === 'vpc-created') this.track(e.vpc.id, this.open(e.vpc.id))
    else if (e.kind === 'vpc-deleted') this.track(e.vpc.id, this.shut(e.vpc.id))
    else this.running.get(e.vpcId)?.network.closeTunnels(e.endpointId)
  }

  private track(id: string, p: Promise<void>): void {
    const chained = (this.pending.get(id) ?? Promise.resolve())
      .then(() => p)
      .catch((err: unknown) => {
        this.s.log.error({ err, vpc: id }, 'VPC proxy change failed')
      })
      .finally(() => {
        if (this.pending.get(id) === chained) this.pending.delete(id)
      })
    this.pending.set(id, chained)
  }

  private async open(id: string): Promise<void> {
    if (this.closed || this.running.has(id)) return
    const network = vpcNetwork(this.s, this.registry, id)
    const listening = await listenProxy(this.front, network, this.host, 0)
    // The VPC may have been deleted while the listener was starting.
    if (this.closed || !this.registry.vpc(id)) {
      await listening.close()
      return
    }
    this.running.set(id, { listening, network })
    this.s.log.info({ vpc: id, proxy: `${this.host}:${listening.port}` }, 'VPC proxy listening')
    this.onChange()
  }

  private async shut(id: string): Promise<void> {
    const r = this.running.get(id)
    if (!r) return
    this.running.delete(id)
    r.network.closeTunnels()
    await r.listening.close()
    this.onChange()
  }
}

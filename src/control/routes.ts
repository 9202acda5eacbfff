/**
 * @module Failover controls: GetMultiRegionAccessPointRoutes and SubmitMultiRegionAccessPointRoutes
 * (synchronous, answered in five Regions). A Region is active at dial 100 and passive at 0; Regions a
 * request leaves out keep their dial; a configuration with every Region passive is refused. New
 * dials reach data-plane requests after a configurable delay (AWS: "up to 2 minutes"). With shared
 * state every node follows the MRAP records, so a flip submitted on one node is obeyed by the others
 * as soon as their state catches up (under a second, docs/decisions/shared-state.md).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/FailoverConfiguration.html
 */
import type { Logger } from 'pino'
import type { MrapRecord, MrapRegistry } from '../mrap/registry.js'
import { s3Error } from '../shared/errors.js'
import type { StateStore } from '../state/state-store.js'
import { catchUp } from './async-ops.js'
import { items, parseControlBody, str, type XmlNode } from './xml.js'

export interface RouteUpdate {
  bucket?: string
  region?: string
  dial: number
}

/** The dials a client sees: submitted ones win over those still in effect. */
export function currentDials(rec: MrapRecord): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of rec.regions) out[r.region] = r.trafficDialPercentage
  if (rec.pendingRoutes) Object.assign(out, rec.pendingRoutes.dials)
  return out
}

export function parseRouteUpdates(body: Buffer): RouteUpdate[] {
  const doc = parseControlBody(body, 'SubmitMultiRegionAccessPointRoutesRequest')
  const ru = doc.RouteUpdates
  if (ru === undefined || typeof ru !== 'object' || ru === null) throw s3Error('MalformedXML')
  const routes = items(ru as XmlNode, 'Route')
  if (routes.length === 0) throw s3Error('InvalidRequest', { message: 'RouteUpdates must contain at least one Route.' })
  return routes.map((r) => {
    const dialText = str(r, 'TrafficDialPercentage')
    if (dialText === undefined) throw s3Error('InvalidRequest', { message: 'TrafficDialPercentage is required in each Route.' })
    // docs/aws/mrap.md §Where AWS is silent: only the documented values (0 passive, 100 active).
    if (dialText !== '0' && dialText !== '100') throw s3Error('InvalidRequest', { message: `TrafficDialPercentage must be 0 (passive) or 100 (active), not ${dialText}.` })
    const u: RouteUpdate = { dial: Number(dialText) }
    const bucket = str(r, 'Bucket')
    if (bucket !== undefined && bucket !== '') u.bucket = bucket
    const region = str(r, 'Region')
    if (region !== undefined && region !== '') u.region = region
    if (u.bucket === undefined && u.region === undefined) throw s3Error('InvalidRequest', { message: 'Each Route must name a Bucket or a Region.' })
    return u
  })
}

/** The new dial per Region after applying the updates, or InvalidRequest. */
export function applyUpdates(rec: MrapRecord, updates: RouteUpdate[]): Record<string, number> {
  const dials = currentDials(rec)
  for (const u of updates) {
    const target = rec.regions.find((r) => (u.bucket === undefined || r.bucket === u.bucket) && (u.region === undefined || r.region === u.region))
    if (!target) {
      const what = u.bucket !== undefined && u.region !== undefined ? `bucket ${u.bucket} in ${u.region}` : u.bucket !== undefined ? `bucket ${u.bucket}` : `Region ${u.region}`
      throw s3Error('InvalidRequest', { message: `The Multi-Region Access Point has no ${what}.` })
    }
    dials[target.region] = u.dial
  }
  if (Object.values(dials).every((d) => d === 0)) {
    throw s3Error('InvalidRequest', { message: 'At least one Region must be active: every Region in the routing configuration would be passive.' })
  }
  return dials
}

/**
 * Writes submitted dials now, or as pending ones applied after the configured delay. Every write is
 * guarded by the MRAP record as this node saw it, so a flip made on another node meanwhile is not
 * undone: the update is re-planned from fresh state (or, for a due pending change, left to the node
 * that won).
 */
export class RouteApplier {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private unsubscribe: (() => void) | undefined
  private closed = false

  constructor(
    private readonly mraps: MrapRegistry,
    private readonly state: StateStore,
    private readonly opts: { delayMs: () => number; clock: () => Date; log: Logger },
  ) {}

  /**
   * Pending dials left by a previous run or written by any node: apply the due ones, schedule the
   * rest. Each node schedules them, so a pending change survives the node that accepted it.
   */
  resume(): void {
    if (this.closed) return
    this.unsubscribe ??= this.state.onChange((c) => {
      if (c.kind === 'reload') this.scan()
      else if (c.kind === 'record' && c.ns === 'mrap' && c.value !== undefined) {
        const rec = this.mraps.byAlias(c.key)
        if (rec?.pendingRoutes) this.schedule(rec.alias, Date.parse(rec.pendingRoutes.at) - this.opts.clock().getTime())
      }
    })
    this.scan()
  }

  private scan(): void {
    for (const rec of this.mraps.list()) if (rec.pendingRoutes) this.schedule(rec.alias, Date.parse(rec.pendingRoutes.at) - this.opts.clock().getTime())
  }

  /** Applies `updates` to the MRAP as stored; InvalidRequest when they do not fit it. */
  async submit(alias: string, updates: RouteUpdate[]): Promise<Record<string, number>> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const rec = this.mraps.byAlias(alias)
      if (!rec) throw s3Error('NoSuchMultiRegionAccessPoint', { message: `The specified Multi-Region Access Point does not exist: ${alias}` })
      const dials = applyUpdates(rec, updates)
      const delay = this.opts.delayMs()
      let next: MrapRecord
      if (delay <= 0) {
        next = { ...rec, regions: withDials(rec.regions, dials) }
        delete next.pendingRoutes
      } else {
        next = { ...rec, pendingRoutes: { at: new Date(this.opts.clock().getTime() + delay).toISOString(), dials } }
      }
      if (await this.state.write([...this.mraps.expectOps(alias), ...this.mraps.putOps(next)])) return dials
      await catchUp(this.state)
    }
    throw s3Error('ServiceUnavailable', { message: 'The Multi-Region Access Point is being changed concurrently; retry the request.' })
  }

  close(): void {
    this.closed = true
    this.unsubscribe?.()
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  private schedule(alias: string, delay: number): void {
    if (this.closed) return
    const old = this.timers.get(alias)
    if (old) clearTimeout(old)
    const t = setTimeout(
      () => {
        this.timers.delete(alias)
        this.applyPending(alias).catch((err: unknown) => {
          // A store closed under a timer (shutdown) is expected; PostgreSQL down: the backstop or the
          // next event brings the record back and it is scheduled again.
          if (!/not open/i.test((err as Error).message)) this.opts.log.warn({ err, alias }, 'applying MRAP routes failed')
        })
      },
      Math.max(0, delay),
    )
    t.unref()
    this.timers.set(alias, t)
  }

  private async applyPending(alias: string): Promise<void> {
    if (this.closed) return
    const rec = this.mraps.byAlias(alias)
    if (!rec?.pendingRoutes) return
    const next = { ...rec, regions: withDials(rec.regions, rec.pendingRoutes.dials) }
    delete next.pendingRoutes
    // False when another node applied it (or a newer flip arrived): its event reschedules what is left.
    await this.state.write([...this.mraps.expectOps(alias), ...this.mraps.putOps(next)])
  }
}

function withDials(regions: MrapRecord['regions'], dials: Record<string, number>): MrapRecord['regions'] {
  return regions.map((r) => ({ ...r, trafficDialPercentage: dials[r.region] ?? r.trafficDialPercentage }))
}

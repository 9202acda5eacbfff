/**
 * @module MRAP route choice, pure: the active (dial 100), healthy regions of an MRAP ordered by
 * proximity to the request's origin region; passive regions get no new requests; ties break by
 * region name so the same inputs always give the same answer.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRequestRouting.html
 */
import type { MrapRoute } from '../mrap/registry.js'
import type { LatencyTable } from './latency.js'

export interface RouteChoiceInput {
  routes: readonly MrapRoute[]
  originRegion: string
  isUp: (region: string) => boolean
  latency: LatencyTable
}

export function chooseRoutes(input: RouteChoiceInput): MrapRoute[] {
  return input.routes
    .filter((r) => r.trafficDialPercentage > 0 && input.isUp(r.region))
    .map((r) => ({ r, rtt: input.latency.rtt(input.originRegion, r.region) }))
    .sort((a, b) => a.rtt - b.rtt || (a.r.region < b.r.region ? -1 : a.r.region > b.r.region ? 1 : 0))
    .map((x) => x.r)
}

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
  // Insertion by (rtt, region name) into a short list: an MRAP has at most 17 regions, and this runs per request.
  const out: MrapRoute[] = []
  const rtts: number[] = []
  for (const r of input.routes) {
    if (r.trafficDialPercentage <= 0 || !input.isUp(r.region)) continue
    const rtt = input.latency.rtt(input.originRegion, r.region)
    let i = out.length
    while (i > 0 && (rtts[i - 1]! > rtt || (rtts[i - 1] === rtt && out[i - 1]!.region > r.region))) {
      out[i] = out[i - 1]!
      rtts[i] = rtts[i - 1]!
      i--
    }
    out[i] = r
    rtts[i] = rtt
  }
  return out
}

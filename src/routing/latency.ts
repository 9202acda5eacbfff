/**
 * @module Typical latency between regions, for MRAP proximity routing. AWS routes to the
 * "closest-proximity" active bucket; we model proximity as round-trip time estimated from the
 * great-circle distance between region locations (fibre at ~2/3 c plus routing overhead, ~1 ms per
 * 100 km round trip), overridable per pair in the world (`latencies`). Deterministic by design.
 */

/** Approximate locations (latitude, longitude) of AWS regions. */
const LOCATIONS: Record<string, [number, number]> = {
  'us-east-1': [38.9, -77.4],
  'us-east-2': [40.0, -83.0],
  'us-west-1': [37.4, -121.9],
  'us-west-2': [45.8, -119.7],
  'ca-central-1': [45.5, -73.6],
  'ca-west-1': [51.0, -114.1],
  'sa-east-1': [-23.5, -46.6],
  'mx-central-1': [20.6, -100.4],
  'eu-west-1': [53.3, -6.3],
  'eu-west-2': [51.5, -0.1],
  'eu-west-3': [48.9, 2.4],
  'eu-central-1': [50.1, 8.7],
  'eu-central-2': [47.4, 8.5],
  'eu-north-1': [59.3, 18.1],
  'eu-south-1': [45.5, 9.2],
  'eu-south-2': [41.7, -0.9],
  'me-south-1': [26.1, 50.6],
  'me-central-1': [24.5, 54.4],
  'il-central-1': [32.1, 34.8],
  'af-south-1': [-33.9, 18.4],
  'ap-south-1': [19.1, 72.9],
  'ap-south-2': [17.4, 78.5],
  'ap-east-1': [22.3, 114.2],
  'ap-northeast-1': [35.7, 139.7],
  'ap-northeast-2': [37.6, 127.0],
  'ap-northeast-3': [34.7, 135.5],
  'ap-southeast-1': [1.35, 103.8],
  'ap-southeast-2': [-33.9, 151.2],
  'ap-southeast-3': [-6.2, 106.8],
  'ap-southeast-4': [-37.8, 145.0],
  'ap-southeast-5': [3.1, 101.7],
}

/** Where a region is (latitude, longitude), for the console's schematic of an MRAP's regions. */
export function regionLocation(region: string): [number, number] | undefined {
  return LOCATIONS[region]
}

const EARTH_KM = 6371

function distanceKm(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180
  const dLat = (b[0] - a[0]) * rad,
    dLon = (b[1] - a[1]) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_KM * Math.asin(Math.sqrt(h))
}

export type LatencyOverrides = Record<string, Record<string, number>>

export class LatencyTable {
  constructor(private readonly overrides: LatencyOverrides = {}) {}

  /** Estimated round-trip milliseconds from `from` to `to` (0 within a region). */
  rtt(from: string, to: string): number {
    if (from === to) return 0
    const o = this.overrides[from]?.[to] ?? this.overrides[to]?.[from]
    if (o !== undefined) return o
    const a = LOCATIONS[from],
      b = LOCATIONS[to]
    // Unknown regions (a site of the user's own) sit far from everything unless the world says otherwise.
    if (!a || !b) return 1000
    return Math.round(2 + distanceKm(a, b) / 100)
  }
}

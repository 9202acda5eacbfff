/**
 * @module S3 Control settings for Multi-Region Access Points: limits, the regions the control plane
 * answers in, and the delays that make asynchronous operations observable. Defaults follow AWS;
 * a world file may override them under `control:` (docs/aws/mrap.md §Where AWS is silent).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRestrictions.html
 */
import type { World } from '../world/schema.js'

export interface ControlConfig {
  /** "You can create up to 100 Multi-Region Access Points per account." */
  maxMrapsPerAccount: number
  /** "A Multi-Region Access Point can have up to 17 Regions" (the 2023 list). */
  maxRegionsPerMrap: number
  /** Each step of an async operation (NEW → IN_PROGRESS → done) waits a random time in [min, max]. */
  asyncDelayMs: { min: number; max: number }
  /** Routing changes reach new data-plane requests after this long (AWS: up to 2 minutes). */
  routeDelayMs: number
  /** Create/Delete/Get/List/Describe/Policy calls "will always be routed to the US West (Oregon) Region". */
  managementRegions: readonly string[]
  /** GetMultiRegionAccessPointRoutes / SubmitMultiRegionAccessPointRoutes (API_control_SubmitMultiRegionAccessPointRoutes.html). */
  routeRegions: readonly string[]
}

export const DEFAULT_CONTROL_CONFIG: ControlConfig = {
  maxMrapsPerAccount: 100,
  maxRegionsPerMrap: 17,
  asyncDelayMs: { min: 0, max: 200 },
  routeDelayMs: 0,
  managementRegions: ['us-west-2'],
  routeRegions: ['us-east-1', 'us-west-2', 'ap-southeast-2', 'ap-northeast-1', 'eu-west-1'],
}

/** The settings, from the world's optional `control:` section (its shape is src/world/schema.ts's). */
export function controlConfigFrom(world: Pick<World, 'control'>): ControlConfig {
  const c = world.control ?? {}
  const out: ControlConfig = { ...DEFAULT_CONTROL_CONFIG }
  if (c.maxMrapsPerAccount !== undefined) out.maxMrapsPerAccount = c.maxMrapsPerAccount
  if (c.maxRegionsPerMrap !== undefined) out.maxRegionsPerMrap = c.maxRegionsPerMrap
  if (c.routeDelayMs !== undefined) out.routeDelayMs = c.routeDelayMs
  if (c.asyncDelayMs !== undefined) {
    out.asyncDelayMs =
      typeof c.asyncDelayMs === 'number'
        ? { min: c.asyncDelayMs, max: c.asyncDelayMs }
        : { min: Math.min(c.asyncDelayMs.min, c.asyncDelayMs.max), max: Math.max(c.asyncDelayMs.min, c.asyncDelayMs.max) }
  }
  return out
}

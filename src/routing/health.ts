/**
 * @module Region health for routing: a region whose storage fails is marked down at once (by the
 * request that saw the failure) and skipped by MRAP routing; a periodic probe brings it back when
 * its store answers again.
 */
import type { ObjectStore } from '../storage/types.js'

export class RegionHealth {
  private readonly down = new Set<string>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly stores: Map<string, ObjectStore>,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => void this.probe(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  isUp(region: string): boolean {
    return this.stores.has(region) && !this.down.has(region)
  }

  markDown(region: string): void {
    this.down.add(region)
  }

  /** Asks every store; used by the timer and by tests that need the state now. */
  async probe(): Promise<void> {
    for (const [region, store] of this.stores) {
      let ok = false
      try {
        ok = await store.healthy()
      } catch {
        ok = false
      }
      if (ok) this.down.delete(region)
      else this.down.add(region)
    }
  }

  downRegions(): string[] {
    return [...this.down].sort()
  }
}

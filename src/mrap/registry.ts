/**
 * @module Multi-Region Access Points as the server holds them: the record, and a registry persisted
 * in the control store with in-memory indexes by alias (data plane, every request) and by
 * (owner, name) (S3 Control). Aliases are never reused: retired ones are kept forever.
 */
import { randomInt } from 'node:crypto'
import type { BlockPublicAccess, ControlStore } from '../state/control-store.js'

export type MrapStatus = 'CREATING' | 'READY' | 'DELETING' | 'PARTIALLY_CREATED' | 'PARTIALLY_DELETED' | 'INCONSISTENT_ACROSS_REGIONS'

export interface MrapRoute {
  bucket: string
  bucketAccountId: string
  region: string
  /** 100 active, 0 passive (SubmitMultiRegionAccessPointRoutes). */
  trafficDialPercentage: number
}

export interface MrapRecord {
  name: string
  alias: string
  owner: string
  createdAt: string
  status: MrapStatus
  publicAccessBlock: BlockPublicAccess
  regions: MrapRoute[]
  /** The established policy text (Proposed equals Established once applied, which is immediate here). */
  policy?: string
  /** S3 Control: a policy accepted by PutMultiRegionAccessPointPolicy whose operation is still running. */
  proposedPolicy?: string
  /**
   * S3 Control: submitted traffic dials (by region) that new data-plane requests see from `at` on
   * (src/control applies them into `regions` then). GetMultiRegionAccessPointRoutes reports them.
   */
  pendingRoutes?: { at: string; dials: Record<string, number> }
}

const NS = 'mrap'
const RETIRED = 'mrap-retired-alias'

export function mrapArn(rec: Pick<MrapRecord, 'owner' | 'alias'>, partition = 'aws'): string {
  return `arn:${partition}:s3::${rec.owner}:accesspoint/${rec.alias}`
}

export class MrapRegistry {
  private readonly byAliasMap = new Map<string, MrapRecord>()

  constructor(private readonly store: ControlStore) {
    for (const { v } of store.kvList(NS)) {
      const rec = JSON.parse(v) as MrapRecord
      this.byAliasMap.set(rec.alias, rec)
    }
  }

  byAlias(alias: string): MrapRecord | undefined { return this.byAliasMap.get(alias) }

  byName(owner: string, name: string): MrapRecord | undefined {
    for (const r of this.byAliasMap.values()) if (r.owner === owner && r.name === name) return r
    return undefined
  }

  list(owner?: string): MrapRecord[] {
    return [...this.byAliasMap.values()].filter((r) => owner === undefined || r.owner === owner).sort((a, b) => a.name.localeCompare(b.name))
  }

  /** The MRAP (by alias) that holds a bucket, if any. */
  holding(bucket: string): MrapRecord | undefined {
    for (const r of this.byAliasMap.values()) if (r.regions.some((x) => x.bucket === bucket)) return r
    return undefined
  }

  put(rec: MrapRecord): void {
    this.store.kvPut(NS, rec.alias, JSON.stringify(rec))
    this.byAliasMap.set(rec.alias, rec)
  }

  delete(alias: string): void {
    this.store.transaction(() => {
      this.store.kvDelete(NS, alias)
      this.store.kvPut(RETIRED, alias, new Date().toISOString())
    })
    this.byAliasMap.delete(alias)
  }

  /** `[a-z][a-z0-9]{12}.mrap` from a CSPRNG, never one that was ever issued (docs/aws/mrap.md §Naming, §Where AWS is silent). */
  newAlias(): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz'
    const alnum = letters + '0123456789'
    for (;;) {
      let a = letters[randomInt(letters.length)]!
      for (let i = 0; i < 12; i++) a += alnum[randomInt(alnum.length)]!
      a += '.mrap'
      if (!this.byAliasMap.has(a) && this.store.kvGet(RETIRED, a) === undefined) return a
    }
  }

  /** Whether an alias was ever issued (live or retired). */
  known(alias: string): boolean {
    return this.byAliasMap.has(alias) || this.store.kvGet(RETIRED, alias) !== undefined
  }
}

/**
 * @module Multi-Region Access Points as the server holds them: the record, and a registry kept in
 * the shared control state (src/state/state-store.ts) with an in-memory index by alias (data
 * plane, every request; (owner, name) lookups scan it). The index follows the state's change
 * events, so an MRAP or a route flip written by another node is seen here within the state's
 * staleness bound (docs/decisions/shared-state.md). Aliases are never reused: retired ones are
 * kept forever, and creation is guarded so that two nodes cannot mint one alias or one name.
 */
import { randomInt } from 'node:crypto'
import type { BlockPublicAccess } from '../state/control-store.js'
import type { StateOp, StateStore } from '../state/state-store.js'

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
/** `<owner>/<name>` → alias: the guard that makes a name unique per account across nodes. */
const NAMES = 'mrap-name'

const nameKey = (owner: string, name: string): string => `${owner}/${name}`

export function mrapArn(rec: Pick<MrapRecord, 'owner' | 'alias'>, partition = 'aws'): string {
  return `arn:${partition}:s3::${rec.owner}:accesspoint/${rec.alias}`
}

export class MrapRegistry {
  private readonly byAliasMap = new Map<string, MrapRecord>()

  constructor(private readonly state: StateStore) {
    this.rebuild()
    // Local writes arrive here too (before the write's promise resolves), so the map always
    // equals the state: callers that do not await a put still read it on their next request.
    state.onChange((c) => {
      if (c.kind === 'reload') this.rebuild()
      else if (c.kind === 'record' && c.ns === NS) {
        if (c.value === undefined) this.byAliasMap.delete(c.key)
        else this.byAliasMap.set(c.key, JSON.parse(c.value) as MrapRecord)
      }
    })
  }

  private rebuild(): void {
    this.byAliasMap.clear()
    for (const { key, value } of this.state.list(NS)) this.byAliasMap.set(key, JSON.parse(value) as MrapRecord)
  }

  byAlias(alias: string): MrapRecord | undefined {
    return this.byAliasMap.get(alias)
  }

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

  /** The record's JSON as this node last saw it: the value an `expect` guard compares against. */
  stored(alias: string): string | undefined {
    return this.state.get(NS, alias)
  }

  /** A guard: the MRAP is still exactly as this node saw it (no other node changed it meanwhile). */
  expectOps(alias: string): StateOp[] {
    return [{ op: 'expect', ns: NS, key: alias, value: this.stored(alias) }]
  }

  /** Writes (creates or replaces) the record, unguarded: for changes to an MRAP that exists. */
  putOps(rec: MrapRecord): StateOp[] {
    return [{ op: 'put', ns: NS, key: rec.alias, value: JSON.stringify(rec) }]
  }

  /**
   * A new MRAP: the batch fails (write resolves false) if the alias is live or was ever issued,
   * or the owner already has an MRAP of that name, on any node.
   */
  createOps(rec: MrapRecord): StateOp[] {
    const nk = nameKey(rec.owner, rec.name)
    return [
      { op: 'expect', ns: NS, key: rec.alias, value: undefined },
      { op: 'expect', ns: RETIRED, key: rec.alias, value: undefined },
      { op: 'expect', ns: NAMES, key: nk, value: undefined },
      ...this.putOps(rec),
      { op: 'put', ns: NAMES, key: nk, value: rec.alias },
    ]
  }

  /** Deletes the MRAP and retires its alias for good; its name becomes free again. */
  retireOps(alias: string): StateOp[] {
    const ops: StateOp[] = [
      { op: 'delete', ns: NS, key: alias },
      { op: 'put', ns: RETIRED, key: alias, value: new Date().toISOString() },
    ]
    const rec = this.byAliasMap.get(alias)
    if (rec && this.state.get(NAMES, nameKey(rec.owner, rec.name)) === alias) ops.push({ op: 'delete', ns: NAMES, key: nameKey(rec.owner, rec.name) })
    return ops
  }

  async put(rec: MrapRecord): Promise<void> {
    await this.state.write(this.putOps(rec))
  }

  async delete(alias: string): Promise<void> {
    await this.state.write(this.retireOps(alias))
  }

  /** `[a-z][a-z0-9]{12}.mrap` from a CSPRNG, never one that was ever issued (docs/aws/mrap.md §Naming, §Where AWS is silent). */
  newAlias(): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz'
    const alnum = letters + '0123456789'
    for (;;) {
      let a = letters[randomInt(letters.length)]!
      for (let i = 0; i < 12; i++) a += alnum[randomInt(alnum.length)]!
      a += '.mrap'
      if (!this.known(a)) return a
    }
  }

  /** Whether an alias was ever issued (live or retired), as far as this node knows. */
  known(alias: string): boolean {
    return this.byAliasMap.has(alias) || this.state.get(RETIRED, alias) !== undefined
  }
}

/**
 * @module What makes a node one of a fleet: a stable node id (kept in its data dir) and, with
 * shared state, claims on the regions whose objects live in its data dir (`storage: embedded`).
 *
 * An embedded region's objects and their metadata are files on one node's disk. A second node
 * serving that region would answer from its own, different disk: objects written through one node
 * would be missing through the other. So the first node to serve such a region claims it in the
 * shared state (guarded, so of two nodes starting at once one wins), and any other node
 * configured to serve that region, whatever storage it declares for it, refuses to start. A fleet
 * needs upstream storage (an S3 engine every node reaches, docs/deploy.md) for every region
 * served by more than one node. A claim is moved only by the operator (`mrap fleet release`).
 */
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StartupError } from '../shared/startup-error.js'
import type { StateOp, StateStore } from './state-store.js'

export const NODE_ID_FILE = 'node-id'
export const CLAIMS_NS = 'fleet.embedded'

export interface RegionClaim {
  region: string
  node: string
  /** Where the claiming node ran, for the refusal message (the operator must find it). */
  host: string
  dataDir: string
  since: string
}

/** This data dir's node id, made once ('wx': two processes racing must agree on one). */
export function nodeId(dataDir: string): string {
  const file = join(dataDir, NODE_ID_FILE)
  const read = (): string | undefined => {
    try {
      return readFileSync(file, 'utf8').trim() || undefined
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }
  const have = read()
  if (have) return have
  try {
    writeFileSync(file, randomUUID() + '\n', { mode: 0o600, flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  const made = read()
  if (!made) throw new StartupError(`${file} is empty: remove it and start again`)
  return made
}

/**
 * Waits until this node's cache shows what the database holds. Shared state answers reads from a
 * cache that trails other nodes' writes by up to a second; a start-up decision (is this region
 * claimed, who won a guarded first write) must not rest on that lag.
 */
export async function readLatest(state: StateStore): Promise<void> {
  const s = state as StateStore & { sync?: () => Promise<void> }
  if (typeof s.sync === 'function') await s.sync()
}

export function listClaims(state: StateStore): RegionClaim[] {
  return state.list(CLAIMS_NS).map(({ value }) => JSON.parse(value) as RegionClaim)
}

export interface ServedRegion {
  name: string
  embedded: boolean
}

const refusal = (c: RegionClaim): string =>
  `region ${c.region} keeps its objects in the data dir of node ${c.node} (host ${c.host}, ${c.dataDir}; storage: embedded), ` +
  'so no other node may serve it: a fleet needs upstream storage (docs/deploy.md) for every region served by more than one node. ' +
  `To move the region to this node, stop node ${c.node} and run \`mrap fleet release ${c.region}\``

/**
 * Claims this node's embedded regions in shared state, and drops its own claims on regions it no
 * longer serves from its disk. Refuses (StartupError) when another node claims a region this node
 * serves. All of it is one guarded batch, so a refused node leaves no claim behind. With embedded
 * (one-node) state there is nobody to share with: nothing is recorded.
 */
export async function claimEmbeddedRegions(state: StateStore, node: { id: string; dataDir: string }, regions: readonly ServedRegion[]): Promise<void> {
  if (state.backend !== 'postgres') return
  for (let attempt = 0; attempt < 5; attempt++) {
    await readLatest(state)
    const claims = new Map(listClaims(state).map((c) => [c.region, c]))
    const served = new Set(regions.map((r) => r.name))
    const ops: StateOp[] = []
    for (const r of regions) {
      const c = claims.get(r.name)
      if (c && c.node !== node.id) throw new StartupError(refusal(c))
      const current = state.get(CLAIMS_NS, r.name)
      if (r.embedded && !c) {
        const claim: RegionClaim = { region: r.name, node: node.id, host: hostname(), dataDir: node.dataDir, since: new Date().toISOString() }
        ops.push({ op: 'expect', ns: CLAIMS_NS, key: r.name, value: undefined }, { op: 'put', ns: CLAIMS_NS, key: r.name, value: JSON.stringify(claim) })
      } else if (!r.embedded && c) {
        ops.push({ op: 'expect', ns: CLAIMS_NS, key: r.name, value: current }, { op: 'delete', ns: CLAIMS_NS, key: r.name })
      }
    }
    // A claim on a region this node no longer serves at all is stale too.
    for (const c of claims.values()) {
      if (c.node === node.id && !served.has(c.region)) {
        ops.push({ op: 'expect', ns: CLAIMS_NS, key: c.region, value: state.get(CLAIMS_NS, c.region) }, { op: 'delete', ns: CLAIMS_NS, key: c.region })
      }
    }
    if (ops.length === 0 || (await state.write(ops))) return
    // Another node changed a claim between our read and our write: look again.
  }
  throw new StartupError('the fleet region claims kept changing while this node started; start it again')
}

/** `mrap fleet release`: frees a region's claim so another node may serve it; the claim, or undefined when there was none. */
export async function releaseClaim(state: StateStore, region: string): Promise<RegionClaim | undefined> {
  const value = state.get(CLAIMS_NS, region)
  if (value === undefined) return undefined
  const ok = await state.write([
    { op: 'expect', ns: CLAIMS_NS, key: region, value },
    { op: 'delete', ns: CLAIMS_NS, key: region },
  ])
  return ok ? (JSON.parse(value) as RegionClaim) : releaseClaim(state, region)
}

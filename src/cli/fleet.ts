/**
 * @module `mrap keygen` (a sealing key file for a fleet) and `mrap fleet claims|release` (which node
 * holds which embedded region, and freeing one to move it: src/state/fleet.ts).
 */
import { writeSealingKeyFile } from '../iam/secret-box.js'
import { listClaims, releaseClaim } from '../state/fleet.js'
import type { PgStateStore } from '../state/postgres/pg-state.js'

export function keygenCommand(file: string): void {
  try {
    writeSealingKeyFile(file)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    console.error(`mrap keygen: ${err.code === 'EEXIST' ? `${file} exists; a sealing key is never overwritten (the secrets sealed with it would be lost)` : err.message}`)
    process.exit(1)
  }
  console.error(`mrap keygen: wrote ${file} (mode 0600); give every node of a fleet a copy: mrap serve --sealing-key-file ${file}`)
}

async function withState<T>(url: string | undefined, fn: (s: PgStateStore) => Promise<T>): Promise<T> {
  if (!url?.startsWith('postgres')) {
    console.error("mrap fleet: --state postgres://… (or MRAP_STATE) names the fleet's database")
    process.exit(1)
  }
  let state: PgStateStore
  try {
    // pg is loaded for these commands only (cli/main.ts imports every command module).
    const { PgStateStore } = await import('../state/postgres/pg-state.js')
    state = await PgStateStore.open({ connection: url, backstopMs: 60_000 })
  } catch (e) {
    console.error(`mrap fleet: cannot open the state: ${(e as Error).message}`)
    process.exit(1)
  }
  try {
    return await fn(state)
  } finally {
    await state.close()
  }
}

export async function fleetClaimsCommand(opts: { state?: string }): Promise<void> {
  await withState(opts.state, async (s) => {
    const claims = listClaims(s)
    if (claims.length === 0) console.log('no embedded region is claimed')
    for (const c of claims) console.log(`${c.region}\tnode ${c.node}\thost ${c.host}\t${c.dataDir}\tsince ${c.since}`)
  })
}

export async function fleetReleaseCommand(regions: string[], opts: { state?: string }): Promise<void> {
  const missing = await withState(opts.state, async (s) => {
    let none = 0
    for (const r of regions) {
      const c = await releaseClaim(s, r)
      if (c) console.log(`released ${r} (was node ${c.node} on ${c.host}, ${c.dataDir})`)
      else {
        console.error(`mrap fleet release: region ${r} is not claimed`)
        none++
      }
    }
    return none
  })
  if (missing > 0) process.exit(1)
}

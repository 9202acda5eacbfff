/**
 * @module `mrap world check|apply|export`: check a world file (no server needed), apply it to the
 * running server of a data directory, or print that server's state as a world file.
 */
import { readFileSync } from 'node:fs'
import { AdminError, adminRequest } from '../admin/client.js'
import { loadCatalog } from '../policy/index.js'
import { checkWorld } from '../world/check.js'
import { loadWorldFile, WorldFileError, worldError } from '../world/load.js'

function fail(e: unknown): never {
  if (e instanceof WorldFileError || e instanceof AdminError) {
    console.error(`mrap: ${e.message}`)
    process.exit(1)
  }
  throw e
}

export async function worldCheckCommand(file: string): Promise<void> {
  try {
    const world = loadWorldFile(file)
    const catalog = await loadCatalog()
    const issues = checkWorld(world, catalog ? { catalog } : {})
    if (issues.length > 0) throw worldError(world, issues)
    console.log(`${file}: ok (${world.accounts.length} accounts, ${world.buckets.length} buckets, ${world.mraps.length} MRAPs, ${world.vpcs.length} VPCs)`)
  } catch (e) {
    fail(e)
  }
}

export async function worldApplyCommand(file: string, opts: { dataDir: string }): Promise<void> {
  try {
    // Checked here first so a mistake is reported even when no server runs.
    loadWorldFile(file)
    const text = readFileSync(file, 'utf8')
    const r = await adminRequest(opts.dataDir, { op: 'world.apply', text, file })
    const created = (r.created as string[] | undefined) ?? []
    const updated = (r.updated as string[] | undefined) ?? []
    for (const w of (r.warnings as string[] | undefined) ?? []) console.error(`warning: ${w}`)
    if (!r.changed) console.log(`${file}: nothing to change (already applied)`)
    else {
      for (const c of created) console.log(`created ${c}`)
      for (const u of updated) console.log(`updated ${u}`)
      console.log(`${file}: applied (${created.length} created, ${updated.length} updated)`)
    }
  } catch (e) {
    fail(e)
  }
}

export async function worldExportCommand(opts: { dataDir: string; includeSecrets?: boolean }): Promise<void> {
  try {
    const r = await adminRequest(opts.dataDir, { op: 'world.export', includeSecrets: opts.includeSecrets === true })
    process.stdout.write(String(r.yaml))
  } catch (e) {
    fail(e)
  }
}

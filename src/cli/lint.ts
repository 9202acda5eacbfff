/**
 * @module `mrap lint [--world FILE | --data-dir DIR] [--format text|json|sarif]`: every policy of
 * the world and the world as a whole. No argument: the default seed world. Exit status 1 when an
 * error-level finding exists, 2 when the world cannot be read.
 */

import { AdminError, adminRequest } from '../admin/client.js'
import { modelFromWorld } from '../explain/from-world.js'
import type { AuthzModel } from '../explain/model.js'
import { type Finding, hasErrors, RULES, runLint } from '../lint/index.js'
import { renderJson, renderSarif, renderText } from '../lint/render.js'
import { loadCatalog } from '../policy/index.js'
import { DEFAULT_WORLD_FILE, loadWorldFile, WorldFileError } from '../world/load.js'
import type { World } from '../world/schema.js'
import { displayPath, useColor } from './explain.js'

export interface LintCliOptions {
  world?: string
  dataDir?: string
  format?: string
  color?: boolean
  time?: string
}

export interface LintOutput {
  text: string
  status: number
  findings: Finding[]
}

export async function runLintCli(opts: LintCliOptions, color: boolean): Promise<LintOutput> {
  const format = opts.format ?? 'text'
  if (!['text', 'json', 'sarif'].includes(format)) throw new WorldFileError(`--format ${format}: use text, json or sarif`)
  const catalog = await loadCatalog()
  let model: AuthzModel
  let world: World | undefined
  if (opts.world === undefined && opts.dataDir !== undefined) {
    model = (await adminRequest(opts.dataDir, { op: 'explain.model' })).model as AuthzModel
  } else {
    const file = opts.world ?? DEFAULT_WORLD_FILE
    // Lines are reported against the path as given (or relative to the working directory).
    world = loadWorldFile(displayPath(file), { check: false })
    model = modelFromWorld(world, { source: displayPath(file), catalog })
  }
  const timeMs = opts.time !== undefined ? Date.parse(opts.time) : Date.UTC(2025, 0, 1)
  const findings = runLint({ model, catalog, timeMs, world })
  const text =
    format === 'json' ? renderJson(findings, model.source) : format === 'sarif' ? renderSarif(findings, model.source, RULES) : renderText(findings, model.source, { color })
  return { text, status: hasErrors(findings) ? 1 : 0, findings }
}

export async function lintCommand(opts: LintCliOptions): Promise<void> {
  try {
    const out = await runLintCli(opts, useColor(opts.color) && (opts.format ?? 'text') === 'text')
    process.stdout.write(out.text)
    process.exitCode = out.status
  } catch (e) {
    if (e instanceof AdminError || e instanceof WorldFileError) {
      console.error(`mrap lint: ${e.message}`)
      process.exitCode = 2
      return
    }
    throw e
  }
}

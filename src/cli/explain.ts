/**
 * @module `mrap explain`: the decision for a principal, action and key through an MRAP (or
 * directly on a bucket), for every bucket the request could be routed to, layer by layer.
 * Exit status: 0 when every route allows, 1 when some route denies, 2 when the question cannot be
 * asked (unknown principal, MRAP, VPC; no server).
 */

import { relative, resolve } from 'node:path'
import { AdminError, adminRequest } from '../admin/client.js'
import { type ExplainResult, everyPrincipal, explainRequest, objectQuestion } from '../explain/evaluate.js'
import { modelFromWorld } from '../explain/from-world.js'
import { type AuthzModel, ModelLookupError, type ModelObject } from '../explain/model.js'
import { renderTable, renderVerbose } from '../explain/render.js'
import { type Catalog, loadCatalog } from '../policy/index.js'
import { readRuntimeInfo } from '../state/runtime-file.js'
import { DEFAULT_WORLD_FILE, loadWorldFile, WorldFileError } from '../world/load.js'

export interface ModelSourceOptions {
  world?: string
  dataDir?: string
}

export const DEFAULT_DATA_DIR = process.env.MRAP_DATA_DIR ?? '.mrap/data'

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file))
  return rel.startsWith('..') ? resolve(file) : rel
}

/**
 * The model to evaluate: `--world FILE`; else `--data-dir DIR` (its running server, over the admin
 * socket); else the running server of the default data directory if there is one, else `fallback`.
 */
export async function loadModel(opts: ModelSourceOptions, catalog: Catalog, fallback: 'server-or-seed' | 'seed'): Promise<AuthzModel> {
  if (opts.world !== undefined) return modelFromWorld(loadWorldFile(opts.world), { source: displayPath(opts.world), catalog })
  const dataDir = serverDataDir(opts, fallback)
  if (dataDir !== undefined) {
    const r = await adminRequest(dataDir, { op: 'explain.model' })
    return r.model as AuthzModel
  }
  return modelFromWorld(loadWorldFile(DEFAULT_WORLD_FILE), { source: displayPath(DEFAULT_WORLD_FILE), catalog })
}

export interface ExplainCliOptions extends ModelSourceOptions {
  as?: string
  action: string
  mrap?: string
  bucket?: string
  key?: string
  vpc?: string
  versionId?: string
  time?: string
  json?: boolean
  verbose?: boolean
  requestId?: string
  color?: boolean
}

export interface ExplainOutput {
  text: string
  status: number
  results: ExplainResult[]
}

export function formatResults(results: ExplainResult[], opts: { json?: boolean | undefined; verbose?: boolean | undefined; color: boolean }): string {
  if (opts.json) return JSON.stringify({ allAllowed: results.every((r) => r.allAllowed), results }, null, 2) + '\n'
  const style = { color: opts.color }
  return results.map((r) => (opts.verbose ? renderVerbose(r, style) : renderTable(r, style))).join('\n')
}

/** The data directory of the running server the model comes from; undefined for a world file. */
function serverDataDir(opts: ModelSourceOptions, fallback: 'server-or-seed' | 'seed'): string | undefined {
  if (opts.world !== undefined) return undefined
  return opts.dataDir ?? (fallback === 'server-or-seed' && readRuntimeInfo(resolve(DEFAULT_DATA_DIR)) ? DEFAULT_DATA_DIR : undefined)
}

/** Everything but the printing, so tests run it in-process. */
export async function runExplain(opts: ExplainCliOptions, color: boolean): Promise<ExplainOutput> {
  if (opts.requestId !== undefined) {
    const r = await adminRequest(opts.dataDir ?? DEFAULT_DATA_DIR, { op: 'explain.request', requestId: opts.requestId })
    const result = r.result as ExplainResult
    return { text: formatResults([result], { json: opts.json, verbose: opts.verbose, color }), status: result.allAllowed ? 0 : 1, results: [result] }
  }
  if ((opts.mrap === undefined) === (opts.bucket === undefined)) throw new ModelLookupError('name the target: --mrap <alias, name or ARN> or --bucket <name>')
  const catalog = await loadCatalog()
  const model = await loadModel(opts, catalog, 'server-or-seed')
  // A running server holds the objects: the named key's copy on each routed bucket whose ACLs decide
  // or whose operation reads it (a missing one is the operation's answer), in one admin read.
  const dataDir = serverDataDir(opts, 'server-or-seed')
  const ask = dataDir !== undefined ? objectQuestion(model, catalog, opts) : undefined
  if (dataDir !== undefined && ask) model.objects = (await adminRequest(dataDir, { op: 'explain.objects', ...ask })).objects as ModelObject[]
  const timeMs = opts.time !== undefined ? Date.parse(opts.time) : Date.now()
  if (Number.isNaN(timeMs)) throw new ModelLookupError(`--time ${opts.time} is not an ISO 8601 date`)
  const who = opts.as !== undefined ? [opts.as] : everyPrincipal(model)
  const results = who.map((as) =>
    explainRequest(
      model,
      catalog,
      {
        as,
        action: opts.action,
        mrap: opts.mrap,
        bucket: opts.bucket,
        key: opts.key,
        vpc: opts.vpc,
        versionId: opts.versionId,
        timeMs,
      },
      { verbose: opts.verbose === true },
    ),
  )
  return { text: formatResults(results, { json: opts.json, verbose: opts.verbose, color }), status: results.every((r) => r.allAllowed) ? 0 : 1, results }
}

export function useColor(opt: boolean | undefined): boolean {
  return opt !== false && process.stdout.isTTY === true && process.env.NO_COLOR === undefined
}

export async function explainCommand(opts: ExplainCliOptions): Promise<void> {
  try {
    const out = await runExplain(opts, useColor(opts.color))
    process.stdout.write(out.text)
    process.exitCode = out.status
  } catch (e) {
    if (e instanceof ModelLookupError || e instanceof AdminError || e instanceof WorldFileError) {
      console.error(`mrap explain: ${e.message}`)
      process.exitCode = 2
      return
    }
    throw e
  }
}

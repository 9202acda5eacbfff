/**
 * @module Loading a world file: YAML → schema-checked `World`, with errors that point at the line.
 * Every problem is reported as `<file>:<line>: <path>: <what is wrong and what is expected>`; the
 * loader also remembers where each part of the world came from, so problems found later (when the
 * world is applied with the full action catalogue) point at the line too.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import { checkWorld, type WorldIssue, type WorldPath } from './check.js'
import { type World, worldSchema } from './schema.js'

export class WorldFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WorldFileError'
  }
}

export const DEFAULT_WORLD_FILE = fileURLToPath(new URL('../../examples/seed.yaml', import.meta.url))

/** `atKey`: the line of the last segment's key rather than of its value (an unknown key's value may start lines later). */
interface Source {
  file: string
  lineOf(path: WorldPath, atKey?: boolean): number | undefined
}
const sources = new WeakMap<World, Source>()

/** `check: false` stops after the schema (`mrap lint` reports the policy problems itself, with lines). */
export interface ParseOptions {
  check?: boolean
}

export function loadWorldFile(file: string, opts: ParseOptions = {}): World {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new WorldFileError(`${file}: cannot read the world file (${(e as Error).message})`)
  }
  return parseWorld(text, file, opts)
}

export function parseWorld(text: string, file = 'world', opts: ParseOptions = {}): World {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    const pos = e.linePos?.[0]
    throw new WorldFileError(`${file}:${pos?.line ?? '?'}:${pos?.col ?? '?'}: ${e.message.split('\n')[0]}`)
  }
  const source: Source = {
    file,
    lineOf: (path, atKey = false) => {
      const node = nodeAt(doc.contents, path.map(String), atKey)
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined
    },
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    throw new WorldFileError(
      `${file}: the world file is empty: declare at least one account (accounts: [{ id: "123456789012", users: [{ name: admin }] }]); see examples/seed.yaml`,
    )
  }
  if (!isMap(doc.contents))
    throw new WorldFileError(
      `${file}:${lineOf(doc.contents, lineCounter) ?? 1}: a world file is a YAML mapping (regions:, accounts:, buckets:, ...), not ${isSeq(doc.contents) ? 'a list' : 'a single value'}`,
    )
  const result = worldSchema.safeParse(doc.toJS() ?? {})
  if (!result.success) {
    const issues = result.error.issues.flatMap((i) => unionBranch(i, []))
    const lines = issues.slice(0, 10).map(({ issue, path: at }) => {
      let path: WorldPath = at
      let message = issue.message
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0] ?? ''
        const known = knownKeys(path)
        path = [...path, key]
        message = `unknown field "${key}"${known.length ? ` (expected one of: ${known.join(', ')})` : ''}`
        return format(source, path, message, true)
      } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
        message = `${String(path[path.length - 1] ?? 'value')} is required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`
      }
      return format(source, path, message)
    })
    if (issues.length > 10) lines.push(`... and ${issues.length - 10} more`)
    throw new WorldFileError(lines.join('\n'))
  }
  const world = result.data
  sources.set(world, source)
  if (opts.check === false) return world
  const issues = checkWorld(world)
  if (issues.length > 0) throw worldError(world, issues)
  return world
}

/**
 * Where a part of a loaded world was written: its file and the line of the node at `path` (e.g.
 * `['accounts', 0, 'users', 1, 'policies', 0, 'document']`), or the deepest node that exists.
 * Undefined for worlds that did not come from parseWorld / loadWorldFile. Used by `mrap lint`.
 */
export function worldLocation(world: World, path: WorldPath): { file: string; line?: number } | undefined {
  const source = sources.get(world)
  if (!source) return undefined
  const line = source.lineOf(path)
  return line === undefined ? { file: source.file } : { file: source.file, line }
}

/** One WorldFileError naming each problem's file, line and path (when the world came from a file). */
export function worldError(world: World, issues: WorldIssue[]): WorldFileError {
  const source = sources.get(world) ?? { file: 'world', lineOf: () => undefined }
  const lines = issues.slice(0, 20).map((i) => format(source, i.path, i.message))
  if (issues.length > 20) lines.push(`... and ${issues.length - 20} more`)
  return new WorldFileError(lines.join('\n'))
}

function format(source: Source, path: WorldPath, message: string, atKey = false): string {
  const line = source.lineOf(path, atKey)
  // A problem with no line (a required top-level key that is missing) names the file alone.
  return `${source.file}${line !== undefined ? `:${line}` : ''}: ${path.join('.') || '(top)'}: ${message}`
}

function lineOf(node: unknown, lc: LineCounter): number | undefined {
  const range = (node as Node | null)?.range
  return range ? lc.linePos(range[0]).line : undefined
}

/**
 * A union's "Invalid input" names no field. When the value had the type of one of the union's
 * branches (e.g. `asyncDelayMs: { min: 1, mx: 5 }` is an object, like the range branch), that
 * branch's own issues are the ones that say what is wrong; otherwise the union's issue stands.
 */
function unionBranch(issue: z.core.$ZodIssue, prefix: WorldPath): { issue: z.core.$ZodIssue; path: WorldPath }[] {
  const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))]
  if (issue.code !== 'invalid_union') return [{ issue, path }]
  const typeMismatch = (branch: z.core.$ZodIssue[]): boolean => branch.every((i) => i.code === 'invalid_type' && i.path.length === 0)
  const matched = issue.errors.filter((b) => !typeMismatch(b))
  return matched.length === 1 ? matched[0]!.flatMap((i) => unionBranch(i, path)) : [{ issue, path }]
}

/** The field names the schema accepts at a path (for "unknown field" messages). */
function knownKeys(path: WorldPath): string[] {
  let s: unknown = worldSchema
  type Def = { def?: { type?: string; innerType?: unknown; options?: unknown[] } } | undefined
  const unwrap = (x: unknown): unknown => {
    let cur = x as Def
    for (;;) {
      if (cur?.def && (cur.def.type === 'default' || cur.def.type === 'optional' || cur.def.type === 'nullable')) cur = cur.def.innerType as Def
      // Only an object branch has fields, and an unknown key means the value was that branch's object.
      else if (cur?.def?.type === 'union') cur = cur.def.options?.map((o) => unwrap(o) as Def).find((o) => o?.def?.type === 'object')
      else return cur
    }
  }
  for (const seg of path) {
    const u = unwrap(s) as { def?: { type?: string; element?: unknown }; shape?: Record<string, unknown> } | undefined
    if (u?.def?.type === 'array') s = u.def.element
    else if (u?.def?.type === 'object' && u.shape) s = u.shape[String(seg)]
    else return []
  }
  const o = unwrap(s) as { def?: { type?: string }; shape?: Record<string, unknown> } | undefined
  return o?.def?.type === 'object' && o.shape ? Object.keys(o.shape) : []
}

/** Walks the YAML node tree along a path; falls back to the deepest node that exists. */
function nodeAt(root: unknown, path: string[], atKey = false): Node | undefined {
  let node = root as Node | undefined
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const next = node.get(seg, true) as Node | undefined
      if (!next || (atKey && i === path.length - 1)) {
        // An unknown key, or a key asked for itself: point at the key.
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg)
        return (pair && isPair(pair) ? (pair.key as Node) : undefined) ?? node
      }
      node = next
    } else if (isSeq(node)) {
      const next = node.get(Number(seg), true) as Node | undefined
      if (!next) return node
      node = next
    } else return node
  }
  return node
}

/**
 * @module Loading a world file: YAML → schema-checked `World`, with errors that point at the line.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml'
import { worldSchema, type World } from './schema.js'

export class WorldFileError extends Error {
  constructor(message: string) { super(message); this.name = 'WorldFileError' }
}

export const DEFAULT_WORLD_FILE = fileURLToPath(new URL('../../examples/seed.yaml', import.meta.url))

export function loadWorldFile(file: string): World {
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (e) { throw new WorldFileError(`${file}: cannot read the world file (${(e as Error).message})`) }
  return parseWorld(text, file)
}

export function parseWorld(text: string, file = 'world'): World {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    const pos = e.linePos?.[0]
    throw new WorldFileError(`${file}:${pos?.line ?? '?'}:${pos?.col ?? '?'}: ${e.message.split('\n')[0]}`)
  }
  const result = worldSchema.safeParse(doc.toJS())
  if (result.success) return result.data
  const lines = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.map(String)
    const node = nodeAt(doc.contents, path)
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined
    return `${file}:${line ?? '?'}: ${path.join('.') || '(top)'}: ${issue.message}`
  })
  throw new WorldFileError(lines.join('\n'))
}

/** Walks the YAML node tree along a zod path; falls back to the deepest node that exists. */
function nodeAt(root: unknown, path: string[]): Node | undefined {
  let node = root as Node | undefined
  for (const seg of path) {
    if (isMap(node)) {
      const next = node.get(seg, true) as Node | undefined
      if (!next) return node
      node = next
    } else if (isSeq(node)) {
      const next = node.get(Number(seg), true) as Node | undefined
      if (!next) return node
      node = next
    } else return node
  }
  return node
}

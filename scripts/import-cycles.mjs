#!/usr/bin/env node
// Fails when src/ has an import cycle, type-only imports included: a cycle of types today is a cycle
// of values after the next refactor, and either one ties modules that should sit in layers.
// Hand-written (~50 lines) on the TypeScript compiler the project already has, instead of madge and its
// ~100 transitive packages; it reads imports with ts.preProcessFile and finds strongly connected
// components with Tarjan's algorithm.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

// Usage: node scripts/import-cycles.mjs [dir]   (default: the project's src/)
const root = resolve(import.meta.dirname, '..')
const src = resolve(process.argv[2] ?? join(root, 'src'))

function files(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) files(p, out)
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p)
  }
  return out
}

function target(from, spec) {
  if (!spec.startsWith('.')) return undefined
  const base = resolve(dirname(from), spec)
  for (const c of [base.replace(/\.js$/, '.ts'), base + '.ts', join(base, 'index.ts')]) if (existsSync(c)) return c
  return undefined
}

const graph = new Map()
for (const f of files(src)) {
  const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true)
  graph.set(f, [...new Set(info.importedFiles.map((i) => target(f, i.fileName)).filter(Boolean))])
}

// Tarjan's strongly connected components.
let index = 0
const idx = new Map(),
  low = new Map(),
  stack = [],
  on = new Set(),
  sccs = []
function visit(v) {
  idx.set(v, index)
  low.set(v, index)
  index++
  stack.push(v)
  on.add(v)
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const comp = []
    let w
    do {
      w = stack.pop()
      on.delete(w)
      comp.push(w)
    } while (w !== v)
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(comp)
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v)

if (sccs.length === 0) {
  console.log(`import cycles: none in ${graph.size} modules`)
  process.exit(0)
}
for (const comp of sccs) {
  console.error(`import cycle of ${comp.length} modules:`)
  for (const m of comp.sort())
    console.error(
      `  ${relative(root, m)} → ${(graph.get(m) ?? [])
        .filter((w) => comp.includes(w))
        .map((w) => relative(root, w))
        .join(', ')}`,
    )
}
process.exit(1)

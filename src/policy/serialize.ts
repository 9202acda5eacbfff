/**
 * @module CompiledPolicy → JSON text, with elements in a fixed order and values as written,
 * so that parse → serialize → parse is stable.
 */
import type { CompiledPolicy } from './types.js'

const ORDER = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']

export function serializePolicy(p: CompiledPolicy, space?: number): string {
  const doc: Record<string, unknown> = {}
  if (p.version !== undefined) doc.Version = p.version
  if (p.id !== undefined) doc.Id = p.id
  const statements = p.statements.map((st) => {
    const o: Record<string, unknown> = {}
    for (const k of ORDER) if (st.source[k] !== undefined) o[k] = st.source[k]
    return o
  })
  doc.Statement = p.statementIsObject && statements.length === 1 ? statements[0] : statements
  return JSON.stringify(doc, null, space)
}

/**
 * @module S3 XML in and out (fast-xml-parser). Request bodies are parsed into plain objects with
 * every value a string; a body that is not well-formed, or has the wrong root, is MalformedXML.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser'
import { s3Error } from '../shared/errors.js'

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

const ARRAY_TAGS = new Set(['Part', 'Object', 'Tag', 'Rule', 'Contents', 'CommonPrefixes', 'Version', 'DeleteMarker', 'Upload', 'Deleted', 'Error', 'Bucket', 'Grant'])

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  isArray: (name) => ARRAY_TAGS.has(name),
})

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true })

export type XmlValue = string | number | boolean | Date | undefined | null | XmlObject | XmlValue[]
export interface XmlObject {
  [k: string]: XmlValue
}

/** Parses a request body whose root must be `root`; returns the root's children. */
export function parseXmlBody(body: Buffer | string, root: string): Record<string, unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8')
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw s3Error('MalformedXML')
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(text) as Record<string, unknown>
  } catch {
    throw s3Error('MalformedXML')
  }
  const value = doc[root]
  if (value === undefined) throw s3Error('MalformedXML')
  if (value === '') return {}
  if (typeof value !== 'object' || value === null) throw s3Error('MalformedXML')
  return value as Record<string, unknown>
}

function normalize(v: XmlValue): unknown {
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, (m) => m) // ISO 8601 with ms, as S3 sends
  if (Array.isArray(v)) return v.filter((x) => x !== undefined && x !== null).map(normalize)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = normalize(x)
    return out
  }
  return v
}

/** Renders `<root xmlns="...">…</root>` with an XML declaration. Undefined fields are left out. */
export function renderXml(root: string, content: XmlObject, ns: string | null = S3_NS): string {
  const body = normalize(content) as Record<string, unknown>
  if (ns) body['@_xmlns'] = ns
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ [root]: body })
}

/** Text of an optional child that must be a string. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw s3Error('MalformedXML')
}

export function list(v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return []
  return Array.isArray(v) ? v : [v]
}

/** Escapes text for hand-written XML on hot paths. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'))
}

/**
 * @module S3 Control XML: request bodies in (any element order, with or without a declaration,
 * entity-escaped or raw JSON in <Policy>), results out in the 2018-08-20 namespace. Element names
 * are the service model's (s3-control-2018-08-20.json), as the SDK's deserializers expect them.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { renderXml, type XmlObject } from '../s3/xml.js'
import { s3Error } from '../shared/errors.js'

export const CONTROL_NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/'

/** Lists in request bodies: Details/Regions/Region and RouteUpdates/Route (a Route's own <Region> is a scalar). */
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (_name, jpath) => typeof jpath === 'string' && (jpath.endsWith('.Regions.Region') || jpath.endsWith('.RouteUpdates.Route')),
})

export type XmlNode = Record<string, unknown>

/** The children of `root`, or MalformedXML. */
export function parseControlBody(body: Buffer, root: string): XmlNode {
  const text = body.toString('utf8')
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw s3Error('MalformedXML')
  let doc: XmlNode
  try {
    doc = parser.parse(text) as XmlNode
  } catch {
    throw s3Error('MalformedXML')
  }
  const value = doc[root]
  if (value === '') return {}
  if (value === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) throw s3Error('MalformedXML')
  return value as XmlNode
}

export function child(node: XmlNode, name: string): XmlNode | undefined {
  const v = node[name]
  if (v === undefined || v === '') return v === '' ? {} : undefined
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw s3Error('MalformedXML')
  return v as XmlNode
}

export function str(node: XmlNode, name: string): string | undefined {
  const v = node[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw s3Error('MalformedXML')
  return v
}

export function items(node: XmlNode | undefined, name: string): XmlNode[] {
  if (!node) return []
  const v = node[name]
  if (v === undefined) return []
  const arr = Array.isArray(v) ? v : [v]
  return arr.map((x) => (x === '' ? {} : x)).filter((x): x is XmlNode => typeof x === 'object' && x !== null)
}

/** `true`/`false` as the model's booleans; anything else is MalformedXML. */
export function bool(node: XmlNode, name: string): boolean | undefined {
  const v = str(node, name)
  if (v === undefined) return undefined
  if (v === 'true') return true
  if (v === 'false') return false
  throw s3Error('MalformedXML')
}

export function renderControl(root: string, content: XmlObject): string {
  return renderXml(root, content, CONTROL_NS)
}

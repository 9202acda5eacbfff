/**
 * @module The AWS Query protocol as IAM and STS speak it: a form body (or query string) with
 * `Action`, `Version` and parameters, lists as `Name.member.N` (`Tags.member.1.Key`), and XML
 * responses `<{Action}Response xmlns=...><{Action}Result>...</{Action}Result><ResponseMetadata>`.
 */
import type { IncomingMessage } from 'node:http'
import { s3Error } from '../shared/errors.js'
import { esc } from '../s3/xml.js'
import type { WireResult } from '../http/respond.js'
import { expectLength } from '../auth/body.js'

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/'
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** IAM's largest request (a 10 KB role policy, URL-encoded three times over) stays far below this. */
const MAX_FORM_BYTES = 256 * 1024

export async function readForm(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  // Through expectLength: a stalled form body gets RequestTimeout like any other request body.
  for await (const chunk of expectLength(req, undefined)) {
    size += (chunk as Buffer).length
    if (size > MAX_FORM_BYTES) throw s3Error('ValidationError', { message: 'Request body is too large.' })
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * A Query-protocol call's parameters: the form body (POST) merged after the URL query, as IAM, STS
 * and EC2 accept both. The raw body is returned too: SigV4 signs its hash. It is read for every
 * method, so the hash the signature is checked against is that of the bytes actually received.
 */
export async function readQueryCall(req: IncomingMessage, method: string, rawQuery: string): Promise<{ body: Buffer; form: URLSearchParams }> {
  const body = await readForm(req)
  const form = new URLSearchParams(rawQuery)
  if (method === 'POST') for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.append(k, v)
  return { body, form }
}

export class Params {
  constructor(private readonly p: URLSearchParams) {}

  get action(): string | undefined { return this.p.get('Action') ?? undefined }
  opt(name: string): string | undefined { return this.p.get(name) ?? undefined }

  req(name: string): string {
    const v = this.p.get(name)
    if (v === null || v === '') {
      throw s3Error('ValidationError', { message: `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null` })
    }
    return v
  }

  /** `Name.member.N` (or `Name.member.N.Field` when `field` is given), in N order. */
  list(name: string, field?: string): string[] {
    const out: [number, string][] = []
    const re = new RegExp(`^${name}\\.member\\.(\\d+)${field ? `\\.${field}` : ''}$`)
    for (const [k, v] of this.p) {
      const m = k.match(re)
      if (m) out.push([Number(m[1]), v])
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
  }

  /** `Tags.member.N.Key` / `.Value` pairs. */
  tags(name = 'Tags'): Record<string, string> {
    const keys = new Map<number, string>()
    const values = new Map<number, string>()
    const re = new RegExp(`^${name}\\.member\\.(\\d+)\\.(Key|Value)$`)
    for (const [k, v] of this.p) {
      const m = k.match(re)
      if (m) (m[2] === 'Key' ? keys : values).set(Number(m[1]), v)
    }
    const out: Record<string, string> = {}
    for (const [n, k] of [...keys].sort((a, b) => a[0] - b[0])) out[k] = values.get(n) ?? ''
    return out
  }

  int(name: string): number | undefined {
    const v = this.p.get(name)
    if (v === null) return undefined
    if (!/^-?\d+$/.test(v)) throw s3Error('ValidationError', { message: `1 validation error detected: Value '${v}' at '${name}' failed to satisfy constraint: Member must be a number` })
    return Number(v)
  }
}

export type XmlChild = string | undefined | null | false

/** `<tag>text</tag>`, or nothing when the value is undefined. */
export function el(tag: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${tag}>${esc(String(value))}</${tag}>`
}
/** `<tag>...children (already XML)...</tag>`. */
export function node(tag: string, ...children: XmlChild[]): string {
  return `<${tag}>${children.filter((c): c is string => typeof c === 'string').join('')}</${tag}>`
}
/** A Query-protocol list: `<tag><member>..</member>...</tag>`. */
export function members(tag: string, items: string[]): string {
  return `<${tag}>${items.map((i) => `<member>${i}</member>`).join('')}</${tag}>`
}
export function tagList(tags: Record<string, string>): string | undefined {
  const entries = Object.entries(tags)
  return entries.length === 0 ? undefined : members('Tags', entries.map(([k, v]) => el('Key', k) + el('Value', v)))
}

/** The response envelope; `result` undefined for actions that return nothing but metadata. */
export function queryResponse(ns: string, action: string, result: string | undefined, requestId: string): WireResult {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ns}">` +
    (result !== undefined ? `<${action}Result>${result}</${action}Result>` : '') +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  return { status: 200, headers: { 'content-type': 'text/xml' }, body }
}

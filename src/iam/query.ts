/**
 * @module The AWS Query protocol as IAM and STS speak it: a form body (or query string) with
 * `Action`, `Version` and parameters, lists as `Name.member.N` (`Tags.member.1.Key`), and XML
 * responses `<{Action}Response xmlns=...><{Action}Result>...</{Action}Result><ResponseMetadata>`.
 */

import type { WireResult } from '../http/respond.js'
import { el, QueryParams } from '../protocols/query.js'
import { s3Error } from '../shared/errors.js'

export { el, readForm, readQueryCall } from '../protocols/query.js'

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/'
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export class Params extends QueryParams {
  req(name: string): string {
    const v = this.p.get(name)
    if (v === null || v === '') {
      throw s3Error('ValidationError', {
        message: `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
      })
    }
    return v
  }

  /** `Name.member.N` (or `Name.member.N.Field` when `field` is given), in N order. */
  list(name: string, field?: string): string[] {
    return this.numbered(new RegExp(`^${name}\\.member\\.(\\d+)${field ? `\\.${field}` : ''}$`))
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
    if (!/^-?\d+$/.test(v))
      throw s3Error('ValidationError', { message: `1 validation error detected: Value '${v}' at '${name}' failed to satisfy constraint: Member must be a number` })
    return Number(v)
  }
}

export type XmlChild = string | undefined | null | false

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
  return entries.length === 0
    ? undefined
    : members(
        'Tags',
        entries.map(([k, v]) => el('Key', k) + el('Value', v)),
      )
}

/** The response envelope; `result` undefined for actions that return nothing but metadata. */
export function queryResponse(ns: string, action: string, result: string | undefined, requestId: string): WireResult {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ns}">` +
    (result !== undefined ? `<${action}Result>${result}</${action}Result>` : '') +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  return { status: 200, headers: { 'content-type': 'text/xml' }, body }
}

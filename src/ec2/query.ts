/**
 * @module The EC2 flavour of the Query protocol (API version 2016-11-15): lists are `Name.N`
 * (`SubnetId.1`, `Filter.1.Value.2`, `TagSpecification.1.Tag.1.Key`), booleans `true`/`false`,
 * responses `<{Action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>` with
 * lower-camel elements and `<item>` list members, errors `<Response><Errors><Error>` (docs/aws/clients.md §EC2 and the query protocol).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
 */

import { el, QueryParams } from '../protocols/query.js'
import { type Ec2ErrorCode, S3Error } from '../shared/errors.js'

export { el } from '../protocols/query.js'

import type { WireResult } from '../http/respond.js'

export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'

/** An EC2 error (rendered in the `ec2` envelope); status 400 unless said. */
export function ec2Error(code: Ec2ErrorCode, message: string, status = 400): S3Error {
  return new S3Error(code, status, message)
}

export interface Filter {
  name: string
  values: string[]
}

export class Ec2Params extends QueryParams {
  req(name: string): string {
    const v = this.p.get(name)
    if (v === null || v === '') throw ec2Error('MissingParameter', `The request must contain the parameter ${name}`)
    return v
  }

  bool(name: string): boolean | undefined {
    const v = this.p.get(name)
    if (v === null) return undefined
    if (v.toLowerCase() === 'true') return true
    if (v.toLowerCase() === 'false') return false
    throw ec2Error('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid. Expected: 'true' or 'false'.`)
  }

  int(name: string): number | undefined {
    const v = this.p.get(name)
    if (v === null) return undefined
    if (!/^-?\d+$/.test(v)) throw ec2Error('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid. Expected an integer.`)
    return Number(v)
  }

  /** `Name.N` values in N order. */
  list(name: string): string[] {
    const out: [number, string][] = []
    const prefix = `${name}.`
    for (const [k, v] of this.p) {
      if (!k.startsWith(prefix)) continue
      const n = k.slice(prefix.length)
      if (/^\d+$/.test(n)) out.push([Number(n), v])
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
  }

  /** `Filter.N.Name` / `Filter.N.Value.M`. */
  filters(): Filter[] {
    const byN = new Map<number, { name?: string; values: [number, string][] }>()
    for (const [k, v] of this.p) {
      const m = k.match(/^Filter\.(\d+)\.(Name|Value\.(\d+))$/)
      if (!m) continue
      const f = byN.get(Number(m[1])) ?? { values: [] }
      if (m[2] === 'Name') f.name = v
      else f.values.push([Number(m[3]), v])
      byN.set(Number(m[1]), f)
    }
    return [...byN]
      .sort((a, b) => a[0] - b[0])
      .map(([n, f]) => {
        if (f.name === undefined) throw ec2Error('InvalidParameterValue', `The filter 'Filter.${n}' has no Name`)
        return { name: f.name, values: f.values.sort((a, b) => a[0] - b[0]).map(([, x]) => x) }
      })
  }

  /** Tags of `TagSpecification.N` whose ResourceType is `resourceType` (others refused). */
  tagSpecs(resourceType: string): Record<string, string> {
    const tags: Record<string, string> = {}
    const specs = new Set<number>()
    for (const [k] of this.p) {
      const m = k.match(/^TagSpecification\.(\d+)\./)
      if (m) specs.add(Number(m[1]))
    }
    for (const n of [...specs].sort((a, b) => a - b)) {
      const type = this.p.get(`TagSpecification.${n}.ResourceType`)
      if (type !== resourceType) {
        throw ec2Error('InvalidParameterValue', `'${type ?? ''}' is not a valid taggable resource type for this operation.`)
      }
      const keys = new Map<number, string>()
      const values = new Map<number, string>()
      for (const [k, v] of this.p) {
        const m = k.match(new RegExp(`^TagSpecification\\.${n}\\.Tag\\.(\\d+)\\.(Key|Value)$`))
        if (m) (m[2] === 'Key' ? keys : values).set(Number(m[1]), v)
      }
      for (const [i, key] of [...keys].sort((a, b) => a[0] - b[0])) {
        if (key.length === 0 || key.length > 128 || key.toLowerCase().startsWith('aws:')) {
          throw ec2Error('InvalidParameterValue', `Tag key '${key}' is invalid: keys are 1-128 characters and may not begin with aws:`)
        }
        tags[key] = values.get(i) ?? ''
      }
    }
    if (Object.keys(tags).length > 50) throw ec2Error('TagLimitExceeded', 'The maximum number of tags per resource (50) was exceeded.')
    return tags
  }
}

/** `<tag><item>..</item>...</tag>` (empty lists render as `<tag/>`, as EC2 does). */
export function items(tag: string, list: string[]): string {
  return list.length === 0 ? `<${tag}/>` : `<${tag}>${list.map((i) => `<item>${i}</item>`).join('')}</${tag}>`
}
export function tagSet(tags: Record<string, string>): string {
  return items(
    'tagSet',
    Object.entries(tags).map(([k, v]) => el('key', k) + el('value', v)),
  )
}

export function ec2Response(action: string, inner: string, requestId: string): WireResult {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${inner}</${action}Response>`
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body }
}

/** EC2 filter values accept `*` and `?` wildcards. */
export function filterMatches(patterns: string[], value: string | undefined): boolean {
  if (value === undefined) return false
  return patterns.some((p) => {
    if (!/[*?]/.test(p)) return p === value
    const re = new RegExp(
      '^' +
        p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.') +
        '$',
      's',
    )
    return re.test(value)
  })
}

/** Applies filters; `fields` maps a known filter name (or `tag:<key>`) to a record's values. */
export function applyFilters<T>(records: T[], filters: Filter[], known: readonly string[], fields: (name: string, r: T) => string[]): T[] {
  for (const f of filters) {
    if (!known.includes(f.name) && !f.name.startsWith('tag:')) throw ec2Error('InvalidParameterValue', `The filter '${f.name}' is invalid`)
  }
  return records.filter((r) => filters.every((f) => fields(f.name, r).some((v) => filterMatches(f.values, v))))
}

/** Values of the common tag filters (`tag:<key>`, `tag-key`, `tag-value`). */
export function tagFilter(name: string, tags: Record<string, string>): string[] | undefined {
  if (name.startsWith('tag:')) {
    const v = tags[name.slice(4)]
    return v === undefined ? [] : [v]
  }
  if (name === 'tag-key') return Object.keys(tags)
  if (name === 'tag-value') return Object.values(tags)
  return undefined
}

/** Opaque pagination: the token is the index of the next record. */
export function paginate<T>(records: T[], maxResults: number | undefined, token: string | undefined, bounds: { min: number; max: number }): { page: T[]; next?: string } {
  let start = 0
  if (token !== undefined) {
    const n = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^mrap:/, ''),
    )
    if (!Buffer.from(token, 'base64url').toString('utf8').startsWith('mrap:') || !Number.isInteger(n) || n < 0) {
      throw ec2Error('InvalidPaginationToken', `Invalid pagination token: ${token}`)
    }
    start = n
  }
  if (maxResults === undefined) return { page: records.slice(start) }
  if (maxResults < bounds.min || maxResults > bounds.max) {
    if (maxResults > bounds.max && bounds.max === 1000) maxResults = 1000
    else throw ec2Error('InvalidParameterValue', `Value (${maxResults}) for parameter maxResults is invalid. Expecting a value between ${bounds.min} and ${bounds.max}.`)
  }
  const page = records.slice(start, start + maxResults)
  const nextIdx = start + maxResults
  return nextIdx < records.length ? { page, next: Buffer.from(`mrap:${nextIdx}`).toString('base64url') } : { page }
}

/**
 * @module Bucket lifecycle configuration: parse and validate as S3 does, render, match a version
 * against a rule, and the dates S3 computes from a rule. The worker that applies the rules is
 * src/lifecycle; the operations are src/s3/ops/lifecycle.ts.
 *
 * Sources: PutBucketLifecycleConfiguration (S3 API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html),
 * "Lifecycle configuration elements" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html),
 * LifecycleExpiration, Transition, NoncurrentVersionExpiration (S3 API reference, data types).
 */
import { s3Error } from '../shared/errors.js'
import type { ObjectVersion, Tag } from '../storage/types.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from './xml.js'

export interface LifecycleFilter {
  prefix: string
  tags: Tag[]
  sizeGreaterThan?: number
  sizeLessThan?: number
}

export interface LifecycleTransition {
  days?: number
  date?: string
  storageClass: string
}
export interface NoncurrentTransition {
  noncurrentDays: number
  newerNoncurrentVersions?: number
  storageClass: string
}

export interface LifecycleRule {
  id: string
  enabled: boolean
  filter: LifecycleFilter
  /** How the rule named its scope (a legacy <Prefix>, a <Filter>), so Get answers with the shape Put sent. */
  shape: 'legacy' | 'filter'
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean }
  noncurrentExpiration?: { noncurrentDays?: number; newerNoncurrentVersions?: number }
  abortIncompleteDays?: number
  transitions: LifecycleTransition[]
  noncurrentTransitions: NoncurrentTransition[]
}

export interface LifecycleConfig {
  rules: LifecycleRule[]
  transitionDefaultMinimumObjectSize: string
}

/** "You can have up to 1,000 rules" (Lifecycle configuration elements). */
const MAX_RULES = 1000
const STORAGE_CLASSES = new Set(['GLACIER', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'])
export const DEFAULT_MIN_SIZE = 'all_storage_classes_128K'
export const MIN_SIZE_VALUES = new Set(['all_storage_classes_128K', 'varies_by_storage_class'])
const DAY_MS = 86_400_000

const bad = (message: string) => s3Error('InvalidArgument', { message })
const asObj = (v: unknown): Record<string, unknown> => {
  if (v === '') return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw s3Error('MalformedXML')
  return v as Record<string, unknown>
}
const one = (v: unknown): string | undefined => {
  if (Array.isArray(v)) throw s3Error('MalformedXML')
  return text(v)
}

function int(v: unknown, name: string, ancestor: string, min: number): number | undefined {
  const s = one(v)
  if (s === undefined) return undefined
  if (!/^-?\d{1,10}$/.test(s.trim())) throw s3Error('MalformedXML')
  const n = Number(s.trim())
  if (n < 0) throw bad(`'${name}' in ${ancestor} action must be nonnegative`)
  if (n < min) throw bad(`'${name}' in ${ancestor} action must be a positive integer`)
  return n
}

/** Lifecycle dates are midnight UTC: "The date value must be in ISO 8601 format. The time is always midnight UTC." */
function midnight(v: unknown): string | undefined {
  const s = one(v)
  if (s === undefined) return undefined
  const d = new Date(s.trim())
  if (Number.isNaN(d.getTime())) throw s3Error('MalformedXML')
  if (d.getTime() % DAY_MS !== 0) throw bad("'Date' must be at midnight GMT")
  return d.toISOString().replace('.000Z', 'Z')
}

function tagOf(v: unknown): Tag {
  const o = asObj(v)
  const k = one(o.Key)
  const val = one(o.Value)
  if (k === undefined || val === undefined) throw s3Error('MalformedXML')
  return { Key: k, Value: val }
}

function parseFilter(f: Record<string, unknown>): LifecycleFilter {
  const present = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'].filter((k) => f[k] !== undefined)
  // "A Filter must have exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan, or And" (LifecycleRuleFilter).
  if (present.length > 1) throw s3Error('MalformedXML')
  const out: LifecycleFilter = { prefix: '', tags: [] }
  const size = (v: unknown) => {
    const s = one(v)
    if (s === undefined) return undefined
    if (!/^\d{1,16}$/.test(s.trim())) throw s3Error('MalformedXML')
    return Number(s.trim())
  }
  const apply = (o: Record<string, unknown>, inAnd: boolean) => {
    out.prefix = one(o.Prefix) ?? ''
    const tags = list(o.Tag)
    if (!inAnd && tags.length > 1) throw s3Error('MalformedXML')
    out.tags = tags.map(tagOf)
    const gt = size(o.ObjectSizeGreaterThan)
    const lt = size(o.ObjectSizeLessThan)
    if (gt !== undefined) out.sizeGreaterThan = gt
    if (lt !== undefined) out.sizeLessThan = lt
  }
  if (f.And !== undefined) {
    apply(asObj(f.And), true)
    const keys = new Set<string>()
    for (const t of out.tags) {
      if (keys.has(t.Key)) throw bad('Duplicate Tag Keys are not allowed.')
      keys.add(t.Key)
    }
  } else apply(f, false)
  if (out.sizeGreaterThan !== undefined && out.sizeLessThan !== undefined && out.sizeLessThan <= out.sizeGreaterThan) {
    throw bad('ObjectSizeLessThan must be greater than ObjectSizeGreaterThan')
  }
  return out
}

function parseRule(r: Record<string, unknown>): LifecycleRule {
  const id = one(r.ID) ?? ''
  if ([...id].length > 255) throw bad('ID length should not exceed allowed limit of 255')
  const status = one(r.Status)
  if (status !== 'Enabled' && status !== 'Disabled') throw s3Error('MalformedXML')
  const legacyPrefix = one(r.Prefix)
  if (legacyPrefix !== undefined && r.Filter !== undefined) throw s3Error('MalformedXML')
  const rule: LifecycleRule = {
    id,
    enabled: status === 'Enabled',
    shape: r.Filter !== undefined ? 'filter' : 'legacy',
    filter: r.Filter !== undefined ? parseFilter(asObj(r.Filter)) : { prefix: legacyPrefix ?? '', tags: [] },
    transitions: [],
    noncurrentTransitions: [],
  }
  if (r.Filter === undefined && legacyPrefix === undefined) throw s3Error('MalformedXML')
  if (r.Expiration !== undefined) {
    const e = asObj(r.Expiration)
    const days = int(e.Days, 'Days', 'Expiration', 1)
    const date = midnight(e.Date)
    const marker = one(e.ExpiredObjectDeleteMarker)
    if (marker !== undefined && marker !== 'true' && marker !== 'false') throw s3Error('MalformedXML')
    // "ExpiredObjectDeleteMarker ... cannot be specified with Days or Date in a Lifecycle Expiration Policy" (LifecycleExpiration).
    const count = [days, date, marker].filter((x) => x !== undefined).length
    if (count !== 1) throw s3Error('MalformedXML')
    if (marker !== undefined && rule.filter.tags.length > 0) throw bad('ExpiredObjectDeleteMarker cannot be specified with a tag filter.')
    rule.expiration = {
      ...(days !== undefined ? { days } : {}),
      ...(date !== undefined ? { date } : {}),
      ...(marker !== undefined ? { expiredObjectDeleteMarker: marker === 'true' } : {}),
    }
  }
  if (r.NoncurrentVersionExpiration !== undefined) {
    const n = asObj(r.NoncurrentVersionExpiration)
    const noncurrentDays = int(n.NoncurrentDays, 'NoncurrentDays', 'NoncurrentVersionExpiration', 1)
    const newer = int(n.NewerNoncurrentVersions, 'NewerNoncurrentVersions', 'NoncurrentVersionExpiration', 1)
    if (newer !== undefined && newer > 100) throw bad("'NewerNoncurrentVersions' in NoncurrentVersionExpiration action must be less than or equal to 100")
    if (noncurrentDays === undefined) throw s3Error('MalformedXML')
    rule.noncurrentExpiration = { noncurrentDays, ...(newer !== undefined ? { newerNoncurrentVersions: newer } : {}) }
  }
  if (r.AbortIncompleteMultipartUpload !== undefined) {
    const a = asObj(r.AbortIncompleteMultipartUpload)
    const d = int(a.DaysAfterInitiation, 'DaysAfterInitiation', 'AbortIncompleteMultipartUpload', 1)
    if (d === undefined) throw s3Error('MalformedXML')
    // Uploads carry no tags, so a tag-filtered abort could never match; S3 refuses it.
    if (rule.filter.tags.length > 0) throw bad('AbortIncompleteMultipartUpload cannot be specified with Tags.')
    rule.abortIncompleteDays = d
  }
  for (const t of list(r.Transition)) {
    const o = asObj(t)
    const storageClass = one(o.StorageClass)
    if (storageClass === undefined || !STORAGE_CLASSES.has(storageClass)) throw s3Error('MalformedXML')
    const days = int(o.Days, 'Days', 'Transition', 0)
    const date = midnight(o.Date)
    if ((days === undefined) === (date === undefined)) throw s3Error('MalformedXML')
    // Transition (S3 API reference): for STANDARD_IA or ONEZONE_IA "valid values are positive integers greater than 30".
    if (days !== undefined && days < 30 && (storageClass === 'STANDARD_IA' || storageClass === 'ONEZONE_IA')) {
      throw bad(`'Days' in Transition action must be greater than or equal to 30 for storageClass '${storageClass}'`)
    }
    rule.transitions.push({ storageClass, ...(days !== undefined ? { days } : {}), ...(date !== undefined ? { date } : {}) })
  }
  for (const t of list(r.NoncurrentVersionTransition)) {
    const o = asObj(t)
    const storageClass = one(o.StorageClass)
    if (storageClass === undefined || !STORAGE_CLASSES.has(storageClass)) throw s3Error('MalformedXML')
    const noncurrentDays = int(o.NoncurrentDays, 'NoncurrentDays', 'NoncurrentVersionTransition', 0)
    if (noncurrentDays === undefined) throw s3Error('MalformedXML')
    if (noncurrentDays < 30 && (storageClass === 'STANDARD_IA' || storageClass === 'ONEZONE_IA')) {
      throw bad(`'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass '${storageClass}'`)
    }
    const newer = int(o.NewerNoncurrentVersions, 'NewerNoncurrentVersions', 'NoncurrentVersionTransition', 1)
    rule.noncurrentTransitions.push({ storageClass, noncurrentDays, ...(newer !== undefined ? { newerNoncurrentVersions: newer } : {}) })
  }
  if (!rule.expiration && !rule.noncurrentExpiration && rule.abortIncompleteDays === undefined && rule.transitions.length === 0 && rule.noncurrentTransitions.length === 0) {
    throw bad('At least one action needs to be specified in a rule')
  }
  return rule
}

/** A LifecycleConfiguration document → its rules, refused as S3 refuses it. */
export function parseLifecycle(raw: Buffer, minSize = DEFAULT_MIN_SIZE): LifecycleConfig {
  const doc = parseXmlBody(raw, 'LifecycleConfiguration')
  const rules = list(doc.Rule)
  if (rules.length === 0) throw s3Error('MalformedXML')
  if (rules.length > MAX_RULES) throw bad('The number of lifecycle rules should not exceed allowed limit of 1000 rules')
  const parsed = rules.map((r) => parseRule(asObj(r)))
  const ids = new Set<string>()
  for (const r of parsed) {
    if (r.id === '') continue
    if (ids.has(r.id)) throw bad('Rule ID must be unique. Found same ID for more than one rule')
    ids.add(r.id)
  }
  // S3 gives a rule without an ID a random one, and Get shows it.
  for (const r of parsed) if (r.id === '') r.id = randomId(ids)
  return { rules: parsed, transitionDefaultMinimumObjectSize: minSize }
}

function randomId(taken: Set<string>): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  for (;;) {
    let s = ''
    for (let i = 0; i < 48; i++) s += chars[Math.floor(Math.random() * chars.length)]
    if (!taken.has(s)) {
      taken.add(s)
      return s
    }
  }
}

function renderFilter(r: LifecycleRule): XmlObject {
  const f = r.filter
  const tags = f.tags.map((t) => ({ Key: t.Key, Value: t.Value }))
  const parts = (f.prefix !== '' ? 1 : 0) + tags.length + (f.sizeGreaterThan !== undefined ? 1 : 0) + (f.sizeLessThan !== undefined ? 1 : 0)
  const fields: XmlObject = { Prefix: f.prefix !== '' ? f.prefix : undefined, Tag: tags, ObjectSizeGreaterThan: f.sizeGreaterThan, ObjectSizeLessThan: f.sizeLessThan }
  if (parts > 1) return { And: fields }
  if (parts === 0) return { Prefix: '' }
  return { ...fields, Tag: tags[0] }
}

export function renderLifecycle(c: LifecycleConfig): string {
  const Rule: XmlObject[] = c.rules.map((r) => ({
    Expiration: r.expiration ? { Date: r.expiration.date, Days: r.expiration.days, ExpiredObjectDeleteMarker: r.expiration.expiredObjectDeleteMarker } : undefined,
    ID: r.id,
    ...(r.shape === 'legacy' ? { Prefix: r.filter.prefix } : { Filter: renderFilter(r) }),
    Status: r.enabled ? 'Enabled' : 'Disabled',
    Transition: r.transitions.map((t) => ({ Date: t.date, Days: t.days, StorageClass: t.storageClass })),
    NoncurrentVersionTransition: r.noncurrentTransitions.map((t) => ({
      NoncurrentDays: t.noncurrentDays,
      StorageClass: t.storageClass,
      NewerNoncurrentVersions: t.newerNoncurrentVersions,
    })),
    NoncurrentVersionExpiration: r.noncurrentExpiration
      ? { NoncurrentDays: r.noncurrentExpiration.noncurrentDays, NewerNoncurrentVersions: r.noncurrentExpiration.newerNoncurrentVersions }
      : undefined,
    AbortIncompleteMultipartUpload: r.abortIncompleteDays !== undefined ? { DaysAfterInitiation: r.abortIncompleteDays } : undefined,
  }))
  return renderXml('LifecycleConfiguration', { Rule })
}

/** The bucket's configs entry: the rules as JSON, so the worker and every response read them without XML. */
export const LIFECYCLE_CONFIG = 'lifecycle'

const parsedCache = new Map<string, LifecycleConfig | null>()
export function lifecycleOf(configs: Record<string, string>): LifecycleConfig | undefined {
  const raw = configs[LIFECYCLE_CONFIG]
  if (raw === undefined) return undefined
  let c = parsedCache.get(raw)
  if (c === undefined) {
    try {
      c = JSON.parse(raw) as LifecycleConfig
    } catch {
      c = null
    }
    if (parsedCache.size > 1000) parsedCache.clear()
    parsedCache.set(raw, c)
  }
  return c ?? undefined
}

/** Whether a rule's filter selects a key with these tags and size. */
export function matches(f: LifecycleFilter, key: string, tags: Tag[] | undefined, size: number | undefined): boolean {
  if (!key.startsWith(f.prefix)) return false
  for (const t of f.tags) if (!(tags ?? []).some((x) => x.Key === t.Key && x.Value === t.Value)) return false
  if (f.sizeGreaterThan !== undefined && (size === undefined || size <= f.sizeGreaterThan)) return false
  if (f.sizeLessThan !== undefined && (size === undefined || size >= f.sizeLessThan)) return false
  return true
}

/**
 * When `days` after `from` falls due: "Amazon S3 calculates the time by adding the number of days
 * specified in the rule to the object creation time and rounding the resulting time to the next
 * day midnight UTC" (Lifecycle configuration elements, §Number of days).
 */
export function dueAt(from: Date, days: number): Date {
  const t = from.getTime() + days * DAY_MS
  return new Date(Math.ceil(t / DAY_MS) * DAY_MS)
}

/** The Expiration rule (enabled, by Days or Date) that ends a current version first, and when. */
export function expiryOf(c: LifecycleConfig, v: Pick<ObjectVersion, 'key' | 'tags' | 'size' | 'lastModified'>): { at: Date; ruleId: string } | undefined {
  let best: { at: Date; ruleId: string } | undefined
  for (const r of c.rules) {
    if (!r.enabled || !r.expiration || r.expiration.expiredObjectDeleteMarker !== undefined) continue
    if (!matches(r.filter, v.key, v.tags, v.size)) continue
    const at = r.expiration.days !== undefined ? dueAt(v.lastModified, r.expiration.days) : new Date(r.expiration.date!)
    if (!best || at < best.at) best = { at, ruleId: r.id }
  }
  return best
}

/**
 * x-amz-expiration as S3 sends it: `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`,
 * "The value of the rule-id is URL-encoded" (PutObject, GetObject, HeadObject responses).
 */
export function expirationHeader(configs: Record<string, string>, v: Pick<ObjectVersion, 'key' | 'tags' | 'size' | 'lastModified'>): string | undefined {
  const c = lifecycleOf(configs)
  if (!c) return undefined
  const e = expiryOf(c, v)
  return e && `expiry-date="${e.at.toUTCString()}", rule-id="${encodeURIComponent(e.ruleId)}"`
}

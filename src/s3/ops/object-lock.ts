/**
 * @module S3 Object Lock: the bucket's configuration (default retention), a version's retention and
 * legal hold, the lock headers of object writes and reads, and the check that refuses deleting a
 * protected version. What AWS does, with sources: docs/decisions/object-lock.md.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
import { chain } from '../../shared/chain.js'
import { invalidArgument, S3Error, s3Error } from '../../shared/errors.js'
import type { BucketRecord } from '../../state/control-store.js'
import type { ObjectAttributes, ObjectVersion } from '../../storage/types.js'
import type { OperationName } from '../classify.js'
import { type BucketRequest, empty, type ObjectRequest, readSmallBody, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { bodyDigester } from '../digests.js'
import { type Headers, header } from '../headers.js'
import { list, parseXmlBody, renderXml, text } from '../xml.js'

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE'
export interface DefaultRetention {
  mode: LockMode
  days?: number
  years?: number
}
export interface LockConfig {
  rule?: DefaultRetention
}

/** The bucket's configs entry; present exactly when Object Lock is enabled (it cannot be turned off). */
const CONFIG = 'object-lock'
const DAY_MS = 86_400_000
/** "The maximum retention period is 100 years" (Object Lock considerations, "Setting retention limits"). */
const MAX_DAYS = 36_500
const MAX_YEARS = 100

const PROTECTED = 'Access Denied because object protected by object lock.'
const MISSING_CONFIG = 'Bucket is missing Object Lock Configuration'

// ops/object.ts imports this module, so its storeOf is not imported back.
function storeOf(req: BucketRequest) {
  const store = req.core.stores.get(req.bucket.region)
  if (!store) throw s3Error('ServiceUnavailable')
  return store
}

const isMode = (v: string | undefined): v is LockMode => v === 'GOVERNANCE' || v === 'COMPLIANCE'

// The stored text is the document GetObjectLockConfiguration returns; parsed once per text.
const parsed = new Map<string, LockConfig>()

export function lockConfigOf(b: BucketRecord): LockConfig | undefined {
  const raw = b.configs[CONFIG]
  if (raw === undefined) return undefined
  let cfg = parsed.get(raw)
  if (!cfg) {
    cfg = parseLockConfiguration(Buffer.from(raw))
    if (parsed.size > 1000) parsed.clear()
    parsed.set(raw, cfg)
  }
  return cfg
}

function renderLockConfiguration(cfg: LockConfig): string {
  const r = cfg.rule
  return renderXml('ObjectLockConfiguration', {
    ObjectLockEnabled: 'Enabled',
    Rule: r ? { DefaultRetention: { Mode: r.mode, Days: r.days, Years: r.years } } : undefined,
  })
}

/**
 * PutObjectLockConfiguration's body, with the answers AWS gives: Days and Years together, neither,
 * an unknown Mode or ObjectLockEnabled other than Enabled are MalformedXML; a period that is not a
 * positive integer is InvalidArgument (PutObjectLockConfiguration, S3 API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html).
 */
export function parseLockConfiguration(raw: Buffer): LockConfig {
  const doc = parseXmlBody(raw, 'ObjectLockConfiguration')
  if (text(doc.ObjectLockEnabled) !== 'Enabled') throw s3Error('MalformedXML')
  const rules = list(doc.Rule)
  if (rules.length > 1) throw s3Error('MalformedXML')
  if (rules.length === 0) return {}
  const rule = rules[0]
  const dr = typeof rule === 'object' && rule !== null ? (rule as Record<string, unknown>).DefaultRetention : undefined
  if (typeof dr !== 'object' || dr === null) throw s3Error('MalformedXML')
  const d = dr as Record<string, unknown>
  const mode = text(d.Mode)
  const days = text(d.Days)
  const years = text(d.Years)
  if (!isMode(mode) || (days === undefined) === (years === undefined)) throw s3Error('MalformedXML')
  const period = (days ?? years)!.trim()
  if (!/^[+-]?\d+$/.test(period)) throw s3Error('MalformedXML')
  const n = Number(period)
  if (n <= 0) throw invalidArgument(days !== undefined ? 'Days' : 'Years', period, 'Default retention period must be a positive integer value.')
  if (n > (days !== undefined ? MAX_DAYS : MAX_YEARS)) throw invalidArgument(days !== undefined ? 'Days' : 'Years', period, 'Default retention period is too large.')
  return { rule: days !== undefined ? { mode, days: n } : { mode, years: n } }
}

/**
 * Lock requests must carry Content-MD5 or a flexible checksum ("Content-MD5 OR x-amz-checksum- HTTP
 * header is required for Put Object requests with Object Lock parameters", as S3 answers; PutObject,
 * S3 API reference). A trailing checksum counts: the SDKs send it that way.
 */
export function hasIntegrityHeader(h: Headers): boolean {
  if (h['content-md5'] !== undefined || h['x-amz-sdk-checksum-algorithm'] !== undefined) return true
  for (const name in h) if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type' && name !== 'x-amz-checksum-algorithm') return true
  return header(h, 'x-amz-trailer')?.toLowerCase().includes('x-amz-checksum-') === true
}

function requireIntegrity(h: Headers, what: string): void {
  if (!hasIntegrityHeader(h))
    throw s3Error('InvalidRequest', { message: `Content-MD5 OR x-amz-checksum- HTTP header is required for ${what} requests with Object Lock parameters` })
}

/** A small lock body, read through the digester so Content-MD5 and checksums are checked. */
async function readLockBody(req: S3Request): Promise<Buffer> {
  return readSmallBody(chain(req.body, bodyDigester(req.headers)), 64 * 1024)
}

function enabledConfig(b: BucketRecord): LockConfig {
  const cfg = lockConfigOf(b)
  if (!cfg) throw s3Error('InvalidRequest', { message: MISSING_CONFIG })
  return cfg
}

// ---- the bucket's configuration ----

export async function getObjectLockConfiguration(req: BucketRequest): Promise<S3Response> {
  const raw = req.bucket.configs[CONFIG]
  if (raw === undefined) throw s3Error('ObjectLockConfigurationNotFoundError', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(raw)
}

/**
 * Sets the default retention, and enables Object Lock on a bucket whose versioning is Enabled (AWS
 * allows that since November 2023: "Enable Object Lock on an existing S3 bucket", Configuring S3
 * Object Lock, https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
 */
export async function putObjectLockConfiguration(req: BucketRequest): Promise<S3Response> {
  requireIntegrity(req.headers, 'Put Object Lock Configuration')
  const cfg = parseLockConfiguration(await readLockBody(req))
  const b = req.bucket
  if (b.configs[CONFIG] === undefined && b.versioning !== 'Enabled') {
    throw s3Error('InvalidBucketState', { message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration" })
  }
  await req.core.state.updateBucket(b.name, { configs: { ...b.configs, [CONFIG]: renderLockConfiguration(cfg) } })
  return empty(200)
}

/** CreateBucket with x-amz-bucket-object-lock-enabled: the configs entry of a lock-enabled bucket without a rule. */
export function enabledLockConfigs(): Record<string, string> {
  return { [CONFIG]: renderLockConfiguration({}) }
}

/** The value of x-amz-bucket-object-lock-enabled: true, false, or a refusal. */
export function lockEnabledHeader(h: Headers): boolean {
  const v = header(h, 'x-amz-bucket-object-lock-enabled')?.trim().toLowerCase()
  if (v === undefined || v === 'false') return false
  if (v === 'true') return true
  throw invalidArgument('x-amz-bucket-object-lock-enabled', v, 'Invalid value for x-amz-bucket-object-lock-enabled header.')
}

// ---- a version's lock ----

interface Retention {
  mode: LockMode
  until: Date
}

function retentionOf(v: ObjectAttributes): Retention | undefined {
  if (!v.objectLockMode || v.objectLockRetainUntilDate === undefined) return undefined
  return { mode: v.objectLockMode, until: new Date(v.objectLockRetainUntilDate) }
}

const iso = (d: Date): string => d.toISOString()

/** Whether the caller asked to bypass GOVERNANCE and may (header and s3:BypassGovernanceRetention both). */
function bypass(req: S3Request, key: string): boolean {
  if (header(req.headers, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() !== 'true') return false
  if (!req.allowed('s3:BypassGovernanceRetention', key)) throw s3Error('AccessDenied')
  return true
}

/**
 * Refuses deleting a protected version: a legal hold, an unexpired COMPLIANCE retention, or an
 * unexpired GOVERNANCE one without the bypass ("Bypassing governance mode", Object Lock
 * considerations, https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
 * Delete markers are never protected. Returns the refusal instead of throwing, for DeleteObjects.
 */
export function deleteRefusal(req: S3Request, v: ObjectVersion): S3Error | undefined {
  const why = protection(v, req.core.clock().getTime())
  if (why === undefined) return undefined
  if (why !== 'GOVERNANCE') return s3Error('AccessDenied', { message: PROTECTED })
  try {
    return bypass(req, v.key) ? undefined : s3Error('AccessDenied', { message: PROTECTED })
  } catch (e) {
    if (e instanceof S3Error) return e
    throw e
  }
}

/**
 * What keeps a version from being deleted at `nowMs`, if anything: a legal hold, or a running
 * retention (GOVERNANCE yields to a bypass, the others to nothing). Lifecycle expiration must ask
 * too: "protected object versions remain safe from being deleted or overwritten by a lifecycle
 * configuration" (Object Lock considerations).
 */
export function protection(v: ObjectVersion, nowMs: number): 'LEGAL_HOLD' | LockMode | undefined {
  if (v.isDeleteMarker) return undefined
  if (v.objectLockLegalHold === 'ON') return 'LEGAL_HOLD'
  const r = retentionOf(v)
  return r && r.until.getTime() > nowMs ? r.mode : undefined
}

/** The version a versioned delete names, when it exists (the store answers for one that does not). */
export async function versionToDelete(req: BucketRequest, key: string, versionId: string): Promise<ObjectVersion | undefined> {
  try {
    return (await storeOf(req).getObject(req.bucket.name, key, versionId)).version
  } catch (e) {
    if (e instanceof S3Error && (e.code === 'NoSuchKey' || e.code === 'NoSuchVersion' || e.code === 'MethodNotAllowed')) return undefined
    throw e
  }
}

// One lock change at a time per version on this node: a retention check and its write must not
// interleave with another's, or a COMPLIANCE date could be overwritten by a request that read before it.
const inFlight = new Map<string, Promise<unknown>>()
export async function serialized<T>(b: BucketRecord, key: string, fn: () => Promise<T>): Promise<T> {
  const id = `${b.region}\0${b.name}\0${key}`
  const prev = inFlight.get(id) ?? Promise.resolve()
  const run = prev.then(fn, fn)
  const tail = run.catch(() => undefined)
  inFlight.set(id, tail)
  try {
    return await run
  } finally {
    if (inFlight.get(id) === tail) inFlight.delete(id)
  }
}

function versionOf(req: S3Request): string | undefined {
  return req.query.get('versionId') ?? undefined
}

function versionHeader(v: ObjectVersion): Record<string, string> {
  return v.versionId === 'null' ? {} : { 'x-amz-version-id': v.versionId }
}

async function lockedVersion(req: ObjectRequest): Promise<ObjectVersion> {
  return (await storeOf(req).getObject(req.bucket.name, req.key, versionOf(req))).version
}

/** PutObjectRetention's body: both fields, or neither (which removes the retention). */
export function parseRetention(raw: Buffer): Retention | undefined {
  const doc = parseXmlBody(raw, 'Retention')
  const mode = text(doc.Mode)
  const until = text(doc.RetainUntilDate)
  if (mode === undefined && until === undefined) return undefined
  if (!isMode(mode) || until === undefined) throw s3Error('MalformedXML')
  const d = new Date(until.trim())
  if (!/^\d{4}-\d{2}-\d{2}T/.test(until.trim()) || Number.isNaN(d.getTime())) throw s3Error('MalformedXML')
  return { mode, until: d }
}

export function parseLegalHold(raw: Buffer): 'ON' | 'OFF' {
  const status = text(parseXmlBody(raw, 'LegalHold').Status)
  if (status !== 'ON' && status !== 'OFF') throw s3Error('MalformedXML')
  return status
}

export async function getObjectRetention(req: ObjectRequest): Promise<S3Response> {
  enabledConfig(req.bucket)
  const v = await lockedVersion(req)
  const r = retentionOf(v)
  if (!r) throw s3Error('NoSuchObjectLockConfiguration')
  return xmlResponse(renderXml('Retention', { Mode: r.mode, RetainUntilDate: iso(r.until) }), 200, versionHeader(v))
}

/**
 * PutObjectRetention: a retention may always be lengthened in its mode; a COMPLIANCE one is never
 * shortened, removed or turned into GOVERNANCE while it runs; any other change of an unexpired
 * GOVERNANCE retention needs the bypass (header and permission).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
 */
export async function putObjectRetention(req: ObjectRequest): Promise<S3Response> {
  enabledConfig(req.bucket)
  requireIntegrity(req.headers, 'Put Object Retention')
  const next = parseRetention(await readLockBody(req))
  const now = req.core.clock().getTime()
  if (next && next.until.getTime() <= now) throw invalidArgument('RetainUntilDate', iso(next.until), 'The retain until date must be in the future!')
  const v = await serialized(req.bucket, req.key, async () => {
    const cur = await lockedVersion(req)
    if (cur.isDeleteMarker) throw s3Error('MethodNotAllowed', { fields: { Method: 'PUT', ResourceType: 'DeleteMarker' } })
    const old = retentionOf(cur)
    if (old && old.until.getTime() > now) {
      const extends_ = next !== undefined && next.mode === old.mode && next.until.getTime() >= old.until.getTime()
      if (!extends_) {
        if (old.mode === 'COMPLIANCE' || !bypass(req, req.key)) throw s3Error('AccessDenied', { message: PROTECTED })
      }
    }
    const patch: Partial<ObjectAttributes> = next
      ? { objectLockMode: next.mode, objectLockRetainUntilDate: iso(next.until) }
      : { objectLockMode: undefined, objectLockRetainUntilDate: undefined }
    return storeOf(req).updateObject(req.bucket.name, req.key, cur.versionId, patch)
  })
  await req.core.replication.updated(req.bucket, v)
  return empty(200, versionHeader(v))
}

export async function getObjectLegalHold(req: ObjectRequest): Promise<S3Response> {
  enabledConfig(req.bucket)
  const v = await lockedVersion(req)
  if (v.objectLockLegalHold === undefined) throw s3Error('NoSuchObjectLockConfiguration')
  return xmlResponse(renderXml('LegalHold', { Status: v.objectLockLegalHold }), 200, versionHeader(v))
}

export async function putObjectLegalHold(req: ObjectRequest): Promise<S3Response> {
  enabledConfig(req.bucket)
  requireIntegrity(req.headers, 'Put Object Legal Hold')
  const status = parseLegalHold(await readLockBody(req))
  const v = await serialized(req.bucket, req.key, async () => {
    const cur = await lockedVersion(req)
    if (cur.isDeleteMarker) throw s3Error('MethodNotAllowed', { fields: { Method: 'PUT', ResourceType: 'DeleteMarker' } })
    return storeOf(req).updateObject(req.bucket.name, req.key, cur.versionId, { objectLockLegalHold: status })
  })
  await req.core.replication.updated(req.bucket, v)
  return empty(200, versionHeader(v))
}

// ---- object writes and reads ----

interface HeaderLock {
  mode?: LockMode
  until?: Date
  hold?: 'ON' | 'OFF'
}

/** The x-amz-object-lock-* headers of a write, validated as S3 validates them. */
function headerLock(h: Headers, now: number): HeaderLock | undefined {
  const mode = header(h, 'x-amz-object-lock-mode')?.trim()
  const until = header(h, 'x-amz-object-lock-retain-until-date')?.trim()
  const hold = header(h, 'x-amz-object-lock-legal-hold')?.trim()
  if (mode === undefined && until === undefined && hold === undefined) return undefined
  const out: HeaderLock = {}
  if (mode !== undefined || until !== undefined) {
    if (mode === undefined || until === undefined)
      throw s3Error('InvalidArgument', { message: 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied' })
    if (!isMode(mode)) throw invalidArgument('x-amz-object-lock-mode', mode, 'Unknown wormMode directive.')
    const d = new Date(until)
    if (!/^\d{4}-\d{2}-\d{2}T/.test(until) || Number.isNaN(d.getTime()))
      throw invalidArgument('x-amz-object-lock-retain-until-date', until, 'The retain until date must be provided in ISO 8601 format')
    if (d.getTime() <= now) throw invalidArgument('x-amz-object-lock-retain-until-date', until, 'The retain until date must be in the future!')
    out.mode = mode
    out.until = d
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') throw invalidArgument('x-amz-object-lock-legal-hold', hold, "Legal Hold must be either of 'ON' or 'OFF'")
    out.hold = hold
  }
  return out
}

function defaultUntil(rule: DefaultRetention, now: number): Date {
  if (rule.days !== undefined) return new Date(now + rule.days * DAY_MS)
  const d = new Date(now)
  d.setUTCFullYear(d.getUTCFullYear() + rule.years!)
  return d
}

/**
 * The lock a new version gets (PutObject, CopyObject, CreateMultipartUpload): its headers, else the
 * bucket's default retention ("Bucket configuration", How S3 Object Lock works,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-overview.html). Lock headers on
 * a bucket without Object Lock are InvalidRequest; setting them needs s3:PutObjectRetention /
 * s3:PutObjectLegalHold besides s3:PutObject. Writes the attributes into `attrs`.
 */
export function applyWriteLock(req: BucketRequest & { key: string }, attrs: ObjectAttributes): void {
  // A copy's source lock never travels: only this request's headers and the destination's default.
  delete attrs.objectLockMode
  delete attrs.objectLockRetainUntilDate
  delete attrs.objectLockLegalHold
  const cfg = lockConfigOf(req.bucket)
  if (!cfg) {
    const h = req.headers
    if (h['x-amz-object-lock-mode'] !== undefined || h['x-amz-object-lock-retain-until-date'] !== undefined || h['x-amz-object-lock-legal-hold'] !== undefined) {
      throw s3Error('InvalidRequest', { message: MISSING_CONFIG })
    }
    return
  }
  const now = req.core.clock().getTime()
  const given = headerLock(req.headers, now)
  if (given?.mode && !req.allowed('s3:PutObjectRetention', req.key)) throw s3Error('AccessDenied')
  if (given?.hold && !req.allowed('s3:PutObjectLegalHold', req.key)) throw s3Error('AccessDenied')
  if (given?.mode) {
    attrs.objectLockMode = given.mode
    attrs.objectLockRetainUntilDate = iso(given.until!)
  } else if (cfg.rule) {
    attrs.objectLockMode = cfg.rule.mode
    attrs.objectLockRetainUntilDate = iso(defaultUntil(cfg.rule, now))
  }
  if (given?.hold) attrs.objectLockLegalHold = given.hold
  // CopyObject and CreateMultipartUpload carry no object bytes; their parts are checked one by one.
  if (req.op.name === 'PutObject' && (attrs.objectLockMode || attrs.objectLockLegalHold)) requireIntegrity(req.headers, 'Put Object')
}

/** UploadPart of an upload whose object will be locked needs the same integrity header. */
export function checkPartIntegrity(h: Headers, upload: ObjectAttributes): void {
  if (upload.objectLockMode || upload.objectLockLegalHold) requireIntegrity(h, 'Put Part')
}

/**
 * The lock headers of GET/HEAD, each only for a caller who may read it: "If you GET or HEAD an object
 * version but don't have the necessary permissions to view its lock status, the request succeeds.
 * However, it doesn't return information that you don't have permission to view" (Object Lock
 * considerations).
 */
export function lockResponseHeaders(req: ObjectRequest, v: ObjectVersion, out: Record<string, string>): void {
  if (v.objectLockMode && v.objectLockRetainUntilDate !== undefined && req.allowed('s3:GetObjectRetention', req.key)) {
    out['x-amz-object-lock-mode'] = v.objectLockMode
    out['x-amz-object-lock-retain-until-date'] = v.objectLockRetainUntilDate
  }
  if (v.objectLockLegalHold && req.allowed('s3:GetObjectLegalHold', req.key)) out['x-amz-object-lock-legal-hold'] = v.objectLockLegalHold
}

// ---- condition keys ----

/** The s3:object-lock-* condition keys' inputs (src/policy/context.ts computes the keys). */
export interface LockFacts {
  mode?: string
  retainUntilDate?: string
  legalHold?: string
}

const HEADER_KEYED: ReadonlySet<OperationName> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload'])

/** From a write's headers: the values as sent (AWS keys read the request, not the result). */
export function lockFactsFromHeaders(op: OperationName, h: Headers): LockFacts | undefined {
  if (!HEADER_KEYED.has(op)) return undefined
  const f: LockFacts = {}
  const mode = header(h, 'x-amz-object-lock-mode')
  const until = header(h, 'x-amz-object-lock-retain-until-date')
  const hold = header(h, 'x-amz-object-lock-legal-hold')
  if (mode !== undefined) f.mode = mode.trim()
  if (until !== undefined) f.retainUntilDate = until.trim()
  if (hold !== undefined) f.legalHold = hold.trim()
  return mode === undefined && until === undefined && hold === undefined ? undefined : f
}

/** The operations whose keys come from the body, which is then read before authorization. */
export function lockFactsFromBody(op: OperationName): ((raw: Buffer) => LockFacts | undefined) | undefined {
  if (op === 'PutObjectRetention') {
    return (raw) => {
      try {
        const r = parseRetention(raw)
        return r ? { mode: r.mode, retainUntilDate: iso(r.until) } : undefined
      } catch {
        return undefined
      } // the handler answers MalformedXML, after authorization
    }
  }
  if (op === 'PutObjectLegalHold') {
    return (raw) => {
      try {
        return { legalHold: parseLegalHold(raw) }
      } catch {
        return undefined
      }
    }
  }
  return undefined
}

/**
 * @module Put/GetBucketLogging: server access logging's configuration, recorded in the bucket's
 * configs (`logging`); the records themselves are written by s3/access-log.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLogging.html; docs/decisions/access-logging.md.
 */
import { s3Error } from '../../shared/errors.js'
import type { BucketRecord } from '../../state/control-store.js'
import { type Grant, granteeFromXml, ownershipOf, renderGrant } from '../acl.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from '../xml.js'
import { directory } from './acl.js'

export type PartitionDateSource = 'EventTime' | 'DeliveryTime'

export interface LoggingConfig {
  targetBucket: string
  targetPrefix: string
  /** TargetGrants, grantees resolved as every ACL's are (an email to its account); absent when none. */
  targetGrants?: Grant[]
  /** TargetObjectKeyFormat's choice as sent; absent when the request had none (the simple format). */
  keyFormat?: 'SimplePrefix' | 'PartitionedPrefix'
  /** PartitionedPrefix's PartitionDateSource as sent; absent means EventTime when delivering. */
  partitionDateSource?: PartitionDateSource
}

/** The bucket's logging configuration, or undefined when logging is off. */
export function loggingOf(b: BucketRecord): LoggingConfig | undefined {
  const raw = b.configs.logging
  return raw === undefined ? undefined : (JSON.parse(raw) as LoggingConfig)
}

/** The configuration as GetBucketLogging answers it: what was set, grants as GetObjectAcl shows grantees. */
function render(c: LoggingConfig | undefined): string {
  if (!c) return renderXml('BucketLoggingStatus', {})
  const enabled: XmlObject = { TargetBucket: c.targetBucket, TargetPrefix: c.targetPrefix }
  if (c.targetGrants) enabled.TargetGrants = { Grant: c.targetGrants.map(renderGrant) }
  if (c.keyFormat === 'SimplePrefix') enabled.TargetObjectKeyFormat = { SimplePrefix: '' }
  if (c.keyFormat === 'PartitionedPrefix') enabled.TargetObjectKeyFormat = { PartitionedPrefix: c.partitionDateSource ? { PartitionDateSource: c.partitionDateSource } : '' }
  return renderXml('BucketLoggingStatus', { LoggingEnabled: enabled })
}

export async function getBucketLogging(req: BucketRequest): Promise<S3Response> {
  return xmlResponse(render(loggingOf(req.bucket)))
}

/** An element with no content (`<SimplePrefix/>`); the parser keeps the whitespace of pretty-printed XML. */
const blank = (v: unknown): boolean => typeof v === 'string' && v.trim() === ''

/** An element's children, without the whitespace between them; text beside them does not validate. */
function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw s3Error('MalformedXML')
  const { '#text': between, ...children } = v as Record<string, unknown>
  if (between !== undefined && !blank(between)) throw s3Error('MalformedXML')
  return children
}

/**
 * TargetGrant's Permission: "Valid Values: FULL_CONTROL | READ | WRITE"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetGrant.html); anything else, or a
 * grant without a grantee, does not validate against the schema (MalformedXML).
 */
const TARGET_PERMISSIONS: readonly string[] = ['FULL_CONTROL', 'READ', 'WRITE']

interface RawGrant {
  grantee: Record<string, unknown>
  permission: Grant['permission']
}

function parseTargetGrants(v: unknown): RawGrant[] {
  if (v === undefined || blank(v)) return []
  const out: RawGrant[] = []
  for (const g of list(obj(v).Grant)) {
    const grant = obj(g)
    const permission = text(grant.Permission)
    if (permission === undefined || !TARGET_PERMISSIONS.includes(permission)) throw s3Error('MalformedXML')
    out.push({ grantee: obj(grant.Grantee), permission: permission as Grant['permission'] })
  }
  return out
}

/**
 * TargetObjectKeyFormat: SimplePrefix (`<SimplePrefix/>`) or PartitionedPrefix with an optional
 * PartitionDateSource "EventTime | DeliveryTime" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetObjectKeyFormat.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html). Both at once, a
 * child with content where none is allowed, or another date source does not validate (MalformedXML).
 */
function parseKeyFormat(v: unknown): Pick<LoggingConfig, 'keyFormat' | 'partitionDateSource'> {
  if (v === undefined || blank(v)) return {}
  const f = obj(v)
  const names = Object.keys(f)
  if (names.some((n) => n !== 'SimplePrefix' && n !== 'PartitionedPrefix') || names.length !== 1) throw s3Error('MalformedXML')
  if (f.SimplePrefix !== undefined) {
    if (!blank(f.SimplePrefix)) throw s3Error('MalformedXML')
    return { keyFormat: 'SimplePrefix' }
  }
  if (blank(f.PartitionedPrefix)) return { keyFormat: 'PartitionedPrefix' }
  const p = obj(f.PartitionedPrefix)
  if (Object.keys(p).some((n) => n !== 'PartitionDateSource')) throw s3Error('MalformedXML')
  const source = text(p.PartitionDateSource)
  if (source === undefined) return { keyFormat: 'PartitionedPrefix' }
  if (source !== 'EventTime' && source !== 'DeliveryTime') throw s3Error('MalformedXML')
  return { keyFormat: 'PartitionedPrefix', partitionDateSource: source }
}

/**
 * S3's rules (PutBucketLogging; "Error responses", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
 * only the bucket owner sets logging, whatever a policy grants; the target must exist (400
 * InvalidTargetBucketForLogging "The target bucket for logging does not exist"), be the same
 * owner's (400 InvalidTargetBucketForLogging) and in the same Region (403
 * CrossLocationLoggingProhibited). TargetGrants are ACL grants on the log objects: a
 * BucketOwnerEnforced target takes none ("Permissions can only be granted using policies"), and S3
 * answers 400 AccessControlListNotSupported "Target grants not allowed for bucket owner enforced
 * buckets" (as S3 printed it to hashicorp/terraform-provider-aws#31771). As for every ACL on such a
 * bucket, that refusal comes before any judgement of the grantees.
 */
export async function putBucketLogging(req: BucketRequest): Promise<S3Response> {
  if (req.principal.accountId !== req.bucket.owner) throw s3Error('AccessDenied')
  const doc = parseXmlBody(await readSmallBody(req.body, 64 * 1024), 'BucketLoggingStatus')
  const enabled = doc.LoggingEnabled
  if (enabled === undefined || blank(enabled)) {
    if (req.bucket.configs.logging !== undefined) await req.core.state.updateBucket(req.bucket.name, { configs: { logging: undefined } })
    return empty(200)
  }
  const e = obj(enabled)
  const targetBucket = text(e.TargetBucket)
  // TargetPrefix is required by the API (PutBucketLogging, LoggingEnabled: "Required: Yes"), and S3
  // refuses a LoggingEnabled without one as MalformedXML; an empty one logs to the bucket's root.
  if (e.TargetPrefix === undefined) throw s3Error('MalformedXML')
  const targetPrefix = text(e.TargetPrefix) ?? ''
  if (targetBucket === undefined || targetBucket === '') throw s3Error('MalformedXML')
  const rawGrants = parseTargetGrants(e.TargetGrants)
  const format = parseKeyFormat(e.TargetObjectKeyFormat)
  const target = req.core.state.getBucket(targetBucket)
  if (!target) throw s3Error('InvalidTargetBucketForLogging', { message: 'The target bucket for logging does not exist', fields: { TargetBucket: targetBucket } })
  if (target.owner !== req.bucket.owner) {
    throw s3Error('InvalidTargetBucketForLogging', {
      message: 'The owner for the bucket to be logged and the target bucket must be the same.',
      fields: { TargetBucket: targetBucket },
    })
  }
  if (target.region !== req.bucket.region)
    throw s3Error('CrossLocationLoggingProhibited', { fields: { SourceBucketLocation: req.bucket.region, TargetBucketLocation: target.region } })
  if (rawGrants.length > 0 && ownershipOf(target) === 'BucketOwnerEnforced')
    throw s3Error('AccessControlListNotSupported', { message: 'Target grants not allowed for bucket owner enforced buckets' })
  const dir = directory(req.core)
  const targetGrants = rawGrants.map((g): Grant => {
    const grantee = granteeFromXml(g.grantee, dir)
    if (!grantee) throw s3Error('MalformedXML')
    return { grantee, permission: g.permission }
  })
  const config: LoggingConfig = { targetBucket, targetPrefix, ...(targetGrants.length > 0 ? { targetGrants } : {}), ...format }
  await req.core.state.updateBucket(req.bucket.name, { configs: { logging: JSON.stringify(config) } })
  return empty(200)
}

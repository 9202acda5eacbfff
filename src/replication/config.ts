/**
 * @module Replication configuration: the S3 XML of PutBucketReplication parsed into rules, checked
 * as S3 checks it, and matched against objects. Pure (no I/O); the checks that need the running
 * state (destination bucket exists, versioning, role) live in ./validate.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ReplicationRule.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html
 */

import { list, parseXmlBody, text } from '../s3/xml.js'
import { type S3Error, s3Error } from '../shared/errors.js'
import type { Tag } from '../storage/types.js'

export interface ReplicationRule {
  id: string
  /** Higher wins when rules to the same destination overlap. V1 rules have none (0). */
  priority: number
  enabled: boolean
  prefix: string
  /** All must be on the object (the rule's And). */
  tags: Tag[]
  /** Destination bucket name (from the ARN) and its owner when the rule names one (cross-account). */
  destBucket: string
  destAccount?: string
  storageClass?: string
  /** Replica ownership changed to the destination account (AccessControlTranslation Owner=Destination). */
  ownerOverride: boolean
  deleteMarkers: boolean
  replicaModifications: boolean
  /** SourceSelectionCriteria SseKmsEncryptedObjects: SSE-KMS versions are replicated only under such a rule. */
  sseKmsObjects: boolean
  /** EncryptionConfiguration ReplicaKmsKeyID: the destination region's key that encrypts replicas of SSE-KMS versions. */
  replicaKmsKeyId?: string
  replicationTime: boolean
  metrics: boolean
  /** V1 rules (a Prefix outside a Filter) replicate delete markers and differ in delete semantics. */
  v1: boolean
}

export interface ReplicationConfig {
  role: string
  rules: ReplicationRule[]
}

const MAX_RULES = 1000
const ROLE_ARN = /^arn:[\w-]+:iam::\d{12}:role\/[\w+=,.@/-]+$/
const BUCKET_ARN = /^arn:[\w-]+:s3:::([a-zA-Z0-9._-]{3,255})$/

const bad = (message: string): S3Error => s3Error('InvalidRequest', { message })
const malformed = (): S3Error => s3Error('MalformedXML')

function obj(v: unknown): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined
  if (v === '') return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw malformed()
  return v as Record<string, unknown>
}

function status(v: unknown, required: boolean): boolean | undefined {
  const o = obj(v)
  if (!o) return undefined
  const s = text(o.Status)
  if (s === undefined) {
    if (required) throw malformed()
    return undefined
  }
  if (s !== 'Enabled' && s !== 'Disabled') throw malformed()
  return s === 'Enabled'
}

function tagOf(v: unknown): Tag {
  const o = obj(v)
  const Key = text(o?.Key)
  if (Key === undefined) throw malformed()
  return { Key, Value: text(o?.Value) ?? '' }
}

/** Parses and checks a ReplicationConfiguration document (the XML body, or its parsed root). */
export function parseReplication(body: Buffer | string | Record<string, unknown>): ReplicationConfig {
  const doc = typeof body === 'object' && !Buffer.isBuffer(body) ? body : parseXmlBody(body, 'ReplicationConfiguration')
  const role = text(doc.Role)
  if (role === undefined) throw malformed()
  if (!ROLE_ARN.test(role)) throw s3Error('InvalidArgument', { message: 'Invalid ARN', fields: { ArgumentName: 'Role', ArgumentValue: role } })
  const raw = list(doc.Rule)
  if (raw.length === 0) throw malformed()
  if (raw.length > MAX_RULES) throw bad(`Number of rules in the replication configuration exceeds the limit of ${MAX_RULES}`)
  const rules = raw.map((r, i) => parseRule(obj(r) ?? {}, i))
  checkRules(rules)
  return { role, rules }
}

function parseRule(r: Record<string, unknown>, index: number): ReplicationRule {
  const st = text(r.Status)
  if (st !== 'Enabled' && st !== 'Disabled') throw malformed()
  const id = text(r.ID) ?? `rule-${index + 1}`
  if (id.length > 255) throw bad('The ID of a replication rule must be at most 255 characters')
  const dest = obj(r.Destination)
  if (!dest) throw malformed()
  // The shared parser reads <Bucket> as a list (ListBuckets); here there must be exactly one.
  const bucketEl = Array.isArray(dest.Bucket) ? (dest.Bucket.length === 1 ? dest.Bucket[0] : {}) : dest.Bucket
  const arn = text(bucketEl)
  const m = arn === undefined ? null : BUCKET_ARN.exec(arn)
  if (!m) throw s3Error('InvalidArgument', { message: 'Invalid bucket ARN', fields: { ArgumentName: 'Destination', ArgumentValue: arn ?? '' } })
  const hasFilter = r.Filter !== undefined
  const legacyPrefix = text(r.Prefix)
  if (hasFilter && legacyPrefix !== undefined) throw malformed()
  let prefix = legacyPrefix ?? ''
  let tags: Tag[] = []
  if (hasFilter) {
    const f = obj(r.Filter) ?? {}
    const parts = ['Prefix', 'Tag', 'And'].filter((k) => f[k] !== undefined)
    // "A Filter must specify exactly one Prefix, Tag, or an And child element" (an empty Filter means all).
    if (parts.length > 1) throw malformed()
    if (f.Prefix !== undefined) prefix = text(f.Prefix) ?? ''
    if (f.Tag !== undefined) tags = list(f.Tag).map(tagOf)
    if (f.And !== undefined) {
      const and = obj(f.And) ?? {}
      prefix = text(and.Prefix) ?? ''
      tags = list(and.Tag).map(tagOf)
    }
    if (tags.length > 1 && new Set(tags.map((t) => t.Key)).size !== tags.length) throw bad('Duplicate Tag Keys are not allowed.')
  }
  if (prefix.length > 1024) throw bad('The prefix of a replication rule must be at most 1024 characters')
  const pr = text(r.Priority)
  if (pr !== undefined && !/^\d+$/.test(pr)) throw malformed()
  // V2 (with Filter) requires Priority and DeleteMarkerReplication; V1 has neither.
  if (hasFilter && (pr === undefined || r.DeleteMarkerReplication === undefined)) {
    throw bad(
      pr === undefined
        ? 'Priority must be specified for this version of Cross Region Replication configuration schema.'
        : 'DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema.',
    )
  }
  const deleteMarkers = hasFilter ? status(r.DeleteMarkerReplication, true)! : (status(r.DeleteMarkerReplication, false) ?? true)
  if (deleteMarkers && tags.length > 0)
    throw bad('Delete marker replication is not supported if any Tag filter is specified. Please refer to S3 Developer Guide for more information.')
  const ssc = obj(r.SourceSelectionCriteria)
  const replicaModifications = status(ssc?.ReplicaModifications, true) ?? false
  const sseKmsObjects = status(ssc?.SseKmsEncryptedObjects, true) ?? false
  // PutBucketReplication does not check the key itself ("If you use an invalid CMK, you will
  // receive the 200 OK status code in response, but replication fails"), only that one is named.
  const replicaKmsKeyId = text(obj(dest.EncryptionConfiguration)?.ReplicaKmsKeyID)
  if (sseKmsObjects && !replicaKmsKeyId) throw bad('ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.')
  const rtc = obj(dest.ReplicationTime)
  const metricsEl = obj(dest.Metrics)
  const replicationTime = status(dest.ReplicationTime, true) ?? false
  const metrics = status(dest.Metrics, true) ?? false
  if (replicationTime) {
    const minutes = text(obj(rtc?.Time)?.Minutes)
    if (minutes !== '15') throw bad('ReplicationTime Time Minutes must be 15')
    if (!metrics) throw bad('Replication Time Control requires Metrics to be enabled')
  }
  if (metricsEl && metrics) {
    const threshold = text(obj(metricsEl.EventThreshold)?.Minutes)
    if (threshold !== undefined && threshold !== '15') throw bad('Metrics EventThreshold Minutes must be 15')
  }
  const account = text(dest.Account)
  if (account !== undefined && !/^\d{12}$/.test(account))
    throw s3Error('InvalidArgument', { message: 'Invalid account id', fields: { ArgumentName: 'Account', ArgumentValue: account } })
  const act = obj(dest.AccessControlTranslation)
  const ownerOverride = act !== undefined
  if (ownerOverride) {
    if (text(act.Owner) !== 'Destination') throw malformed()
    if (account === undefined) throw bad('Destination Account must be specified when AccessControlTranslation is specified')
  }
  const rule: ReplicationRule = {
    id,
    priority: pr === undefined ? 0 : Number(pr),
    enabled: st === 'Enabled',
    prefix,
    tags,
    destBucket: m[1]!,
    ownerOverride,
    deleteMarkers,
    replicaModifications,
    sseKmsObjects,
    replicationTime,
    metrics,
    v1: !hasFilter,
  }
  if (replicaKmsKeyId) rule.replicaKmsKeyId = replicaKmsKeyId
  if (account !== undefined) rule.destAccount = account
  const sc = text(dest.StorageClass)
  if (sc !== undefined) rule.storageClass = sc
  return rule
}

function checkRules(rules: ReplicationRule[]): void {
  const ids = new Set<string>()
  for (const r of rules) {
    if (ids.has(r.id)) throw bad('Rule Id must be unique.')
    ids.add(r.id)
  }
  const v2 = rules.filter((r) => !r.v1)
  if (v2.length > 0 && v2.length !== rules.length) throw bad('Mixing V1 and V2 replication rules is not allowed')
  if (v2.length === 0) {
    // V1: prefixes must not overlap (one rule decides an object).
    for (const a of rules)
      for (const b of rules) {
        if (a !== b && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix))) throw bad('Found overlapping prefixes')
      }
    return
  }
  const priorities = new Set<number>()
  for (const r of rules) {
    if (priorities.has(r.priority)) throw bad('Found duplicate priority ' + r.priority + ' when priority must be unique')
    priorities.add(r.priority)
  }
}

function hasAllTags(rule: ReplicationRule, tags: readonly Tag[]): boolean {
  return rule.tags.every((t) => tags.some((o) => o.Key === t.Key && o.Value === t.Value))
}

/**
 * The enabled rules that apply to an object (`sseKms`: an SSE-KMS version), one per destination: when several rules name the same
 * destination, the highest priority wins ("Amazon S3 will attempt to replicate objects according to
 * all replication rules. However, if there are two or more rules with the same destination bucket,
 * then objects will be replicated according to the rule with the highest priority").
 */
export function matchingRules(cfg: ReplicationConfig, key: string, tags: readonly Tag[], sseKms = false): ReplicationRule[] {
  const best = new Map<string, ReplicationRule>()
  for (const r of cfg.rules) {
    if (!r.enabled || !key.startsWith(r.prefix) || !hasAllTags(r, tags)) continue
    // "By default, Amazon S3 doesn't replicate objects that are stored at rest using server-side
    // encryption with AWS KMS keys": an SSE-KMS version is selected only by a rule that opts in.
    if (sseKms && !r.sseKmsObjects) continue
    const cur = best.get(r.destBucket)
    if (!cur || r.priority > cur.priority) best.set(r.destBucket, r)
  }
  return [...best.values()]
}

/** Rules for a delete marker: tag filters cannot apply (a marker has no tags). */
export function markerRules(cfg: ReplicationConfig, key: string): ReplicationRule[] {
  return matchingRules(cfg, key, []).filter((r) => r.deleteMarkers && r.tags.length === 0)
}

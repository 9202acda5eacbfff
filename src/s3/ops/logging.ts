/**
 * @module Put/GetBucketLogging: server access logging's configuration, recorded in the bucket's
 * configs (`logging`); the records themselves are written by s3/access-log.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html
 */
import { s3Error } from '../../shared/errors.js'
import type { BucketRecord } from '../../state/control-store.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { parseXmlBody, renderXml, text } from '../xml.js'

export interface LoggingConfig {
  targetBucket: string
  targetPrefix: string
}

/** The bucket's logging configuration, or undefined when logging is off. */
export function loggingOf(b: BucketRecord): LoggingConfig | undefined {
  const raw = b.configs.logging
  return raw === undefined ? undefined : (JSON.parse(raw) as LoggingConfig)
}

function render(c: LoggingConfig | undefined): string {
  return renderXml('BucketLoggingStatus', c ? { LoggingEnabled: { TargetBucket: c.targetBucket, TargetPrefix: c.targetPrefix } } : {})
}

export async function getBucketLogging(req: BucketRequest): Promise<S3Response> {
  return xmlResponse(render(loggingOf(req.bucket)))
}

/**
 * S3's rules (PutBucketLogging; "Error responses", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
 * only the bucket owner sets logging, whatever a policy grants; the target must exist (400
 * InvalidTargetBucketForLogging "The target bucket for logging does not exist"), be the same
 * owner's (400 InvalidTargetBucketForLogging) and in the same Region (403
 * CrossLocationLoggingProhibited). TargetGrants are ACL grants, which a BucketOwnerEnforced target
 * (every mrap bucket) does not take: "Permissions can only be granted using policies".
 */
export async function putBucketLogging(req: BucketRequest): Promise<S3Response> {
  if (req.principal.accountId !== req.bucket.owner) throw s3Error('AccessDenied')
  const doc = parseXmlBody(await readSmallBody(req.body, 64 * 1024), 'BucketLoggingStatus')
  const enabled = doc.LoggingEnabled
  if (enabled === undefined || enabled === '') {
    if (req.bucket.configs.logging !== undefined) await req.core.state.updateBucket(req.bucket.name, { configs: { logging: undefined } })
    return empty(200)
  }
  if (typeof enabled !== 'object' || enabled === null) throw s3Error('MalformedXML')
  const e = enabled as Record<string, unknown>
  const targetBucket = text(e.TargetBucket)
  const targetPrefix = text(e.TargetPrefix) ?? ''
  if (targetBucket === undefined || targetBucket === '') throw s3Error('MalformedXML')
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
  if (e.TargetGrants !== undefined && e.TargetGrants !== '') throw s3Error('AccessControlListNotSupported')
  if (e.TargetObjectKeyFormat !== undefined && e.TargetObjectKeyFormat !== '') {
    const f = e.TargetObjectKeyFormat as Record<string, unknown>
    // Only the simple format (the default) is written; the date-partitioned one would be a lie.
    if (f.PartitionedPrefix !== undefined) throw s3Error('NotImplemented', { message: 'TargetObjectKeyFormat PartitionedPrefix is not implemented by this server.' })
  }
  const config: LoggingConfig = { targetBucket, targetPrefix }
  await req.core.state.updateBucket(req.bucket.name, { configs: { logging: JSON.stringify(config) } })
  return empty(200)
}

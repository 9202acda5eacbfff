/**
 * @module The checks of PutBucketReplication that need the running state: every destination bucket
 * exists, has versioning enabled, is not the source, and belongs to the account a rule names.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html
 */
import { S3Error, s3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import { parseReplication, type ReplicationConfig } from './config.js'

export function validateReplication(getBucket: (name: string) => BucketRecord | undefined, source: BucketRecord, doc: Record<string, unknown>): S3Error | undefined {
  let cfg: ReplicationConfig
  try {
    cfg = parseReplication(doc)
  } catch (e) {
    if (e instanceof S3Error) return e
    throw e
  }
  for (const r of cfg.rules) {
    if (r.destBucket === source.name) return s3Error('InvalidRequest', { message: 'Destination bucket cannot be the same as the source bucket.' })
    const dest = getBucket(r.destBucket)
    if (!dest) return s3Error('InvalidRequest', { message: 'Destination bucket must exist.' })
    if (dest.versioning !== 'Enabled') return s3Error('InvalidRequest', { message: 'Destination bucket must have versioning enabled.' })
    if (r.destAccount !== undefined && r.destAccount !== dest.owner) {
      return s3Error('InvalidRequest', { message: 'The destination account does not own the destination bucket.' })
    }
  }
  return undefined
}

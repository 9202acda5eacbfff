/**
 * @module Put/Get/DeleteBucketLifecycleConfiguration.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
 *
 * The rules live with the bucket in the state seam (`configs.lifecycle`, as JSON), so every node of
 * a fleet, and the worker (src/lifecycle), read the same rules.
 */
import { chain } from '../../shared/chain.js'
import { s3Error } from '../../shared/errors.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { bodyDigester } from '../digests.js'
import { header } from '../headers.js'
import { DEFAULT_MIN_SIZE, LIFECYCLE_CONFIG, lifecycleOf, MIN_SIZE_VALUES, parseLifecycle, renderLifecycle } from '../lifecycle.js'
import { hasIntegrityHeader } from './object-lock.js'

const MIN_SIZE_HEADER = 'x-amz-transition-default-minimum-object-size'

export async function putBucketLifecycleConfiguration(req: BucketRequest): Promise<S3Response> {
  // The S3 service model marks this operation httpChecksumRequired: Content-MD5 or a flexible checksum,
  // refused without one as DeleteObjects is.
  if (!hasIntegrityHeader(req.headers)) throw s3Error('InvalidRequest', { message: 'Missing required header for this request: Content-MD5' })
  const minSize = header(req.headers, MIN_SIZE_HEADER) ?? DEFAULT_MIN_SIZE
  if (!MIN_SIZE_VALUES.has(minSize)) throw s3Error('InvalidRequest', { message: `Invalid value for ${MIN_SIZE_HEADER}: ${minSize}` })
  // Read through the digester so a Content-MD5 or checksum that does not match the body is refused.
  const raw = await readSmallBody(chain(req.body, bodyDigester(req.headers)), 1024 * 1024)
  const cfg = parseLifecycle(raw, minSize)
  await req.core.state.updateBucket(req.bucket.name, { configs: { [LIFECYCLE_CONFIG]: JSON.stringify(cfg) } })
  return empty(200, { [MIN_SIZE_HEADER]: minSize })
}

export async function getBucketLifecycleConfiguration(req: BucketRequest): Promise<S3Response> {
  const cfg = lifecycleOf(req.bucket.configs)
  if (!cfg) throw s3Error('NoSuchLifecycleConfiguration', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(renderLifecycle(cfg), 200, { [MIN_SIZE_HEADER]: cfg.transitionDefaultMinimumObjectSize })
}

export async function deleteBucketLifecycle(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { configs: { [LIFECYCLE_CONFIG]: undefined } })
  return empty(204)
}

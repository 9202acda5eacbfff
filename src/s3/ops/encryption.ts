/**
 * @module SSE-S3: the request header on object writes, the response header, and the bucket's
 * default encryption (Put/Get/DeleteBucketEncryption). Decision and sources:
 * docs/decisions/encryption.md.
 *
 * Every object mrap stores is SSE-S3, as every new object on S3 has been since January 2023
 * ("Setting default server-side encryption behavior for Amazon S3 buckets",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html): the embedded store
 * encrypts every body (storage/embedded/sealed-bytes.ts). So `AES256` asked for on a write changes
 * nothing but is honoured, and an SSE-S3 object's responses say `AES256`. SSE-KMS and DSSE-KMS (in a
 * header or this configuration) wrap the body's key with a KMS key (../sse-kms.ts).
 */
import { invalidArgument, s3Error } from '../../shared/errors.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import type { KmsDefault } from '../sse-kms.js'
import { KMS_ALGORITHMS, notImplemented, SSE_S3 } from '../unsupported.js'
import { list, parseXmlBody, renderXml, text } from '../xml.js'

/**
 * The response header of every object operation (PUT, GET, HEAD, Copy, the multipart ones), as S3
 * sends it for an SSE-S3 object; one frozen object, spread into the headers.
 */
export const SSE_RESPONSE: Readonly<Record<string, string>> = Object.freeze({ 'x-amz-server-side-encryption': SSE_S3 })

/** configs.encryption: what PutBucketEncryption stored (absent: S3's default, SSE-S3 without a bucket key). */
export interface StoredEncryption {
  bucketKeyEnabled: boolean
  /** Absent: AES256. aws:kms or aws:kms:dsse with its key (absent: aws/s3), s3/sse-kms.ts. */
  algorithm?: 'aws:kms' | 'aws:kms:dsse'
  kmsKeyId?: string
}

/** The bucket's default SSE-KMS, when its default encryption is aws:kms. */
export function kmsDefaultOf(bucket: { configs: Record<string, string> }): KmsDefault | undefined {
  const raw = bucket.configs[CONFIG]
  if (raw === undefined) return undefined
  const stored = JSON.parse(raw) as StoredEncryption
  if (stored.algorithm === undefined) return undefined
  return {
    bucketKeyEnabled: stored.bucketKeyEnabled,
    ...(stored.algorithm === 'aws:kms:dsse' ? { dsse: true } : {}),
    ...(stored.kmsKeyId !== undefined ? { kmsKeyId: stored.kmsKeyId } : {}),
  }
}

/** The bucket config key PutBucketEncryption writes (world files write it too, src/world/bucket-encryption.ts). */
export const ENCRYPTION_CONFIG = 'encryption'
const CONFIG = ENCRYPTION_CONFIG

/**
 * GetBucketEncryption: a bucket never configured answers S3's default, SSE-S3 with BucketKeyEnabled
 * false ("By default, all buckets have a default encryption configuration that uses server-side
 * encryption with Amazon S3 managed keys (SSE-S3)", GetBucketEncryption,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html).
 */
export async function getBucketEncryption(req: BucketRequest): Promise<S3Response> {
  const raw = req.bucket.configs[CONFIG]
  const stored: StoredEncryption = raw === undefined ? { bucketKeyEnabled: false } : (JSON.parse(raw) as StoredEncryption)
  return xmlResponse(
    renderXml('ServerSideEncryptionConfiguration', {
      Rule: {
        ApplyServerSideEncryptionByDefault: { SSEAlgorithm: stored.algorithm ?? SSE_S3, ...(stored.kmsKeyId !== undefined ? { KMSMasterKeyID: stored.kmsKeyId } : {}) },
        BucketKeyEnabled: stored.bucketKeyEnabled,
      },
    }),
  )
}

/** PutBucketEncryption, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html */
export async function putBucketEncryption(req: BucketRequest): Promise<S3Response> {
  const doc = parseXmlBody(await readSmallBody(req.body, 64 * 1024), 'ServerSideEncryptionConfiguration')
  const rules = list(doc.Rule)
  if (rules.length !== 1) throw s3Error('MalformedXML')
  const rule = rules[0]
  if (typeof rule !== 'object' || rule === null) throw s3Error('MalformedXML')
  const by = (rule as Record<string, unknown>).ApplyServerSideEncryptionByDefault
  if (typeof by !== 'object' || by === null) throw s3Error('MalformedXML')
  const algorithm = text((by as Record<string, unknown>).SSEAlgorithm)
  if (algorithm === undefined) throw s3Error('MalformedXML')
  if (algorithm !== SSE_S3 && !KMS_ALGORITHMS.has(algorithm)) throw s3Error('MalformedXML')
  const keyId = text((by as Record<string, unknown>).KMSMasterKeyID)
  if (keyId !== undefined && algorithm === SSE_S3)
    throw invalidArgument('ApplyServerSideEncryptionByDefault', keyId, 'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse')
  const bke = text((rule as Record<string, unknown>).BucketKeyEnabled)
  if (bke !== undefined && bke !== 'true' && bke !== 'false') throw s3Error('MalformedXML')
  // Any other rule element (BlockedEncryptionTypes, which blocks SSE-C, among them) would change
  // what is stored, so it is refused rather than dropped.
  for (const k of Object.keys(rule)) {
    if (k !== 'ApplyServerSideEncryptionByDefault' && k !== 'BucketKeyEnabled') throw notImplemented(k)
  }
  const stored: StoredEncryption = {
    bucketKeyEnabled: bke === 'true',
    ...(algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse' ? { algorithm } : {}),
    ...(keyId !== undefined ? { kmsKeyId: keyId } : {}),
  }
  await req.core.state.updateBucket(req.bucket.name, { configs: { [CONFIG]: JSON.stringify(stored) } })
  return empty(200)
}

/** DeleteBucketEncryption: back to S3's default, SSE-S3 (DeleteBucketEncryption API reference). */
export async function deleteBucketEncryption(req: BucketRequest): Promise<S3Response> {
  if (req.bucket.configs[CONFIG] !== undefined) await req.core.state.updateBucket(req.bucket.name, { configs: { [CONFIG]: undefined } })
  return empty(204)
}

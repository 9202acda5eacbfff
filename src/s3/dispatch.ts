/**
 * @module Stage "execute": operation name → handler. The table is the whole dispatcher.
 */

import { s3Error } from '../shared/errors.js'
import type { OperationName } from './classify.js'
import type { BucketRequest, NamedBucketRequest, ObjectRequest, S3Request, S3Response } from './context.js'
import * as cors from './cors.js'
import * as acl from './ops/acl.js'
import * as attributes from './ops/attributes.js'
import * as bucket from './ops/bucket.js'
import * as config from './ops/bucket-config.js'
import { deleteObjects } from './ops/delete-objects.js'
import * as encryption from './ops/encryption.js'
import * as lifecycle from './ops/lifecycle.js'
import * as list from './ops/list.js'
import * as logging from './ops/logging.js'
import * as mpu from './ops/multipart.js'
import * as object from './ops/object.js'
import * as lock from './ops/object-lock.js'
import * as tagging from './ops/tagging.js'
import { checkExpectedOwner, checkUnsupportedHeaders } from './unsupported.js'

type ObjectOperation =
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject'
  | 'GetObjectTagging'
  | 'PutObjectTagging'
  | 'DeleteObjectTagging'
  | 'GetObjectAcl'
  | 'PutObjectAcl'
  | 'GetObjectAttributes'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'GetObjectRetention'
  | 'PutObjectRetention'
  | 'GetObjectLegalHold'
  | 'PutObjectLegalHold'
type BucketOperation = Exclude<OperationName, ObjectOperation | 'ListBuckets' | 'CreateBucket'>

type Handler<R> = (req: R) => Promise<S3Response>

// Three tables, each complete by type: an operation without a handler, or a handler given a request
// that may lack what it reads (a bucket record, a key), does not compile.
const SERVICE: { ListBuckets: Handler<S3Request>; CreateBucket: Handler<NamedBucketRequest> } = {
  ListBuckets: bucket.listBuckets,
  CreateBucket: bucket.createBucket,
}

const BUCKET: Record<BucketOperation, Handler<BucketRequest>> = {
  DeleteBucket: bucket.deleteBucket,
  HeadBucket: bucket.headBucket,
  GetBucketLocation: bucket.getBucketLocation,
  GetBucketVersioning: bucket.getBucketVersioning,
  PutBucketVersioning: bucket.putBucketVersioning,
  GetBucketAcl: acl.getBucketAcl,
  PutBucketAcl: acl.putBucketAcl,
  GetBucketOwnershipControls: acl.getBucketOwnershipControls,
  PutBucketOwnershipControls: acl.putBucketOwnershipControls,
  DeleteBucketOwnershipControls: acl.deleteBucketOwnershipControls,
  GetBucketCors: cors.getBucketCors,
  PutBucketCors: cors.putBucketCors,
  DeleteBucketCors: cors.deleteBucketCors,
  GetBucketLifecycleConfiguration: lifecycle.getBucketLifecycleConfiguration,
  PutBucketLifecycleConfiguration: lifecycle.putBucketLifecycleConfiguration,
  DeleteBucketLifecycle: lifecycle.deleteBucketLifecycle,
  GetBucketEncryption: encryption.getBucketEncryption,
  PutBucketEncryption: encryption.putBucketEncryption,
  DeleteBucketEncryption: encryption.deleteBucketEncryption,
  // Served before authentication by pipeline/entry.ts (its signature is in the form, not the request).
  PostObject: () => Promise.reject(s3Error('MethodNotAllowed')),
  GetBucketPolicy: config.getBucketPolicy,
  PutBucketPolicy: config.putBucketPolicy,
  DeleteBucketPolicy: config.deleteBucketPolicy,
  GetBucketPolicyStatus: config.getBucketPolicyStatus,
  GetPublicAccessBlock: config.getPublicAccessBlock,
  PutPublicAccessBlock: config.putPublicAccessBlock,
  DeletePublicAccessBlock: config.deletePublicAccessBlock,
  GetBucketReplication: config.getBucketReplication,
  PutBucketReplication: config.putBucketReplication,
  DeleteBucketReplication: config.deleteBucketReplication,
  GetBucketTagging: tagging.getBucketTagging,
  PutBucketTagging: tagging.putBucketTagging,
  DeleteBucketTagging: tagging.deleteBucketTagging,
  ListObjects: list.listObjects,
  ListObjectsV2: list.listObjectsV2,
  ListObjectVersions: list.listObjectVersions,
  ListMultipartUploads: mpu.listMultipartUploads,
  DeleteObjects: deleteObjects,
  GetObjectLockConfiguration: lock.getObjectLockConfiguration,
  GetBucketLogging: logging.getBucketLogging,
  PutBucketLogging: logging.putBucketLogging,
  PutObjectLockConfiguration: lock.putObjectLockConfiguration,
}

const OBJECT: Record<ObjectOperation, Handler<ObjectRequest>> = {
  GetObject: object.getObject,
  HeadObject: object.headObject,
  PutObject: object.putObject,
  CopyObject: object.copyObject,
  DeleteObject: object.deleteObject,
  GetObjectTagging: tagging.getObjectTagging,
  PutObjectTagging: tagging.putObjectTagging,
  DeleteObjectTagging: tagging.deleteObjectTagging,
  GetObjectAcl: acl.getObjectAcl,
  PutObjectAcl: acl.putObjectAcl,
  GetObjectAttributes: attributes.getObjectAttributes,
  CreateMultipartUpload: mpu.createMultipartUpload,
  UploadPart: mpu.uploadPart,
  UploadPartCopy: mpu.uploadPartCopy,
  CompleteMultipartUpload: mpu.completeMultipartUpload,
  AbortMultipartUpload: mpu.abortMultipartUpload,
  ListParts: mpu.listParts,
  GetObjectRetention: lock.getObjectRetention,
  PutObjectRetention: lock.putObjectRetention,
  GetObjectLegalHold: lock.getObjectLegalHold,
  PutObjectLegalHold: lock.putObjectLegalHold,
}

const isNamed = (req: S3Request): req is NamedBucketRequest => req.bucketName !== undefined
const isBucket = (req: S3Request): req is BucketRequest => req.bucketName !== undefined && req.bucket !== undefined
const isObject = (req: S3Request): req is ObjectRequest => isBucket(req) && req.key !== undefined
const isObjectOperation = (name: OperationName): name is ObjectOperation => Object.hasOwn(OBJECT, name)

export function dispatch(req: S3Request): Promise<S3Response> {
  // Here rather than in each handler: one place that every operation, direct or MRAP-routed, passes.
  checkUnsupportedHeaders(req.headers, req.op.name)
  checkExpectedOwner(req.headers, req.bucket)
  // The pipeline resolved the bucket (NoSuchBucket otherwise) and the key before it got here; the
  // request is narrowed once, here, instead of asserted in every handler.
  const name = req.op.name
  if (name === 'ListBuckets') return SERVICE.ListBuckets(req)
  if (name === 'CreateBucket') {
    if (isNamed(req)) return SERVICE.CreateBucket(req)
  } else if (isObjectOperation(name)) {
    if (isObject(req)) return OBJECT[name](req)
  } else if (isBucket(req)) return BUCKET[name](req)
  throw s3Error('InternalError', { message: `${name} reached dispatch without the bucket or key it names` })
}

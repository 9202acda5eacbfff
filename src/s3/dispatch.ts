/**
 * @module Stage "execute": operation name → handler. The table is the whole dispatcher.
 */
import type { OperationName } from './classify.js'
import type { S3Request, S3Response } from './context.js'
import * as bucket from './ops/bucket.js'
import * as config from './ops/bucket-config.js'
import * as object from './ops/object.js'
import * as list from './ops/list.js'
import * as mpu from './ops/multipart.js'
import * as tagging from './ops/tagging.js'
import { deleteObjects } from './ops/delete-objects.js'
import { checkExpectedOwner, checkUnsupportedHeaders } from './unsupported.js'

const HANDLERS: Record<OperationName, (req: S3Request) => Promise<S3Response>> = {
  ListBuckets: bucket.listBuckets,
  CreateBucket: bucket.createBucket,
  DeleteBucket: bucket.deleteBucket,
  HeadBucket: bucket.headBucket,
  GetBucketLocation: bucket.getBucketLocation,
  GetBucketVersioning: bucket.getBucketVersioning,
  PutBucketVersioning: bucket.putBucketVersioning,
  GetBucketAcl: bucket.getBucketAcl,
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
  GetObject: object.getObject,
  HeadObject: object.headObject,
  PutObject: object.putObject,
  CopyObject: object.copyObject,
  DeleteObject: object.deleteObject,
  GetObjectTagging: tagging.getObjectTagging,
  PutObjectTagging: tagging.putObjectTagging,
  DeleteObjectTagging: tagging.deleteObjectTagging,
  GetObjectAcl: async (req) => bucket.getBucketAcl(req),
  CreateMultipartUpload: mpu.createMultipartUpload,
  UploadPart: mpu.uploadPart,
  UploadPartCopy: mpu.uploadPartCopy,
  CompleteMultipartUpload: mpu.completeMultipartUpload,
  AbortMultipartUpload: mpu.abortMultipartUpload,
  ListParts: mpu.listParts,
}

export function dispatch(req: S3Request): Promise<S3Response> {
  // Here rather than in each handler: one place that every operation, direct or MRAP-routed, passes.
  checkUnsupportedHeaders(req.headers, req.op.name)
  checkExpectedOwner(req.headers, req.bucket)
  return HANDLERS[req.op.name](req)
}

/**
 * @module Stage "classify": (method, bucket?, key?, query, headers) → the S3 operation. One table;
 * the pipeline and handlers read the operation's fields instead of special-casing requests.
 */
import { s3Error } from '../shared/errors.js'

export type OperationName =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'ListMultipartUploads'
  | 'GetBucketVersioning'
  | 'PutBucketVersioning'
  | 'GetBucketPolicy'
  | 'PutBucketPolicy'
  | 'DeleteBucketPolicy'
  | 'GetBucketPolicyStatus'
  | 'GetBucketTagging'
  | 'PutBucketTagging'
  | 'DeleteBucketTagging'
  | 'GetPublicAccessBlock'
  | 'PutPublicAccessBlock'
  | 'DeletePublicAccessBlock'
  | 'GetBucketReplication'
  | 'PutBucketReplication'
  | 'DeleteBucketReplication'
  | 'GetBucketAcl'
  | 'PutBucketAcl'
  | 'GetBucketOwnershipControls'
  | 'PutBucketOwnershipControls'
  | 'DeleteBucketOwnershipControls'
  | 'DeleteObjects'
  | 'GetBucketLogging'
  | 'PutBucketLogging'
  | 'GetBucketCors'
  | 'PutBucketCors'
  | 'DeleteBucketCors'
  | 'PostObject'
  | 'GetBucketLifecycleConfiguration'
  | 'PutBucketLifecycleConfiguration'
  | 'DeleteBucketLifecycle'
  | 'GetBucketEncryption'
  | 'PutBucketEncryption'
  | 'DeleteBucketEncryption'
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
  | 'GetObjectLockConfiguration'
  | 'PutObjectLockConfiguration'
  | 'GetObjectRetention'
  | 'PutObjectRetention'
  | 'GetObjectLegalHold'
  | 'PutObjectLegalHold'

export type OperationLevel = 'service' | 'bucket' | 'object'

export interface Operation {
  name: OperationName
  level: OperationLevel
  /** Whether the request body is read by the handler (others must be empty or are ignored). */
  body: 'none' | 'xml' | 'stream' | 'json'
}

/** Every S3 subresource name; one we do not serve answers NotImplemented, as S3 does for unknown features. */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'renameObject',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
])

type Row = [method: string, sub: string | null, name: OperationName, body: Operation['body']]

const BUCKET_TABLE: Row[] = [
  ['GET', 'cors', 'GetBucketCors', 'none'],
  ['PUT', 'cors', 'PutBucketCors', 'xml'],
  ['DELETE', 'cors', 'DeleteBucketCors', 'none'],
  // A browser's form upload: the pipeline serves it before authentication (the form carries the signature).
  ['POST', null, 'PostObject', 'none'],
  ['GET', 'lifecycle', 'GetBucketLifecycleConfiguration', 'none'],
  ['PUT', 'lifecycle', 'PutBucketLifecycleConfiguration', 'xml'],
  ['DELETE', 'lifecycle', 'DeleteBucketLifecycle', 'none'],
  ['GET', 'encryption', 'GetBucketEncryption', 'none'],
  ['PUT', 'encryption', 'PutBucketEncryption', 'xml'],
  ['DELETE', 'encryption', 'DeleteBucketEncryption', 'none'],
  ['GET', 'versioning', 'GetBucketVersioning', 'none'],
  ['PUT', 'versioning', 'PutBucketVersioning', 'xml'],
  ['GET', 'policy', 'GetBucketPolicy', 'none'],
  ['PUT', 'policy', 'PutBucketPolicy', 'json'],
  ['DELETE', 'policy', 'DeleteBucketPolicy', 'none'],
  ['GET', 'policyStatus', 'GetBucketPolicyStatus', 'none'],
  ['GET', 'tagging', 'GetBucketTagging', 'none'],
  ['PUT', 'tagging', 'PutBucketTagging', 'xml'],
  ['DELETE', 'tagging', 'DeleteBucketTagging', 'none'],
  ['GET', 'publicAccessBlock', 'GetPublicAccessBlock', 'none'],
  ['PUT', 'publicAccessBlock', 'PutPublicAccessBlock', 'xml'],
  ['DELETE', 'publicAccessBlock', 'DeletePublicAccessBlock', 'none'],
  ['GET', 'replication', 'GetBucketReplication', 'none'],
  ['PUT', 'replication', 'PutBucketReplication', 'xml'],
  ['DELETE', 'replication', 'DeleteBucketReplication', 'none'],
  ['GET', 'location', 'GetBucketLocation', 'none'],
  ['GET', 'versions', 'ListObjectVersions', 'none'],
  ['GET', 'uploads', 'ListMultipartUploads', 'none'],
  ['GET', 'acl', 'GetBucketAcl', 'none'],
  ['PUT', 'acl', 'PutBucketAcl', 'xml'],
  ['GET', 'ownershipControls', 'GetBucketOwnershipControls', 'none'],
  ['PUT', 'ownershipControls', 'PutBucketOwnershipControls', 'xml'],
  ['DELETE', 'ownershipControls', 'DeleteBucketOwnershipControls', 'none'],
  ['GET', 'logging', 'GetBucketLogging', 'none'],
  ['PUT', 'logging', 'PutBucketLogging', 'xml'],
  ['POST', 'delete', 'DeleteObjects', 'xml'],
  ['GET', 'object-lock', 'GetObjectLockConfiguration', 'none'],
  ['PUT', 'object-lock', 'PutObjectLockConfiguration', 'xml'],
  ['PUT', null, 'CreateBucket', 'xml'],
  ['DELETE', null, 'DeleteBucket', 'none'],
  ['HEAD', null, 'HeadBucket', 'none'],
]

const OBJECT_TABLE: Row[] = [
  ['GET', 'tagging', 'GetObjectTagging', 'none'],
  ['PUT', 'tagging', 'PutObjectTagging', 'xml'],
  ['DELETE', 'tagging', 'DeleteObjectTagging', 'none'],
  ['GET', 'acl', 'GetObjectAcl', 'none'],
  ['PUT', 'acl', 'PutObjectAcl', 'xml'],
  ['GET', 'attributes', 'GetObjectAttributes', 'none'],
  ['GET', 'retention', 'GetObjectRetention', 'none'],
  ['PUT', 'retention', 'PutObjectRetention', 'xml'],
  ['GET', 'legal-hold', 'GetObjectLegalHold', 'none'],
  ['PUT', 'legal-hold', 'PutObjectLegalHold', 'xml'],
  ['POST', 'uploads', 'CreateMultipartUpload', 'none'],
  ['POST', 'uploadId', 'CompleteMultipartUpload', 'xml'],
  ['DELETE', 'uploadId', 'AbortMultipartUpload', 'none'],
  ['GET', 'uploadId', 'ListParts', 'none'],
]

// Operations are immutable values: one object per (name, level, body), not one per request.
const interned = new Map<string, Operation>()
function op(name: OperationName, level: OperationLevel, body: Operation['body']): Operation {
  const k = `${name} ${level} ${body}`
  let o = interned.get(k)
  if (!o) {
    o = Object.freeze({ name, level, body })
    interned.set(k, o)
  }
  return o
}
const GET_OBJECT = op('GetObject', 'object', 'none')
const HEAD_OBJECT = op('HeadObject', 'object', 'none')
const PUT_OBJECT = op('PutObject', 'object', 'stream')

export function classify(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): Operation {
  if (method === 'OPTIONS' && bucket !== undefined) preflight(headers, key === undefined ? 'BUCKET' : 'OBJECT')
  if (bucket === undefined) {
    if (method === 'GET') return op('ListBuckets', 'service', 'none')
    throw s3Error('MethodNotAllowed', { fields: { Method: method, ResourceType: 'SERVICE' }, headers: { Allow: 'GET' } })
  }
  const subs: string[] = []
  for (const k of query.keys()) if (SUBRESOURCES.has(k) && !subs.includes(k)) subs.push(k)
  if (key === undefined) {
    const sub = subs[0] ?? null
    if (method === 'GET' && sub === null) {
      return query.get('list-type') === '2' ? op('ListObjectsV2', 'bucket', 'none') : op('ListObjects', 'bucket', 'none')
    }
    const row = BUCKET_TABLE.find(([m, s]) => m === method && s === sub)
    if (row) return op(row[2], 'bucket', row[3])
    if (sub !== null) throw s3Error('NotImplemented', { message: `The ${sub} subresource is not implemented by this server.` })
    throw s3Error('MethodNotAllowed', { fields: { Method: method, ResourceType: 'BUCKET' }, headers: { Allow: 'HEAD, GET, PUT, DELETE, POST' } })
  }
  // versionId and partNumber qualify object operations rather than naming them.
  const named = subs.filter((s) => s !== 'versionId' && s !== 'partNumber')
  const copySource = headers['x-amz-copy-source'] !== undefined
  if (named.length === 0) {
    switch (method) {
      case 'GET':
        return GET_OBJECT
      case 'HEAD':
        return HEAD_OBJECT
      case 'PUT':
        return copySource ? op('CopyObject', 'object', 'none') : PUT_OBJECT
      case 'DELETE':
        return op('DeleteObject', 'object', 'none')
    }
  }
  if (method === 'PUT' && named.length === 1 && named[0] === 'uploadId' && query.has('partNumber')) {
    return copySource ? op('UploadPartCopy', 'object', 'none') : op('UploadPart', 'object', 'stream')
  }
  const sub = named[0] ?? null
  const row = OBJECT_TABLE.find(([m, s]) => m === method && s === sub)
  if (row) return op(row[2], 'object', row[3])
  if (sub !== null && !['uploadId', 'uploads', 'tagging', 'acl', 'retention', 'legal-hold'].includes(sub)) {
    throw s3Error('NotImplemented', { message: `The ${sub} subresource is not implemented by this server.` })
  }
  throw s3Error('MethodNotAllowed', { fields: { Method: method, ResourceType: 'OBJECT' }, headers: { Allow: 'HEAD, GET, PUT, DELETE, POST' } })
}

/** The IAM actions a request needs (the first is the one named in an AccessDenied explanation). */
export function actionsFor(name: OperationName, q: URLSearchParams): string[] {
  const versioned = q.has('versionId')
  switch (name) {
    case 'ListBuckets':
      return ['s3:ListAllMyBuckets']
    case 'CreateBucket':
      return ['s3:CreateBucket']
    case 'DeleteBucket':
      return ['s3:DeleteBucket']
    case 'HeadBucket':
    case 'ListObjects':
    case 'ListObjectsV2':
      return ['s3:ListBucket']
    case 'GetBucketLocation':
      return ['s3:GetBucketLocation']
    case 'ListObjectVersions':
      return ['s3:ListBucketVersions']
    case 'ListMultipartUploads':
      return ['s3:ListBucketMultipartUploads']
    case 'GetBucketVersioning':
      return ['s3:GetBucketVersioning']
    case 'PutBucketVersioning':
      return ['s3:PutBucketVersioning']
    case 'GetBucketPolicy':
      return ['s3:GetBucketPolicy']
    case 'PutBucketPolicy':
      return ['s3:PutBucketPolicy']
    case 'DeleteBucketPolicy':
      return ['s3:DeleteBucketPolicy']
    case 'GetBucketPolicyStatus':
      return ['s3:GetBucketPolicyStatus']
    case 'GetBucketTagging':
      return ['s3:GetBucketTagging']
    case 'PutBucketTagging':
    case 'DeleteBucketTagging':
      return ['s3:PutBucketTagging']
    case 'GetPublicAccessBlock':
      return ['s3:GetBucketPublicAccessBlock']
    case 'PutPublicAccessBlock':
    case 'DeletePublicAccessBlock':
      return ['s3:PutBucketPublicAccessBlock']
    case 'GetBucketReplication':
      return ['s3:GetReplicationConfiguration']
    case 'PutBucketReplication':
    case 'DeleteBucketReplication':
      return ['s3:PutReplicationConfiguration']
    case 'GetBucketAcl':
      return ['s3:GetBucketAcl']
    case 'PutBucketAcl':
      return ['s3:PutBucketAcl']
    // Delete included (DeleteBucketOwnershipControls, S3 API reference: "you must have the
    // s3:PutBucketOwnershipControls permission").
    case 'GetBucketOwnershipControls':
      return ['s3:GetBucketOwnershipControls']
    case 'PutBucketOwnershipControls':
    case 'DeleteBucketOwnershipControls':
      return ['s3:PutBucketOwnershipControls']
    case 'GetBucketLogging':
      return ['s3:GetBucketLogging']
    case 'PutBucketLogging':
      return ['s3:PutBucketLogging']
    // Delete included, as for lifecycle (Actions, resources, and condition keys for Amazon S3).
    case 'GetBucketEncryption':
      return ['s3:GetEncryptionConfiguration']
    case 'PutBucketEncryption':
    case 'DeleteBucketEncryption':
      return ['s3:PutEncryptionConfiguration']
    case 'GetBucketCors':
      return ['s3:GetBucketCORS']
    case 'PutBucketCors':
    case 'DeleteBucketCors':
      return ['s3:PutBucketCORS']
    case 'PostObject':
      return ['s3:PutObject']
    // One action for the whole configuration, Delete included (Actions, resources, and condition keys for Amazon S3).
    case 'GetBucketLifecycleConfiguration':
      return ['s3:GetLifecycleConfiguration']
    case 'PutBucketLifecycleConfiguration':
    case 'DeleteBucketLifecycle':
      return ['s3:PutLifecycleConfiguration']
    case 'DeleteObjects':
      return ['s3:DeleteObject']
    case 'GetObject':
    case 'HeadObject':
      return [versioned ? 's3:GetObjectVersion' : 's3:GetObject']
    case 'PutObject':
    case 'CopyObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'UploadPartCopy':
    case 'CompleteMultipartUpload':
      return ['s3:PutObject']
    case 'DeleteObject':
      return [versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject']
    case 'GetObjectTagging':
      return [versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging']
    case 'PutObjectTagging':
      return [versioned ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging']
    case 'DeleteObjectTagging':
      return [versioned ? 's3:DeleteObjectVersionTagging' : 's3:DeleteObjectTagging']
    case 'GetObjectAcl':
      return [versioned ? 's3:GetObjectVersionAcl' : 's3:GetObjectAcl']
    case 'PutObjectAcl':
      return [versioned ? 's3:PutObjectVersionAcl' : 's3:PutObjectAcl']
    // Both, as the API reference lists them: "If you pass a version ID in your request, you need both
    // the s3:GetObjectVersion and s3:GetObjectVersionAttributes permissions", else s3:GetObject and
    // s3:GetObjectAttributes (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html).
    case 'GetObjectAttributes':
      return versioned ? ['s3:GetObjectVersionAttributes', 's3:GetObjectVersion'] : ['s3:GetObjectAttributes', 's3:GetObject']
    case 'AbortMultipartUpload':
      return ['s3:AbortMultipartUpload']
    case 'ListParts':
      return ['s3:ListMultipartUploadParts']
    case 'GetObjectLockConfiguration':
      return ['s3:GetBucketObjectLockConfiguration']
    case 'PutObjectLockConfiguration':
      return ['s3:PutBucketObjectLockConfiguration']
    // One action for a version too: there is no s3:GetObjectVersionRetention.
    case 'GetObjectRetention':
      return ['s3:GetObjectRetention']
    case 'PutObjectRetention':
      return ['s3:PutObjectRetention']
    case 'GetObjectLegalHold':
      return ['s3:GetObjectLegalHold']
    case 'PutObjectLegalHold':
      return ['s3:PutObjectLegalHold']
  }
}

/**
 * OPTIONS is a CORS preflight, answered before authentication: a browser sends it unsigned, and
 * a presigned URL's query does not make it a signed request (OPTIONS object, S3 API reference:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html). The S3 data plane
 * answers it from the bucket's rules before classifying (s3/cors.ts); what reaches this point is a
 * preflight to a Multi-Region Access Point, which serves no CORS (docs/aws/cors.md §MRAP), so it
 * gets S3's answer for "no CORS": 403 AccessForbidden "CORSResponse: CORS is not enabled for this
 * bucket." and, without an Origin, 400 BadRequest "Insufficient information. Origin request header needed."
 */
function preflight(headers: Record<string, string | string[] | undefined>, resourceType: 'BUCKET' | 'OBJECT'): never {
  if (headers.origin === undefined) throw s3Error('BadRequest', { message: 'Insufficient information. Origin request header needed.' })
  const wanted = headers['access-control-request-method']
  throw s3Error('AccessForbidden', { fields: { Method: typeof wanted === 'string' ? wanted : undefined, ResourceType: resourceType } })
}

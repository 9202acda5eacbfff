/**
 * @module The storage contract: what a region's object store must do. The S3 operations speak only
 * to this interface, so the embedded store (SQLite + files) and an S3-compatible engine are
 * interchangeable; `contract/` holds the suite every implementation must pass.
 *
 * A store holds objects of buckets by name; which buckets exist, who owns them and their
 * configuration live in the control state (src/state), not here. A store throws `S3Error`
 * (src/shared/errors.ts) for the conditions named below and nothing else on purpose.
 */
import type { Readable } from 'node:stream'

export type VersioningState = 'Unversioned' | 'Enabled' | 'Suspended'

/** Base64 digests as S3 returns them in x-amz-checksum-*. */
export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME'
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>

export interface Tag {
  Key: string
  Value: string
}

/** Everything S3 stores with an object version besides its bytes. */
export interface ObjectAttributes {
  contentType?: string
  contentEncoding?: string
  contentDisposition?: string
  contentLanguage?: string
  cacheControl?: string
  expires?: string
  /** x-amz-meta-* without the prefix, names lower-cased. */
  userMetadata: Record<string, string>
  tags: Tag[]
  storageClass?: string
  /** x-amz-replication-status: PENDING | COMPLETED | FAILED | REPLICA. */
  replicationStatus?: string
  /** x-amz-website-redirect-location and other stored headers we echo back. */
  websiteRedirectLocation?: string
  /** S3 Object Lock retention of this version (src/s3/ops/object-lock.ts); absent when none. */
  objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE'
  /** ISO 8601 instant, kept with the mode. */
  objectLockRetainUntilDate?: string
  objectLockLegalHold?: 'ON' | 'OFF'
  /** SSE-C (src/s3/sse-c.ts): the algorithm the customer's key was given with; absent otherwise. */
  sseCustomerAlgorithm?: 'AES256'
  /** SSE-C: a salted HMAC of the customer's key, to check the next request's key (the key is never stored). */
  sseCustomerKeyHmac?: string
  /** SSE-KMS (src/s3/sse-kms.ts): the KMS key's ARN. */
  sseKmsKeyId?: string
  /** SSE-KMS: the object's data key, encrypted by the KMS key (a ciphertext blob, base64); never the key itself. */
  sseKmsDataKey?: string
  /** SSE-KMS: x-amz-server-side-encryption-context as the writer sent it (base64 JSON), when it did. */
  sseKmsContext?: string
  sseKmsBucketKey?: boolean
  /**
   * DSSE-KMS (src/s3/sse-kms.ts): the second layer's data key, encrypted by the same KMS key
   * (base64). Present only on aws:kms:dsse versions: the body the store holds is then the plaintext
   * under AES-256-CTR with this key, sealed again by the store under sseKmsDataKey.
   */
  sseKmsDsseDataKey?: string
  /**
   * DSSE-KMS multipart (an upload, and the version its Complete makes): each part's second layer has
   * its own key, derived from sseKmsDsseDataKey and the part's ETag (src/s3/sse-kms.ts `dssePartKey`),
   * instead of one CTR stream over the whole body.
   */
  sseKmsDsseParts?: boolean
  /** The version's owner and ACL grants (src/s3/acl.ts); absent: the bucket owner's, private. */
  acl?: ObjectAcl
}

/** An object's owner (account id) and ACL grants, as src/s3/acl.ts writes them. */
export interface ObjectAcl {
  owner: string
  grants: { grantee: { account: string } | { group: string }; permission: 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL' }[]
}

export interface ObjectVersion extends ObjectAttributes {
  bucket: string
  key: string
  /** 'null' for the null version (unversioned or suspended bucket), else an opaque id. */
  versionId: string
  isDeleteMarker: boolean
  isLatest: boolean
  size: number
  /** Without quotes: 32 hex digits, or `<hex>-<parts>` for multipart objects. */
  etag: string
  lastModified: Date
  checksums: Checksums
  /** 'FULL_OBJECT' for single PUTs, 'COMPOSITE' for multipart checksums. */
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  /** Present for multipart objects: part sizes, so GetObject?partNumber= and ranges work. */
  parts?: { partNumber: number; size: number; etag: string; checksums: Checksums }[]
}

export interface ByteRange {
  start: number
  end: number
} // inclusive, already validated against size

/**
 * A conditional write (If-None-Match: *, If-Match: <etag>), judged by the store against the key's
 * current version in the same step that makes the new version visible. A key whose current
 * version is a delete marker has none. When it does not hold, the store throws
 * ConditionalRequestConflict (409): the caller judged it once before sending the body (412 /
 * 404), so failing here means another write to the key got in between.
 */
export interface WriteCondition {
  ifNoneMatch?: boolean
  /** The If-Match header as sent (quoted ETags, a list, or `*`). */
  ifMatch?: string
}

/** Data handed to a store for a new version. The caller has already hashed/validated nothing yet. */
export interface PutObjectInput {
  bucket: string
  key: string
  versioning: VersioningState
  attributes: ObjectAttributes
  /** The decoded bytes (aws-chunked framing already removed). */
  body: Readable
  /**
   * The body's length when the request declared it (Content-Length, x-amz-decoded-content-length):
   * a store that forwards bytes (upstream) streams them instead of staging a copy first.
   */
  size?: number
  /**
   * Called after every byte is durably staged and before anything becomes visible. The caller
   * checks digests/lengths here (BadDigest, XAmzContentSHA256Mismatch, IncompleteBody); a throw
   * aborts the write, leaves nothing visible and is re-thrown by putObject. It returns the
   * digests to store.
   */
  finalize: (staged: {
    size: number
  }) =>
    | Promise<{ etag: string; checksums: Checksums; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' }>
    | { etag: string; checksums: Checksums; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' }
  /** Preserve a version id (replication writes replicas with the source's id). */
  versionId?: string
  lastModified?: Date
  condition?: WriteCondition
  /** SSE-C: the customer's 256-bit key; the store seals the body under it (only stores with `customerKeys`). */
  customerKey?: Buffer
}

export interface DeleteResult {
  versionId?: string
  deleteMarker: boolean
}

export interface ListObjectsInput {
  prefix?: string
  delimiter?: string
  /** Keys strictly greater than this (marker, start-after, or the decoded continuation token). */
  after?: string
  maxKeys: number
}
export interface ListObjectsResult {
  objects: ObjectVersion[]
  commonPrefixes: string[]
  isTruncated: boolean
  /** The last key or common prefix returned: where the next page starts (exclusive). */
  nextAfter?: string
}

export interface ListVersionsInput {
  prefix?: string
  delimiter?: string
  keyMarker?: string
  versionIdMarker?: string
  maxKeys: number
}
export interface ListVersionsResult {
  /** Versions and delete markers, keys ascending, newest version first within a key. */
  versions: ObjectVersion[]
  commonPrefixes: string[]
  isTruncated: boolean
  nextKeyMarker?: string
  nextVersionIdMarker?: string
}

export interface MultipartUpload {
  bucket: string
  key: string
  uploadId: string
  initiated: Date
  attributes: ObjectAttributes
  /** x-amz-checksum-algorithm given at CreateMultipartUpload. */
  checksumAlgorithm?: ChecksumAlgorithm
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
}

export interface PartInfo {
  partNumber: number
  size: number
  etag: string // without quotes
  lastModified: Date
  checksums: Checksums
}

export interface UploadPartInput {
  bucket: string
  uploadId: string
  partNumber: number
  body: Readable
  /** As PutObjectInput.size. */
  size?: number
  finalize: PutObjectInput['finalize']
  /** As PutObjectInput.customerKey. */
  customerKey?: Buffer
}

export interface ListUploadsInput {
  prefix?: string
  delimiter?: string
  keyMarker?: string
  uploadIdMarker?: string
  maxUploads: number
}
export interface ListUploadsResult {
  uploads: MultipartUpload[]
  commonPrefixes: string[]
  isTruncated: boolean
  nextKeyMarker?: string
  nextUploadIdMarker?: string
}

export interface CompleteUploadInput {
  bucket: string
  uploadId: string
  /** As the client sent them; the store checks order (InvalidPartOrder), existence and ETags (InvalidPart), and 5 MiB minimum for all but the last (EntityTooSmall). */
  parts: { partNumber: number; etag: string }[]
  versioning: VersioningState
  /** Computes the final checksums from the chosen parts (composite checksums need part digests). */
  finalize: (parts: PartInfo[]) => { etag: string; checksums: Checksums; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' }
  condition?: WriteCondition
}

export interface GetOptions {
  /**
   * The caller will open() the whole object right after (a GET without Range or partNumber), so
   * a store that fetches bytes remotely may fetch them in the same request; a hint, never a change
   * in what getObject answers.
   */
  readWhole?: boolean
  /**
   * SSE-C: the customer's key, already checked against the version's sseCustomerKeyHmac by the
   * caller. Without it, open() of a customer-keyed version throws (the store cannot read it).
   */
  customerKey?: Buffer
}

export interface GetResult {
  version: ObjectVersion
  /** Opens the bytes; a range is inclusive and already within [0, size). */
  open: (range?: ByteRange) => Readable
  /**
   * The whole object, when the store already holds it in memory (small objects kept inline): the
   * response is then written in one call instead of through a stream, which halves a small GET.
   */
  inline?: Buffer
}

/**
 * One region's object store. Errors it throws (S3Error codes): NoSuchKey (latest is absent or a
 * delete marker; fields.deleteMarker='true' and fields.versionId when a marker hides it),
 * NoSuchVersion, MethodNotAllowed (a delete marker asked for by versionId), NoSuchUpload,
 * InvalidPart, InvalidPartOrder, EntityTooSmall, BucketNotEmpty, ServiceUnavailable (store down).
 */
export interface ObjectStore {
  readonly region: string
  /** Cleans staging leftovers of a crash; called once before use. */
  open(): Promise<void>
  close(): Promise<void>
  /** False while the store cannot serve (routing skips it). */
  healthy(): Promise<boolean>
  /**
   * Optional fault injection for failover tests: while false, every call throws
   * ServiceUnavailable and healthy() resolves false.
   */
  setAvailable?(available: boolean): void
  /** True when the store seals bodies under SSE-C customer keys (customerKey in puts, parts, gets). */
  readonly customerKeys?: boolean

  createBucket(bucket: string): Promise<void>
  /** BucketNotEmpty when any version or delete marker remains. Aborts open uploads. */
  deleteBucket(bucket: string): Promise<void>

  putObject(input: PutObjectInput): Promise<ObjectVersion>
  /** The latest version (versionId undefined) or a given one; see error list above. */
  getObject(bucket: string, key: string, versionId?: string, opts?: GetOptions): Promise<GetResult>
  /** Replaces tags / attributes of an existing version without touching its bytes. */
  updateObject(bucket: string, key: string, versionId: string | undefined, patch: Partial<ObjectAttributes>): Promise<ObjectVersion>
  deleteObject(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult>
  /**
   * Optional, for replication: adds a delete marker with a given version id and time (the replica of
   * a source bucket's marker) as the newest version of its key. A version with that id is replaced.
   */
  putDeleteMarker?(input: { bucket: string; key: string; versionId: string; lastModified: Date; attributes?: ObjectAttributes }): Promise<ObjectVersion>

  listObjects(bucket: string, input: ListObjectsInput): Promise<ListObjectsResult>
  listVersions(bucket: string, input: ListVersionsInput): Promise<ListVersionsResult>
  /**
   * False when listings may leave a version's attributes (tags, replication status) out: an
   * engine's listing carries none, so a caller that needs them reads the version.
   */
  readonly listsAttributes?: boolean

  createUpload(input: {
    bucket: string
    key: string
    attributes: ObjectAttributes
    checksumAlgorithm?: ChecksumAlgorithm
    checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  }): Promise<MultipartUpload>
  getUpload(bucket: string, uploadId: string): Promise<MultipartUpload>
  uploadPart(input: UploadPartInput): Promise<PartInfo>
  /** Parts in ascending number after `partNumberMarker`. */
  listParts(
    bucket: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number }>
  listUploads(bucket: string, input: ListUploadsInput): Promise<ListUploadsResult>
  completeUpload(input: CompleteUploadInput): Promise<ObjectVersion>
  /**
   * Optional: the key and version a completed upload made, while the store remembers it (at
   * least a few minutes), so a retried CompleteMultipartUpload can answer as the first did.
   * Undefined for an upload it does not know or no longer remembers.
   */
  completedUpload?(bucket: string, uploadId: string): Promise<{ key: string; versionId: string } | undefined>
  abortUpload(bucket: string, uploadId: string): Promise<void>
}

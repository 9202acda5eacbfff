/**
 * @module What an S3 operation handler receives and returns. Handlers never touch `http` objects:
 * the pipeline gives them parsed, authenticated, authorized input; the HTTP layer writes the result.
 */
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import type { Principal } from '../iam/identities.js'
import { s3Error } from '../shared/errors.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'
import type { Operation } from './classify.js'
import type { Headers } from './headers.js'

export interface S3Request {
  core: Core
  requestId: string
  op: Operation
  bucketName?: string
  /** The bucket's record when the operation names an existing bucket. */
  bucket?: BucketRecord
  key?: string
  query: URLSearchParams
  headers: Headers
  /** The decoded payload (aws-chunked framing removed, digests checked as it flows). */
  body: Readable
  principal: Principal
  /** Through a Multi-Region Access Point: its Block Public Access, which ACL writes obey too. */
  mrapBpa?: BlockPublicAccess
  /** The region the request was addressed or signed to (CreateBucket's default). */
  endpointRegion: string
  log: Logger
  /** Where the request came from (SSE-C refuses plain HTTP from the network, s3/sse-c.ts). */
  origin: Origin
  /**
   * Whether the principal may also do `action` on a resource of this bucket, under the same layers
   * that authorized the request (S3 answers 404 instead of 403 for a missing key only when
   * s3:ListBucket is allowed).
   */
  allowed(action: string, key?: string, bucket?: BucketRecord, objectAcl?: ObjectAcl): boolean
}

/** CreateBucket: a bucket name, no record yet. */
export interface NamedBucketRequest extends S3Request {
  bucketName: string
}

/** An operation on an existing bucket: its record is there (narrowed once, in dispatch). */
export interface BucketRequest extends S3Request {
  bucketName: string
  bucket: BucketRecord
}

/** An operation on a key of an existing bucket. */
export interface ObjectRequest extends BucketRequest {
  key: string
}

export interface S3Response {
  status: number
  headers: Record<string, string>
  body?: string | Buffer | Readable
}

export function xmlResponse(body: string, status = 200, headers: Record<string, string> = {}): S3Response {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body }
}

export function empty(status = 200, headers: Record<string, string> = {}): S3Response {
  return { status, headers }
}

/**
 * The Owner (and Initiator, Grantee) element of an account, one shape for every response that
 * names one, so ListBuckets, ACLs, version and upload listings agree. DisplayName is the account
 * id: AWS stopped returning DisplayName on November 21, 2025 (Owner, S3 API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Owner.html) and told clients to use the
 * account id in its place; it is kept for clients written before that which read it.
 */
export function ownerOf(accountId: string): { ID: string; DisplayName: string } {
  return { ID: canonicalId(accountId), DisplayName: accountId }
}

/** The canonical user id S3 shows as Owner/ID: 64 hex digits, stable per account. */
export function canonicalId(accountId: string): string {
  let h = 0x811c9dc5
  let out = ''
  for (let round = 0; round < 8; round++) {
    for (const c of `${round}:${accountId}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0
    out += h.toString(16).padStart(8, '0')
  }
  return out
}

/** Reads a small request body (XML or JSON configuration) with a size cap. */
export async function readSmallBody(body: Readable, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > limit) {
      throw s3Error('MaxMessageLengthExceeded')
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * @module Request headers that would change what is stored or who may read it, and that mrap does not
 * implement: refused, never accepted and ignored (an object "encrypted with an SSE-C key" that a plain
 * GET reads is worse than an error). One table, checked once per request in `dispatch` (so direct and
 * MRAP-routed requests alike), after authorization (a refusal reveals nothing a 403 would hide).
 * What is refused, what is accepted and why: docs/decisions/unsupported-headers.md.
 */
import { invalidArgument, type S3Error, s3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import type { OperationName } from './classify.js'
import type { Headers } from './headers.js'

/** The refusal for one header value on one operation, or undefined when the request may go on. */
type Verdict = (value: string, op: OperationName) => S3Error | undefined

export function notImplemented(name: string): S3Error {
  return s3Error('NotImplemented', { message: `A header you provided implies functionality that is not implemented: ${name}`, fields: { Header: name } })
}

const OBJECT_WRITES: ReadonlySet<OperationName> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload'])

const always =
  (name: string): Verdict =>
  () =>
    notImplemented(name)
const onWrites =
  (name: string): Verdict =>
  (_v, op) =>
    OBJECT_WRITES.has(op) ? notImplemented(name) : undefined

// ACL headers (x-amz-acl, x-amz-grant-*, x-amz-object-ownership) are implemented: ops/acl.ts.

export const SSE_S3 = 'AES256'
export const KMS_ALGORITHMS: ReadonlySet<string> = new Set(['aws:kms', 'aws:kms:dsse'])

/**
 * x-amz-server-side-encryption (ops/encryption.ts): object writes take `AES256` (every object is
 * SSE-S3 anyway), `aws:kms` and `aws:kms:dsse` (s3/sse-kms.ts); another value is S3's 400 InvalidArgument. Any other
 * operation gets S3's 400, the header "is not supported for this operation" (HeadObject: "If you
 * include this header in a HEAD request for an object that uses these types of keys, you'll get an
 * HTTP 400 Bad Request error", https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 */
const sse: Verdict = (v, op) => {
  const name = 'x-amz-server-side-encryption'
  if (!OBJECT_WRITES.has(op)) return invalidArgument(name, v, 'x-amz-server-side-encryption header is not supported for this operation.')
  // aws:kms and aws:kms:dsse are implemented (s3/sse-kms.ts).
  if (v === SSE_S3 || KMS_ALGORITHMS.has(v)) return undefined
  return invalidArgument(name, v, 'The encryption method specified is not supported')
}

/** Classes whose reads need a restore (or that live on other kinds of bucket): storing the label alone would lie. */
const UNSERVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE'])

const EXACT = new Map<string, Verdict>([
  ['x-amz-server-side-encryption', sse],
  // SSE-KMS's own headers on object writes (s3/sse-kms.ts); elsewhere still refused.
  ['x-amz-server-side-encryption-aws-kms-key-id', (_v, op) => (OBJECT_WRITES.has(op) ? undefined : notImplemented('x-amz-server-side-encryption-aws-kms-key-id'))],
  ['x-amz-server-side-encryption-context', (_v, op) => (OBJECT_WRITES.has(op) ? undefined : notImplemented('x-amz-server-side-encryption-context'))],
  ['x-amz-server-side-encryption-bucket-key-enabled', (_v, op) => (OBJECT_WRITES.has(op) ? undefined : notImplemented('x-amz-server-side-encryption-bucket-key-enabled'))],
  ['x-amz-storage-class', (v, op) => (OBJECT_WRITES.has(op) && UNSERVED_CLASSES.has(v) ? notImplemented('x-amz-storage-class') : undefined)],
  // Appends (directory buckets): ignoring the offset would overwrite the object instead.
  ['x-amz-write-offset-bytes', always('x-amz-write-offset-bytes')],
  ['x-amz-if-match-last-modified-time', always('x-amz-if-match-last-modified-time')],
  ['x-amz-if-match-size', always('x-amz-if-match-size')],
  ['x-amz-if-match-initiated-time', always('x-amz-if-match-initiated-time')],
])

const KNOWN_LOCK_HEADERS: ReadonlySet<string> = new Set(['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'])

/** Header families: every member, known today or added later, is refused the same way. */
const PREFIXES: readonly (readonly [prefix: string, verdict: (name: string) => Verdict])[] = [
  // SSE-C's headers (the object's and the copy source's) are implemented (s3/sse-c.ts); SSE-S3's,
  // SSE-KMS's and DSSE-KMS's (s3/sse-kms.ts) are in EXACT; any other member is refused.
  ['x-amz-server-side-encryption-customer-', () => () => undefined],
  ['x-amz-copy-source-server-side-encryption-customer-', () => () => undefined],
  ['x-amz-server-side-encryption', always],
  ['x-amz-copy-source-server-side-encryption', always],
  // x-amz-object-lock-mode, -retain-until-date and -legal-hold are implemented (ops/object-lock.ts);
  // a member added later is refused rather than ignored.
  ['x-amz-object-lock-', (name) => (KNOWN_LOCK_HEADERS.has(name) ? () => undefined : onWrites(name))],
]

/**
 * Conditional writes mrap does not evaluate: PutObject's and CompleteMultipartUpload's
 * If-Match/If-None-Match are implemented (ops/object.ts writeCondition); on these operations the
 * condition would be dropped and the write or delete done anyway. S3 itself answers CopyObject's
 * with 501 ("Enforce conditional writes on Amazon S3 buckets",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html).
 */
const CONDITIONAL: ReadonlySet<OperationName> = new Set(['CopyObject', 'DeleteObject'])

const X = 0x78 // 'x'
const I = 0x69 // 'i'

/**
 * Throws the refusal for the first unsupported header. Walks the header names once; most names fail
 * the first-character test, and nothing is allocated unless a header is refused.
 */
export function checkUnsupportedHeaders(headers: Headers, op: OperationName): void {
  for (const name in headers) {
    const c = name.charCodeAt(0)
    if (c === I) {
      if ((name === 'if-match' || name === 'if-none-match') && CONDITIONAL.has(op)) throw notImplemented(name)
      continue
    }
    if (c !== X || !name.startsWith('x-amz-')) continue
    let verdict = EXACT.get(name)
    if (verdict === undefined) {
      for (const [prefix, make] of PREFIXES)
        if (name.startsWith(prefix)) {
          verdict = make(name)
          break
        }
      if (verdict === undefined) continue
    }
    const raw = headers[name]
    if (raw === undefined) continue
    const err = verdict(Array.isArray(raw) ? raw.join(',') : raw.trim(), op)
    if (err) throw err
  }
}

/**
 * x-amz-expected-bucket-owner (and the copy source's x-amz-source-expected-bucket-owner): a bucket
 * owned by another account is refused with 403 AccessDenied ("Verifying bucket ownership with bucket
 * owner condition", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html).
 */
export function checkExpectedOwner(headers: Headers, bucket: BucketRecord | undefined, name = 'x-amz-expected-bucket-owner'): void {
  const expected = headers[name]
  if (expected === undefined || bucket === undefined) return
  if ((Array.isArray(expected) ? expected.join(',') : expected).trim() !== bucket.owner) throw s3Error('AccessDenied')
}

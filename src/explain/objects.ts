/**
 * @module The object a question names, on each bucket it may be routed to. Where a bucket's ACLs are
 * enabled, the server reads the object's stored ACL before it authorizes GetObject, HeadObject,
 * Get/PutObjectAcl and GetObjectAttributes (src/pipeline/execute.ts: `objectAclDecides`, then
 * `objectAclFor`), so explain judges with that ACL, bucket by bucket: each region holds its own copy
 * and replicas may differ. A running server's model reads them for the question
 * (./from-services.ts `objectsFromServices`); a world file declares no objects, and the route says
 * its object's ACL was not known rather than silently judging the default. The same read tells,
 * on every bucket (ACLs enabled or not), whether the object an operation reads is there: when it
 * is not, an authorized request gets the operation's answer for a missing object (`readsVersion`,
 * `missingAnswer`).
 */
import { authorizeS3, type S3AuthzEnv, type S3AuthzInput } from '../s3/authorize.js'
import type { OperationName } from '../s3/classify.js'
import { lockConfigOf } from '../s3/ops/object-lock.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'
import type { Cell } from './cells.js'
import type { AuthzModel, ModelObject } from './model.js'

/** The objects to read for one question: its key (and version) on these buckets. */
export interface ObjectQuestion {
  key: string
  versionId?: string
  buckets: string[]
}

/** What one route knows of the object: its stored ACL, that the bucket has no such object, or nothing. */
export type RouteObject =
  | { kind: 'stored'; acl: ObjectAcl | undefined; name: string }
  | { kind: 'missing'; error: NonNullable<ModelObject['error']>; name: string }
  | { kind: 'unknown'; why: string; name: string }

export function routeObject(model: AuthzModel, bucket: string, key: string, versionId: string | undefined, keyGiven: boolean): RouteObject {
  const name = versionId === undefined ? key : `${key} (version ${versionId})`
  if (!keyGiven) return { kind: 'unknown', why: 'no key was named', name }
  if (!model.objects) return { kind: 'unknown', why: model.from === 'world' ? `${model.source} is a world file, which declares no objects` : 'the objects were not read', name }
  const o = model.objects.find((x) => x.bucket === bucket && x.key === key && x.versionId === versionId)
  if (!o) return { kind: 'unknown', why: `bucket ${bucket}'s copy was not read`, name }
  return o.error ? { kind: 'missing', error: o.error, name } : { kind: 'stored', acl: o.acl, name }
}

/** The ACL the server authorizes with: the stored one; none (the default, private) when there is no object. */
export function objectAclOf(o: RouteObject): ObjectAcl | undefined {
  return o.kind === 'stored' ? o.acl : undefined
}

/** Where the ACL cell's judgement came from, in words. */
export function objectAclSource(o: RouteObject, bucketOwner: string): string {
  switch (o.kind) {
    case 'stored':
      return o.acl ? `the ACL stored on ${o.name} (owner ${o.acl.owner})` : `${o.name} has the default ACL (private to its owner, the bucket owner ${bucketOwner})`
    case 'missing':
      return `no object ${o.name} in this bucket (${o.error.status} ${o.error.code}${o.error.deleteMarker ? ', a delete marker' : ''}): the server authorizes without an object ACL (private to the bucket owner ${bucketOwner})`
    case 'unknown':
      return `the object's ACL is not known (${o.why}): judged as the default ACL, private to the bucket owner ${bucketOwner}`
  }
}

/** The ACL cell with where its judgement came from. */
export function withSource(cell: Cell, o: RouteObject, bucketOwner: string): Cell {
  const source = objectAclSource(o, bucketOwner)
  return { ...cell, detail: cell.detail ? `${cell.detail}; ${source}` : source }
}

/**
 * The operations whose handler reads the version the request names before doing anything else with
 * the object, and so answer the store's error when the bucket has none: findVersion
 * (src/s3/ops/object.ts: GetObject, HeadObject, GetObjectAttributes), the store's getObject or
 * updateObject (src/s3/ops/acl.ts, tagging.ts, object-lock.ts). Writes of a new version (PutObject)
 * and deletes (DeleteObject: 204 for a missing key) do not ask whether the object exists.
 */
const READS_VERSION: ReadonlySet<OperationName> = new Set<OperationName>([
  'GetObject',
  'HeadObject',
  'GetObjectAttributes',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
])

const LOCK_OPS: ReadonlySet<OperationName> = new Set<OperationName>(['GetObjectRetention', 'PutObjectRetention', 'GetObjectLegalHold', 'PutObjectLegalHold'])

/**
 * Whether the operation an action names (explain's own table, evaluate.ts namedOperation: an action
 * it does not list is not known to read anything) reads an existing version on this bucket. The
 * Object Lock operations refuse a bucket without Object Lock (400 InvalidRequest) before they read
 * the object, which explain does not model: there a missing object changes nothing it says.
 */
export function readsVersion(op: OperationName | undefined, b: BucketRecord): boolean {
  if (op === undefined || !READS_VERSION.has(op)) return false
  return !LOCK_OPS.has(op) || lockConfigOf(b) !== undefined
}

/** GetObject, HeadObject and GetObjectAttributes find their version through findVersion (src/s3/ops/object.ts). */
const FIND_VERSION_OPS: ReadonlySet<string> = new Set(['GetObject', 'HeadObject', 'GetObjectAttributes'])

export interface MissingAnswer {
  status: number
  code: string
  /** Set when the answer is a refusal: the s3:ListBucket decision that hid the missing key. */
  effect?: 'ImplicitDeny' | 'ExplicitDeny'
  why: string
}

/**
 * What the server answers an authorized request for an object the bucket does not have: the
 * operation's own read fails with the store's error, except that findVersion answers 403
 * AccessDenied for a missing key (not a delete marker) when the caller may not s3:ListBucket,
 * asked as the server asks it (the same request, the bucket's ARN). "If you don't have the
 * s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error"
 * (GetObject, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 */
export function missingAnswer(env: S3AuthzEnv, input: S3AuthzInput, o: Extract<RouteObject, { kind: 'missing' }>, bucket: string): MissingAnswer {
  const e = o.error
  if (FIND_VERSION_OPS.has(input.op.name) && !e.deleteMarker && (e.code === 'NoSuchKey' || e.code === 'NoSuchVersion')) {
    const list = authorizeS3(env, { ...input, actions: ['s3:ListBucket'], key: undefined })
    if (!list.allowed)
      return {
        status: 403,
        code: 'AccessDenied',
        effect: list.decision?.effect === 'ExplicitDeny' ? 'ExplicitDeny' : 'ImplicitDeny',
        why: `no object ${o.name} in bucket ${bucket}, and s3:ListBucket is not allowed, so S3 answers 403 AccessDenied rather than ${e.status} ${e.code}`,
      }
  }
  return { status: e.status, code: e.code, why: `no object ${o.name} in bucket ${bucket}: ${e.status} ${e.code}` }
}

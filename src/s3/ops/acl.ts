/**
 * @module Object Ownership and ACL operations: Put/Get/DeleteBucketOwnershipControls,
 * Put/GetBucketAcl, Put/GetObjectAcl, and the ACL an object write or CreateBucket sets.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html; docs/decisions/acls.md.
 */
import type { Core } from '../../core/core.js'
import { s3Error } from '../../shared/errors.js'
import type { BlockPublicAccess, BucketRecord } from '../../state/control-store.js'
import type { ObjectAttributes } from '../../storage/types.js'
import {
  type AccountDirectory,
  aclFromHeaders,
  aclsEnabled,
  BUCKET_ACL_KEY,
  bucketGrants,
  type Grant,
  grantsBeyondOwner,
  hasAclHeaders,
  isPublicGrant,
  NO_CONTROLS,
  type ObjectOwnership,
  OWNERSHIP_KEY,
  OWNERSHIPS,
  ownerOnly,
  ownershipOf,
  parseAccessControlPolicy,
  renderAccessControlPolicy,
  type StoredAcl,
} from '../acl.js'
import { type BucketRequest, canonicalId, empty, type NamedBucketRequest, type ObjectRequest, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { header } from '../headers.js'
import { list, parseXmlBody, renderXml, text } from '../xml.js'
import { effectiveBpa } from './bucket-config.js'

/** The accounts of the IAM store, as grants name them (canonical id, root email). */
export function directory(core: Pick<Core, 'identities'>): AccountDirectory {
  const accounts = core.identities.store.accounts
  return {
    byCanonicalId: (id) => {
      for (const a of accounts.values()) if (canonicalId(a.id) === id) return a.id
      return undefined
    },
    byEmail: (email) => {
      const wanted = email.toLowerCase()
      for (const a of accounts.values()) if (a.email?.toLowerCase() === wanted) return a.id
      return undefined
    },
  }
}

/** Operations an object's ACL can decide: reads of it and of its ACL, and writes of its ACL. */
const OBJECT_ACL_OPS: ReadonlySet<string> = new Set(['GetObject', 'HeadObject', 'GetObjectAcl', 'PutObjectAcl', 'GetObjectAttributes'])

/** Whether objectAclFor has anything to read: callers on the request path skip the call (and its await) when not. */
export function objectAclDecides(b: BucketRecord, op: string): boolean {
  return aclsEnabled(b) && OBJECT_ACL_OPS.has(op)
}

/**
 * The stored ACL of the object a request names, read before authorization: only where the bucket's
 * ACLs are enabled (a BucketOwnerEnforced bucket, the default, pays nothing) and only for the
 * operations the object's ACL decides. A missing object has none (the operation answers 404 or 403).
 */
export async function objectAclFor(core: Pick<Core, 'stores'>, b: BucketRecord, key: string, op: string, query: URLSearchParams): Promise<StoredAcl | undefined> {
  if (!objectAclDecides(b, op)) return undefined
  const read = await readObjectAcl(core, b, key, query.get('versionId') ?? undefined)
  return 'error' in read ? undefined : read.acl
}

/** What objectAclFor reads: the version's ACL (absent: the default), or what the store answered instead. */
export type ObjectAclRead = { acl: StoredAcl | undefined } | { error: unknown }

/**
 * objectAclFor's read, with the store's error kept rather than dropped: `mrap explain` reads a
 * running server's objects through it (src/explain/from-services.ts), so it sees what the server sees.
 */
export async function readObjectAcl(core: Pick<Core, 'stores'>, b: BucketRecord, key: string, versionId: string | undefined): Promise<ObjectAclRead> {
  try {
    return { acl: (await core.stores.get(b.region)!.getObject(b.name, key, versionId)).version.acl }
  } catch (error) {
    return { error }
  }
}

export async function getBucketOwnershipControls(req: BucketRequest): Promise<S3Response> {
  if (req.bucket.configs[OWNERSHIP_KEY] === NO_CONTROLS) throw s3Error('OwnershipControlsNotFoundError', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(renderXml('OwnershipControls', { Rule: [{ ObjectOwnership: ownershipOf(req.bucket) }] }))
}

export async function putBucketOwnershipControls(req: BucketRequest): Promise<S3Response> {
  const doc = parseXmlBody(await readSmallBody(req.body), 'OwnershipControls')
  const rules = list(doc.Rule)
  if (rules.length !== 1 || typeof rules[0] !== 'object' || rules[0] === null) throw s3Error('MalformedXML')
  const value = text((rules[0] as Record<string, unknown>).ObjectOwnership)
  if (!OWNERSHIPS.includes(value as ObjectOwnership)) throw s3Error('MalformedXML')
  // "your bucket ACL must give full control only to the bucket owner" before ACLs are disabled
  // (Troubleshooting, S3 Object Ownership, InvalidBucketAclWithObjectOwnership).
  if (value === 'BucketOwnerEnforced' && grantsBeyondOwner(bucketGrants(req.bucket), req.bucket.owner)) throw s3Error('InvalidBucketAclWithObjectOwnership')
  await req.core.state.updateBucket(req.bucket.name, { configs: { [OWNERSHIP_KEY]: value } })
  return empty(200)
}

export async function deleteBucketOwnershipControls(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { configs: { [OWNERSHIP_KEY]: NO_CONTROLS } })
  return empty(204)
}

/** The Block Public Access that judges an ACL write: the bucket's, its owner's, and the MRAP's when through one. */
function blocksPublicAcls(req: BucketRequest): boolean {
  const mrap: BlockPublicAccess | undefined = req.mrapBpa
  return effectiveBpa(req).BlockPublicAcls || mrap?.BlockPublicAcls === true || (mrap !== undefined && req.core.checks.accountBpa(req.bucket.owner)?.BlockPublicAcls === true)
}

/**
 * BlockPublicAcls: "PUT Bucket acl and PUT Object acl calls fail if the specified ACL is public"
 * and so do PUT Object calls that include one ("Blocking public access to your Amazon S3 storage",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html).
 */
function checkPublic(req: BucketRequest, grants: readonly Grant[]): void {
  if (grants.some(isPublicGrant) && blocksPublicAcls(req)) throw s3Error('AccessDenied')
}

/** The grants a Put*Acl request sets: the body, or headers (not both). */
async function requestedGrants(req: BucketRequest, owner: string, isObject: boolean): Promise<Grant[]> {
  const raw = await readSmallBody(req.body)
  const fromHeaders = aclFromHeaders(req.headers, owner, req.bucket.owner, isObject, directory(req.core))
  if (raw.length > 0) {
    if (fromHeaders) throw s3Error('UnexpectedContent')
    return parseAccessControlPolicy(raw, owner, directory(req.core))
  }
  if (!fromHeaders) throw s3Error('MissingSecurityHeader', { message: 'Your request was missing a required header', fields: { MissingHeaderName: 'x-amz-acl' } })
  return fromHeaders
}

export async function getBucketAcl(req: BucketRequest): Promise<S3Response> {
  const b = req.bucket
  // "Requests to read ACLs always return a response that shows full control for the bucket owner."
  return xmlResponse(renderAccessControlPolicy(b.owner, aclsEnabled(b) ? bucketGrants(b) : ownerOnly(b.owner)))
}

export async function putBucketAcl(req: BucketRequest): Promise<S3Response> {
  const b = req.bucket
  const grants = await requestedGrants(req, b.owner, false)
  if (!aclsEnabled(b)) {
    // Only the ACL the bucket already has, the owner's FULL_CONTROL, is accepted.
    if (grantsBeyondOwner(grants, b.owner)) throw s3Error('AccessControlListNotSupported')
    return empty(200)
  }
  checkPublic(req, grants)
  const isPrivate = !grantsBeyondOwner(grants, b.owner) && grants.length === 1
  await req.core.state.updateBucket(b.name, { configs: { [BUCKET_ACL_KEY]: isPrivate ? undefined : JSON.stringify(grants) } })
  return empty(200)
}

/** The stored ACL of a version, or the default one (the bucket owner's, private). */
export function objectAclOf(b: BucketRecord, attrs: Pick<ObjectAttributes, 'acl'> | undefined): StoredAcl {
  return attrs?.acl ?? { owner: b.owner, grants: ownerOnly(b.owner) }
}

export async function getObjectAcl(req: ObjectRequest): Promise<S3Response> {
  const b = req.bucket
  const got = await req.core.stores.get(b.region)!.getObject(b.name, req.key, req.query.get('versionId') ?? undefined)
  const headers: Record<string, string> = got.version.versionId !== 'null' ? { 'x-amz-version-id': got.version.versionId } : {}
  if (!aclsEnabled(b)) return xmlResponse(renderAccessControlPolicy(b.owner, ownerOnly(b.owner)), 200, headers)
  const acl = objectAclOf(b, got.version)
  return xmlResponse(renderAccessControlPolicy(acl.owner, acl.grants), 200, headers)
}

export async function putObjectAcl(req: ObjectRequest): Promise<S3Response> {
  const b = req.bucket
  const store = req.core.stores.get(b.region)!
  const versionId = req.query.get('versionId') ?? undefined
  const got = await store.getObject(b.name, req.key, versionId)
  const current = objectAclOf(b, aclsEnabled(b) ? got.version : undefined)
  const grants = await requestedGrants(req, current.owner, true)
  if (!aclsEnabled(b)) {
    if (grantsBeyondOwner(grants, b.owner)) throw s3Error('AccessControlListNotSupported')
    return empty(200, got.version.versionId !== 'null' ? { 'x-amz-version-id': got.version.versionId } : {})
  }
  checkPublic(req, grants)
  const v = await store.updateObject(b.name, req.key, got.version.versionId, { acl: { owner: current.owner, grants } })
  await req.core.replication.updated(b, v)
  return empty(200, v.versionId !== 'null' ? { 'x-amz-version-id': v.versionId } : {})
}

/**
 * The owner and ACL of a version an object write makes (PutObject, CopyObject,
 * CreateMultipartUpload), set on `attrs`; throws before the body is read when the bucket refuses
 * the ACL. A copy's source ACL never travels. Object owner: the writer's account under
 * ObjectWriter, and under BucketOwnerPreferred unless it sent bucket-owner-full-control; the bucket
 * owner otherwise ("Controlling ownership of objects and disabling ACLs for your bucket").
 */
export function applyWriteAcl(req: ObjectRequest, attrs: ObjectAttributes): void {
  delete attrs.acl
  const b = req.bucket
  const ownership = ownershipOf(b)
  const canned = header(req.headers, 'x-amz-acl')
  if (ownership === 'BucketOwnerEnforced') {
    if (!hasAclHeaders(req.headers)) return
    // "The bucket only accepts PUT requests that don't specify an ACL or specify bucket owner full
    // control ACLs" (OwnershipControlsRule, S3 API reference).
    if (canned !== undefined && canned !== 'bucket-owner-full-control') throw s3Error('AccessControlListNotSupported')
    if (!ownerOnlyGrants(req, b.owner, true)) throw s3Error('AccessControlListNotSupported')
    return
  }
  const writer = req.principal.type === 'Anonymous' ? b.owner : req.principal.accountId
  const owner = ownership === 'ObjectWriter' || (ownership === 'BucketOwnerPreferred' && canned !== 'bucket-owner-full-control') ? writer : b.owner
  const grants = aclFromHeaders(req.headers, owner, b.owner, true, directory(req.core)) ?? ownerOnly(owner)
  checkPublic(req, grants)
  if (owner === b.owner && !grantsBeyondOwner(grants, b.owner) && grants.length === 1) return
  attrs.acl = { owner, grants }
}

/**
 * Whether the request's ACL headers give nothing beyond the owner's FULL_CONTROL: what a bucket
 * without ACLs takes. On such a bucket ACLs are refused whole, so a grant that does not even
 * resolve gets the same refusal rather than one about its grantee.
 */
function ownerOnlyGrants(req: NamedBucketRequest, owner: string, isObject: boolean): boolean {
  try {
    const grants = aclFromHeaders(req.headers, owner, owner, isObject, directory(req.core))
    return grants === undefined || !grantsBeyondOwner(grants, owner)
  } catch {
    return false
  }
}

/**
 * The ownership and ACL configs of a bucket CreateBucket makes. `x-amz-object-ownership` picks the
 * setting (BucketOwnerEnforced when absent, as for every new bucket since April 2023); with it, an
 * ACL beyond the owner's is InvalidBucketAclWithObjectOwnership, and a public ACL meets the new
 * bucket's Block Public Access (all on) or the account's.
 */
export function createBucketConfigs(req: NamedBucketRequest): Record<string, string> {
  const asked = header(req.headers, 'x-amz-object-ownership')
  if (asked !== undefined && !OWNERSHIPS.includes(asked as ObjectOwnership)) {
    throw s3Error('InvalidArgument', { message: 'Invalid x-amz-object-ownership header', fields: { ArgumentName: 'x-amz-object-ownership', ArgumentValue: asked } })
  }
  const ownership = (asked ?? 'BucketOwnerEnforced') as ObjectOwnership
  const owner = req.principal.accountId
  const configs: Record<string, string> = { [OWNERSHIP_KEY]: ownership }
  if (ownership === 'BucketOwnerEnforced') {
    if (!ownerOnlyGrants(req, owner, false)) throw s3Error('InvalidBucketAclWithObjectOwnership')
    return configs
  }
  const grants = aclFromHeaders(req.headers, owner, owner, false, directory(req.core))
  if (!grants || (!grantsBeyondOwner(grants, owner) && grants.length === 1)) return configs
  if (grants.some(isPublicGrant)) throw s3Error('InvalidBucketAclWithBlockPublicAccessError')
  configs[BUCKET_ACL_KEY] = JSON.stringify(grants)
  return configs
}

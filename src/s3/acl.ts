/**
 * @module S3 Object Ownership and access control lists: the stored shapes, canned ACLs, the
 * `x-amz-grant-*` headers and the AccessControlPolicy XML, and which actions a grant allows. Pure
 * except for the account lookups passed in; the handlers are in ops/acl.ts, the authorization in
 * authorize.ts. AWS's rules and where they come from: docs/decisions/acls.md.
 */
import { s3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'
import { canonicalId, ownerOf } from './context.js'
import type { Headers } from './headers.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from './xml.js'

export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter'
export const OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter']

/** `configs` key of the bucket's ownership controls; `NO_CONTROLS` after DeleteBucketOwnershipControls. */
export const OWNERSHIP_KEY = 'ownershipControls'
export const NO_CONTROLS = 'none'
/** `configs` key of the bucket ACL's grants (JSON); absent means `private`. */
export const BUCKET_ACL_KEY = 'acl'

/**
 * The bucket's Object Ownership as S3 applies it. A bucket without the key is one mrap made before
 * ownership controls existed, when every bucket was BucketOwnerEnforced, so it stays so. A bucket
 * whose controls were deleted has none, and S3 then behaves as ObjectWriter ("Controlling ownership
 * of objects and disabling ACLs for your bucket": ObjectWriter is the setting of buckets without
 * Object Ownership).
 */
export function ownershipOf(b: BucketRecord): ObjectOwnership {
  const v = b.configs[OWNERSHIP_KEY]
  if (v === undefined) return 'BucketOwnerEnforced'
  if (v === NO_CONTROLS) return 'ObjectWriter'
  return v as ObjectOwnership
}

/** The ownership and bucket-ACL entries of a bucket's configs (what `mrap explain` and lint need), if any. */
export function aclConfigs(configs: Record<string, string>): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const k of [OWNERSHIP_KEY, BUCKET_ACL_KEY]) if (configs[k] !== undefined) out[k] = configs[k]
  return Object.keys(out).length > 0 ? out : undefined
}

export const aclsEnabled = (b: BucketRecord): boolean => ownershipOf(b) !== 'BucketOwnerEnforced'

/**
 * The account that owns a version: its writer's where ACLs are enabled and it was written so, else
 * the bucket owner's ("With the bucket owner enforced setting ... you, as the bucket owner,
 * automatically own and have full control over every object", About Object Ownership). Every
 * response that names an object's owner asks here, so they agree.
 */
export function objectOwner(b: BucketRecord, attrs: { acl?: ObjectAcl } | undefined): string {
  return aclsEnabled(b) ? (attrs?.acl?.owner ?? b.owner) : b.owner
}

export type Permission = Grant['permission']
const PERMISSIONS: readonly Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL']

export const GROUP_BASE = 'http://acs.amazonaws.com/groups/'
export const ALL_USERS = `${GROUP_BASE}global/AllUsers`
export const AUTHENTICATED_USERS = `${GROUP_BASE}global/AuthenticatedUsers`
export const LOG_DELIVERY = `${GROUP_BASE}s3/LogDelivery`
const GROUPS = new Set([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY])

/** An object's ACL as stored with its version: who owns it and its grants. */
export type StoredAcl = ObjectAcl
/** A grantee as stored: an account (email grants are resolved to it when written) or a group. */
export type Grant = ObjectAcl['grants'][number]
export type Grantee = Grant['grantee']

/** Account lookups the ACL parsers need (from the IAM store). */
export interface AccountDirectory {
  /** The account whose canonical user id this is. */
  byCanonicalId(id: string): string | undefined
  /** The account whose root user has this email address. */
  byEmail(email: string): string | undefined
}

export const CANNED = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
] as const
export type CannedAcl = (typeof CANNED)[number]

/**
 * A canned ACL's grants ("Access control list (ACL) overview", Canned ACL,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl). `owner` is
 * the resource's owner; `bucketOwner` the bucket's (bucket-owner-* apply to objects; on a bucket
 * they are ignored, leaving the owner's FULL_CONTROL). aws-exec-read's grant to EC2 has no
 * grantee here: there is no EC2 account in a world (docs/decisions/acls.md).
 */
export function cannedGrants(acl: CannedAcl, owner: string, bucketOwner: string, isObject: boolean): Grant[] {
  const out: Grant[] = [{ grantee: { account: owner }, permission: 'FULL_CONTROL' }]
  const group = (uri: string, permission: Permission) => out.push({ grantee: { group: uri }, permission })
  switch (acl) {
    case 'public-read':
      group(ALL_USERS, 'READ')
      break
    case 'public-read-write':
      group(ALL_USERS, 'READ')
      group(ALL_USERS, 'WRITE')
      break
    case 'authenticated-read':
      group(AUTHENTICATED_USERS, 'READ')
      break
    case 'bucket-owner-read':
      if (isObject && bucketOwner !== owner) out.push({ grantee: { account: bucketOwner }, permission: 'READ' })
      break
    case 'bucket-owner-full-control':
      if (isObject && bucketOwner !== owner) out.push({ grantee: { account: bucketOwner }, permission: 'FULL_CONTROL' })
      break
    case 'log-delivery-write':
      group(LOG_DELIVERY, 'WRITE')
      group(LOG_DELIVERY, 'READ_ACP')
      break
  }
  return out
}

const GRANT_HEADERS: readonly [string, Permission][] = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
]

function one(h: Headers, name: string): string | undefined {
  const v = h[name]
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v.trim()
}

/** Whether the request carries an ACL in headers (a canned ACL or any grant header). */
export function hasAclHeaders(h: Headers): boolean {
  return h['x-amz-acl'] !== undefined || GRANT_HEADERS.some(([n]) => h[n] !== undefined)
}

function granteeOf(type: string, value: string, dir: AccountDirectory, header: string): Grantee {
  switch (type.toLowerCase()) {
    case 'id': {
      const account = dir.byCanonicalId(value)
      if (account === undefined) throw s3Error('InvalidArgument', { message: 'Invalid id', fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: value } })
      return { account }
    }
    case 'emailaddress':
      return { account: byEmail(value, dir) }
    case 'uri':
      if (!GROUPS.has(value)) throw s3Error('InvalidArgument', { message: 'Invalid group uri', fields: { ArgumentName: 'Group/URI', ArgumentValue: value } })
      return { group: value }
  }
  throw s3Error('InvalidArgument', { message: `Argument format not recognized: ${type}`, fields: { ArgumentName: header, ArgumentValue: `${type}=${value}` } })
}

/**
 * "The email address you provided does not match any account on record." (S3 error codes,
 * UnresolvableGrantByEmailAddress).
 */
function byEmail(email: string, dir: AccountDirectory): string {
  const account = dir.byEmail(email)
  if (account === undefined) throw s3Error('UnresolvableGrantByEmailAddress', { fields: { EmailAddress: email } })
  return account
}

/** The grants of `x-amz-grant-*` headers: `id="…"`, `emailAddress="…"`, `uri="…"`, comma-separated. */
export function headerGrants(h: Headers, dir: AccountDirectory): Grant[] {
  const out: Grant[] = []
  for (const [name, permission] of GRANT_HEADERS) {
    const raw = one(h, name)
    if (raw === undefined) continue
    for (const part of raw.split(',')) {
      const m = part.trim().match(/^([A-Za-z]+)\s*=\s*"?([^"]*)"?$/)
      if (!m) throw s3Error('InvalidArgument', { message: 'Argument format not recognized', fields: { ArgumentName: name, ArgumentValue: part.trim() } })
      out.push({ grantee: granteeOf(m[1]!, m[2]!, dir, name), permission })
    }
  }
  return out
}

/**
 * The ACL a request's headers set, or undefined when it sets none. Both a canned ACL and grant
 * headers is S3's 400 InvalidRequest.
 */
export function aclFromHeaders(h: Headers, owner: string, bucketOwner: string, isObject: boolean, dir: AccountDirectory): Grant[] | undefined {
  const canned = one(h, 'x-amz-acl')
  const grants = headerGrants(h, dir)
  if (canned !== undefined && grants.length > 0) throw s3Error('InvalidRequest', { message: 'Specifying both Canned ACLs and Header Grants is not allowed' })
  if (canned !== undefined) {
    if (!(CANNED as readonly string[]).includes(canned)) throw s3Error('InvalidArgument', { fields: { ArgumentName: 'x-amz-acl', ArgumentValue: canned } })
    return cannedGrants(canned as CannedAcl, owner, bucketOwner, isObject)
  }
  return grants.length > 0 ? grants : undefined
}

/**
 * A `<Grantee>` element's grantee: by `ID`, `URI` or `EmailAddress` (the xsi:type attribute says the
 * same and is not read); undefined when it names none. Unknown ids, groups and emails are refused as
 * for every ACL (granteeOf, byEmail).
 */
export function granteeFromXml(who: Record<string, unknown>, dir: AccountDirectory): Grantee | undefined {
  const id = text(who.ID)
  const uri = text(who.URI)
  const email = text(who.EmailAddress)
  if (id !== undefined) return granteeOf('id', id, dir, 'ID')
  if (uri !== undefined) return granteeOf('uri', uri, dir, 'URI')
  if (email !== undefined) return granteeOf('emailAddress', email, dir, 'EmailAddress')
  return undefined
}

/** Parses an AccessControlPolicy body; its Owner must be the resource's owner. */
export function parseAccessControlPolicy(raw: Buffer, owner: string, dir: AccountDirectory): Grant[] {
  let doc: Record<string, unknown>
  try {
    doc = parseXmlBody(raw, 'AccessControlPolicy')
  } catch {
    throw s3Error('MalformedACLError')
  }
  const ownerEl = doc.Owner as Record<string, unknown> | undefined
  const ownerId = ownerEl && typeof ownerEl === 'object' ? text(ownerEl.ID) : undefined
  if (ownerId === undefined) throw s3Error('MalformedACLError')
  if (ownerId !== canonicalId(owner)) throw s3Error('AccessDenied')
  const acl = doc.AccessControlList as Record<string, unknown> | undefined
  const out: Grant[] = []
  for (const g of list(acl && typeof acl === 'object' ? acl.Grant : undefined)) {
    if (typeof g !== 'object' || g === null) throw s3Error('MalformedACLError')
    const grant = g as Record<string, unknown>
    const permission = text(grant.Permission) as Permission | undefined
    const who = grant.Grantee as Record<string, unknown> | undefined
    if (!permission || !PERMISSIONS.includes(permission) || !who || typeof who !== 'object') throw s3Error('MalformedACLError')
    const grantee = granteeFromXml(who, dir)
    if (!grantee) throw s3Error('MalformedACLError')
    out.push({ grantee, permission })
  }
  return out
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance'

/** The AccessControlPolicy S3 answers Get*Acl with. */
export function renderAccessControlPolicy(owner: string, grants: readonly Grant[]): string {
  return renderXml('AccessControlPolicy', {
    Owner: ownerOf(owner),
    AccessControlList: {
      Grant: grants.map(renderGrant),
    },
  })
}

/** A `<Grant>` as S3 answers it: an email grantee shows as the CanonicalUser it was resolved to. */
export function renderGrant(g: Grant): XmlObject {
  const grantee: XmlObject =
    'account' in g.grantee
      ? { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ...ownerOf(g.grantee.account) }
      : { '@_xmlns:xsi': XSI, '@_xsi:type': 'Group', URI: g.grantee.group }
  return { Grantee: grantee, Permission: g.permission }
}

export const ownerOnly = (owner: string): Grant[] => [{ grantee: { account: owner }, permission: 'FULL_CONTROL' }]

/** The bucket ACL's grants (private when none was set). */
export function bucketGrants(b: BucketRecord): Grant[] {
  const raw = b.configs[BUCKET_ACL_KEY]
  return raw === undefined ? ownerOnly(b.owner) : (JSON.parse(raw) as Grant[])
}

/**
 * Whether grants give anything to anyone but `owner` (S3's test before BucketOwnerEnforced: "your
 * bucket ACL must give full control only to the bucket owner", Troubleshooting, S3 Object Ownership).
 */
export function grantsBeyondOwner(grants: readonly Grant[], owner: string): boolean {
  return grants.some((g) => !('account' in g.grantee) || g.grantee.account !== owner)
}

/** Grants to AllUsers or AuthenticatedUsers: public as Block Public Access judges ACLs. */
export function isPublicGrant(g: Grant): boolean {
  return 'group' in g.grantee && (g.grantee.group === ALL_USERS || g.grantee.group === AUTHENTICATED_USERS)
}

/**
 * The permission each action needs from an ACL ("Access control list (ACL) overview", Mapping of
 * ACL permissions and access policy permissions). An action not in the table no ACL grants.
 */
const BUCKET_ACTIONS: Record<string, Permission> = {
  's3:listbucket': 'READ',
  's3:listbucketversions': 'READ',
  's3:listbucketmultipartuploads': 'READ',
  's3:putobject': 'WRITE',
  's3:deleteobject': 'WRITE',
  's3:getbucketacl': 'READ_ACP',
  's3:putbucketacl': 'WRITE_ACP',
}
const OBJECT_ACTIONS: Record<string, Permission> = {
  's3:getobject': 'READ',
  's3:getobjectversion': 'READ',
  's3:getobjectacl': 'READ_ACP',
  's3:getobjectversionacl': 'READ_ACP',
  's3:putobjectacl': 'WRITE_ACP',
  's3:putobjectversionacl': 'WRITE_ACP',
}

/** Who is asking, as ACL grantees match it. */
export interface AclCaller {
  /** undefined for an anonymous caller. */
  account: string | undefined
}

/** The grant that allows `action` to the caller, if any; `onObject` picks the object's table. */
export function grantFor(grants: readonly Grant[], action: string, onObject: boolean, caller: AclCaller): Grant | undefined {
  const needed = (onObject ? OBJECT_ACTIONS : BUCKET_ACTIONS)[action.toLowerCase()]
  if (needed === undefined) return undefined
  for (const g of grants) {
    if (g.permission !== needed && g.permission !== 'FULL_CONTROL') continue
    if ('account' in g.grantee) {
      if (caller.account !== undefined && g.grantee.account === caller.account) return g
    } else if (g.grantee.group === ALL_USERS) return g
    else if (g.grantee.group === AUTHENTICATED_USERS && caller.account !== undefined) return g
  }
  return undefined
}

/**
 * What a bucket's and an object's ACLs say about one action, as the policy engine's `acl` input
 * (undefined where ACLs are disabled: they then take no part, "ACLs no longer affect permissions").
 * A grant to an account acts like a resource policy naming that account's root: across accounts it
 * is the resource side's allow, which the caller's identity policy must match; in the bucket
 * owner's own account it delegates to identity policies and grants nothing alone. A group grant
 * (AllUsers, AuthenticatedUsers) acts like `Principal: "*"` and is public.
 */
export function aclInput(b: BucketRecord, objectAcl: ObjectAcl | undefined, action: string, caller: AclCaller): { grants: boolean; isPublic: boolean; grant?: string } | undefined {
  if (!aclsEnabled(b)) return undefined
  const a = action.toLowerCase()
  const onObject = OBJECT_ACTIONS[a] !== undefined
  const grants = onObject ? (objectAcl?.grants ?? ownerOnly(b.owner)) : bucketGrants(b)
  const g = grantFor(
    grants.filter((x) => !('account' in x.grantee && x.grantee.account === b.owner)),
    a,
    onObject,
    caller,
  )
  if (!g) return { grants: false, isPublic: false }
  return { grants: true, isPublic: isPublicGrant(g), grant: describeGrant(g) }
}

/**
 * An object another account owns (ObjectWriter): only its owner's account, and those its ACL
 * grants, reach it, whatever the bucket owner's policies say ("the bucket owner ... does not have
 * permissions on the objects that other accounts own", Access control list (ACL) overview).
 * Undefined when the caller may; else the refusal's reason.
 */
export function foreignObjectRefusal(b: BucketRecord, objectAcl: ObjectAcl | undefined, action: string, caller: AclCaller): string | undefined {
  if (!aclsEnabled(b) || !objectAcl || objectAcl.owner === b.owner) return undefined
  const a = action.toLowerCase()
  if (OBJECT_ACTIONS[a] === undefined || caller.account === objectAcl.owner) return undefined
  if (grantFor(objectAcl.grants, a, true, caller)) return undefined
  return `${action}: the object is owned by ${objectAcl.owner} and its ACL grants nothing to ${caller.account ?? 'anonymous'}`
}

/** A grant as `mrap explain` names it: `READ to AllUsers`, `FULL_CONTROL to 111122223333`. */
export function describeGrant(g: Grant): string {
  const who = 'account' in g.grantee ? g.grantee.account : g.grantee.group.slice(g.grantee.group.lastIndexOf('/') + 1)
  return `${g.permission} to ${who}`
}

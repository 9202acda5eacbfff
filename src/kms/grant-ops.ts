/**
 * @module The KMS grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
 * RevokeGrant, with the shapes, limits and exceptions of the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html, API_ListGrants.html,
 * API_ListRetirableGrants.html, API_RetireGrant.html, API_RevokeGrant.html). What a grant allows
 * is grants.ts; the decision that counts grants beside key policies and IAM is authorize.ts.
 * Decision and sources: docs/decisions/encryption.md §KMS.
 *
 * Not here: grants for AWS service principals (GranteeServicePrincipal, RetiringServicePrincipal)
 * and the SourceArn constraint, refused with NotImplemented rather than taken and ignored.
 */
import { randomBytes } from 'node:crypto'
import type { Core } from '../core/core.js'
import { S3Error } from '../shared/errors.js'
import { identityEffect } from './authorize.js'
import { checkGrantTokens, dryRun, dryRunDone, type KmsCall, keyOf, kmsDenied, kmsError, type Op, requireIam, requireKey, str, usable } from './call.js'
import { GRANT_OPERATIONS, type GrantConstraints, grantListEntry, type KmsGrant, principalCovers, SYMMETRIC_GRANT_OPERATIONS, sameGrant } from './grants.js'
import type { KmsKeyRecord } from './keys.js'

/** "Grants per KMS key: 50,000" and "Grants for a given principal per KMS key: 500" ("Resource quotas", https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html). */
export const GRANTS_PER_KEY = 50_000
export const GRANTS_PER_PRINCIPAL_PER_KEY = 500
/** "Each grant constraint value can include up to 8 encryption context pairs … cannot exceed 384 characters" (Creating grants). */
const MAX_CONSTRAINT_PAIRS = 8
const MAX_CONSTRAINT_CHARS = 384
/** ListGrants / ListRetirableGrants: "between 1 and 100, inclusive … defaults to 50". */
const DEFAULT_LIMIT = 50
const MAX_LIMIT = 100
/** PrincipalIdType: length 1 to 256, pattern ^[\w+=,.@:/-]+$ (API reference, CreateGrant). */
const PRINCIPAL_PATTERN = /^[\w+=,.@:/-]+$/
/** GrantNameType: length 1 to 256, pattern ^[a-zA-Z0-9:/_-]+$ (API reference, CreateGrant, Name). */
const NAME_PATTERN = /^[a-zA-Z0-9:/_-]+$/
/** The grant ids mrap issues: 64 hex digits, as AWS's look (CreateGrant's example). */
const GRANT_ID = /^[0-9a-f]{64}$/

const GRANT_IS_FOR_AWS_RESOURCE = { 'kms:grantisforawsresource': ['false'] }

function notImplemented(field: string): S3Error {
  return new S3Error('NotImplemented', 501, `${field} is not implemented here: mrap makes grants for AWS principals (users, roles, accounts) only.`)
}

/** A `1 validation error detected` message in KMS's words for the field `name`. */
function invalid(name: string, value: string, constraint: string): S3Error {
  return kmsError('ValidationException', `1 validation error detected: Value '${value}' at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: ${constraint}`)
}

/**
 * The key of a grant call: a key id or key ARN; "Key Aliases are not supported for this operation"
 * (InvalidArnException; the API reference names key ids and key ARNs only).
 */
function grantKey(c: KmsCall, id = str(c, 'KeyId')!): KmsKeyRecord {
  if (id.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(id)) throw kmsError('InvalidArnException', 'Key Aliases are not supported for this operation.')
  return keyOf(c, id)
}

/** Does an IAM principal ARN name something in this world (an account, a user, a role, its session)? */
function knownPrincipal(s: Core, arn: string): boolean {
  const m = arn.match(/^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/)
  if (!m || m[1] !== s.world.partition || !s.identities.accounts.has(m[3]!)) return false
  const [, , service, account, rest] = m as unknown as [string, string, string, string, string]
  const named = (map: ReadonlyMap<string, { account: string; name: string }>, name: string | undefined) =>
    name !== undefined && [...map.values()].some((r) => r.account === account && r.name === name)
  if (service === 'iam') {
    if (rest === 'root') return true
    const parts = rest.split('/')
    if (parts.length < 2) return false
    if (parts[0] === 'user') return named(s.identities.store.users, parts.at(-1))
    if (parts[0] === 'role') return named(s.identities.store.roles, parts.at(-1))
    return false
  }
  const parts = rest.split('/')
  if (parts[0] === 'assumed-role' && parts.length === 3) return named(s.identities.store.roles, parts[1])
  return parts[0] === 'federated-user' && parts.length === 2
}

/** GranteePrincipal / RetiringPrincipal / ListRetirableGrants' RetiringPrincipal: the shape, then a principal that exists. */
function principalField(c: KmsCall, name: string, required: boolean): string | undefined {
  const v = str(c, name, required)
  if (v === undefined) return undefined
  if (v.length < 1 || v.length > 256) throw invalid(name, v, 'Member must have length less than or equal to 256')
  if (!PRINCIPAL_PATTERN.test(v)) throw invalid(name, v, 'Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$')
  if (!knownPrincipal(c.s, v)) throw kmsError('InvalidArnException', `ARN does not refer to a valid principal: ${v}`)
  return v
}

function operationsField(c: KmsCall): string[] {
  const v = c.body.Operations
  if (v === undefined || v === null)
    throw kmsError('ValidationException', "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
  if (!Array.isArray(v) || v.some((o) => typeof o !== 'string')) throw kmsError('SerializationException', 'Operations must be a list of strings')
  const ops = v as string[]
  for (const o of ops)
    if (!(GRANT_OPERATIONS as readonly string[]).includes(o))
      throw invalid('Operations', `[${ops.join(', ')}]`, `Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`)
  if (ops.length === 0) throw kmsError('ValidationException', 'Operations must include at least one grant operation.')
  const unsupported = ops.filter((o) => !SYMMETRIC_GRANT_OPERATIONS.has(o))
  if (unsupported.length > 0) throw kmsError('ValidationException', `Grant operations ${unsupported.join(', ')} are not supported on a symmetric encryption KMS key.`)
  if (ops.every((o) => o === 'CreateGrant')) throw kmsError('ValidationException', 'Grants must not contain only the CreateGrant operation.')
  return [...new Set(ops)]
}

function contextMap(name: string, v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))
    throw kmsError('SerializationException', `${name} must be a map of strings`)
  const m = v as Record<string, string>
  const pairs = Object.entries(m)
  if (pairs.length > MAX_CONSTRAINT_PAIRS) throw kmsError('ValidationException', `${name} can include at most ${MAX_CONSTRAINT_PAIRS} encryption context pairs.`)
  if (pairs.reduce((n, [k, x]) => n + k.length + x.length, 0) > MAX_CONSTRAINT_CHARS)
    throw kmsError('ValidationException', `${name} cannot exceed ${MAX_CONSTRAINT_CHARS} characters.`)
  return m
}

function constraintsField(c: KmsCall): GrantConstraints | undefined {
  const v = c.body.Constraints
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) throw kmsError('SerializationException', 'Constraints must be a structure')
  const o = v as Record<string, unknown>
  if (o.SourceArn !== undefined && o.SourceArn !== null) throw notImplemented('The SourceArn grant constraint')
  const out: GrantConstraints = {}
  if (o.EncryptionContextSubset !== undefined && o.EncryptionContextSubset !== null) out.EncryptionContextSubset = contextMap('EncryptionContextSubset', o.EncryptionContextSubset)
  if (o.EncryptionContextEquals !== undefined && o.EncryptionContextEquals !== null) out.EncryptionContextEquals = contextMap('EncryptionContextEquals', o.EncryptionContextEquals)
  return out.EncryptionContextSubset || out.EncryptionContextEquals ? out : undefined
}

function nameField(c: KmsCall): string | undefined {
  const v = str(c, 'Name', false)
  if (v === undefined) return undefined
  if (v.length < 1 || v.length > 256) throw invalid('Name', v, 'Member must have length between 1 and 256')
  if (!NAME_PATTERN.test(v)) throw invalid('Name', v, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$')
  return v
}

function grantIdField(c: KmsCall, required: boolean): string | undefined {
  const v = str(c, 'GrantId', required)
  if (v === undefined) return undefined
  if (v.length < 1 || v.length > 128) throw invalid('GrantId', v, 'Member must have length between 1 and 128')
  if (!GRANT_ID.test(v)) throw kmsError('InvalidGrantIdException', `Grant ID ${v} is not valid.`)
  return v
}

function refuseServicePrincipals(c: KmsCall, ...names: string[]): void {
  for (const n of names) if (c.body[n] !== undefined && c.body[n] !== null) throw notImplemented(n)
}

/** The request context keys of CreateGrant ("AWS KMS condition keys", conditions-kms.html). */
function createGrantContext(g: Pick<KmsGrant, 'granteePrincipal' | 'retiringPrincipal' | 'operations' | 'constraints'>): Record<string, string[]> {
  const types = [g.constraints?.EncryptionContextEquals ? 'EncryptionContextEquals' : undefined, g.constraints?.EncryptionContextSubset ? 'EncryptionContextSubset' : undefined]
  return {
    ...GRANT_IS_FOR_AWS_RESOURCE,
    'kms:grantoperations': g.operations,
    'kms:granteeprincipal': [g.granteePrincipal],
    ...(g.retiringPrincipal !== undefined ? { 'kms:retiringprincipal': [g.retiringPrincipal] } : {}),
    ...(types.some((t) => t) ? { 'kms:grantconstrainttype': types.filter((t): t is string => t !== undefined) } : {}),
  }
}

/** Limit and Marker of the two list calls; the marker names the last grant returned. */
function page(c: KmsCall, grants: KmsGrant[]): Record<string, unknown> {
  const limit = c.body.Limit ?? DEFAULT_LIMIT
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${MAX_LIMIT}`,
    )
  const marker = str(c, 'Marker', false)
  const sorted = [...grants].sort((a, b) => a.creationDate - b.creationDate || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0))
  let from = 0
  if (marker !== undefined) {
    let after: [number, string] | undefined
    try {
      const m = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown
      if (Array.isArray(m) && typeof m[0] === 'number' && typeof m[1] === 'string' && GRANT_ID.test(m[1])) after = [m[0], m[1]]
    } catch {
      after = undefined
    }
    if (!after) throw kmsError('InvalidMarkerException', 'Invalid marker')
    const [t, id] = after
    from = sorted.findIndex((g) => g.creationDate > t || (g.creationDate === t && g.grantId > id))
    if (from === -1) from = sorted.length
  }
  const out = sorted.slice(from, from + limit)
  const truncated = from + limit < sorted.length
  const last = out.at(-1)
  return {
    Grants: out.map(grantListEntry),
    Truncated: truncated,
    ...(truncated && last ? { NextMarker: Buffer.from(JSON.stringify([last.creationDate, last.grantId])).toString('base64url') } : {}),
  }
}

/**
 * Who may retire a grant: its retiring principal, its grantee when the grant allows RetireGrant,
 * and the account that made the grant (or owns the key): its root, or a principal there whose IAM
 * policies allow kms:RetireGrant. An IAM Deny of kms:RetireGrant refuses; a key policy does not
 * count ("Retiring and revoking grants", https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html).
 */
function mayRetire(c: KmsCall, g: KmsGrant, key: KmsKeyRecord): boolean {
  const iam = identityEffect(c.s, c.principal, 'kms:RetireGrant', key.arn, c.base)
  if (iam === 'ExplicitDeny') return false
  const p = c.principal
  const partition = c.s.world.partition
  const ok = (covers: 'direct' | 'account' | undefined) => covers === 'direct' || (covers === 'account' && iam === 'Allow')
  if (ok(principalCovers(g.retiringPrincipal, p, partition))) return true
  if (g.operations.includes('RetireGrant') && ok(principalCovers(g.granteePrincipal, p, partition))) return true
  const accounts = new Set([g.issuingAccount.split(':')[4], key.account])
  if (!accounts.has(p.accountId)) return false
  return p.arn === `arn:${partition}:iam::${p.accountId}:root` || iam === 'Allow'
}

export const GRANT_OPS: Record<string, Op> = {
  async CreateGrant(c) {
    const k = grantKey(c)
    refuseServicePrincipals(c, 'GranteeServicePrincipal', 'RetiringServicePrincipal')
    const granteePrincipal = principalField(c, 'GranteePrincipal', true)!
    const retiringPrincipal = principalField(c, 'RetiringPrincipal', false)
    const operations = operationsField(c)
    const constraints = constraintsField(c)
    const name = nameField(c)
    checkGrantTokens(c)
    const draft = {
      keyId: k.keyId,
      keyArn: k.arn,
      region: k.region,
      granteePrincipal,
      operations,
      ...(retiringPrincipal !== undefined ? { retiringPrincipal } : {}),
      ...(constraints ? { constraints } : {}),
      ...(name !== undefined ? { name } : {}),
    }
    // The constraint's pairs are the request's encryption context for kms:EncryptionContext:<key> and
    // kms:EncryptionContextKeys, which apply to CreateGrant ("AWS KMS condition keys").
    const ec = constraints ? { ...constraints.EncryptionContextSubset, ...constraints.EncryptionContextEquals } : undefined
    requireKey(c, 'kms:CreateGrant', k, ec, { context: createGrantContext(draft), child: { operations, constraints } })
    usable(k)
    if (dryRun(c)) throw dryRunDone()
    const grants = c.keys.grantsOf(k.keyId)
    const again = name !== undefined ? grants.find((g) => sameGrant(g, draft)) : undefined
    if (again) return { GrantToken: c.keys.grantToken(again), GrantId: again.grantId }
    if (grants.length >= GRANTS_PER_KEY) throw kmsError('LimitExceededException', `The key ${k.arn} has ${GRANTS_PER_KEY} grants, the most it may have.`)
    if (grants.filter((g) => g.granteePrincipal === granteePrincipal).length >= GRANTS_PER_PRINCIPAL_PER_KEY)
      throw kmsError('LimitExceededException', `The key ${k.arn} has ${GRANTS_PER_PRINCIPAL_PER_KEY} grants for ${granteePrincipal}, the most one principal may have.`)
    const grant: KmsGrant = {
      ...draft,
      grantId: randomBytes(32).toString('hex'),
      creationDate: c.s.clock().getTime(),
      issuingAccount: `arn:${c.s.world.partition}:iam::${c.principal.accountId}:root`,
    }
    await c.keys.putGrant(grant)
    return { GrantToken: c.keys.grantToken(grant), GrantId: grant.grantId }
  },

  async ListGrants(c) {
    const k = grantKey(c)
    refuseServicePrincipals(c, 'GranteeServicePrincipal')
    const grantId = grantIdField(c, false)
    const grantee = str(c, 'GranteePrincipal', false)
    requireKey(c, 'kms:ListGrants', k, undefined, { context: GRANT_IS_FOR_AWS_RESOURCE })
    const grants = c.keys.grantsOf(k.keyId).filter((g) => (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee))
    return page(c, grants)
  },

  /** IAM only, in the caller's account; grants of any account's keys in this region (API reference). */
  async ListRetirableGrants(c) {
    refuseServicePrincipals(c, 'RetiringServicePrincipal')
    const retiring = principalField(c, 'RetiringPrincipal', true)!
    requireIam(c, 'kms:ListRetirableGrants', retiring)
    if (retiring.split(':')[4] !== c.principal.accountId) throw kmsDenied(c.principal, 'kms:ListRetirableGrants', retiring, 'because the retiring principal is not in your account')
    return page(
      c,
      c.keys.grantsIn(c.region).filter((g) => g.retiringPrincipal === retiring),
    )
  },

  async RetireGrant(c) {
    const token = str(c, 'GrantToken', false)
    let key: KmsKeyRecord
    let grantId: string
    if (token !== undefined) {
      if (token.length < 1 || token.length > 8192) throw invalid('GrantToken', token.slice(0, 64), 'Member must have length between 1 and 8192')
      const named = c.keys.openGrantToken(token)
      if (!named) throw kmsError('InvalidGrantTokenException', 'Grant token is invalid')
      const k = c.keys.byId(named.keyId)
      if (!k || k.region !== c.region) throw kmsError('NotFoundException', `Key '${c.keys.arnOf(named.keyId) ?? named.keyId}' does not exist`)
      const id = str(c, 'KeyId', false)
      const gid = grantIdField(c, false)
      if ((id !== undefined && grantKey(c, id).keyId !== k.keyId) || (gid !== undefined && gid !== named.grantId))
        throw kmsError('ValidationException', 'The KeyId and GrantId in the request do not identify the grant of the GrantToken.')
      key = k
      grantId = named.grantId
    } else {
      if (c.body.KeyId === undefined || c.body.GrantId === undefined)
        throw kmsError('ValidationException', 'Identify the grant to retire with a GrantToken, or with both a KeyId and a GrantId.')
      key = grantKey(c)
      grantId = grantIdField(c, true)!
    }
    const g = c.keys.grant(key.keyId, grantId)
    if (!g) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`)
    if (!mayRetire(c, g, key))
      throw kmsDenied(c.principal, 'kms:RetireGrant', key.arn, 'because the grant does not name you as its retiring principal or as a grantee allowed RetireGrant')
    if (dryRun(c)) throw dryRunDone()
    await c.keys.deleteGrant(g)
    return {}
  },

  async RevokeGrant(c) {
    const k = grantKey(c)
    const grantId = grantIdField(c, true)!
    requireKey(c, 'kms:RevokeGrant', k, undefined, { context: GRANT_IS_FOR_AWS_RESOURCE })
    const g = c.keys.grant(k.keyId, grantId)
    if (!g) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`)
    if (dryRun(c)) throw dryRunDone()
    await c.keys.deleteGrant(g)
    return {}
  },
}

/**
 * @module The KMS calls that manage a key and its aliases without touching data: DeleteAlias,
 * UpdateAlias, UpdateKeyDescription, EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus and
 * ListKeyPolicies, with the shapes, permissions and exceptions of the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_<Operation>.html) and the key states of
 * "Key states of AWS KMS keys" (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
 * Rotation is recorded and answered, the key material is not rotated: decision 12 of
 * docs/decisions/encryption.md §KMS.
 */
import { type KmsCall, keyOf, kmsError, type Op, requireIam, requireKey, str } from './call.js'
import { pageOf } from './fields.js'
import type { KmsKeyRecord } from './keys.js'

/** AliasNameType: 1 to 256 characters of `[a-zA-Z0-9:/_-]` (API reference, DeleteAlias and UpdateAlias, AliasName). */
const ALIAS_NAME = /^[a-zA-Z0-9:/_-]{1,256}$/
/** DescriptionType: 0 to 8192 characters (UpdateKeyDescription, Description). */
const MAX_DESCRIPTION = 8192
/** EnableKeyRotation, RotationPeriodInDays: "Minimum value of 90. Maximum value of 2560", default 365. */
const ROTATION_MIN = 90
const ROTATION_MAX = 2560
const ROTATION_DEFAULT = 365
/** ListKeyPolicies: Limit 1 to 1000, default 100. */
const LIST_POLICIES = { default: 100, max: 1000 }

function invalid(field: string, value: string, constraint: string): Error {
  return kmsError('ValidationException', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`)
}

/** The alias a DeleteAlias or UpdateAlias names, which must exist in the caller's account and this Region. */
function existingAlias(c: KmsCall): { name: string; arn: string; key: KmsKeyRecord } {
  const name = str(c, 'AliasName')!
  if (!ALIAS_NAME.test(name)) throw invalid('aliasName', name, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$ and have length between 1 and 256')
  const arn = `arn:${c.s.world.partition}:kms:${c.region}:${c.principal.accountId}:${name}`
  const a = c.keys.alias(c.principal.accountId, c.region, name)
  const key = a && c.keys.byId(a.targetKeyId)
  if (!a || !key) throw kmsError('NotFoundException', `Alias ${arn} is not found.`)
  return { name, arn, key }
}

/**
 * The key of a call whose KeyId is "the key ID or key ARN" (the rotation calls, UpdateKeyDescription,
 * GetKeyRotationStatus, ListKeyPolicies): an alias is InvalidArnException, as for tags and grants.
 * `ownAccount`: "Cross-account use: No", so another account's key ARN names no key of the caller's
 * (NotFoundException, as CancelKeyDeletion and the tag calls answer).
 */
function keyById(c: KmsCall, ownAccount: boolean): KmsKeyRecord {
  const id = str(c, 'KeyId')!
  if (id.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(id)) throw kmsError('InvalidArnException', 'Key Aliases are not supported for this operation.')
  const k = keyOf(c, id)
  if (ownAccount && k.account !== c.principal.accountId) throw kmsError('NotFoundException', `Key '${k.arn}' does not exist`)
  return k
}

function notPendingDeletion(k: KmsKeyRecord): void {
  if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
}

/** EnableKeyRotation and DisableKeyRotation need an enabled key: DisabledException, KMSInvalidStateException ("Key states of AWS KMS keys"). */
function enabledForRotation(k: KmsKeyRecord): void {
  if (k.keyState === 'Disabled') throw kmsError('DisabledException', `${k.arn} is disabled.`)
  notPendingDeletion(k)
}

export const ADMIN_OPS: Record<string, Op> = {
  /**
   * "kms:DeleteAlias on the alias (IAM policy)" and "kms:DeleteAlias on the KMS key (key policy)";
   * "Cross-account use: No" (API_DeleteAlias.html). Works whatever the key's state.
   */
  async DeleteAlias(c) {
    const { name, arn, key } = existingAlias(c)
    requireIam(c, 'kms:DeleteAlias', arn)
    requireKey(c, 'kms:DeleteAlias', key)
    await c.keys.deleteAlias({ account: c.principal.accountId, region: c.region, aliasName: name })
    return {}
  },

  /**
   * "The alias and the KMS key must be in the same AWS account and Region"; kms:UpdateAlias on the
   * alias (IAM policy), on the current KMS key and on the new KMS key (key policies)
   * (API_UpdateAlias.html). The new key may not be pending deletion (KMSInvalidStateException).
   * Every key here is SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT, so "the same type … the same key usage" holds.
   */
  async UpdateAlias(c) {
    const { name, arn, key: current } = existingAlias(c)
    const target = keyOf(c, str(c, 'TargetKeyId')!)
    if (target.account !== c.principal.accountId) throw kmsError('NotFoundException', `Key '${target.arn}' does not exist`)
    requireIam(c, 'kms:UpdateAlias', arn)
    requireKey(c, 'kms:UpdateAlias', current)
    requireKey(c, 'kms:UpdateAlias', target)
    notPendingDeletion(target)
    await c.keys.putAlias({ aliasName: name, account: c.principal.accountId, region: c.region, targetKeyId: target.keyId })
    return {}
  },

  /** kms:UpdateKeyDescription (key policy); "Cross-account use: No"; not on a key pending deletion. */
  async UpdateKeyDescription(c) {
    const k = keyById(c, true)
    const description = str(c, 'Description')!
    if (description.length > MAX_DESCRIPTION) throw invalid('description', `${description.slice(0, 32)}…`, `Member must have length less than or equal to ${MAX_DESCRIPTION}`)
    requireKey(c, 'kms:UpdateKeyDescription', k)
    notPendingDeletion(k)
    await c.keys.save({ ...k, description })
    return {}
  },

  /**
   * kms:EnableKeyRotation (key policy), "Cross-account use: No"; RotationPeriodInDays 90 to 2560,
   * default 365, with the kms:RotationPeriodInDays condition key ("AWS KMS condition keys",
   * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-rotation-period-in-days)
   * when the request names a period. Calling it again changes the period.
   */
  async EnableKeyRotation(c) {
    const k = keyById(c, true)
    const given = c.body.RotationPeriodInDays
    const days = given ?? ROTATION_DEFAULT
    if (typeof days !== 'number') throw kmsError('SerializationException', 'RotationPeriodInDays must be an integer')
    if (!Number.isInteger(days) || days < ROTATION_MIN || days > ROTATION_MAX)
      throw invalid('rotationPeriodInDays', String(days), `Member must have value between ${ROTATION_MIN} and ${ROTATION_MAX}`)
    requireKey(c, 'kms:EnableKeyRotation', k, undefined, given !== undefined ? { context: { 'kms:rotationperiodindays': [String(days)] } } : {})
    enabledForRotation(k)
    await c.keys.save({ ...k, rotation: { periodInDays: days } })
    return {}
  },

  /** kms:DisableKeyRotation (key policy), "Cross-account use: No". */
  async DisableKeyRotation(c) {
    const k = keyById(c, true)
    requireKey(c, 'kms:DisableKeyRotation', k)
    enabledForRotation(k)
    const { rotation: _, ...rest } = k
    await c.keys.save(rest)
    return {}
  },

  /**
   * kms:GetKeyRotationStatus (key policy), cross-account use with the key ARN. A key pending deletion
   * answers false and keeps its recorded state for CancelKeyDeletion ("While a KMS key is pending
   * deletion, its key rotation status is false"; a disabled key's status does not change,
   * API_GetKeyRotationStatus.html). NextRotationDate is left out: mrap records rotation but never
   * rotates the material, so there is no date on which it will (decision 12).
   */
  async GetKeyRotationStatus(c) {
    const k = keyById(c, false)
    requireKey(c, 'kms:GetKeyRotationStatus', k)
    const on = k.rotation !== undefined && k.keyState !== 'PendingDeletion'
    return { KeyId: k.arn, KeyRotationEnabled: on, ...(on ? { RotationPeriodInDays: k.rotation!.periodInDays } : {}) }
  },

  /**
   * kms:ListKeyPolicies (key policy), "Cross-account use: No". PolicyNames' values are `default` and
   * `AWS_RAM` (the policy RAM manages for shared keys); there is no RAM here, so only `default`.
   */
  async ListKeyPolicies(c) {
    const k = keyById(c, true)
    requireKey(c, 'kms:ListKeyPolicies', k)
    const { page, more } = pageOf(c, ['default'], (n) => n, LIST_POLICIES)
    return { PolicyNames: page, ...more }
  },
}

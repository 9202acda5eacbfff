/**
 * @module Which request members each KMS operation honours, checked before the operation runs: a
 * member mrap does not honour is refused with UnsupportedOperationException ("The request was
 * rejected because a specified parameter is not supported or a specified resource is not valid for
 * this operation", AWS KMS API Reference, Errors), never read past and ignored. The members of each
 * request are the API reference's (https://docs.aws.amazon.com/kms/latest/APIReference/API_<Op>.html,
 * "Request Syntax"; the same shapes as @aws-sdk/client-kms's `<Op>Request`).
 * Decision and the list of what is refused: docs/decisions/encryption.md §KMS, decision 11.
 */
import { type KmsCall, kmsError } from './call.js'

/**
 * `true`: honoured whatever its value. `values`: honoured only with one of these (each element, for
 * a list); another value of the member's AWS type (`aws`) is refused as unsupported, anything
 * else is the ValidationException of an enum (or SerializationException of a wrong JSON type).
 */
type Rule = true | { values: readonly (string | boolean)[]; aws?: readonly string[] }

const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']

/**
 * Per operation, every request member mrap honours. Members of the API reference left out are
 * refused: CreateKey's CustomKeyStoreId and XksKeyId (no custom or external key stores here),
 * Decrypt's, GenerateDataKey's and GenerateRandom's Recipient (no Nitro Enclaves attestation),
 * GenerateRandom's CustomKeyStoreId. The grant operations'
 * service principals are let through to grant-ops.ts, which refuses them naming the reason.
 */
export const HONOURED: Readonly<Record<string, Readonly<Record<string, Rule>>>> = {
  CreateKey: {
    Policy: true,
    Description: true,
    KeyUsage: true,
    CustomerMasterKeySpec: true,
    KeySpec: true,
    BypassPolicyLockoutSafetyCheck: true,
    Tags: true,
    Origin: { values: ['AWS_KMS'], aws: ORIGINS },
    MultiRegion: { values: [false] },
  },
  DescribeKey: { KeyId: true, GrantTokens: true },
  ListKeys: { Limit: true, Marker: true, ResourceOwners: { values: ['SELF'], aws: ['SELF', 'OTHER_ACCOUNTS_VIA_RAM'] } },
  CreateAlias: { AliasName: true, TargetKeyId: true },
  ListAliases: { KeyId: true, Limit: true, Marker: true },
  ScheduleKeyDeletion: { KeyId: true, PendingWindowInDays: true },
  CancelKeyDeletion: { KeyId: true },
  EnableKey: { KeyId: true },
  DisableKey: { KeyId: true },
  GetKeyPolicy: { KeyId: true, PolicyName: true },
  PutKeyPolicy: { KeyId: true, PolicyName: true, Policy: true, BypassPolicyLockoutSafetyCheck: true },
  Encrypt: { KeyId: true, Plaintext: true, EncryptionContext: true, GrantTokens: true, EncryptionAlgorithm: true, DryRun: true },
  Decrypt: { CiphertextBlob: true, EncryptionContext: true, GrantTokens: true, KeyId: true, EncryptionAlgorithm: true, DryRun: true, DryRunModifiers: true },
  GenerateDataKey: { KeyId: true, EncryptionContext: true, NumberOfBytes: true, KeySpec: true, GrantTokens: true, DryRun: true },
  // The service-principal members are read by grant-ops.ts, which refuses them naming the reason.
  CreateGrant: {
    KeyId: true,
    GranteePrincipal: true,
    RetiringPrincipal: true,
    Operations: true,
    Constraints: true,
    GrantTokens: true,
    Name: true,
    DryRun: true,
    GranteeServicePrincipal: true,
    RetiringServicePrincipal: true,
  },
  ListGrants: { Limit: true, Marker: true, KeyId: true, GrantId: true, GranteePrincipal: true, GranteeServicePrincipal: true },
  ListRetirableGrants: { Limit: true, Marker: true, RetiringPrincipal: true, RetiringServicePrincipal: true },
  RetireGrant: { GrantToken: true, KeyId: true, GrantId: true, DryRun: true },
  RevokeGrant: { KeyId: true, GrantId: true, DryRun: true },
  DeleteAlias: { AliasName: true },
  UpdateAlias: { AliasName: true, TargetKeyId: true },
  UpdateKeyDescription: { KeyId: true, Description: true },
  EnableKeyRotation: { KeyId: true, RotationPeriodInDays: true },
  DisableKeyRotation: { KeyId: true },
  GetKeyRotationStatus: { KeyId: true },
  ListKeyPolicies: { KeyId: true, Limit: true, Marker: true },
  GenerateDataKeyWithoutPlaintext: { KeyId: true, EncryptionContext: true, NumberOfBytes: true, KeySpec: true, GrantTokens: true, DryRun: true },
  ReEncrypt: {
    CiphertextBlob: true,
    SourceEncryptionContext: true,
    SourceKeyId: true,
    DestinationKeyId: true,
    DestinationEncryptionContext: true,
    SourceEncryptionAlgorithm: true,
    DestinationEncryptionAlgorithm: true,
    GrantTokens: true,
    DryRun: true,
    DryRunModifiers: true,
  },
  // CustomKeyStoreId (no custom key stores) and Recipient (no Nitro attestation) are refused.
  GenerateRandom: { NumberOfBytes: true },
  TagResource: { KeyId: true, Tags: true },
  UntagResource: { KeyId: true, TagKeys: true },
  ListResourceTags: { KeyId: true, Limit: true, Marker: true },
}

function unsupported(op: string, field: string, value?: unknown): Error {
  return kmsError(
    'UnsupportedOperationException',
    value === undefined ? `${field} is not supported on ${op} by this server.` : `${field} ${JSON.stringify(value)} is not supported on ${op} by this server.`,
  )
}

/** Refuse every member of `body` that `op` does not honour (a JSON null is an absent member). */
export function checkFields(op: string, body: Record<string, unknown>): void {
  const rules = HONOURED[op] ?? {}
  for (const [field, v] of Object.entries(body)) {
    if (v === null || v === undefined) continue
    const rule = Object.hasOwn(rules, field) ? rules[field] : undefined
    if (rule === undefined) throw unsupported(op, field)
    if (rule === true) continue
    for (const x of Array.isArray(v) ? v : [v]) {
      if (rule.values.includes(x as string | boolean)) continue
      if (typeof x !== typeof rule.values[0]) throw kmsError('SerializationException', `${field} has a value of the wrong type`)
      if (rule.aws && !rule.aws.includes(x as string))
        throw kmsError(
          'ValidationException',
          `1 validation error detected: Value '${String(x)}' at '${field[0]!.toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must satisfy enum value set: [${rule.aws.join(', ')}]`,
        )
      throw unsupported(op, field, x)
    }
  }
}

/**
 * Limit and Marker of ListKeys and ListAliases: the items in `name` order, the marker the last name
 * returned (opaque to the caller, base64url), Truncated and NextMarker as AWS answers them.
 */
export function pageOf<T>(c: KmsCall, items: readonly T[], name: (t: T) => string, limits: { default: number; max: number }): { page: T[]; more: Record<string, unknown> } {
  const limit = c.body.Limit ?? limits.default
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > limits.max)
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${limits.max}`,
    )
  const sorted = [...items].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0))
  let from = 0
  const marker = c.body.Marker
  if (marker !== undefined && marker !== null) {
    let after: string | undefined
    if (typeof marker === 'string' && /^[A-Za-z0-9_-]{1,1024}$/.test(marker)) {
      const m = Buffer.from(marker, 'base64url').toString('utf8')
      if (m.startsWith('after:')) after = m.slice('after:'.length)
    }
    if (after === undefined) throw kmsError('InvalidMarkerException', 'Invalid marker')
    const a = after
    from = sorted.findIndex((t) => name(t) > a)
    if (from === -1) from = sorted.length
  }
  const page = sorted.slice(from, from + limit)
  const truncated = from + limit < sorted.length
  return {
    page,
    more: { Truncated: truncated, ...(truncated ? { NextMarker: Buffer.from(`after:${name(page.at(-1)!)}`).toString('base64url') } : {}) },
  }
}

/**
 * @module KMS grants: the record, what a grant allows, and grant tokens. Pure: no I/O (the records
 * live in the state seam through `KmsKeys`, keys.ts; the API is grant-ops.ts). Decision and
 * sources: docs/decisions/encryption.md §KMS.
 *
 * AWS: "Grants in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html): a
 * grant allows its grantee principal the grant operations on one key when its constraints hold; it
 * can allow but never deny. "Creating grants"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html):
 * EncryptionContextEquals (the request's context is exactly the pairs) and EncryptionContextSubset
 * (the request's context includes the pairs), up to 8 pairs of at most 384 characters each; they
 * do not apply to DescribeKey and RetireGrant; CreateGrant permission from a grant only makes grants
 * with a subset of its operations and constraints at least as strict.
 */

/** GrantConstraints (API reference, "GrantConstraints"): the encryption context ones. */
export interface GrantConstraints {
  EncryptionContextSubset?: Record<string, string>
  EncryptionContextEquals?: Record<string, string>
}

export interface KmsGrant {
  grantId: string
  keyId: string
  /** The key's ARN (GrantListEntry.KeyId is the ARN). */
  keyArn: string
  region: string
  name?: string
  creationDate: number
  granteePrincipal: string
  retiringPrincipal?: string
  /** `arn:<partition>:iam::<account>:root` of the account whose principal called CreateGrant. */
  issuingAccount: string
  operations: string[]
  constraints?: GrantConstraints
}

/** GrantOperation's enum (API reference, "CreateGrant", Operations). */
export const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
  'Encapsulate',
  'Decapsulate',
] as const

/**
 * The operations a grant for a symmetric encryption key may name ("Grant operations",
 * https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations): the
 * others (signing, MAC, asymmetric, key agreement) are a ValidationException on mrap's keys, which
 * are all SYMMETRIC_DEFAULT.
 */
export const SYMMETRIC_GRANT_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
])

/** Operations whose permission the encryption context constraints do not narrow. */
const NO_CONTEXT = new Set(['DescribeKey', 'RetireGrant', 'CreateGrant'])

/** Does the request's encryption context satisfy every constraint of the grant? (Case-sensitive, any order.) */
export function constraintsHold(c: GrantConstraints | undefined, ec: Record<string, string> | undefined): boolean {
  const have = ec ?? {}
  if (c?.EncryptionContextEquals) {
    const want = c.EncryptionContextEquals
    if (Object.keys(want).length !== Object.keys(have).length) return false
    if (Object.entries(want).some(([k, v]) => !Object.hasOwn(have, k) || have[k] !== v)) return false
  }
  if (c?.EncryptionContextSubset) {
    if (Object.entries(c.EncryptionContextSubset).some(([k, v]) => !Object.hasOwn(have, k) || have[k] !== v)) return false
  }
  return true
}

function includes(big: Record<string, string>, small: Record<string, string>): boolean {
  return Object.entries(small).every(([k, v]) => Object.hasOwn(big, k) && big[k] === v)
}

/**
 * Is a child grant's constraint at least as strict as its parent's? A Subset may gain pairs or
 * become an Equals that keeps them; an Equals stays the same Equals ("Granting CreateGrant
 * permission", Creating grants).
 */
export function atLeastAsStrict(parent: GrantConstraints | undefined, child: GrantConstraints | undefined): boolean {
  if (parent?.EncryptionContextEquals) {
    const e = child?.EncryptionContextEquals
    if (!e || !includes(e, parent.EncryptionContextEquals) || !includes(parent.EncryptionContextEquals, e)) return false
  }
  if (parent?.EncryptionContextSubset) {
    const s = parent.EncryptionContextSubset
    const bySubset = child?.EncryptionContextSubset !== undefined && includes(child.EncryptionContextSubset, s)
    const byEquals = child?.EncryptionContextEquals !== undefined && includes(child.EncryptionContextEquals, s)
    if (!bySubset && !byEquals) return false
  }
  return true
}

/** What a grant is asked for: the operation, the request's encryption context, and for CreateGrant the child grant. */
export interface GrantAsk {
  /** The grant operation (`Decrypt`), i.e. the KMS action without `kms:`. */
  operation: string
  ec?: Record<string, string> | undefined
  child?: { operations: string[]; constraints?: GrantConstraints | undefined }
}

/** Does the grant allow `ask` (its grantee aside, which the caller matched)? */
export function grantPermits(g: KmsGrant, ask: GrantAsk): boolean {
  if (!g.operations.includes(ask.operation)) return false
  if (ask.child) return ask.child.operations.every((o) => g.operations.includes(o)) && atLeastAsStrict(g.constraints, ask.child.constraints)
  return NO_CONTEXT.has(ask.operation) || constraintsHold(g.constraints, ask.ec)
}

/** The caller, as a grant's principal fields can name it. */
export interface GrantCaller {
  arn: string
  accountId: string
  roleArn?: string | undefined
}

/**
 * How a principal named in a grant covers the caller: `direct` (its own ARN, or the role whose
 * session calls), `account` (the account root: the account's IAM policies decide, as when a key
 * policy names an account), or not at all.
 */
export function principalCovers(named: string | undefined, caller: GrantCaller, partition: string): 'direct' | 'account' | undefined {
  if (named === undefined || caller.accountId === '') return undefined
  if (named === caller.arn || (caller.roleArn !== undefined && named === caller.roleArn)) return 'direct'
  if (named === `arn:${partition}:iam::${caller.accountId}:root`) return 'account'
  return undefined
}

/** ListGrants' GrantListEntry (API reference, "GrantListEntry"). */
export function grantListEntry(g: KmsGrant): Record<string, unknown> {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    ...(g.name !== undefined ? { Name: g.name } : {}),
    CreationDate: g.creationDate / 1000,
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: g.issuingAccount,
    Operations: g.operations,
    ...(g.constraints ? { Constraints: g.constraints } : {}),
  }
}

/** The same grant, asked again: CreateGrant with a Name returns the existing grant's id (API reference, Name). */
export function sameGrant(a: KmsGrant, b: Omit<KmsGrant, 'grantId' | 'creationDate' | 'issuingAccount'>): boolean {
  const ops = (x: string[]) => [...x].sort().join(',')
  const canon = (c: GrantConstraints | undefined) =>
    JSON.stringify([c?.EncryptionContextEquals, c?.EncryptionContextSubset].map((m) => (m ? Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)) : null)))
  return (
    a.name === b.name &&
    a.keyId === b.keyId &&
    a.granteePrincipal === b.granteePrincipal &&
    a.retiringPrincipal === b.retiringPrincipal &&
    ops(a.operations) === ops(b.operations) &&
    canon(a.constraints) === canon(b.constraints)
  )
}

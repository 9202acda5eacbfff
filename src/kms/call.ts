/**
 * @module One KMS API call and what every operation shares: reading the request's fields, finding
 * the key (key id, key ARN, alias name or alias ARN), and authorizing it (key policy, IAM and the
 * key's grants, authorize.ts), with KMS's exceptions. The operations are handler.ts (keys and
 * cryptography), admin-ops.ts, crypto-ops.ts, grant-ops.ts (grants) and tag-ops.ts.
 * https://docs.aws.amazon.com/kms/latest/APIReference/Welcome.html
 */

import { randomBytes } from 'node:crypto'
import type { Core } from '../core/core.js'
import type { HandlerContext } from '../http/handler.js'
import type { Principal } from '../iam/identities.js'
import { type KmsErrorCode, S3Error } from '../shared/errors.js'
import { authorizeKms, type KmsDecision } from './authorize.js'
import { kmsContext } from './context.js'
import type { GrantAsk } from './grants.js'
import { type KmsKeyRecord, KmsKeys } from './keys.js'

export function kmsError(code: KmsErrorCode, message: string, status = 400): S3Error {
  return new S3Error(code, status, message)
}

export interface KmsCall {
  s: Core
  keys: KmsKeys
  ctx: HandlerContext
  principal: Principal
  region: string
  body: Record<string, unknown>
  /** aws:* keys of the request (source IP, secure transport, principal), built once. */
  base: Record<string, string[]>
}

export type Op = (c: KmsCall) => Promise<Record<string, unknown>>

export function str(c: KmsCall, name: string, required = true): string | undefined {
  const v = c.body[name]
  if (v === undefined || v === null) {
    if (required)
      throw kmsError(
        'ValidationException',
        `1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
      )
    return undefined
  }
  if (typeof v !== 'string') throw kmsError('SerializationException', `${name} must be a string`)
  return v
}

export function blob(c: KmsCall, name: string): Buffer {
  const v = str(c, name)!
  const b = Buffer.from(v, 'base64')
  if (b.length === 0 || b.toString('base64').replace(/=+$/, '') !== v.replace(/=+$/, '')) throw kmsError('SerializationException', `${name} is not valid base64`)
  return b
}

export function encryptionContext(c: KmsCall, name = 'EncryptionContext'): Record<string, string> | undefined {
  const v = c.body[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw kmsError('SerializationException', `${name} must be a map of strings`)
  return v as Record<string, string>
}

export function keyOf(c: KmsCall, id = str(c, 'KeyId')!): KmsKeyRecord {
  const k = c.keys.resolve(c.principal.accountId, c.region, id)
  if (!k) {
    if (id.startsWith('alias/') || id.includes(':alias/')) throw kmsError('NotFoundException', `Alias ${aliasArn(c, id)} is not found.`)
    throw kmsError('NotFoundException', `Key '${id.startsWith('arn:') ? id : `arn:aws:kms:${c.region}:${c.principal.accountId}:key/${id}`}' does not exist`)
  }
  return k
}

export function aliasArn(c: KmsCall, name: string): string {
  return name.startsWith('arn:') ? name : `arn:aws:kms:${c.region}:${c.principal.accountId}:${name}`
}

/** AccessDeniedException as KMS words it, naming the action and the key. */
export function kmsDenied(p: Principal, action: string, arn: string, why: string): S3Error {
  return kmsError('AccessDeniedException', `User: ${p.arn} is not authorized to perform: ${action} on resource: ${arn} ${why}`)
}

export function requireKey(
  c: KmsCall,
  action: string,
  key: KmsKeyRecord,
  ec?: Record<string, string>,
  more: { context?: Record<string, string[]>; child?: GrantAsk['child'] } = {},
): KmsDecision {
  const context = { ...kmsContext(c.base, c.principal.accountId, ec), ...(more.context ?? {}) }
  const d = authorizeKms(c.s, c.principal, action, key, context, {
    grants: () => c.keys.grantsOf(key.keyId),
    ask: { ec, ...(more.child ? { child: more.child } : {}) },
    partition: c.s.world.partition,
  })
  if (d.allowed) return d
  throw kmsDenied(c.principal, action, key.arn, deniedWhy(d, action))
}

/** The end of KMS's AccessDeniedException message: which side refused. */
export function deniedWhy(d: KmsDecision, action: string): string {
  return d.reason === 'key-policy-deny'
    ? 'with an explicit deny in a resource-based policy'
    : d.reason === 'identity-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no resource-based policy allows the ${action} action`
}

/** Operations on the account (no key): IAM decides, resource `*`. */
export function requireIam(c: KmsCall, action: string, resource = '*', context: Record<string, string[]> = {}): void {
  const d = authorizeKms(c.s, c.principal, action, { arn: resource, account: c.principal.accountId, policy: ALLOW_ACCOUNT(c.principal.accountId) } as KmsKeyRecord, {
    ...c.base,
    ...context,
  })
  if (!d.allowed) throw kmsDenied(c.principal, action, resource, 'because no identity-based policy allows the ' + action + ' action')
}

/** For account-level calls: the account's IAM policies decide, as the default key policy makes them. */
export const ALLOW_ACCOUNT = (account: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }] })

/** A key in a state that cannot encrypt or decrypt: DisabledException or KMSInvalidStateException. */
export function usable(key: KmsKeyRecord): void {
  if (key.keyState === 'Disabled') throw kmsError('DisabledException', `${key.arn} is disabled.`)
  if (key.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`)
}

/** GrantTokenList: at most 10 tokens of 1 to 8192 characters (API reference, e.g. Encrypt, GrantTokens). */
const MAX_TOKENS = 10
const MAX_TOKEN_LEN = 8192

/**
 * A request's GrantTokens, checked: each must be a token this server issued. A grant here is in
 * force as soon as CreateGrant answers (no eventual consistency to bridge), so a valid token adds
 * nothing to what the grant itself allows; a token that is not one is InvalidGrantTokenException,
 * as on AWS ("Using a grant token", https://docs.aws.amazon.com/kms/latest/developerguide/using-grant-token.html).
 */
export function checkGrantTokens(c: KmsCall): void {
  const v = c.body.GrantTokens
  if (v === undefined || v === null) return
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) throw kmsError('SerializationException', 'GrantTokens must be a list of strings')
  if (v.length > MAX_TOKENS)
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TOKENS}`,
    )
  for (const t of v as string[]) {
    if (t.length < 1 || t.length > MAX_TOKEN_LEN)
      throw kmsError(
        'ValidationException',
        `1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length between 1 and ${MAX_TOKEN_LEN}`,
      )
    if (!c.keys.openGrantToken(t)) throw kmsError('InvalidGrantTokenException', 'Grant token is invalid')
  }
}

/** The request's DryRun (Encrypt, Decrypt, GenerateDataKey and the grant operations that have one). */
export function dryRun(c: KmsCall): boolean {
  const v = c.body.DryRun
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw kmsError('SerializationException', 'DryRun must be a boolean')
  return v
}

/**
 * What a DryRun call answers once every check and the authorization passed: DryRunOperationException,
 * HTTP 412 ("Testing your permissions", https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html;
 * each operation's Errors in the API reference).
 */
export function dryRunDone(): S3Error {
  return kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.', 412)
}

/** The encryption algorithms of the EncryptionAlgorithmSpec enum (Encrypt, Decrypt, AWS KMS API Reference). */
export const ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE']

/**
 * EncryptionAlgorithm: SYMMETRIC_DEFAULT is the only algorithm of a symmetric key (DescribeKey's
 * EncryptionAlgorithms); another value of the enum is InvalidKeyUsageException ("The encryption
 * algorithm … specified for the operation is incompatible with the type of key material in the KMS
 * key", InvalidKeyUsageException, Encrypt and Decrypt, AWS KMS API Reference), called once the key is known.
 */
export function algorithm(c: KmsCall, name = 'EncryptionAlgorithm'): (k: KmsKeyRecord) => void {
  const v = str(c, name, false)
  if (v !== undefined && !ALGORITHMS.includes(v))
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value '${v}' at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must satisfy enum value set: [${ALGORITHMS.join(', ')}]`,
    )
  return (k) => {
    if (v !== undefined && v !== 'SYMMETRIC_DEFAULT')
      throw kmsError('InvalidKeyUsageException', `${k.arn} key usage is ENCRYPT_DECRYPT and key spec is SYMMETRIC_DEFAULT, which does not support ${v}.`)
  }
}

/** Decrypt's DryRunModifiers: a list of IGNORE_CIPHERTEXT (DryRunModifierType). */
export function ignoreCiphertext(c: KmsCall): boolean {
  const v = c.body.DryRunModifiers
  if (v === undefined || v === null) return false
  if (!Array.isArray(v)) throw kmsError('SerializationException', 'DryRunModifiers must be a list')
  for (const m of v)
    if (m !== 'IGNORE_CIPHERTEXT')
      throw kmsError(
        'ValidationException',
        `1 validation error detected: Value '${String(m)}' at 'dryRunModifiers' failed to satisfy constraint: Member must satisfy enum value set: [IGNORE_CIPHERTEXT]`,
      )
  return v.length > 0
}

/**
 * The data key's length of GenerateDataKey and GenerateDataKeyWithoutPlaintext: NumberOfBytes (1 to
 * 1024) or KeySpec (AES_128, AES_256), exactly one (API_GenerateDataKey.html,
 * API_GenerateDataKeyWithoutPlaintext.html: "You must specify either the KeySpec or the NumberOfBytes parameter").
 */
export function dataKeyBytes(c: KmsCall): number {
  const spec = str(c, 'KeySpec', false)
  const n = c.body.NumberOfBytes
  if (spec !== undefined && n !== undefined) throw kmsError('ValidationException', 'Please specify either number of bytes or key spec.')
  const bytes = spec === 'AES_128' ? 16 : spec === 'AES_256' ? 32 : typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1024 ? n : undefined
  if (bytes === undefined) throw kmsError('ValidationException', spec !== undefined ? `KeySpec ${spec} is not valid` : 'Please specify either number of bytes or key spec.')
  return bytes
}

/**
 * The key a ciphertext names, as Decrypt and ReEncrypt find it: one of this Region's keys, else
 * InvalidCiphertextException; a `named` key (Decrypt's KeyId, ReEncrypt's SourceKeyId) that is
 * another key is IncorrectKeyException.
 */
export function ciphertextKey(c: KmsCall, ciphertext: Buffer, named: string | undefined): KmsKeyRecord {
  const id = KmsKeys.keyIdOf(ciphertext)
  const k = id === undefined ? undefined : c.keys.byId(id)
  if (!k || k.region !== c.region) throw kmsError('InvalidCiphertextException', '')
  if (named !== undefined && keyOf(c, named).keyId !== k.keyId)
    throw kmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.')
  return k
}

/**
 * A new data key under the request's key, for GenerateDataKey and GenerateDataKeyWithoutPlaintext
 * (`action`, each its own permission and grant operation): the same checks, context, GrantTokens
 * and DryRun; the plaintext and the blob Decrypt opens.
 */
export function newDataKey(c: KmsCall, action: string): { key: KmsKeyRecord; plain: Buffer; blob: string } {
  const k = keyOf(c)
  const ec = encryptionContext(c)
  checkGrantTokens(c)
  requireKey(c, action, k, ec)
  usable(k)
  const bytes = dataKeyBytes(c)
  if (dryRun(c)) throw dryRunDone()
  const plain = randomBytes(bytes)
  return { key: k, plain, blob: c.keys.encrypt(k, plain, ec).toString('base64') }
}

import type { IncomingMessage } from 'node:http'
import { requestFacts } from '../authz/request-facts.js'
import type { Core } from '../core/core.js'
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import { authenticateApi, tagContext } from '../iam/api-auth.js'
import { buildS3Context } from '../policy/index.js'
import { authzPrincipal } from '../s3/authorize.js'
import { S3Error } from '../shared/errors.js'
import { ADMIN_OPS } from './admin-ops.js'
import { authorizeKms } from './authorize.js'
import {
  algorithm,
  aliasArn,
  blob,
  checkGrantTokens,
  ciphertextKey,
  dryRun,
  dryRunDone,
  encryptionContext,
  ignoreCiphertext,
  type KmsCall,
  keyOf,
  kmsError,
  newDataKey,
  type Op,
  requireIam,
  requireKey,
  str,
  usable,
} from './call.js'
import { kmsContext } from './context.js'
import { CRYPTO_OPS } from './crypto-ops.js'
import { checkFields, pageOf } from './fields.js'
import { GRANT_OPS } from './grant-ops.js'
import { type KmsKeyRecord, KmsKeys } from './keys.js'
import { TAG_OPS, tagsField } from './tag-ops.js'

export { kmsDenied, kmsError, usable } from './call.js'

const MAX_BODY = 1024 * 1024

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length
    if (n > MAX_BODY) throw kmsError('ValidationException', 'The request body is too large.')
    chunks.push(c)
  }
  return Buffer.concat(chunks)
}

export function keyMetadata(k: KmsKeyRecord): Record<string, unknown> {
  return {
    AWSAccountId: k.account,
    KeyId: k.keyId,
    Arn: k.arn,
    CreationDate: k.creationDate / 1000,
    Enabled: k.keyState === 'Enabled',
    Description: k.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: k.keyState,
    ...(k.deletionDate !== undefined ? { DeletionDate: k.deletionDate / 1000 } : {}),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  }
}

function bool(c: KmsCall, name: string): boolean {
  const v = c.body[name]
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw kmsError('SerializationException', `${name} must be a boolean`)
  return v
}

/**
 * A new key policy: its grammar, then AWS's policy lockout safety check unless
 * BypassPolicyLockoutSafetyCheck is true: "the principal making the request [must] have permission
 * to make a subsequent PutKeyPolicy request on the KMS key" (CreateKey and PutKeyPolicy,
 * BypassPolicyLockoutSafetyCheck, AWS KMS API Reference; "Default key policy",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#prevent-unmanageable-key).
 * Judged by the server's own decision (key policy and IAM, as the next PutKeyPolicy would be).
 */
function checkPolicy(c: KmsCall, key: KmsKeyRecord, text: string): void {
  if (!c.s.policies.get(text, 'resource', 'key policy')) throw kmsError('MalformedPolicyDocumentException', 'The key policy is not a valid policy document.')
  if (bool(c, 'BypassPolicyLockoutSafetyCheck')) return
  const d = authorizeKms(c.s, c.principal, 'kms:PutKeyPolicy', { ...key, policy: text }, kmsContext(c.base, c.principal.accountId))
  if (!d.allowed) throw kmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.')
}

/** ListKeys: Limit 1 to 1000, default 100; ListAliases: 1 to 100, default 50 (AWS KMS API Reference, Limit). */
const LIST_KEYS = { default: 100, max: 1000 }
const LIST_ALIASES = { default: 50, max: 100 }

const KEY_OPS: Record<string, Op> = {
  async CreateKey(c) {
    const tags = tagsField(c)
    const requestTags = tagContext(tags)
    requireIam(c, 'kms:CreateKey', '*', requestTags)
    // "To use this parameter, you must have kms:TagResource permission in an IAM policy" (CreateKey, Tags).
    if (Object.keys(tags).length > 0) requireIam(c, 'kms:TagResource', '*', requestTags)
    const spec = str(c, 'KeySpec', false) ?? str(c, 'CustomerMasterKeySpec', false)
    if (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') throw kmsError('ValidationException', `KeySpec ${spec} is not supported here: only SYMMETRIC_DEFAULT keys`)
    const usage = str(c, 'KeyUsage', false)
    if (usage !== undefined && usage !== 'ENCRYPT_DECRYPT') throw kmsError('ValidationException', `KeyUsage ${usage} is not supported here: only ENCRYPT_DECRYPT`)
    bool(c, 'MultiRegion')
    const policy = str(c, 'Policy', false)
    const description = str(c, 'Description', false)
    const k = c.keys.record(c.principal.accountId, c.region, { ...(description !== undefined ? { description } : {}), ...(policy !== undefined ? { policy } : {}) })
    // Tags first: the lockout check judges the key as it will be, aws:ResourceTag included.
    if (Object.keys(tags).length > 0) k.tags = tags
    if (policy !== undefined) checkPolicy(c, k, policy)
    await c.keys.save(k)
    return { KeyMetadata: keyMetadata(k) }
  },
  async DescribeKey(c) {
    const k = keyOf(c)
    checkGrantTokens(c)
    requireKey(c, 'kms:DescribeKey', k)
    return { KeyMetadata: keyMetadata(k) }
  },
  async ListKeys(c) {
    requireIam(c, 'kms:ListKeys')
    const { page, more } = pageOf(c, c.keys.list(c.principal.accountId, c.region), (k) => k.keyId, LIST_KEYS)
    return { Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...more }
  },
  async CreateAlias(c) {
    const name = str(c, 'AliasName')!
    if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(name) || name.startsWith('alias/aws/'))
      throw kmsError(
        'InvalidAliasNameException',
        name.startsWith('alias/aws/') ? 'Alias must not begin with alias/aws/' : 'Alias must start with the prefix "alias/" and contain only alphanumeric characters, /, _ or -',
      )
    const k = keyOf(c, str(c, 'TargetKeyId')!)
    // "The alias and its associated KMS key must be in the same AWS account and Region"; "Cross-account
    // use: No" (API_CreateAlias.html): another account's key ARN names no key of the caller's.
    if (k.account !== c.principal.accountId) throw kmsError('NotFoundException', `Key '${k.arn}' does not exist`)
    requireIam(c, 'kms:CreateAlias', aliasArn(c, name))
    requireKey(c, 'kms:CreateAlias', k)
    if (c.keys.alias(c.principal.accountId, c.region, name)) throw kmsError('AlreadyExistsException', `An alias with the name ${aliasArn(c, name)} already exists`)
    // CreateAlias fails on a key pending deletion ("Key states of AWS KMS keys").
    if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
    await c.keys.putAlias({ aliasName: name, account: c.principal.accountId, region: c.region, targetKeyId: k.keyId })
    return {}
  },
  async ListAliases(c) {
    requireIam(c, 'kms:ListAliases')
    const only = str(c, 'KeyId', false)
    const target = only !== undefined ? keyOf(c, only).keyId : undefined
    const list = c.keys.aliases(c.principal.accountId, c.region).filter((a) => target === undefined || a.targetKeyId === target)
    const { page, more } = pageOf(c, list, (a) => a.aliasName, LIST_ALIASES)
    return { Aliases: page.map((a) => ({ AliasName: a.aliasName, AliasArn: aliasArn(c, a.aliasName), TargetKeyId: a.targetKeyId })), ...more }
  },
  async ScheduleKeyDeletion(c) {
    const k = keyOf(c)
    requireKey(c, 'kms:ScheduleKeyDeletion', k)
    const days = c.body.PendingWindowInDays ?? 30
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)
      throw kmsError('ValidationException', "1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30")
    if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
    k.keyState = 'PendingDeletion'
    k.deletionDate = c.s.clock().getTime() + days * 86_400_000
    await c.keys.save(k)
    return { KeyId: k.arn, DeletionDate: k.deletionDate / 1000, KeyState: k.keyState, PendingWindowInDays: days }
  },
  /** Back to Disabled, never straight to Enabled (CancelKeyDeletion, AWS KMS API Reference). */
  async CancelKeyDeletion(c) {
    const k = keyOf(c)
    // "Cross-account use: No": another account's key ARN names no key of the caller's.
    if (k.account !== c.principal.accountId) throw kmsError('NotFoundException', `Key '${k.arn}' does not exist`)
    requireKey(c, 'kms:CancelKeyDeletion', k)
    if (k.keyState !== 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is not pending deletion.`)
    k.keyState = 'Disabled'
    delete k.deletionDate
    await c.keys.save(k)
    return { KeyId: k.arn }
  },
  async EnableKey(c) {
    const k = keyOf(c)
    requireKey(c, 'kms:EnableKey', k)
    if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
    k.keyState = 'Enabled'
    await c.keys.save(k)
    return {}
  },
  async DisableKey(c) {
    const k = keyOf(c)
    requireKey(c, 'kms:DisableKey', k)
    if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
    k.keyState = 'Disabled'
    await c.keys.save(k)
    return {}
  },
  async GetKeyPolicy(c) {
    const k = keyOf(c)
    requireKey(c, 'kms:GetKeyPolicy', k)
    const name = str(c, 'PolicyName', false) ?? 'default'
    if (name !== 'default') throw kmsError('NotFoundException', 'No such policy exists')
    return { Policy: k.policy, PolicyName: 'default' }
  },
  async PutKeyPolicy(c) {
    const k = keyOf(c)
    requireKey(c, 'kms:PutKeyPolicy', k)
    const name = str(c, 'PolicyName', false) ?? 'default'
    if (name !== 'default') throw kmsError('ValidationException', 'PolicyName must be default')
    const policy = str(c, 'Policy')!
    checkPolicy(c, k, policy)
    k.policy = policy
    await c.keys.save(k)
    return {}
  },
  async Encrypt(c) {
    const k = keyOf(c)
    const ec = encryptionContext(c)
    const usage = algorithm(c)
    checkGrantTokens(c)
    requireKey(c, 'kms:Encrypt', k, ec)
    usable(k)
    usage(k)
    const plain = blob(c, 'Plaintext')
    if (plain.length > 4096)
      throw kmsError('ValidationException', "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
    if (dryRun(c)) throw dryRunDone()
    return { CiphertextBlob: c.keys.encrypt(k, plain, ec).toString('base64'), KeyId: k.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
  },
  async Decrypt(c) {
    const ciphertext = blob(c, 'CiphertextBlob')
    const ec = encryptionContext(c)
    const usage = algorithm(c)
    const named = str(c, 'KeyId', false)
    // DryRunModifiers IGNORE_CIPHERTEXT: "KMS performs only authorization validation without
    // ciphertext validation" (Decrypt, AWS KMS API Reference), so the key is the one KeyId names.
    const ignore = ignoreCiphertext(c)
    if (dryRun(c) && ignore && named !== undefined) {
      const k = keyOf(c, named)
      checkGrantTokens(c)
      requireKey(c, 'kms:Decrypt', k, ec)
      usable(k)
      usage(k)
      throw dryRunDone()
    }
    const k = ciphertextKey(c, ciphertext, named)
    checkGrantTokens(c)
    requireKey(c, 'kms:Decrypt', k, ec)
    usable(k)
    usage(k)
    const plain = c.keys.decrypt(k, ciphertext, ec)
    if (!plain) throw kmsError('InvalidCiphertextException', '')
    if (dryRun(c)) throw dryRunDone()
    return { KeyId: k.arn, Plaintext: plain.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
  },
  async GenerateDataKey(c) {
    const d = newDataKey(c, 'kms:GenerateDataKey')
    return { CiphertextBlob: d.blob, Plaintext: d.plain.toString('base64'), KeyId: d.key.arn }
  },
}

const OPS: Record<string, Op> = { ...KEY_OPS, ...ADMIN_OPS, ...CRYPTO_OPS, ...GRANT_OPS, ...TAG_OPS }

/** IAM's and S3's authentication codes in KMS's names. */
function kmsAuthError(e: unknown): unknown {
  if (!(e instanceof S3Error)) return e
  switch (e.code) {
    case 'InvalidClientTokenId':
    case 'InvalidAccessKeyId':
      return kmsError('UnrecognizedClientException', 'The security token included in the request is invalid.')
    case 'SignatureDoesNotMatch':
      return kmsError('InvalidSignatureException', e.message)
    case 'MissingAuthenticationToken':
      return kmsError('AccessDeniedException', 'Request is missing Authentication Token')
    default:
      return e
  }
}

export function kmsHandler(s: Core): ServiceHandler {
  const keys = new KmsKeys(s.state, s.sealer, s.world.partition, s.clock)
  return {
    envelope: 'json',
    handle: async (ctx: HandlerContext): Promise<WireResult> => {
      const target = ctx.req.headers['x-amz-target']
      const op = typeof target === 'string' && target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : undefined
      ctx.info.op = `kms:${op ?? '?'}`
      if (ctx.view.method !== 'POST') throw kmsError('UnknownOperationException', '')
      const raw = await readBody(ctx.req)
      let authed: ReturnType<typeof authenticateApi>
      try {
        authed = authenticateApi(s, ctx, raw, 'kms')
      } catch (e) {
        throw kmsAuthError(e)
      }
      const fn = op !== undefined && Object.hasOwn(OPS, op) ? OPS[op] : undefined
      if (!fn) throw kmsError('UnknownOperationException', '')
      let body: unknown
      try {
        body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'))
      } catch {
        throw kmsError('SerializationException', 'The request body is not valid JSON')
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw kmsError('SerializationException', 'The request body must be a JSON object')
      checkFields(op!, body as Record<string, unknown>)
      const t = ctx.target
      const region = (t.kind === 'api' ? t.region : undefined) ?? authed.auth.region ?? 'us-east-1'
      if (!s.world.regions.some((r) => r.name === region)) throw kmsError('UnrecognizedClientException', `The region ${region} is not one of this world's regions`)
      const now = s.clock()
      const base = buildS3Context(requestFacts(ctx.origin, authed.auth, authzPrincipal(authed.principal), now.getTime())) as Record<string, string[]>
      const out = await fn({ s, keys, ctx, principal: authed.principal, region, body: body as Record<string, unknown>, base })
      return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(out) }
    },
  }
}

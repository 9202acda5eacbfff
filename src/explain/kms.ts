/**
 * @module The KMS layer of `mrap explain`'s matrix. On a bucket whose default encryption
 * (PutBucketEncryption) is SSE-KMS or DSSE-KMS, S3 calls KMS as the caller: kms:Decrypt to read an
 * object it encrypted, kms:GenerateDataKey to write one ("Protecting data with server-side
 * encryption with AWS KMS keys (SSE-KMS)", "Permissions",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html). A key policy that
 * refuses, or a key disabled or pending deletion, fails the S3 request after S3's own layers allowed
 * it. The decision is the server's own (`judgeKms`, src/s3/sse-kms.ts), over the model's keys and
 * their grants: a route only a grant allows says which grant.
 *
 * A matrix knows the bucket's default key only: an object stored under another key (named in its
 * PUT, or before the default changed) is decided by that key. The legend says so.
 */
import type { Origin } from '../core/origin.js'
import type { Principal } from '../iam/identities.js'
import type { KmsDecision } from '../kms/authorize.js'
import { defaultKeyPolicy, GRANTS, type KeyState, type KmsKeyRecord, KmsKeys, type KmsState } from '../kms/keys.js'
import type { S3AuthzEnv } from '../s3/authorize.js'
import { kmsDefaultOf } from '../s3/ops/encryption.js'
import { judgeKms, objectContext } from '../s3/sse-kms.js'
import type { Cell } from './cells.js'
import type { AuthzModel, ModelBucket } from './model.js'

/** The KMS action S3 calls for the caller, per S3 permission (the others call none). */
const KMS_ACTION: Record<string, 'kms:Decrypt' | 'kms:GenerateDataKey'> = {
  's3:getobject': 'kms:Decrypt',
  's3:getobjectversion': 'kms:Decrypt',
  's3:putobject': 'kms:GenerateDataKey',
}

/** Why a key decision came out as it did, in words (explain's matrix and `--request-id` replays). */
export const KMS_REASONS: Record<KmsDecision['reason'], string> = {
  'key-policy-deny': 'an explicit Deny in the key policy',
  'identity-deny': 'an explicit Deny in an identity-based policy',
  'no-key-policy-allow': 'no key policy statement allows it (IAM policies count only when the key policy allows the account)',
  'no-identity-allow': 'the key policy delegates to IAM, and no identity-based policy allows it',
  'key-policy': 'allowed by the key policy',
  'key-policy-and-identity': 'allowed by the key policy and an identity-based policy',
  grant: 'allowed by a grant (the policies alone do not allow it)',
}

/** The words for a decision: a grant's are the reason's and the grant that decided. */
export function kmsReason(d: KmsDecision): string {
  if (d.reason !== 'grant' || !d.grant) return KMS_REASONS[d.reason]
  return `allowed by grant ${d.grant.grantId} to ${d.grant.granteePrincipal} (${d.grant.operations.join(', ')}); the policies alone do not allow it`
}

export const KMS_LEGEND =
  "KMS: judged on each bucket's default encryption key (PutBucketEncryption), the key S3 uses for a new object and for the objects it encrypted by default; an object stored under another key is decided by that key, which a matrix cannot know"

/**
 * S3's error when the KMS layer refuses, and what refused, for readers that advise on a fix
 * (`mrap lint`): the key (its ARN, or the name that did not resolve), and the key policy's reason
 * or the key's state.
 */
export interface KmsRefusal {
  status: number
  code: string
  message: string
  explicit: boolean
  action: 'kms:Decrypt' | 'kms:GenerateDataKey'
  key: string
  encryption: 'SSE-KMS' | 'DSSE-KMS'
  /** `NotFound`: the default's key id resolves to no key. */
  keyState: KeyState | 'NotFound'
  /** The key decision's reason when the decision refused (a key-state error follows an allow). */
  reason?: KmsDecision['reason']
}

export interface KmsLayer {
  cell: Cell
  /** When S3 would refuse the request although its own layers allow it: the error it sends. */
  refusal?: KmsRefusal
  /** The key policy's request context (verbose). */
  context?: Record<string, string[]>
}

const NO_MATERIAL = {
  seal(): string {
    throw new Error('explain holds no key material')
  },
  open(): string {
    throw new Error('explain holds no key material')
  },
}

/** The model's keys behind the server's own lookups (`KmsKeys.resolve`: ids, ARNs, aliases, deletion). */
function modelKeys(model: AuthzModel, timeMs: number): KmsKeys {
  const keys = new Map<string, string>()
  for (const k of model.kmsKeys ?? []) keys.set(k.keyId, JSON.stringify({ ...k, description: '', creationDate: 0, material: '' }))
  const aliases = new Map<string, string>()
  for (const a of model.kmsAliases ?? []) aliases.set(`${a.account}/${a.region}/${a.aliasName}`, JSON.stringify(a))
  const grants = new Map<string, string>()
  for (const g of model.kmsGrants ?? []) grants.set(`${g.keyId}/${g.grantId}`, JSON.stringify(g))
  const of = (ns: string) => (ns === 'kms-key' ? keys : ns === 'kms-alias' ? aliases : ns === GRANTS ? grants : new Map<string, string>())
  const state: KmsState = {
    get: (ns, key) => of(ns).get(key),
    list: (ns) => [...of(ns)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => ({ key, value })),
    put: () => Promise.reject(new Error('the explain model is read-only')),
    delete: () => Promise.reject(new Error('the explain model is read-only')),
  }
  return new KmsKeys(state, NO_MATERIAL, model.partition, () => new Date(timeMs))
}

/**
 * The key S3 would use: the default's key id resolved as the server resolves it (for a write in the
 * caller's account, as PutObject does; for a read in the bucket owner's, whose writes stored it),
 * or aws/s3 of the bucket's account, which S3 makes on first use with the default key policy.
 */
function defaultKey(model: AuthzModel, keys: KmsKeys, bucket: ModelBucket, keyId: string | undefined, account: string): KmsKeyRecord | undefined {
  if (keyId !== undefined) return keys.resolve(account, bucket.region, keyId)
  const managed = keys.resolve(bucket.owner, bucket.region, 'alias/aws/s3')
  if (managed) return managed
  const state: KeyState = 'Enabled'
  return {
    keyId: 'alias/aws/s3',
    account: bucket.owner,
    region: bucket.region,
    arn: `arn:${model.partition}:kms:${bucket.region}:${bucket.owner}:alias/aws/s3`,
    description: '',
    keyState: state,
    creationDate: 0,
    policy: defaultKeyPolicy(bucket.owner, model.partition),
    material: '',
  }
}

/** The KMS layer of one route, or undefined when S3 calls no KMS for this action on this bucket. */
export function kmsLayer(
  model: AuthzModel,
  env: Pick<S3AuthzEnv, 'policies'>,
  caller: { principal: Principal; origin: Origin; timeMs: number },
  action: string,
  bucket: ModelBucket,
  objectKey: string,
): KmsLayer | undefined {
  const kmsAction = KMS_ACTION[action.toLowerCase()]
  const def = bucket.configs?.encryption !== undefined ? kmsDefaultOf({ configs: bucket.configs }) : undefined
  if (!kmsAction || !def) return undefined
  const encryption = def.dsse ? 'DSSE-KMS' : 'SSE-KMS'
  const keys = modelKeys(model, caller.timeMs)
  const write = kmsAction === 'kms:GenerateDataKey'
  const key = defaultKey(model, keys, bucket, def.kmsKeyId, write ? caller.principal.accountId : bucket.owner)
  const named = def.kmsKeyId ?? 'aws/s3'
  if (!key) {
    const where = `${write ? caller.principal.accountId || 'anonymous' : bucket.owner}, ${bucket.region}`
    if (!write) return { cell: { result: 'n/a', blocking: false, statement: named, detail: `the default key ${named} does not resolve in ${where}` } }
    const message = `Invalid keyId ${named}`
    return {
      cell: { result: 'unusable', blocking: false, statement: 'not found', detail: `the default key ${named} does not resolve in ${where}: KMS.NotFoundException` },
      refusal: { status: 400, code: 'KMS.NotFoundException', message, explicit: false, action: kmsAction, key: named, encryption, keyState: 'NotFound' },
    }
  }
  const v = judgeKms(env, caller, kmsAction, key, bucket.region, objectContext(bucket.name, objectKey), () => keys.grantsOf(key.keyId))
  const on = `${kmsAction} on ${key.arn}${def.dsse ? ' (DSSE-KMS)' : ''}`
  const d = v.decision
  const cell: Cell = d.allowed
    ? v.error
      ? { result: 'unusable', blocking: false, statement: key.keyState, detail: `${on}: ${v.error.message} (${v.error.code})` }
      : { result: 'allow', blocking: false, statement: d.reason === 'grant' ? 'grant' : kmsAction, detail: `${on}: ${kmsReason(d)}` }
    : { result: d.reason.endsWith('-deny') ? 'deny' : 'no-match', blocking: false, statement: kmsAction, detail: `${on}: ${KMS_REASONS[d.reason]}` }
  const out: KmsLayer = { cell, context: v.context }
  if (v.error)
    out.refusal = {
      status: v.error.status,
      code: v.error.code,
      message: v.error.message,
      explicit: d.reason.endsWith('-deny'),
      action: kmsAction,
      key: key.arn,
      encryption,
      keyState: key.keyState,
      ...(d.allowed ? {} : { reason: d.reason }),
    }
  return out
}

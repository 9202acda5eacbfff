/**
 * @module Replication of SSE-KMS versions: S3, as the replication role, asks KMS to decrypt the
 * source version's data key (kms:Decrypt on the source key, through S3 in the source region) and to
 * encrypt a new one under the rule's ReplicaKmsKeyID (kms:Encrypt on the replica key, through S3 in
 * the destination region). Each key's policy, the role's IAM policies and the key's grants decide,
 * as for any caller and as on S3's own SSE-KMS path (`kms/authorize.ts`, `s3/sse-kms.ts` judgeKms);
 * a refusal, a missing key or one not usable is a PermanentFailure (FAILED).
 *
 * AWS: "Replicating encrypted objects (SSE-C, SSE-S3, SSE-KMS, DSSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html):
 * "You must grant kms:Decrypt permissions for the AWS KMS key that's used to decrypt the source
 * object" and "kms:Encrypt permissions for the AWS KMS key that's used to encrypt the object
 * replica"; the example policies condition them on kms:ViaService s3.<region>.amazonaws.com and
 * kms:EncryptionContext:aws:s3:arn; the replica key must be in the destination bucket's Region.
 */
import { randomBytes } from 'node:crypto'
import type { Core } from '../core/core.js'
import type { Principal } from '../iam/identities.js'
import { authorizeKms } from '../kms/authorize.js'
import { kmsContext } from '../kms/context.js'
import type { KmsKeyRecord } from '../kms/keys.js'
import { buildS3Context } from '../policy/index.js'
import { authzPrincipal } from '../s3/authorize.js'
import { kmsKeysOf, objectContext } from '../s3/sse-kms.js'
import type { BucketRecord } from '../state/control-store.js'
import type { ObjectAttributes, ObjectVersion } from '../storage/types.js'

/** Thrown for what no retry fixes; the worker maps it to its PermanentFailure. */
export class KmsReplicationRefused extends Error {}

function userContext(v: Pick<ObjectAttributes, 'sseKmsContext'>): Record<string, string> | undefined {
  return v.sseKmsContext === undefined ? undefined : (JSON.parse(Buffer.from(v.sseKmsContext, 'base64').toString('utf8')) as Record<string, string>)
}

function allow(s: Core, role: Principal, action: string, key: KmsKeyRecord, region: string, ctx: Record<string, string>): void {
  const base = buildS3Context({ principal: authzPrincipal(role), timeMs: s.clock().getTime(), secureTransport: true }) as Record<string, string[]>
  // Grants count as for S3's own SSE-KMS calls: KMS is asked as the role, with the object's context.
  const grants = { grants: () => kmsKeysOf(s).grantsOf(key.keyId), ask: { ec: ctx }, partition: s.world.partition }
  const d = authorizeKms(s, role, action, key, kmsContext(base, role.accountId, ctx, `s3.${region}.amazonaws.com`), grants)
  if (!d.allowed) throw new KmsReplicationRefused(`${role.arn} may not ${action} on ${key.arn} (${d.reason})`)
  if (key.keyState !== 'Enabled') throw new KmsReplicationRefused(`${key.arn} is ${key.keyState}`)
}

/**
 * The source version's data key, decrypted for the role; for DSSE-KMS also the second layer's key
 * (the same kms:Decrypt on the same key and context), which the worker removes before re-sealing.
 */
export function sourceDataKey(s: Core, role: Principal, src: BucketRecord, v: ObjectVersion): { dataKey: Buffer; dsseKey?: Buffer } {
  const keys = kmsKeysOf(s)
  const key = keys.byId(v.sseKmsKeyId?.split('/').pop() ?? '')
  if (!key) throw new KmsReplicationRefused(`the source key ${v.sseKmsKeyId} does not exist`)
  const ctx = objectContext(src.name, v.key, userContext(v))
  allow(s, role, 'kms:Decrypt', key, src.region, ctx)
  const open = (wrapped: string | undefined): Buffer => {
    const k = keys.decrypt(key, Buffer.from(wrapped ?? '', 'base64'), ctx)
    if (!k) throw new KmsReplicationRefused(`the data key of ${src.name}/${v.key} does not decrypt under ${key.arn}`)
    return k
  }
  return { dataKey: open(v.sseKmsDataKey), ...(v.sseKmsDsseDataKey !== undefined ? { dsseKey: open(v.sseKmsDsseDataKey) } : {}) }
}

/**
 * A new data key for the replica, encrypted under the replica key for the role, and the replica's
 * SSE-KMS attributes (its key, not the source's; the caller's context pairs kept). A DSSE-KMS
 * version's replica is DSSE-KMS too: a second new key for its second layer, under the same replica
 * key, applied by the worker over the whole body (a replica has no parts: one CTR stream).
 */
export function replicaDataKey(
  s: Core,
  role: Principal,
  dest: BucketRecord,
  v: ObjectVersion,
  replicaKmsKeyId: string,
): { dataKey: Buffer; dsseKey?: Buffer; attrs: Pick<ObjectAttributes, 'sseKmsKeyId' | 'sseKmsDataKey' | 'sseKmsContext' | 'sseKmsBucketKey' | 'sseKmsDsseDataKey'> } {
  const keys = kmsKeysOf(s)
  // A bare key id or alias is looked for in the destination bucket's account; an ARN names its own.
  const key = keys.resolve(dest.owner, dest.region, replicaKmsKeyId)
  if (!key) throw new KmsReplicationRefused(`the replica key ${replicaKmsKeyId} does not exist in ${dest.region}`)
  const ctx = objectContext(dest.name, v.key, userContext(v))
  allow(s, role, 'kms:Encrypt', key, dest.region, ctx)
  const dataKey = randomBytes(32)
  const dsseKey = v.sseKmsDsseDataKey !== undefined ? randomBytes(32) : undefined
  return {
    dataKey,
    ...(dsseKey ? { dsseKey } : {}),
    attrs: {
      sseKmsKeyId: key.arn,
      sseKmsDataKey: keys.encrypt(key, dataKey, ctx).toString('base64'),
      ...(v.sseKmsContext !== undefined ? { sseKmsContext: v.sseKmsContext } : {}),
      ...(v.sseKmsBucketKey && !dsseKey ? { sseKmsBucketKey: true } : {}),
      ...(dsseKey ? { sseKmsDsseDataKey: keys.encrypt(key, dsseKey, ctx).toString('base64') } : {}),
    },
  }
}

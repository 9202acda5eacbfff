/**
 * @module SSE-KMS: S3 calls KMS as the caller. A write asks for a data key (kms:GenerateDataKey on the
 * key, with kms:ViaService s3.<region>.amazonaws.com and the encryption context
 * `aws:s3:arn`), seals the body under it (the store's customer-key path, as SSE-C) and keeps only
 * the encrypted data key; a read asks KMS to decrypt it (kms:Decrypt). A disabled key, a key pending
 * deletion or a key policy that denies makes the S3 request fail as on AWS. Decision and sources:
 * docs/decisions/encryption.md §SSE-KMS.
 *
 * AWS: "Using server-side encryption with AWS KMS keys (SSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): the key id header,
 * `aws/s3` (the AWS managed key) when none is named, "Amazon S3 uses the object's ARN as the
 * encryption context" (`aws:s3:arn`), "the requester must have permission for the
 * kms:GenerateDataKey action" on upload and kms:Decrypt on download and on multipart uploads.
 */
import { createCipheriv, createDecipheriv, createHmac, type Decipher, randomBytes } from 'node:crypto'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import type { Principal } from '../iam/identities.js'
import { authorizeKms, type KmsDecision } from '../kms/authorize.js'
import { kmsContext } from '../kms/context.js'
import type { KmsGrant } from '../kms/grants.js'
import { type KmsKeyRecord, KmsKeys } from '../kms/keys.js'
import { buildS3Context } from '../policy/index.js'
import { chain } from '../shared/chain.js'
import { invalidArgument, type ServiceError, s3Error } from '../shared/errors.js'
import type { ByteRange, ObjectAttributes, ObjectStore, ObjectVersion } from '../storage/types.js'
import { authzPrincipal, type S3AuthzEnv } from './authorize.js'
import { type Headers, header } from './headers.js'
import { notImplemented } from './unsupported.js'

const SSE = 'x-amz-server-side-encryption'
const KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id'
const CONTEXT = 'x-amz-server-side-encryption-context'
const BUCKET_KEY = 'x-amz-server-side-encryption-bucket-key-enabled'
const DSSE = 'aws:kms:dsse'
/** The second layer's IV: its key is fresh for every version and never reused, so a fixed IV is safe. */
const DSSE_IV = Buffer.alloc(16)

/** What a write asks of KMS: the key (undefined: aws/s3), the caller's context, a bucket key. */
export interface KmsWriteSpec {
  keyId?: string
  context?: Record<string, string>
  contextHeader?: string
  bucketKey: boolean
  /** aws:kms:dsse: a second, independent layer (see beginKmsWrite). */
  dsse?: boolean
}

/** The bucket's default encryption when it is aws:kms (ops/encryption.ts stores it). */
export interface KmsDefault {
  kmsKeyId?: string
  bucketKeyEnabled: boolean
  dsse?: boolean
}

/**
 * The SSE-KMS a write asks for: the request's headers, else the bucket's default (only when the
 * request names no encryption at all). The KMS headers without `aws:kms` are S3's 400.
 */
export function kmsWriteSpec(headers: Headers, bucketDefault: KmsDefault | undefined, hasSseC: boolean): KmsWriteSpec | undefined {
  const sse = header(headers, SSE)
  const keyId = header(headers, KEY_ID)
  const ctx = header(headers, CONTEXT)
  const bk = header(headers, BUCKET_KEY)
  if (sse !== 'aws:kms' && sse !== DSSE) {
    if (keyId !== undefined || ctx !== undefined)
      throw invalidArgument(
        keyId !== undefined ? KEY_ID : CONTEXT,
        undefined,
        'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
      )
    if (sse !== undefined || hasSseC || !bucketDefault) return undefined
    return {
      ...(bucketDefault.kmsKeyId !== undefined ? { keyId: bucketDefault.kmsKeyId } : {}),
      ...(bucketDefault.dsse ? { dsse: true } : {}),
      bucketKey: bk !== undefined ? bk === 'true' : bucketDefault.bucketKeyEnabled,
    }
  }
  const spec: KmsWriteSpec = { bucketKey: bk !== undefined ? bk.toLowerCase() === 'true' : (bucketDefault?.bucketKeyEnabled ?? false) }
  if (sse === DSSE) spec.dsse = true
  if (keyId !== undefined) spec.keyId = keyId.trim()
  else if (bucketDefault?.kmsKeyId !== undefined) spec.keyId = bucketDefault.kmsKeyId
  if (ctx !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.from(ctx, 'base64').toString('utf8'))
    } catch {
      parsed = undefined
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string'))
      throw invalidArgument(
        CONTEXT,
        ctx,
        'The header x-amz-server-side-encryption-context is not a base64-encoded UTF-8 string holding JSON with the encryption context key-value pairs.',
      )
    if (Object.keys(parsed).some((k) => k.startsWith('aws:'))) throw invalidArgument(CONTEXT, ctx, 'Encryption context keys cannot start with the reserved prefix aws:')
    spec.context = parsed as Record<string, string>
    spec.contextHeader = ctx
  }
  return spec
}

const keysByCore = new WeakMap<Core, KmsKeys>()

export function kmsKeysOf(core: Core): KmsKeys {
  let k = keysByCore.get(core)
  if (!k) {
    k = new KmsKeys(core.state, core.sealer, core.world.partition, core.clock)
    keysByCore.set(core, k)
  }
  return k
}

/** Who calls KMS and from where: the S3 request's caller, through S3. */
export interface KmsCaller {
  core: Core
  principal: Principal
  origin: Origin
  /** The S3 request's id: a KMS refusal is remembered under it for `mrap explain --request-id`. */
  requestId?: string
}

/** What the decision log keeps of an S3 request the KMS layer refused (src/explain/admin.ts reads it). */
export interface KmsRefusal {
  kms: { action: string; key: string; reason: string; principal: string }
  timeMs: number
}

export function objectContext(bucket: string, key: string, user?: Record<string, string>): Record<string, string> {
  return { ...(user ?? {}), 'aws:s3:arn': `arn:aws:s3:::${bucket}/${key}` }
}

/** The KMS layer's answer for an S3 caller: the key decision and, when S3 refuses, the error it sends. */
export interface KmsVerdict {
  decision: KmsDecision
  /** AccessDenied naming the KMS action, or the key state's error; absent when KMS lets it through. */
  error?: ServiceError
  /** The request context keys the key policy was judged with (explain --verbose prints them). */
  context: Record<string, string[]>
}

/**
 * The KMS layer of an S3 request, as S3 answers it: the key policy (and IAM) decision for the caller
 * with kms:ViaService s3.<region>.amazonaws.com and the encryption context S3 sends, or the key's
 * `grants` for the caller (their constraints against that context), then the key's state. The
 * server (`requireUsableKms`) and `mrap explain`'s matrix (src/explain/kms.ts) both decide here, so
 * they cannot disagree.
 */
export function judgeKms(
  env: Pick<S3AuthzEnv, 'policies'>,
  caller: { principal: Principal; origin: Origin; timeMs: number },
  action: string,
  key: KmsKeyRecord,
  region: string,
  ctx: Record<string, string>,
  grants?: () => readonly KmsGrant[],
): KmsVerdict {
  const { principal, origin } = caller
  const base = buildS3Context({
    principal: authzPrincipal(principal),
    timeMs: caller.timeMs,
    secureTransport: origin.secure,
    ...(origin.vpc ? { vpc: origin.vpc } : { sourceIp: origin.sourceIp }),
  }) as Record<string, string[]>
  const context = kmsContext(base, principal.accountId, ctx, `s3.${region}.amazonaws.com`)
  // Grants count as for a direct KMS call: S3 asks KMS as the caller, with the object's context.
  const decision = authorizeKms(env, principal, action, key, context, grants ? { grants, ask: { ec: ctx } } : undefined)
  if (!decision.allowed) {
    const why =
      decision.reason === 'key-policy-deny'
        ? 'with an explicit deny in a resource-based policy'
        : decision.reason === 'identity-deny'
          ? 'with an explicit deny in an identity-based policy'
          : `because no resource-based policy allows the ${action} action`
    return { decision, context, error: s3Error('AccessDenied', { message: `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${key.arn} ${why}` }) }
  }
  if (key.keyState === 'Disabled') return { decision, context, error: s3Error('KMS.DisabledException', { message: `${key.arn} is disabled.` }) }
  if (key.keyState === 'PendingDeletion') return { decision, context, error: s3Error('KMS.KMSInvalidStateException', { message: `${key.arn} is pending deletion.` }) }
  return { decision, context }
}

/** The KMS layer on a real request: a refusal is remembered for `mrap explain --request-id`, then thrown. */
function requireUsableKms(c: KmsCaller, action: string, key: KmsKeyRecord, region: string, ctx: Record<string, string>): void {
  const keys = kmsKeysOf(c.core)
  const v = judgeKms(c.core, { principal: c.principal, origin: c.origin, timeMs: c.core.clock().getTime() }, action, key, region, ctx, () => keys.grantsOf(key.keyId))
  if (!v.error) return
  if (!v.decision.allowed && c.requestId !== undefined) {
    const refusal: KmsRefusal = { kms: { action, key: key.arn, reason: v.decision.reason, principal: c.principal.arn }, timeMs: c.core.clock().getTime() }
    c.core.decisions.remember(c.requestId, refusal)
  }
  throw v.error
}

/** aws/s3, the AWS managed key of S3 in this account and region, made on first use as AWS does. */
async function managedKey(keys: KmsKeys, account: string, region: string): Promise<KmsKeyRecord> {
  const known = keys.resolve(account, region, 'alias/aws/s3')
  if (known) return known
  const k = await keys.create(account, region, { description: 'Default key that protects my S3 objects when no other key is defined' })
  await keys.putAlias({ aliasName: 'alias/aws/s3', account, region, targetKeyId: k.keyId })
  return k
}

/**
 * A new SSE-KMS body: the data key (plaintext, for the store only) and the attributes that record
 * it encrypted. `bucketAccount`/`region`: the bucket's, where the key must be.
 */
export async function beginKmsWrite(
  c: KmsCaller,
  store: ObjectStore,
  at: { bucket: string; key: string; region: string; bucketAccount: string },
  spec: KmsWriteSpec,
): Promise<{ dataKey: Buffer; dsseKey?: Buffer; attrs: Pick<ObjectAttributes, 'sseKmsKeyId' | 'sseKmsDataKey' | 'sseKmsContext' | 'sseKmsBucketKey' | 'sseKmsDsseDataKey'> }> {
  if (store.customerKeys !== true) throw notImplemented(SSE)
  const keys = kmsKeysOf(c.core)
  const key = spec.keyId === undefined ? await managedKey(keys, at.bucketAccount, at.region) : keys.resolve(c.principal.accountId, at.region, spec.keyId)
  if (!key) throw s3Error('KMS.NotFoundException', { message: `Invalid keyId ${spec.keyId}` })
  const ctx = objectContext(at.bucket, at.key, spec.context)
  requireUsableKms(c, 'kms:GenerateDataKey', key, at.region, ctx)
  const dataKey = randomBytes(32)
  // DSSE-KMS: a second GenerateDataKey under the same key, its own data key for the second layer.
  // AWS: "Amazon S3 Bucket Keys aren't supported for DSSE-KMS", so none is recorded.
  const dsseKey = spec.dsse ? randomBytes(32) : undefined
  return {
    dataKey,
    ...(dsseKey ? { dsseKey } : {}),
    attrs: {
      sseKmsKeyId: key.arn,
      sseKmsDataKey: keys.encrypt(key, dataKey, ctx).toString('base64'),
      ...(spec.contextHeader !== undefined ? { sseKmsContext: spec.contextHeader } : {}),
      ...(spec.bucketKey && !dsseKey ? { sseKmsBucketKey: true } : {}),
      ...(dsseKey ? { sseKmsDsseDataKey: keys.encrypt(key, dsseKey, ctx).toString('base64') } : {}),
    },
  }
}

/**
 * The data key of an SSE-KMS version (or upload), decrypted by KMS for the caller (kms:Decrypt).
 * A DSSE-KMS version is refused unless the caller peels the second layer (`dsse`): its store
 * bytes opened with this key alone are still ciphertext, never to be served or copied as the body.
 */
export function openKmsDataKey(c: KmsCaller, attrs: ObjectAttributes, at: { bucket: string; key: string; region: string }, dsse = false): Buffer {
  if (attrs.sseKmsDsseDataKey !== undefined && !dsse) throw notImplemented(SSE)
  return openKey(c, attrs, at, attrs.sseKmsDataKey)
}

/** The second layer's key of a DSSE-KMS version, decrypted by KMS for the caller (kms:Decrypt). */
export function openDsseKey(c: KmsCaller, attrs: ObjectAttributes, at: { bucket: string; key: string; region: string }): Buffer {
  return openKey(c, attrs, at, attrs.sseKmsDsseDataKey)
}

function openKey(c: KmsCaller, attrs: ObjectAttributes, at: { bucket: string; key: string; region: string }, wrapped: string | undefined): Buffer {
  const keys = kmsKeysOf(c.core)
  const keyId = attrs.sseKmsKeyId?.split('/').pop() ?? ''
  const key = keys.byId(keyId)
  if (!key) throw s3Error('KMS.NotFoundException', { message: `Invalid keyId ${attrs.sseKmsKeyId}` })
  let user: Record<string, string> | undefined
  if (attrs.sseKmsContext !== undefined) user = JSON.parse(Buffer.from(attrs.sseKmsContext, 'base64').toString('utf8')) as Record<string, string>
  const ctx = objectContext(at.bucket, at.key, user)
  requireUsableKms(c, 'kms:Decrypt', key, at.region, ctx)
  const dataKey = keys.decrypt(key, Buffer.from(wrapped ?? '', 'base64'), ctx)
  if (!dataKey) throw s3Error('InternalError')
  return dataKey
}

/** The response headers of an SSE-KMS object, in place of AES256's. */
export function kmsResponse(attrs: ObjectAttributes): Record<string, string> {
  const out: Record<string, string> = { [SSE]: attrs.sseKmsDsseDataKey !== undefined ? DSSE : 'aws:kms', [KEY_ID]: attrs.sseKmsKeyId ?? '' }
  if (attrs.sseKmsContext !== undefined) out[CONTEXT] = attrs.sseKmsContext
  if (attrs.sseKmsBucketKey) out[BUCKET_KEY] = 'true'
  return out
}

/** The second layer, sealing: AES-256-CTR of the plaintext (length-preserving, so ranges still map 1:1). */
export function dsseSeal(key: Buffer): Transform {
  return createCipheriv('aes-256-ctr', key, DSSE_IV)
}

/**
 * A write's body as the store gets it: `digests` (ETag, checksums, a replica's MD5 check) sees the
 * plaintext, then a DSSE-KMS write's second layer goes on. Every DSSE writer (PutObject, CopyObject,
 * UploadPart(Copy), the replication worker) builds its body here.
 */
export function digestThenSeal(plain: Readable, digests: Transform, dsseKey: Buffer | undefined): Readable {
  return dsseKey ? chain(plain, digests, dsseSeal(dsseKey)) : chain(plain, digests)
}

/** The second layer, opening from byte `start` of the body: CTR seeks to its block, then skips into it. */
export function dsseOpen(key: Buffer, start: number): Decipher {
  const iv = Buffer.from(DSSE_IV)
  iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8)
  const d = createDecipheriv('aes-256-ctr', key, iv)
  d.update(Buffer.alloc(start % 16))
  return d
}

/**
 * The ETag of a part of a DSSE-KMS upload: 32 random hex digits, chosen before its bytes stream,
 * since its second layer is keyed by it (`dssePartKey`). Not the MD5 of the part: S3's ETags of
 * SSE-KMS objects and of multipart objects are not MD5 digests either ("Object", API reference).
 */
export function dssePartEtag(): string {
  return randomBytes(16).toString('hex')
}

/**
 * The second layer's key of one part of a DSSE-KMS multipart upload. A part's offset in the object
 * is unknown until Complete, and the same part number may be uploaded again: a key per upload
 * attempt (the upload's key and the part's random ETag) keeps CTR from ever reusing a keystream.
 */
export function dssePartKey(dsseKey: Buffer, etag: string): Buffer {
  return createHmac('sha256', dsseKey).update('mrap/dsse-part/').update(etag).digest()
}

/**
 * Removes the second layer of a DSSE-KMS version over the store's opener (`sealed`, already opened
 * with the first data key): one CTR stream for a PutObject, a copy or a replica; a key per part for
 * a multipart version, switched at part boundaries so a range may span parts.
 */
export function dsseOpener(v: ObjectVersion, dsseKey: Buffer, sealed: (r?: ByteRange) => Readable): (r?: ByteRange) => Readable {
  const parts = v.sseKmsDsseParts ? v.parts : undefined
  if (!parts) return (r) => chain(sealed(r), dsseOpen(dsseKey, r?.start ?? 0))
  return (r) => chain(sealed(r), new DssePartsOpen(dsseKey, parts, r?.start ?? 0))
}

class DssePartsOpen extends Transform {
  private idx = 0
  private partStart = 0
  private d: Decipher | undefined

  constructor(
    private readonly key: Buffer,
    private readonly parts: readonly { size: number; etag: string }[],
    private pos: number,
  ) {
    super()
    while (this.idx < parts.length && this.partStart + parts[this.idx]!.size <= pos) this.partStart += parts[this.idx++]!.size
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out: Buffer[] = []
    let off = 0
    while (off < chunk.length) {
      const p = this.parts[this.idx]
      if (!p) {
        cb(new Error('a DSSE-KMS body longer than its parts'))
        return
      }
      this.d ??= dsseOpen(dssePartKey(this.key, p.etag), this.pos - this.partStart)
      const end = this.partStart + p.size
      const n = Math.min(chunk.length - off, end - this.pos)
      out.push(this.d.update(chunk.subarray(off, off + n)))
      off += n
      this.pos += n
      if (this.pos === end) {
        this.partStart = end
        this.idx++
        this.d = undefined
      }
    }
    cb(null, Buffer.concat(out))
  }
}

/**
 * The plaintext opener of an SSE-KMS or DSSE-KMS version: its data keys decrypted by KMS for the
 * caller (kms:Decrypt), the store's layer opened with the first, the second removed with the other.
 */
export async function openKmsBody(c: KmsCaller, store: ObjectStore, v: ObjectVersion, at: { bucket: string; key: string; region: string }): Promise<(r?: ByteRange) => Readable> {
  const dataKey = openKmsDataKey(c, v, at, true)
  const sealed = (await store.getObject(at.bucket, at.key, v.versionId, { customerKey: dataKey })).open
  return v.sseKmsDsseDataKey === undefined ? sealed : dsseOpener(v, openDsseKey(c, v, at), sealed)
}

/**
 * @module KMS keys: the records (state seam namespaces `kms-key`, `kms-alias` and `kms-grant`, so SQLite for one
 * node and PostgreSQL for a fleet alike), their key material sealed by the server's sealing key,
 * and the symmetric cryptography of Encrypt, Decrypt and GenerateDataKey. Decision and sources:
 * docs/decisions/encryption.md §KMS.
 *
 * A ciphertext blob is: version byte, the key id (36 bytes), a 12-byte nonce, AES-256-GCM of the
 * plaintext, its tag. The key id in the blob is what lets Decrypt find its key without a KeyId
 * ("AWS KMS uses the metadata that it adds to the ciphertext blob to determine which KMS key was
 * used", Decrypt, https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html); the
 * encryption context is the GCM AAD (canonical: keys sorted), so a different context fails.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import type { KeySealer } from '../storage/embedded/sealed-bytes.js'
import type { KmsGrant } from './grants.js'

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion'

export interface KmsKeyRecord {
  keyId: string
  account: string
  region: string
  arn: string
  description: string
  keyState: KeyState
  creationDate: number
  deletionDate?: number
  /** The key policy document (JSON text). */
  policy: string
  /** The 256-bit key material, sealed by the server's sealing key (`KeySealer`). */
  material: string
  /** The key's tags (CreateKey's Tags, TagResource), tag key → value. */
  tags?: Record<string, string>
  /**
   * Automatic rotation as EnableKeyRotation recorded it (absent: disabled). Recorded and answered
   * only: the material is never rotated (docs/decisions/encryption.md §KMS, decision 12).
   */
  rotation?: { periodInDays: number }
}

export interface KmsAlias {
  aliasName: string
  account: string
  region: string
  targetKeyId: string
}

/** The state seam's namespaced records: the slice this module reads and writes. */
export interface KmsState {
  get(ns: string, key: string): string | undefined
  list(ns: string): { key: string; value: string }[]
  put(ns: string, key: string, value: string): Promise<void>
  delete(ns: string, key: string): Promise<void>
}

const KEYS = 'kms-key'
const ALIASES = 'kms-alias'
/** Grants, keyed `<keyId>/<grantId>`: one namespace beside the keys, so SQLite and PostgreSQL alike. */
export const GRANTS = 'kms-grant'
const TOKEN_CONTEXT = 'kms/grant-token'
const VERSION = 1
const ID_LEN = 36
const MATERIAL_CONTEXT = 'kms/key-material'

/**
 * The default key policy of CreateKey without a Policy: the account's principals may use the key as
 * their IAM policies allow ("Default key policy",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 */
export function defaultKeyPolicy(account: string, partition = 'aws'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  })
}

/** The canonical AAD of an encryption context: the same pairs in any order give the same bytes. */
export function contextAad(ctx: Record<string, string> | undefined): Buffer {
  const keys = Object.keys(ctx ?? {}).sort()
  return Buffer.from(JSON.stringify(keys.map((k) => [k, ctx![k]])))
}

export class KmsKeys {
  constructor(
    private readonly state: KmsState,
    private readonly sealer: KeySealer,
    private readonly partition = 'aws',
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(account: string, region: string, opts: { description?: string; policy?: string }): Promise<KmsKeyRecord> {
    const rec = this.record(account, region, opts)
    await this.save(rec)
    return rec
  }

  /** A new key's record with fresh material, not yet saved (the world file's keys go in one batch). */
  record(account: string, region: string, opts: { description?: string; policy?: string }): KmsKeyRecord {
    const keyId = randomUUID()
    const rec: KmsKeyRecord = {
      keyId,
      account,
      region,
      arn: `arn:${this.partition}:kms:${region}:${account}:key/${keyId}`,
      description: opts.description ?? '',
      keyState: 'Enabled',
      creationDate: this.clock().getTime(),
      policy: opts.policy ?? defaultKeyPolicy(account, this.partition),
      material: this.sealer.seal(randomBytes(32).toString('base64'), MATERIAL_CONTEXT),
    }
    return rec
  }

  async save(rec: KmsKeyRecord): Promise<void> {
    await this.state.put(KEYS, rec.keyId, JSON.stringify(rec))
  }

  /**
   * A key whose deletion window has passed is deleted, with its aliases ("After the waiting period
   * ends, AWS KMS deletes the KMS key and all AWS KMS data associated with it, including all
   * aliases that refer to it", ScheduleKeyDeletion, AWS KMS API Reference). There is no timer:
   * every read judges it against the server's clock, so a fleet agrees without a sweeper.
   */
  private deleted(rec: KmsKeyRecord): boolean {
    return rec.keyState === 'PendingDeletion' && rec.deletionDate !== undefined && rec.deletionDate <= this.clock().getTime()
  }

  /**
   * The ARN a key id had, deleted or not: a grant token names its key by id alone, and a
   * NotFoundException says `Key '<key ARN>' does not exist` as for any other KeyId.
   */
  arnOf(keyId: string): string | undefined {
    const raw = this.state.get(KEYS, keyId)
    return raw === undefined ? undefined : (JSON.parse(raw) as KmsKeyRecord).arn
  }

  byId(keyId: string): KmsKeyRecord | undefined {
    const raw = this.state.get(KEYS, keyId)
    if (raw === undefined) return undefined
    const rec = JSON.parse(raw) as KmsKeyRecord
    return this.deleted(rec) ? undefined : rec
  }

  list(account: string, region: string): KmsKeyRecord[] {
    return this.state
      .list(KEYS)
      .map((r) => JSON.parse(r.value) as KmsKeyRecord)
      .filter((k) => k.account === account && k.region === region && !this.deleted(k))
  }

  alias(account: string, region: string, aliasName: string): KmsAlias | undefined {
    const raw = this.state.get(ALIASES, `${account}/${region}/${aliasName}`)
    if (raw === undefined) return undefined
    const a = JSON.parse(raw) as KmsAlias
    return this.byId(a.targetKeyId) ? a : undefined
  }

  async putAlias(a: KmsAlias): Promise<void> {
    await this.state.put(ALIASES, `${a.account}/${a.region}/${a.aliasName}`, JSON.stringify(a))
  }

  async deleteAlias(a: Pick<KmsAlias, 'account' | 'region' | 'aliasName'>): Promise<void> {
    await this.state.delete(ALIASES, `${a.account}/${a.region}/${a.aliasName}`)
  }

  aliases(account: string, region: string): KmsAlias[] {
    return this.state
      .list(ALIASES)
      .map((r) => JSON.parse(r.value) as KmsAlias)
      .filter((a) => a.account === account && a.region === region && this.byId(a.targetKeyId) !== undefined)
  }

  /**
   * A KeyId as the API takes it: a key id, a key ARN, an alias name (`alias/…`) or an alias ARN,
   * in the caller's account and this region (a key ARN may name another account).
   */
  resolve(account: string, region: string, keyId: string): KmsKeyRecord | undefined {
    let id = keyId
    const arn = keyId.match(/^arn:[^:]+:kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/)
    if (arn) {
      if (arn[1] !== region) return undefined
      if (arn[3] === 'alias') {
        const a = this.alias(arn[2]!, region, `alias/${arn[4]}`)
        return a && this.byId(a.targetKeyId)
      }
      id = arn[4]!
      const k = this.byId(id)
      return k && k.account === arn[2] ? k : undefined
    }
    if (id.startsWith('alias/')) {
      const a = this.alias(account, region, id)
      return a && this.byId(a.targetKeyId)
    }
    const k = this.byId(id)
    return k && k.account === account && k.region === region ? k : undefined
  }

  /**
   * The grants of a key; none once the key is deleted ("AWS KMS deletes the KMS key and all AWS KMS
   * data associated with it", ScheduleKeyDeletion), judged on every read as for aliases.
   */
  grantsOf(keyId: string): KmsGrant[] {
    if (!this.byId(keyId)) return []
    const prefix = `${keyId}/`
    return this.state
      .list(GRANTS)
      .filter((r) => r.key.startsWith(prefix))
      .map((r) => JSON.parse(r.value) as KmsGrant)
  }

  grant(keyId: string, grantId: string): KmsGrant | undefined {
    if (!this.byId(keyId)) return undefined
    const raw = this.state.get(GRANTS, `${keyId}/${grantId}`)
    return raw === undefined ? undefined : (JSON.parse(raw) as KmsGrant)
  }

  /** Every grant of a key that still exists, in `region` (ListRetirableGrants: all accounts' keys). */
  grantsIn(region: string): KmsGrant[] {
    const live = new Map<string, boolean>()
    return this.state
      .list(GRANTS)
      .map((r) => JSON.parse(r.value) as KmsGrant)
      .filter((g) => {
        if (g.region !== region) return false
        let ok = live.get(g.keyId)
        if (ok === undefined) live.set(g.keyId, (ok = this.byId(g.keyId) !== undefined))
        return ok
      })
  }

  async putGrant(g: KmsGrant): Promise<void> {
    await this.state.put(GRANTS, `${g.keyId}/${g.grantId}`, JSON.stringify(g))
  }

  async deleteGrant(g: Pick<KmsGrant, 'keyId' | 'grantId'>): Promise<void> {
    await this.state.delete(GRANTS, `${g.keyId}/${g.grantId}`)
  }

  /**
   * A grant token: the grant's key and id sealed by the server's sealing key (so every node of a
   * fleet opens it, and a changed byte is no token), URL-safe base64. A new one per CreateGrant, as
   * on AWS ("the returned grant token is unique with every CreateGrant request", CreateGrant, Name).
   */
  grantToken(g: Pick<KmsGrant, 'keyId' | 'grantId'>): string {
    return Buffer.from(this.sealer.seal(JSON.stringify({ k: g.keyId, g: g.grantId }), TOKEN_CONTEXT)).toString('base64url')
  }

  /** The key and grant a token names, or undefined when it is not a token this server issued. */
  openGrantToken(token: string): { keyId: string; grantId: string } | undefined {
    try {
      const o = JSON.parse(this.sealer.open(Buffer.from(token, 'base64url').toString('utf8'), TOKEN_CONTEXT)) as { k?: unknown; g?: unknown }
      return typeof o.k === 'string' && typeof o.g === 'string' ? { keyId: o.k, grantId: o.g } : undefined
    } catch {
      return undefined
    }
  }

  private material(rec: KmsKeyRecord): Buffer {
    return Buffer.from(this.sealer.open(rec.material, MATERIAL_CONTEXT), 'base64')
  }

  encrypt(rec: KmsKeyRecord, plaintext: Buffer, ctx?: Record<string, string>): Buffer {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.material(rec), iv)
    const head = Buffer.concat([Buffer.from([VERSION]), Buffer.from(rec.keyId, 'ascii'), iv])
    c.setAAD(Buffer.concat([head, contextAad(ctx)]))
    const body = Buffer.concat([c.update(plaintext), c.final()])
    return Buffer.concat([head, body, c.getAuthTag()])
  }

  /** The key id a ciphertext blob names, or undefined for a blob that is not one of ours. */
  static keyIdOf(blob: Buffer): string | undefined {
    if (blob.length < 1 + ID_LEN + 12 + 16 || blob[0] !== VERSION) return undefined
    return blob.subarray(1, 1 + ID_LEN).toString('ascii')
  }

  /** The plaintext, or undefined when the blob, the key or the context do not match. */
  decrypt(rec: KmsKeyRecord, blob: Buffer, ctx?: Record<string, string>): Buffer | undefined {
    const headLen = 1 + ID_LEN + 12
    if (KmsKeys.keyIdOf(blob) !== rec.keyId) return undefined
    const d = createDecipheriv('aes-256-gcm', this.material(rec), blob.subarray(1 + ID_LEN, headLen))
    d.setAAD(Buffer.concat([blob.subarray(0, headLen), contextAad(ctx)]))
    d.setAuthTag(blob.subarray(blob.length - 16))
    try {
      return Buffer.concat([d.update(blob.subarray(headLen, blob.length - 16)), d.final()])
    } catch {
      return undefined
    }
  }
}

/**
 * @module Who is asking: principals and their access keys, built from the world. The auth layer
 * finds a signing credential by access key id here; the policy layer gets the principal's facts
 * and identity policies from the same record.
 */
import { createHash } from 'node:crypto'
import type { World } from '../world/schema.js'

export type PrincipalType = 'User' | 'AssumedRole' | 'Account' | 'Anonymous'

export interface Principal {
  type: PrincipalType
  accountId: string
  arn: string
  /** aws:userid: the unique id (AIDA... for users, AROA...:session for role sessions). */
  userId: string
  /** For role sessions: the role's ARN (aws:PrincipalArn). */
  roleArn?: string
  /** aws:username, for IAM users only. */
  username?: string
  /** Identity policy documents (inline and attached), as JSON text. */
  identityPolicies: { name: string; document: string }[]
  permissionsBoundary?: string
  sessionPolicy?: string
  tags: Record<string, string>
}

export interface KeyRecord {
  accessKeyId: string
  secretAccessKey: string
  status: 'Active' | 'Inactive'
  sessionToken?: string
  expiresAt?: Date
  principal: Principal
}

export const ANONYMOUS: Principal = {
  type: 'Anonymous', accountId: '', arn: '*', userId: 'anonymous', identityPolicies: [], tags: {},
}

/** Stable unique ids in the shape IAM gives (prefix + 17 upper-case base32 characters). */
export function uniqueId(prefix: string, seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const digest = createHash('sha256').update(seed).digest()
  let out = prefix
  for (let i = 0; i < 17; i++) out += alphabet[digest[i]! % 32]
  return out
}

export class Identities {
  private readonly keys = new Map<string, KeyRecord>()
  private readonly byName = new Map<string, Principal>()
  readonly accounts = new Set<string>()

  static fromWorld(world: World): Identities {
    const ids = new Identities()
    for (const account of world.accounts) {
      ids.accounts.add(account.id)
      for (const user of account.users) {
        const arn = `arn:${world.partition}:iam::${account.id}:user${user.path === '/' ? '/' : user.path}${user.name}`
        const principal: Principal = {
          type: 'User', accountId: account.id, arn, userId: uniqueId('AIDA', arn), username: user.name,
          identityPolicies: user.policies.map((p) => ({ name: p.name, document: typeof p.document === 'string' ? p.document : JSON.stringify(p.document) })),
          tags: user.tags,
        }
        if (user.permissionsBoundary) principal.permissionsBoundary = user.permissionsBoundary
        ids.byName.set(user.name, principal)
        ids.byName.set(`${account.id}/${user.name}`, principal)
        for (const key of user.accessKeys) {
          ids.keys.set(key.id, { accessKeyId: key.id, secretAccessKey: key.secret, status: key.status, principal })
        }
      }
    }
    return ids
  }

  findKey(accessKeyId: string): KeyRecord | undefined { return this.keys.get(accessKeyId) }
  /** A principal by user name (`admin`) or `<account>/<name>`. */
  findPrincipal(name: string): Principal | undefined { return this.byName.get(name) }
  /** The first active key of a principal (for `mrap exec --as`). */
  keyOf(principal: Principal): KeyRecord | undefined {
    for (const k of this.keys.values()) if (k.principal === principal && k.status === 'Active') return k
    return undefined
  }
  addKey(rec: KeyRecord): void { this.keys.set(rec.accessKeyId, rec) }
}

/**
 * @module IAM state: the records of ./model.ts in memory, written through to the control store's
 * SQLite `kv` table (namespaces `iam.*`, one JSON row per record, schema version in `iam.meta`).
 * Secrets are sealed with the data directory's SecretBox before they reach SQLite. Without a
 * control store (unit tests) the state lives in memory only.
 *
 * Names of users, groups and roles are unique per account regardless of case, as in IAM, so
 * records are keyed by `<account>/<lower-case name>`.
 */
import type { ControlStore } from '../state/control-store.js'
import type { SecretBox } from './secret-box.js'
import type { AccessKeyRec, AccountRec, GroupRec, ManagedPolicyRec, RoleRec, SessionRec, UserRec } from './model.js'

const SCHEMA_VERSION = 1

export function nameKey(account: string, name: string): string { return `${account}/${name.toLowerCase()}` }

interface Kinds {
  account: AccountRec; user: UserRec; group: GroupRec; role: RoleRec
  policy: ManagedPolicyRec; key: AccessKeyRec; session: SessionRec
}
export type Kind = keyof Kinds

const KEY_OF: { [K in Kind]: (r: Kinds[K]) => string } = {
  account: (r) => r.id,
  user: (r) => nameKey(r.account, r.name),
  group: (r) => nameKey(r.account, r.name),
  role: (r) => nameKey(r.account, r.name),
  policy: (r) => r.arn,
  key: (r) => r.id,
  session: (r) => r.id,
}

export class IamStore {
  readonly accounts = new Map<string, AccountRec>()
  readonly users = new Map<string, UserRec>()
  readonly groups = new Map<string, GroupRec>()
  readonly roles = new Map<string, RoleRec>()
  readonly policies = new Map<string, ManagedPolicyRec>()
  readonly keys = new Map<string, AccessKeyRec>()
  readonly sessions = new Map<string, SessionRec>()

  constructor(private readonly control: ControlStore | undefined, private readonly box: SecretBox) {
    if (!control) return
    const v = control.kvGet('iam.meta', 'schema')
    if (v !== undefined && Number(v) > SCHEMA_VERSION) {
      throw new Error(`the IAM state in this data directory has schema version ${v}; this mrap knows version ${SCHEMA_VERSION} (upgrade mrap)`)
    }
    if (v === undefined) control.kvPut('iam.meta', 'schema', String(SCHEMA_VERSION))
    this.load()
  }

  private map<K extends Kind>(kind: K): Map<string, Kinds[K]> {
    const m = { account: this.accounts, user: this.users, group: this.groups, role: this.roles, policy: this.policies, key: this.keys, session: this.sessions }
    return m[kind] as unknown as Map<string, Kinds[K]>
  }

  /** (Re)reads everything from SQLite: at open, and after a failed transaction. */
  load(): void {
    if (!this.control) return
    for (const kind of Object.keys(KEY_OF) as Kind[]) {
      const m = this.map(kind)
      m.clear()
      for (const { k, v } of this.control.kvList(`iam.${kind}`)) m.set(k, this.unseal(kind, k, JSON.parse(v) as Kinds[typeof kind]))
    }
  }

  get<K extends Kind>(kind: K, key: string): Kinds[K] | undefined { return this.map(kind).get(key) }

  put<K extends Kind>(kind: K, rec: Kinds[K]): void {
    const key = KEY_OF[kind](rec)
    this.control?.kvPut(`iam.${kind}`, key, JSON.stringify(this.seal(kind, key, rec)))
    this.map(kind).set(key, rec)
  }

  delete(kind: Kind, key: string): void {
    this.control?.kvDelete(`iam.${kind}`, key)
    this.map(kind).delete(key)
  }

  /** All-or-nothing: one SQLite transaction; on failure the memory is reloaded from disk. */
  transaction<T>(fn: () => T): T {
    if (!this.control) return fn()
    try {
      return this.control.transaction(fn)
    } catch (e) {
      this.load()
      throw e
    }
  }

  private seal<K extends Kind>(kind: K, key: string, rec: Kinds[K]): Kinds[K] {
    if (kind !== 'key' && kind !== 'session') return rec
    const r = rec as AccessKeyRec | SessionRec
    return { ...r, secret: this.box.seal(r.secret, key) } as Kinds[K]
  }

  private unseal<K extends Kind>(kind: K, key: string, rec: Kinds[K]): Kinds[K] {
    if (kind !== 'key' && kind !== 'session') return rec
    const r = rec as AccessKeyRec | SessionRec
    try {
      return { ...r, secret: this.box.open(r.secret, key) } as Kinds[K]
    } catch {
      throw new Error(`cannot decrypt the secret of access key ${key}: secrets.key does not match the stored keys (was it replaced?)`)
    }
  }
}

/**
 * @module IAM state: the records of ./model.ts in memory, persisted through the state seam
 * (namespaces `iam.*`, one JSON record per entity, schema version in `iam.meta`;
 * docs/decisions/shared-state.md). Secrets are sealed with the SecretBox before they reach the
 * store, so neither SQLite nor PostgreSQL holds a usable secret. Without a state store (unit
 * tests, `mrap explain` of a world file) the state lives in memory only.
 *
 * Reads come from the maps. A change is staged (`stage`): the caller's function sees its own
 * writes, the maps are put back before anything else can run, and only after the store committed
 * the batch are the maps brought to what the store holds (`commit`). So no request is ever served
 * from an IAM change that was not (or not yet) persisted. Other nodes' changes arrive as change
 * events and are unsealed on arrival.
 *
 * Names of users, groups and roles are unique per account regardless of case, as in IAM, so
 * records are keyed by `<account>/<lower-case name>`.
 */
import type { StateOp, StateStore } from '../state/state-store.js'
import type { AccessKeyRec, AccountRec, GroupRec, ManagedPolicyRec, RoleRec, SessionRec, UserRec } from './model.js'
import type { SecretBox } from './secret-box.js'

const SCHEMA_VERSION = 1
const PREFIX = 'iam.'

export function nameKey(account: string, name: string): string {
  return `${account}/${name.toLowerCase()}`
}

interface Kinds {
  account: AccountRec
  user: UserRec
  group: GroupRec
  role: RoleRec
  policy: ManagedPolicyRec
  key: AccessKeyRec
  session: SessionRec
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
const KINDS = Object.keys(KEY_OF) as Kind[]
const isKind = (k: string): k is Kind => Object.hasOwn(KEY_OF, k)

/** What `stage` produced: the function's result, the batch to write, and how to adopt it once written. */
export interface Staged<T> {
  result: T
  ops: StateOp[]
  /** After the batch committed: the maps follow the store for every touched record. */
  commit(): void
}

type Touched = { kind: Kind; key: string; rec: unknown }

export class IamStore {
  readonly accounts = new Map<string, AccountRec>()
  readonly users = new Map<string, UserRec>()
  readonly groups = new Map<string, GroupRec>()
  readonly roles = new Map<string, RoleRec>()
  readonly policies = new Map<string, ManagedPolicyRec>()
  readonly keys = new Map<string, AccessKeyRec>()
  readonly sessions = new Map<string, SessionRec>()
  /** Called after another node's change reached the maps (Identities rebuilds its index). */
  onRemoteChange: (() => void) | undefined
  /** A record that arrived but could not be read (a secret sealed with another key): it is left out. */
  onBadRecord: ((kind: Kind, key: string, err: Error) => void) | undefined
  /** Inside `stage`: the ops so far, and how to put the maps back. */
  private staging: { ops: StateOp[]; undo: (() => void)[]; touched: Touched[]; guarded: Set<string> } | undefined

  /** `state` undefined: in memory only. Use `open` for a persistent store. */
  constructor(
    readonly state: StateStore | undefined,
    private readonly box: SecretBox,
  ) {
    if (!state) return
    // Strict at open: a node whose sealing key does not open the stored secrets must not start.
    this.load(true)
    state.onChange((c) => {
      if (c.kind === 'reload') {
        this.load()
        this.onRemoteChange?.()
        return
      }
      if (c.kind !== 'record' || c.local || !c.ns.startsWith(PREFIX)) return
      const kind = c.ns.slice(PREFIX.length)
      if (!isKind(kind)) return
      this.follow(kind, c.key)
      this.onRemoteChange?.()
    })
  }

  /** Opens the persistent store: checks (and on first use writes) the schema version, loads everything. */
  static async open(state: StateStore, box: SecretBox): Promise<IamStore> {
    const v = state.get('iam.meta', 'schema')
    if (v !== undefined && Number(v) > SCHEMA_VERSION) {
      throw new Error(`the IAM state has schema version ${v}; this mrap knows version ${SCHEMA_VERSION} (upgrade mrap)`)
    }
    if (v === undefined) await state.put('iam.meta', 'schema', String(SCHEMA_VERSION))
    return new IamStore(state, box)
  }

  private map<K extends Kind>(kind: K): Map<string, Kinds[K]> {
    const m = { account: this.accounts, user: this.users, group: this.groups, role: this.roles, policy: this.policies, key: this.keys, session: this.sessions }
    return m[kind] as unknown as Map<string, Kinds[K]>
  }

  /** (Re)reads everything from the state store: at open (strict: a bad record throws), and when the store reloaded. */
  load(strict = false): void {
    if (!this.state) return
    for (const kind of KINDS) {
      const m = this.map(kind)
      m.clear()
      for (const { key } of this.state.list(`${PREFIX}${kind}`)) this.follow(kind, key, strict)
    }
  }

  /** Brings one map entry to what the store holds (unsealed); an unreadable record is left out. */
  private follow(kind: Kind, key: string, strict = false): void {
    const m = this.map(kind)
    const raw = this.state?.get(`${PREFIX}${kind}`, key)
    if (raw === undefined) {
      m.delete(key)
      return
    }
    try {
      m.set(key, this.unseal(kind, key, JSON.parse(raw) as Kinds[typeof kind]))
    } catch (e) {
      m.delete(key)
      if (strict) throw e
      this.onBadRecord?.(kind, key, e as Error)
    }
  }

  get<K extends Kind>(kind: K, key: string): Kinds[K] | undefined {
    return this.map(kind).get(key)
  }

  /** Only inside `stage` (or on an in-memory store). */
  put<K extends Kind>(kind: K, rec: Kinds[K]): void {
    const key = KEY_OF[kind](rec)
    this.record(kind, key, rec)
    if (this.state) this.staging!.ops.push({ op: 'put', ns: `${PREFIX}${kind}`, key, value: JSON.stringify(this.seal(kind, key, rec)) })
    this.map(kind).set(key, rec)
  }

  /** Only inside `stage` (or on an in-memory store). */
  delete(kind: Kind, key: string): void {
    this.record(kind, key, undefined)
    if (this.state) this.staging!.ops.push({ op: 'delete', ns: `${PREFIX}${kind}`, key })
    this.map(kind).delete(key)
  }

  private record(kind: Kind, key: string, rec: unknown): void {
    const st = this.staging
    if (!st) {
      if (this.state) throw new Error('IAM records change only through Identities.mutate')
      return
    }
    // Compare-and-set against the record as this node holds it: if another node changed it since
    // (its change not yet arrived here), the batch fails instead of silently undoing that change.
    const ns = `${PREFIX}${kind}`
    if (this.state && !st.guarded.has(`${ns}\u0000${key}`)) {
      st.guarded.add(`${ns}\u0000${key}`)
      st.ops.push({ op: 'expect', ns, key, value: this.state.get(ns, key) })
    }
    const m = this.map(kind) as Map<string, unknown>
    const had = m.has(key)
    const before = m.get(key)
    st.undo.push(
      had
        ? () => {
            m.set(key, before)
          }
        : () => {
            m.delete(key)
          },
    )
    st.touched.push({ kind, key, rec })
  }

  /**
   * Runs `fn`, which may put and delete (and read what it wrote), and returns the batch it made.
   * The maps are as before when this returns (or throws): they change only in `commit`, after the
   * batch is written, so a failed write leaves nothing behind.
   */
  stage<T>(fn: (st: IamStore) => T): Staged<T> {
    if (this.staging) throw new Error('IAM changes do not nest')
    const st = { ops: [] as StateOp[], undo: [] as (() => void)[], touched: [] as Touched[], guarded: new Set<string>() }
    this.staging = st
    let result: T
    try {
      result = fn(this)
    } finally {
      this.staging = undefined
      for (let i = st.undo.length - 1; i >= 0; i--) st.undo[i]!()
    }
    return {
      result,
      ops: st.ops,
      commit: () => {
        for (const t of st.touched) {
          if (this.state) this.follow(t.kind, t.key)
          else if (t.rec === undefined) this.map(t.kind).delete(t.key)
          else (this.map(t.kind) as Map<string, unknown>).set(t.key, t.rec)
        }
      },
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

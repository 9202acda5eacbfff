/**
 * @module Who is asking: principals and their access keys, derived from the IAM state (./store.ts).
 * The auth layer finds a signing credential by access key id here on every request, so the index
 * is a prebuilt Map from key id to a KeyRecord that already holds the principal with its resolved
 * identity policies (user inline + attached + its groups', or the role's plus the session policy):
 * one Map.get, no allocation. Every change goes through `mutate`, which writes one batch through
 * the state seam and then rebuilds the index (IAM changes are rare; requests are not). Another
 * node's change rebuilds it too, so a key deleted or deactivated anywhere stops working here as
 * soon as the change arrives (docs/decisions/shared-state.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import type { BlockPublicAccess } from '../state/control-store.js'
import type { StateOp } from '../state/state-store.js'
import { awsManaged } from './aws-managed.js'
import { type RoleRec, roleArn, type SessionRec, sessionArn, type UserRec, userArn } from './model.js'
import { SecretBox } from './secret-box.js'
import { IamStore, nameKey } from './store.js'

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
  /** Sessions: `global` when the global STS endpoint issued them, else the issuing region. */
  tokenIssuer?: string
  principal: Principal
}

export const ANONYMOUS: Principal = {
  type: 'Anonymous',
  accountId: '',
  arn: '*',
  userId: 'anonymous',
  identityPolicies: [],
  tags: {},
}

/** Stable unique ids in the shape IAM gives (prefix + 17 upper-case base32 characters). */
export function uniqueId(prefix: string, seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const digest = createHash('sha256').update(seed).digest()
  let out = prefix
  for (let i = 0; i < 17; i++) out += alphabet[digest[i]! % 32]
  return out
}

/** A guard in the batch failed: another node changed what the batch depended on. */
export class ConcurrentChangeError extends Error {
  constructor() {
    super('the control state changed while this change was being written; retry')
  }
}

/** Expired sessions are kept this long so their keys answer ExpiredToken, not InvalidAccessKeyId. */
const EXPIRED_SESSION_RETENTION_MS = 24 * 3600 * 1000

export class Identities {
  private keys = new Map<string, KeyRecord>()
  private byName = new Map<string, Principal>()
  private bpa: Record<string, BlockPublicAccess> = {}
  readonly accounts = new Set<string>()

  /** Changes on this node run one after another, so each sees the one before it committed. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly turn = new AsyncLocalStorage<true>()
  /** Turns queued or running; at 0 the storage is disabled. */
  private waiting = 0
  private rebuildQueued = false

  constructor(
    readonly store: IamStore,
    readonly partition = 'aws',
  ) {
    this.rebuild()
    // A catch-up delivers a batch as many events: one rebuild after them, before any request runs.
    store.onRemoteChange = () => {
      if (this.rebuildQueued) return
      this.rebuildQueued = true
      queueMicrotask(() => {
        this.rebuildQueued = false
        this.rebuild()
      })
    }
  }

  /** In-memory state (tests, tools): nothing is persisted. */
  static memory(partition = 'aws'): Identities {
    return new Identities(new IamStore(undefined, SecretBox.ephemeral()), partition)
  }

  /**
   * The one write path: `fn` stages its changes, they are written as one all-or-nothing batch (with
   * `more`'s ops, for a world apply), and only then does the request-path index change. A write
   * that fails (ServiceUnavailable while PostgreSQL is down) changes nothing and rejects.
   */
  mutate<T>(fn: (store: IamStore) => T, more?: (result: T) => StateOp[]): Promise<T> {
    return this.serially(async () => {
      const staged = this.store.stage(fn)
      const ops = [...staged.ops, ...(more ? more(staged.result) : [])]
      if (ops.length === 0) return staged.result
      if (this.store.state && !(await this.store.state.write(ops))) throw new ConcurrentChangeError()
      staged.commit()
      this.rebuild()
      return staged.result
    })
  }

  /**
   * Runs `fn` when no other change on this node is in flight (a call inside it, `mutate` included,
   * joins the turn). An IAM API call reads the record it changes before it writes it; run in its
   * turn, it cannot read what another call is about to replace and write back the old rest of it.
   */
  serially<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.turn.getStore()) return Promise.resolve().then(fn)
    const run = (): Promise<T> => this.turn.run(true, async () => fn())
    this.waiting++
    const p = this.queue.then(run, run)
    // A live AsyncLocalStorage makes Node track a context on every promise in the process (~3x the
    // cost of a promise-heavy path, measured; 2-3% of a request's CPU): it is switched off whenever
    // no change is queued, and run() switches it on again.
    this.queue = p
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        if (--this.waiting === 0) this.turn.disable()
      })
    return p
  }

  /** `mutate` for an in-memory store (nothing to wait for). */
  mutateNow<T>(fn: (store: IamStore) => T): T {
    if (this.store.state) throw new Error('mutateNow is for in-memory identities')
    const staged = this.store.stage(fn)
    staged.commit()
    this.rebuild()
    return staged.result
  }

  findKey(accessKeyId: string): KeyRecord | undefined {
    return this.keys.get(accessKeyId)
  }
  /** A principal by user name (`admin`) or `<account>/<name>`. */
  findPrincipal(name: string): Principal | undefined {
    return this.byName.get(name) ?? this.byName.get(name.toLowerCase())
  }
  /** The first active long-term key of a principal (for `mrap exec --as`). */
  keyOf(principal: Principal): KeyRecord | undefined {
    for (const k of this.keys.values()) if (k.principal === principal && k.status === 'Active' && k.sessionToken === undefined) return k
    return undefined
  }
  /** Account-level Block Public Access by account id (the same object until the next change). */
  accountBpaMap(): Record<string, BlockPublicAccess> {
    return this.bpa
  }

  /** A managed policy's document: one of an account's, or an AWS managed one. */
  managedDocument(arn: string): string | undefined {
    return this.store.policies.get(arn)?.document ?? awsManaged(arn)?.document
  }

  /** Drops sessions that expired long ago (they would otherwise accumulate forever). */
  async pruneSessions(now: Date): Promise<void> {
    const old = [...this.store.sessions.values()].filter((s) => Date.parse(s.expiresAt) + EXPIRED_SESSION_RETENTION_MS < now.getTime())
    if (old.length > 0)
      await this.mutate((st) => {
        for (const s of old) st.delete('session', s.id)
      })
  }

  /** Recomputes every principal and the key index from the records. */
  rebuild(): void {
    const keys = new Map<string, KeyRecord>()
    const byName = new Map<string, Principal>()
    const bpa: Record<string, BlockPublicAccess> = {}
    this.accounts.clear()
    for (const a of this.store.accounts.values()) {
      this.accounts.add(a.id)
      if (a.blockPublicAccess) bpa[a.id] = a.blockPublicAccess
    }
    const users = new Map<string, Principal>()
    for (const u of this.store.users.values()) {
      const p = this.userPrincipal(u)
      users.set(nameKey(u.account, u.name), p)
      if (!byName.has(u.name.toLowerCase())) byName.set(u.name.toLowerCase(), p)
      byName.set(`${u.account}/${u.name.toLowerCase()}`, p)
    }
    for (const k of this.store.keys.values()) {
      const p = users.get(nameKey(k.account, k.user))
      if (p) keys.set(k.id, { accessKeyId: k.id, secretAccessKey: k.secret, status: k.status, principal: p })
    }
    for (const s of this.store.sessions.values()) {
      keys.set(s.id, {
        accessKeyId: s.id,
        secretAccessKey: s.secret,
        status: 'Active',
        sessionToken: s.token,
        expiresAt: new Date(s.expiresAt),
        principal: this.sessionPrincipal(s),
        tokenIssuer: s.issuer,
      })
    }
    this.keys = keys
    this.byName = byName
    this.bpa = bpa
  }

  userPrincipal(u: UserRec): Principal {
    const policies = this.policiesOf(u.inline, u.attached, 'inline')
    for (const g of u.groups) {
      const group = this.store.groups.get(nameKey(u.account, g))
      if (group) policies.push(...this.policiesOf(group.inline, group.attached, `group ${group.name} inline`))
    }
    const arn = userArn(this.partition, u)
    const p: Principal = { type: 'User', accountId: u.account, arn, userId: u.id, username: u.name, identityPolicies: policies, tags: { ...u.tags } }
    const boundary = u.boundary !== undefined ? this.managedDocument(u.boundary) : undefined
    if (boundary !== undefined) p.permissionsBoundary = boundary
    return p
  }

  sessionPrincipal(s: SessionRec): Principal {
    const role: RoleRec | undefined = this.store.roles.get(nameKey(s.account, s.role))
    const arn = sessionArn(this.partition, s.account, s.role, s.sessionName)
    // A deleted role leaves its sessions without permissions (as in IAM): no identity policies.
    const p: Principal = {
      type: 'AssumedRole',
      accountId: s.account,
      arn,
      userId: `${role?.id ?? 'AROADELETEDROLE00000'}:${s.sessionName}`,
      roleArn: role ? roleArn(this.partition, role) : `arn:${this.partition}:iam::${s.account}:role/${s.role}`,
      identityPolicies: role ? this.policiesOf(role.inline, role.attached, 'inline') : [],
      // Session tags override the role's tags of the same key.
      tags: { ...(role?.tags ?? {}), ...s.tags },
    }
    const boundary = role?.boundary !== undefined ? this.managedDocument(role.boundary) : undefined
    if (boundary !== undefined) p.permissionsBoundary = boundary
    if (s.sessionPolicy !== undefined) p.sessionPolicy = s.sessionPolicy
    return p
  }

  private policiesOf(inline: Record<string, string>, attached: string[], label: string): { name: string; document: string }[] {
    const out: { name: string; document: string }[] = []
    for (const [name, document] of Object.entries(inline)) out.push({ name: `${label} ${name}`, document })
    for (const arn of attached) {
      const document = this.managedDocument(arn)
      if (document !== undefined) out.push({ name: arn, document })
    }
    return out
  }
}

/**
 * @module The console's sign-ins: sessions (in memory, by a random cookie value), the check of an
 * access key id + secret against the server's identities, the throttle on failed attempts, and
 * one-time sign-in links (`mrap console-url`). The secret stays here, with the session, so the
 * console's SDK clients can sign as the principal; it never reaches a page, a log or a cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Core } from '../core/core.js'
import type { KeyRecord, Principal } from '../iam/identities.js'
import type { ConsoleSession } from './page.js'

export interface SessionLimits {
  /** A session unused this long ends (default 1 h). */
  idleMs: number
  /** A session ends this long after sign-in whatever its use (default 12 h). */
  absoluteMs: number
  /** A one-time link works this long (default 5 min). */
  linkMs: number
  /**
   * Failed sign-ins for one key id within `failureWindowMs` before refusing it; one address gets
   * four times as many (every browser of a loopback console is 127.0.0.1: a lower limit per address
   * would let one mistyping user lock everyone out).
   */
  maxFailures: number
  failureWindowMs: number
}

export const DEFAULT_LIMITS: SessionLimits = {
  idleMs: 3600_000,
  absoluteMs: 12 * 3600_000,
  linkMs: 5 * 60_000,
  maxFailures: 5,
  failureWindowMs: 5 * 60_000,
}

/** What the server keeps per session; `session` is what pages see. */
export interface SessionEntry {
  session: ConsoleSession
  secretAccessKey: string
  sessionToken?: string | undefined
  createdAt: number
  lastSeen: number
}

export type SignInResult = { ok: true; entry: SessionEntry } | { ok: false; message: string; status: number }

/** One message for an unknown key and a wrong secret, so the form does not tell which key ids exist. */
export const BAD_CREDENTIALS = 'The access key ID or secret access key is not correct.'

const token = (): string => randomBytes(32).toString('base64url')
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** Equal-time comparison of two strings of any length (hashes first, so lengths leak nothing). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

function shortName(p: Principal): string {
  if (p.username) return p.username
  const slash = p.arn.indexOf('/')
  return slash >= 0 ? p.arn.slice(slash + 1) : p.arn
}

export class ConsoleSessions {
  private readonly sessions = new Map<string, SessionEntry>()
  /** sha256(token) → the key the link signs in with; the token itself is never kept. */
  private readonly links = new Map<string, { accessKeyId: string; expiresAt: number }>()
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly core: Core,
    readonly limits: SessionLimits,
    private readonly now: () => number,
  ) {}

  /** Checks an access key id + secret (+ session token for STS credentials) and opens a session. */
  signIn(accessKeyId: string, secret: string, sessionToken: string, client: string): SignInResult {
    const throttled = this.throttled([`ip:${client}`, `key:${accessKeyId}`])
    if (throttled > 0) return { ok: false, status: 429, message: `Too many failed sign-ins. Try again in ${Math.ceil(throttled / 1000)} seconds.` }
    const rec = this.core.identities.findKey(accessKeyId)
    // Compare against something even for an unknown key, so its answer takes as long as a wrong secret's.
    const secretOk = sameSecret(rec?.secretAccessKey ?? 'no such key: compare anyway', secret)
    if (!rec || !secretOk || rec.status !== 'Active') {
      this.fail([`ip:${client}`, `key:${accessKeyId}`])
      return { ok: false, status: 401, message: BAD_CREDENTIALS }
    }
    if (rec.sessionToken !== undefined) {
      if (!sameSecret(rec.sessionToken, sessionToken)) {
        this.fail([`ip:${client}`, `key:${accessKeyId}`])
        return {
          ok: false,
          status: 401,
          message: sessionToken === '' ? 'These are temporary credentials: enter their session token too.' : BAD_CREDENTIALS,
        }
      }
      if (rec.expiresAt && rec.expiresAt.getTime() <= this.core.clock().getTime()) return { ok: false, status: 401, message: 'These temporary credentials have expired.' }
    }
    return { ok: true, entry: this.open(rec) }
  }

  /** A one-time link's token for a principal's key (the caller checked the principal has one). */
  issueLink(accessKeyId: string): { token: string; expiresAt: number } {
    this.sweep()
    const t = token()
    const expiresAt = this.now() + this.limits.linkMs
    this.links.set(digest(t).toString('hex'), { accessKeyId, expiresAt })
    return { token: t, expiresAt }
  }

  /** Redeems a one-time link: works once, before it expires, while its key is still active. */
  redeemLink(t: string): SignInResult {
    const id = digest(t).toString('hex')
    const link = this.links.get(id)
    this.links.delete(id)
    const refused = {
      ok: false as const,
      status: 401,
      message: 'This sign-in link is not valid: it was already used, it expired, or it was never issued. Ask for a new one with mrap console-url.',
    }
    if (!link || link.expiresAt <= this.now()) return refused
    const rec = this.core.identities.findKey(link.accessKeyId)
    if (rec?.status !== 'Active') return refused
    return { ok: true, entry: this.open(rec) }
  }

  /** The session of a cookie value, touched; undefined when unknown, idle too long or too old. */
  get(id: string | undefined): SessionEntry | undefined {
    if (!id) return undefined
    const e = this.sessions.get(id)
    if (!e) return undefined
    const now = this.now()
    if (now - e.lastSeen >= this.limits.idleMs || now >= e.session.expiresAt) {
      this.sessions.delete(id)
      return undefined
    }
    // The key may have been deleted or deactivated since sign-in: the session ends with it.
    const rec = this.core.identities.findKey(e.session.accessKeyId)
    if (rec?.status !== 'Active') {
      this.sessions.delete(id)
      return undefined
    }
    e.lastSeen = now
    return e
  }

  /** Whether a session is still held (no touch, no expiry check). */
  has(id: string): boolean {
    return this.sessions.has(id)
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id)
  }

  get size(): number {
    return this.sessions.size
  }

  private open(rec: KeyRecord): SessionEntry {
    this.sweep()
    const now = this.now()
    let expiresAt = now + this.limits.absoluteMs
    // Temporary credentials cannot outlive themselves in a session.
    if (rec.expiresAt) expiresAt = Math.min(expiresAt, now + (rec.expiresAt.getTime() - this.core.clock().getTime()))
    const p = rec.principal
    const session: ConsoleSession = {
      id: token(),
      arn: p.arn,
      accountId: p.accountId,
      name: shortName(p),
      accessKeyId: rec.accessKeyId,
      csrf: token(),
      expiresAt,
    }
    const entry: SessionEntry = { session, secretAccessKey: rec.secretAccessKey, sessionToken: rec.sessionToken, createdAt: now, lastSeen: now }
    this.sessions.set(session.id, entry)
    return entry
  }

  /** Milliseconds until the first of `keys` may try again (0: not throttled). */
  private throttled(keys: string[]): number {
    const now = this.now()
    let wait = 0
    for (const k of keys) {
      const max = k.startsWith('ip:') ? this.limits.maxFailures * 4 : this.limits.maxFailures
      const recent = (this.failures.get(k) ?? []).filter((t) => now - t < this.limits.failureWindowMs)
      if (recent.length >= max) wait = Math.max(wait, recent[recent.length - max]! + this.limits.failureWindowMs - now)
    }
    return wait
  }

  private fail(keys: string[]): void {
    const now = this.now()
    for (const k of keys) {
      const recent = (this.failures.get(k) ?? []).filter((t) => now - t < this.limits.failureWindowMs)
      recent.push(now)
      this.failures.set(k, recent)
    }
  }

  /** Drops what has expired, so a long-running server does not keep every old session. */
  private sweep(): void {
    const now = this.now()
    for (const [id, e] of this.sessions) if (now - e.lastSeen >= this.limits.idleMs || now >= e.session.expiresAt) this.sessions.delete(id)
    for (const [id, l] of this.links) if (l.expiresAt <= now) this.links.delete(id)
    for (const [k, ts] of this.failures) if (ts.every((t) => now - t >= this.limits.failureWindowMs)) this.failures.delete(k)
  }
}

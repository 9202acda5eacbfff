/**
 * @module Compiled policies, by text: a stored policy is compiled once (when first written or
 * loaded) and reused by every request. Bounded, and owned by the Services object (no global cache).
 */
import { type Catalog, type CompiledPolicy, isPublic, type PolicyError, type PolicyKind, parsePolicy, validatePolicy } from '../policy/index.js'

export class PolicyCache {
  // Keyed by the policy text first: records hand out the same string every time, so the lookup
  // hashes it once per string object instead of flattening "kind+name+text" into a new key per
  // request (a 5 KB bucket policy made that a measurable part of a small GET).
  private readonly compiled = new Map<string, Map<string, CompiledPolicy | null>>()
  private entries = 0

  constructor(
    readonly catalog: Catalog | undefined,
    private readonly max = 10_000,
  ) {}

  /** The compiled policy, or undefined when the text does not parse (it then grants nothing). */
  get(text: string, kind: PolicyKind, name?: string): CompiledPolicy | undefined {
    const variant = name === undefined ? kind : `${kind}\u0000${name}`
    let byVariant = this.compiled.get(text)
    let hit = byVariant?.get(variant)
    if (hit === undefined) {
      const r = parsePolicy(text, name !== undefined ? { kind, name } : { kind })
      hit = r.ok ? r.policy : null
      if (this.entries >= this.max) {
        const [oldest, variants] = this.compiled.entries().next().value as [string, Map<string, unknown>]
        this.entries -= variants.size
        this.compiled.delete(oldest)
        if (oldest === text) byVariant = undefined
      }
      if (!byVariant) {
        byVariant = new Map()
        this.compiled.set(text, byVariant)
      }
      byVariant.set(variant, hit)
      this.entries++
    }
    return hit ?? undefined
  }

  /** Everything S3 or IAM would refuse about a policy about to be stored (empty: it may be stored). */
  problems(text: string, opts: { kind: PolicyKind; bucket?: string; mrapArn?: string }): PolicyError[] {
    const r = parsePolicy(text, { kind: opts.kind })
    if (!r.ok) return r.errors
    return validatePolicy(r.policy, { ...opts, ...(this.catalog ? { catalog: this.catalog } : {}) })
  }

  isPublic(text: string, kind: PolicyKind): boolean {
    const p = this.get(text, kind)
    return p !== undefined && isPublic(p, kind)
  }
}

/** One line naming where and why, as S3 puts it in a MalformedPolicy message. */
export function describeProblem(e: PolicyError): string {
  return e.message
}

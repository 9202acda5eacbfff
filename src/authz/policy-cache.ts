/**
 * @module Compiled policies, by text: a stored policy is compiled once (when first written or
 * loaded) and reused by every request. Bounded, and owned by the Services object (no global cache).
 */
import { parsePolicy, validatePolicy, isPublic, type Catalog, type CompiledPolicy, type PolicyKind, type PolicyError } from '../policy/index.js'

export class PolicyCache {
  private readonly compiled = new Map<string, CompiledPolicy | null>()

  constructor(readonly catalog: Catalog | undefined, private readonly max = 10_000) {}

  /** The compiled policy, or undefined when the text does not parse (it then grants nothing). */
  get(text: string, kind: PolicyKind, name?: string): CompiledPolicy | undefined {
    const id = `${kind}\u0000${name ?? ''}\u0000${text}`
    let hit = this.compiled.get(id)
    if (hit === undefined) {
      const r = parsePolicy(text, name !== undefined ? { kind, name } : { kind })
      hit = r.ok ? r.policy : null
      if (this.compiled.size >= this.max) this.compiled.delete(this.compiled.keys().next().value as string)
      this.compiled.set(id, hit)
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

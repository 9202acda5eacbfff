/**
 * @module The request context as seen by one authorization context (MRAP or bucket): keys are
 * looked up case-insensitively (IAM key names are case-insensitive) and `aws:ResourceAccount`
 * is the owner of the resource being evaluated.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */

import type { AuthzPrincipal, RequestContext } from './request.js'
import type { KeyLookup } from './variables.js'

/**
 * Everything one context evaluates against: the probe (action, resource, principal) and the
 * context keys. One object per context keeps the hot path to a single allocation.
 */
export class RequestScope implements KeyLookup {
  /** Mixed-case keys of the context, lower-cased; built on the first miss, only if needed. */
  private mixed: Map<string, readonly string[]> | null = null
  private resourceAccountValue: readonly string[] | null = null

  private built: RequestContext | null = null

  constructor(
    private readonly source: RequestContext | (() => RequestContext),
    readonly resourceAccount: string | undefined,
    /** Lower-cased action. */
    readonly action: string,
    readonly resource: string,
    readonly principal: AuthzPrincipal,
    /** The caller has a permissions boundary (a Deny with NotPrincipal then names it anyway). */
    readonly hasBoundary = false,
  ) {}

  get context(): RequestContext {
    return (this.built ??= typeof this.source === 'function' ? this.source() : this.source)
  }

  /** The probe is the scope itself (kept as a name for readability at call sites). */
  get scope(): RequestScope {
    return this
  }

  get(keyLower: string): readonly string[] | undefined {
    if (this.resourceAccount !== undefined && (keyLower === 'aws:resourceaccount' || keyLower === 's3:resourceaccount')) {
      return (this.resourceAccountValue ??= [this.resourceAccount])
    }
    // Contexts built by buildS3Context use lower-case keys: one property read.
    const v = this.context[keyLower]
    if (v !== undefined) return v
    if (this.mixed === null) this.mixed = indexMixedCase(this.context)
    return this.mixed.size === 0 ? undefined : this.mixed.get(keyLower)
  }
}

function indexMixedCase(ctx: Readonly<Record<string, readonly string[]>>): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>()
  for (const k in ctx) {
    const lower = k.toLowerCase()
    if (lower !== k && !m.has(lower)) m.set(lower, ctx[k] as readonly string[])
  }
  return m
}

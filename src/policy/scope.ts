/**
 * @module The request context as seen by one authorization context (MRAP or bucket): keys are
 * looked up case-insensitively (IAM key names are case-insensitive) and `aws:ResourceAccount`
 * is the owner of the resource being evaluated.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
import type { KeyLookup } from './variables.js';

export class RequestScope implements KeyLookup {
  /** Mixed-case keys of the context, lower-cased; built on the first miss, only if needed. */
  private mixed: Map<string, readonly string[]> | null = null;
  private readonly resourceAccount: readonly string[] | undefined;

  constructor(
    readonly context: Readonly<Record<string, readonly string[]>>,
    resourceAccount: string | undefined,
  ) {
    this.resourceAccount = resourceAccount === undefined ? undefined : [resourceAccount];
  }

  get(keyLower: string): readonly string[] | undefined {
    if (this.resourceAccount !== undefined && (keyLower === 'aws:resourceaccount' || keyLower === 's3:resourceaccount')) {
      return this.resourceAccount;
    }
    // Contexts built by buildS3Context use lower-case keys: one property read.
    const v = this.context[keyLower];
    if (v !== undefined) return v;
    if (this.mixed === null) this.mixed = indexMixedCase(this.context);
    return this.mixed.size === 0 ? undefined : this.mixed.get(keyLower);
  }
}

function indexMixedCase(ctx: Readonly<Record<string, readonly string[]>>): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  for (const k in ctx) {
    const lower = k.toLowerCase();
    if (lower !== k && !m.has(lower)) m.set(lower, ctx[k] as readonly string[]);
  }
  return m;
}

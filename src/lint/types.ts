/**
 * @module `mrap lint` findings and rule metadata. A finding names the policy (kind, owner, name)
 * and statement it points at, where it was written (file and line, for world files), what is
 * wrong, and a suggested fix. Severity `error` means AWS would refuse the policy, or some request
 * will be denied that the world clearly meant to allow; `mrap lint` exits non-zero on one.
 */

import type { AuthzModel, WorldPath } from '../explain/model.js'
import type { Catalog, PolicyKind } from '../policy/index.js'
import type { World } from '../world/schema.js'

export type Severity = 'error' | 'warning' | 'info'

export interface Finding {
  severity: Severity
  rule: string
  message: string
  /** `kms-key`: a KMS key's policy or state (the default encryption key S3 calls KMS with). */
  policy: { kind: PolicyKind | 'world' | 'kms-key'; owner: string; name: string }
  /** Statement Sid, or its 0-based index. */
  statement?: number | string
  file?: string
  line?: number
  fix: string
}

/** A finding before its line is looked up: `path` is where in the world it points. */
export interface RawFinding extends Omit<Finding, 'file' | 'line'> {
  path?: WorldPath | undefined
}

export interface RuleMeta {
  id: string
  severity: Severity
  summary: string
}

export interface LintContext {
  model: AuthzModel
  catalog: Catalog
  /** Fixed time for request facts (lint output must not depend on the clock). */
  timeMs: number
  /** The world file's contents, when linting one (loaded without the loader's own checks). */
  world?: World | undefined
}

export interface RuleFamily {
  rules: RuleMeta[]
  run(ctx: LintContext): RawFinding[]
}

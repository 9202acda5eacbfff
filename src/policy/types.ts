/**
 * @module Public data types of the policy engine. Plain data only: policies arrive compiled,
 * requests arrive as facts, decisions leave as values. Nothing here reads a clock or a file.
 */

/** Where a policy is attached; decides which write-time rules apply. */
export type PolicyKind =
  | 'identity' // IAM identity-based (managed or inline)
  | 'boundary' // permissions boundary (a managed policy)
  | 'session' // STS session policy
  | 'trust' // role trust policy
  | 'resource' // generic resource-based policy
  | 'bucket' // S3 bucket policy
  | 'mrap' // Multi-Region Access Point policy
  | 'endpoint' // VPC endpoint policy

/** IAM identity policies have per-attachment size quotas. */
export type IdentityAttachment = 'managed' | 'inline-user' | 'inline-role' | 'inline-group'

export type PolicyErrorCode =
  | 'MalformedPolicy' // S3 (PutBucketPolicy, PutMultiRegionAccessPointPolicy)
  | 'MalformedPolicyDocument' // IAM, STS, EC2 (endpoint policies)
  | 'LimitExceeded' // IAM size quotas
  | 'PolicySizeExceeded' // S3 / endpoint size limits

/** One problem in a policy, naming where it is and why, in AWS's words where AWS has them. */
export interface PolicyError {
  code: PolicyErrorCode
  message: string
  /** Statement index (0-based) or its Sid when it has one. */
  statement?: number | string
  /** Policy element: 'Version', 'Statement', 'Principal', 'Action', 'Resource', 'Condition', ... */
  element?: string
}

export type Effect = 'Allow' | 'Deny'

/** A wildcard pattern prepared once; `wild` marks positions where `*`/`?` are active. */
export interface Glob {
  /** Text as written (after lower-casing for case-insensitive patterns). */
  readonly text: string
  /** Fast-path shape, chosen at compile time. */
  readonly shape: 'exact' | 'any' | 'prefix' | 'suffix' | 'general'
  /** For 'prefix'/'suffix': the literal part. */
  readonly lit: string
  /** For 'general': per char 1 if an active wildcard. */
  readonly wild: Uint8Array | null
}

/** A string that may contain policy variables, split into literal and variable parts. */
export type TemplatePart =
  | { kind: 'text'; text: string } // policy text: `*` and `?` stay active wildcards
  | { kind: 'lit'; text: string } // `${*}`, `${?}`, `${$}`: literal characters
  | { kind: 'var'; key: string; keyLower: string; fallback: string | undefined; raw: string }

/** Resolved text plus a mask of active wildcard positions. */
export interface PatternText {
  readonly text: string
  readonly wild: Uint8Array
}

export interface Template {
  readonly raw: string
  readonly parts: readonly TemplatePart[]
  /** Precomputed resolution when the value holds no variable (the common case). */
  readonly fixed: PatternText | null
}

/** An ARN-shaped pattern split into its six segments, each a glob. */
export interface ArnPattern {
  readonly raw: string
  /** '*' alone: matches anything. */
  readonly any: boolean
  /** 1..6 globs; when fewer than 6, the last one matches the rest of the ARN. */
  readonly segments: readonly Glob[]
  /**
   * Fast path: when the first five segments are exact (`arn:aws:s3:::`), their text with the
   * colons, so matching is one startsWith plus the resource glob.
   */
  readonly head: string | null
}

/** Action or NotAction, prepared: exact names in a set, wildcard patterns as globs. */
export interface ActionMatcher {
  readonly raw: readonly string[]
  /** Lower-cased exact action names (actions are case-insensitive). */
  readonly exact: ReadonlySet<string>
  readonly wild: readonly Glob[]
  /** `*` present. */
  readonly any: boolean
}

export interface CompiledResource {
  readonly raw: string
  /** Null when the pattern holds policy variables (resolved per request). */
  readonly arn: ArnPattern | null
  readonly template: Template
}

/** Resource or NotResource, prepared. */
export interface ResourceMatcher {
  readonly raw: readonly string[]
  readonly items: readonly CompiledResource[]
  readonly any: boolean
}

export type PrincipalType = 'AWS' | 'Service' | 'Federated' | 'CanonicalUser'

export interface CompiledPrincipal {
  /** `"Principal": "*"` or `{"AWS": "*"}`. */
  readonly wildcard: boolean
  /** Raw map as written (for serialize and explain). */
  readonly raw: Record<string, string[]> | '*'
  /** AWS account ids (12 digits, from bare ids or `:root` ARNs). */
  readonly accounts: ReadonlySet<string>
  /** AWS principal ARNs other than account roots. */
  readonly arns: ReadonlySet<string>
  readonly services: ReadonlySet<string>
  readonly federated: ReadonlySet<string>
  readonly canonicalUsers: ReadonlySet<string>
}

export type ConditionQualifier = 'none' | 'ForAnyValue' | 'ForAllValues'

export type OperatorName =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'NumericEquals'
  | 'NumericNotEquals'
  | 'NumericLessThan'
  | 'NumericLessThanEquals'
  | 'NumericGreaterThan'
  | 'NumericGreaterThanEquals'
  | 'DateEquals'
  | 'DateNotEquals'
  | 'DateLessThan'
  | 'DateLessThanEquals'
  | 'DateGreaterThan'
  | 'DateGreaterThanEquals'
  | 'Bool'
  | 'BinaryEquals'
  | 'IpAddress'
  | 'NotIpAddress'
  | 'ArnEquals'
  | 'ArnLike'
  | 'ArnNotEquals'
  | 'ArnNotLike'
  | 'Null'

/** One (operator, key) pair of a Condition block, with its values prepared. */
export interface CompiledCondition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly rawOperator: string
  readonly operator: OperatorName
  readonly qualifier: ConditionQualifier
  readonly ifExists: boolean
  /** Key as written and lower-cased (IAM keys are case-insensitive). */
  readonly key: string
  readonly keyLower: string
  readonly values: readonly string[]
  /** Operator-specific prepared values (globs, numbers, CIDRs, ...). */
  readonly prepared: PreparedValues
  /** Operator traits copied here so evaluation needs no table lookup. */
  readonly negated: boolean
  readonly ignoreCase: boolean
  readonly cmp: 'eq' | 'lt' | 'le' | 'gt' | 'ge' | undefined
}

export type PreparedValues =
  | { kind: 'string'; items: readonly { t: Template; text: string; lower: string }[] }
  | { kind: 'glob'; items: readonly { t: Template; glob: Glob | null }[] }
  | { kind: 'arn'; items: readonly { t: Template; arn: ArnPattern | null }[] }
  | { kind: 'number'; items: readonly number[] }
  | { kind: 'date'; items: readonly number[] }
  | { kind: 'bool'; items: readonly boolean[] }
  | { kind: 'binary'; items: readonly string[] }
  | { kind: 'ip'; items: readonly Cidr[] }
  | { kind: 'null'; items: readonly boolean[] }

export interface Cidr {
  readonly v6: boolean
  /** Address as 4 or 16 bytes, already masked. */
  readonly bytes: Uint8Array
  readonly prefix: number
}

export interface CompiledStatement {
  readonly index: number
  readonly sid: string | undefined
  readonly effect: Effect
  /** Exactly one of principal / notPrincipal may be set; neither for identity policies. */
  readonly principal: CompiledPrincipal | undefined
  readonly notPrincipal: CompiledPrincipal | undefined
  readonly actions: ActionMatcher | undefined
  readonly notActions: ActionMatcher | undefined
  readonly resources: ResourceMatcher | undefined
  readonly notResources: ResourceMatcher | undefined
  readonly conditions: readonly CompiledCondition[]
  /** The statement as written (normalised JSON value), for serialize and explain. */
  readonly source: Readonly<Record<string, unknown>>
}

export type PolicyVersion = '2012-10-17' | '2008-10-17' | undefined

/** A policy parsed and compiled once at write time. Never mutated afterwards. */
export interface CompiledPolicy {
  readonly version: PolicyVersion
  readonly id: string | undefined
  /** Was Statement written as a single object (kept for faithful serialization). */
  readonly statementIsObject: boolean
  readonly statements: readonly CompiledStatement[]
  /** Size measures of the source text, used by write-time quotas. */
  readonly size: { chars: number; bytes: number; nonWhitespace: number }
  /** An optional label used in explanations (e.g. the managed policy ARN). */
  readonly name: string | undefined
  /** The kind it was parsed for. */
  readonly kind: PolicyKind
  /** S3's public judgement, computed once (used by RestrictPublicBuckets at request time). */
  readonly isPublic: boolean
  /**
   * Statement indices to consider per lower-cased action, in policy order: those naming the
   * action exactly plus those with wildcards or NotAction (`other`, used for unlisted actions).
   */
  readonly actionIndex: { readonly byAction: ReadonlyMap<string, readonly number[]>; readonly other: readonly number[] }
}

/** Block Public Access settings (bucket, access point / MRAP, or account). */
export interface BlockPublicAccess {
  BlockPublicAcls?: boolean
  IgnorePublicAcls?: boolean
  BlockPublicPolicy?: boolean
  RestrictPublicBuckets?: boolean
}

/**
 * @module The request given to authorize(): who, what, on which resources, in which context.
 * The pipeline builds it from typed facts (see buildS3Context); the engine never looks further.
 */
import type { BlockPublicAccess, CompiledPolicy } from './types.js'

export type AuthzPrincipalType =
  | 'Account' // the account root user
  | 'User'
  | 'AssumedRole'
  | 'FederatedUser'
  | 'WebIdentityUser'
  | 'SAMLUser'
  | 'Service'
  | 'Anonymous'

export interface AuthzPrincipal {
  type: AuthzPrincipalType
  /** The caller's ARN: user ARN, session ARN (`arn:aws:sts::...:assumed-role/r/s`), root ARN. */
  arn: string
  /** Account id; `anonymous` for anonymous callers. */
  accountId: string
  /** For sessions: the role ARN (this is `aws:PrincipalArn`). */
  roleArn?: string
  userId?: string
  username?: string
  /** For Service principals: e.g. `cloudtrail.amazonaws.com`. */
  service?: string
  /** For web identity / SAML users: the identity provider. */
  provider?: string
  canonicalId?: string
  tags?: Readonly<Record<string, string>>
}

export interface AuthzResource {
  /** Resource ARN evaluated in this context (object or bucket ARN, MRAP ARN[/object/key]). */
  arn: string
  ownerAccount: string
}

export interface AuthzRequest {
  principal: AuthzPrincipal
  /** `s3:GetObject` (any case). */
  action: string
  resources: {
    /** Present for requests through a Multi-Region Access Point. */
    mrap?: AuthzResource
    /** The (routed) bucket; `bucketName` is informative. */
    bucket?: AuthzResource & { bucketName?: string }
  }
  /**
   * Request context keys (lower-case keys are fastest); multi-valued. A function is called only
   * when a condition or policy variable first reads a key: most grants have no conditions, and
   * building the context is then the largest part of a decision.
   */
  context: RequestContext | (() => RequestContext)
}

export type RequestContext = Readonly<Record<string, readonly string[]>>

/** Whether an ACL grants the action to the caller (computed by the S3 layer, which owns ACLs). */
export interface AclGrant {
  grants: boolean
  /** The grant comes from AllUsers / AuthenticatedUsers (a public ACL). */
  isPublic: boolean
  /** The grant that allows, as explain names it (`READ to AllUsers`). */
  grant?: string
}

export interface Layers {
  /** Identity-based policies of the caller (user + groups, or role). */
  identity: readonly CompiledPolicy[]
  /** Permissions boundary of the calling user or role. */
  boundary?: CompiledPolicy
  /** Session policies passed to AssumeRole / GetFederationToken. */
  session?: readonly CompiledPolicy[]
  /** Present when the request came through a VPC endpoint. */
  endpoint?: { id: string; policy: CompiledPolicy }
  mrap?: { policy?: CompiledPolicy; blockPublicAccess?: BlockPublicAccess }
  bucket?: { policy?: CompiledPolicy; blockPublicAccess?: BlockPublicAccess; acl?: AclGrant }
  /** Account-level Block Public Access by account id. */
  accountBlockPublicAccess?: Readonly<Record<string, BlockPublicAccess>>
}

export interface AuthorizeOptions {
  /** Build the full explanation (costs nothing when false). */
  explain?: boolean
  /**
   * docs/aws/mrap.md §Where AWS is silent: in a same-account MRAP request, let an identity Allow on the MRAP ARN
   * satisfy the bucket context too (default false: the identity must allow the bucket ARN).
   */
  identityOnMrapSatisfiesBucket?: boolean
}

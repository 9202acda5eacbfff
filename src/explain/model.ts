/**
 * @module The evaluation model shared by `mrap explain` and `mrap lint`: everything that decides a
 * request (principals with their identity policies, buckets, MRAPs with their routes, VPCs with
 * their endpoints, Block Public Access), as plain JSON-able data. It is built from a world file
 * (./from-world.ts, no server needed) or from a running server's state (./from-services.ts, sent
 * over the admin socket), and evaluated by ./evaluate.ts through the server's own authorizeS3.
 */

import type { Principal } from '../iam/identities.js'
import type { KmsGrant } from '../kms/grants.js'
import type { MrapRoute } from '../mrap/registry.js'
import type { PolicyKind } from '../policy/index.js'
import type { BlockPublicAccess } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'

export type WorldPath = (string | number)[]

/** One policy of the world, in force or not, and where it came from. */
export interface ModelPolicy {
  kind: PolicyKind
  /** What it is attached to, e.g. `bucket DOC-EXAMPLE-BUCKET1`, `user 123456789012/admin`. */
  owner: string
  name: string
  text: string
  /** Path in the world file (for the line number), when the model came from a file. */
  path?: WorldPath
  /** The error S3, IAM or EC2 would give when asked to store it; such a policy is not in force. */
  refusal?: { status: number; code: string; message: string }
  /** For IAM identity policies: the attachment (size quotas differ). */
  attachment?: 'managed' | 'inline-user' | 'inline-role' | 'inline-group'
  /** For identity policies: the principals it applies to (refs). */
  principals?: string[]
}

export interface ModelPrincipal {
  /** `<account>/<name>` for users, `<account>/role/<name>` for role sessions. */
  ref: string
  /** Short display name: the user name, or `role/<name>`. */
  name: string
  principal: Principal
}

export interface ModelBucket {
  name: string
  region: string
  owner: string
  versioning: 'Enabled' | 'Suspended' | 'Unversioned'
  blockPublicAccess?: BlockPublicAccess
  /** The policy the bucket runs with (in force), or the world's refused one. */
  policy?: ModelPolicy
  /** Replication configuration as written (world) or stored (XML), searched for destinations. */
  replication?: string
  /** The bucket's Object Ownership and ACL, as the bucket record keeps them (src/s3/acl.ts). */
  configs?: Record<string, string>
  path?: WorldPath
}

/**
 * One bucket's copy of the object a question names, as the server reads it before authorizing
 * (src/s3/ops/acl.ts readObjectAcl): each region holds its own copy, and replicas may differ. Only
 * a running server's model has these, read for one question (./objects.ts); a world file declares
 * no objects.
 */
export interface ModelObject {
  bucket: string
  key: string
  /** The version read (`null` included); absent: the current version. */
  versionId?: string
  /** The version's stored ACL (buckets whose ACLs are enabled); absent on a found version: the default, private to the bucket owner. */
  acl?: ObjectAcl
  /** Set when the store has no such version: its answer (404 NoSuchKey, 404 NoSuchVersion, 405 for a delete marker's version id...). */
  error?: { status: number; code: string; deleteMarker?: boolean }
}

export interface ModelMrap {
  name: string
  alias: string
  owner: string
  blockPublicAccess: BlockPublicAccess
  routes: MrapRoute[]
  policy?: ModelPolicy
  path?: WorldPath
}

export interface ModelEndpoint {
  id: string
  type: 'Interface' | 'Gateway'
  service: string
  privateDns: boolean
  /** Private DNS serves only the VPC's inbound Resolver endpoint (EC2 DnsOptions). */
  privateDnsOnlyForInboundResolver?: boolean
  /** Absent in the world means the default policy (full access); the model always holds one. */
  policy: ModelPolicy
}

export interface ModelVpc {
  id: string
  name?: string
  owner: string
  region: string
  cidr: string
  internet: boolean
  endpoints: ModelEndpoint[]
}

export interface AuthzModel {
  /** Where the model came from, for headers: a file name or `server <data dir>`. */
  source: string
  /** What it was built from: a world file declares no objects (./objects.ts says so on the routes). */
  from?: 'world' | 'server'
  partition: string
  frontDoorRegion: string
  regions: string[]
  latencies?: Record<string, Record<string, number>>
  accounts: { id: string; name?: string; blockPublicAccess?: BlockPublicAccess }[]
  principals: ModelPrincipal[]
  buckets: ModelBucket[]
  mraps: ModelMrap[]
  vpcs: ModelVpc[]
  /** Identity-side policies (inline, managed, trust) for lint; resource policies hang off their owners. */
  identityPolicies: ModelPolicy[]
  /** KMS keys of a running server (never their material): lint's replica-key check, explain's KMS layer. */
  kmsKeys?: ModelKmsKey[]
  /** Their aliases, so a bucket's default key named `alias/…` resolves as S3 resolves it. */
  kmsAliases?: { aliasName: string; account: string; region: string; targetKeyId: string }[]
  /** Their grants (src/kms/grants.ts), which allow beside the key policies. */
  kmsGrants?: KmsGrant[]
  /**
   * The object of one question, per bucket whose ACLs decide it or whose operation reads the
   * version it names (./objects.ts). Absent: not read (a world file, `mrap lint`), and explain says
   * the object's ACL is not known where it would decide.
   */
  objects?: ModelObject[]
}

export interface ModelKmsKey {
  keyId: string
  arn: string
  account: string
  region: string
  keyState: string
  /** When a key pending deletion is deleted (ms): after it, S3 finds no key. */
  deletionDate?: number
  /** The key policy (JSON text). */
  policy: string
  /** The key's tags, which key policies and IAM read as aws:ResourceTag/<key>. */
  tags?: Record<string, string>
}

export { S3_GLOBAL_SERVICE } from '../network/endpoint-choice.js'
export { DEFAULT_ENDPOINT_POLICY } from '../network/vpcs.js'

export function mrapArnOf(m: Pick<ModelMrap, 'owner' | 'alias'>, partition: string): string {
  return `arn:${partition}:s3::${m.owner}:accesspoint/${m.alias}`
}

export class ModelLookupError extends Error {}

/** A principal by user name, `<account>/<name>`, `role/<name>`, `<account>/role/<name>` or ARN. */
export function findPrincipal(model: AuthzModel, name: string): ModelPrincipal {
  const lower = name.toLowerCase()
  const hit =
    model.principals.find((p) => p.ref.toLowerCase() === lower || p.principal.arn.toLowerCase() === lower || p.principal.roleArn?.toLowerCase() === lower) ??
    model.principals.find((p) => p.name.toLowerCase() === lower)
  if (!hit) throw new ModelLookupError(`no principal ${name} in ${model.source} (known: ${model.principals.map((p) => p.ref).join(', ')})`)
  return hit
}

/** An MRAP by alias, name or ARN. */
export function findMrap(model: AuthzModel, ref: string): ModelMrap {
  const arn = /^arn:[^:]+:s3::(\d{12}):accesspoint\/(.+)$/.exec(ref)
  const hit = model.mraps.find((m) => (arn ? m.owner === arn[1] && m.alias === arn[2] : m.alias === ref || m.name === ref))
  if (!hit) throw new ModelLookupError(`no Multi-Region Access Point ${ref} in ${model.source} (known: ${model.mraps.map((m) => `${m.alias} (${m.name})`).join(', ') || 'none'})`)
  return hit
}

export function findBucket(model: AuthzModel, name: string): ModelBucket {
  const hit = model.buckets.find((b) => b.name === name || `arn:${model.partition}:s3:::${b.name}` === name)
  if (!hit) throw new ModelLookupError(`no bucket ${name} in ${model.source}`)
  return hit
}

/** A VPC by id or Name tag. */
export function findVpc(model: AuthzModel, ref: string): ModelVpc {
  const hit = model.vpcs.find((v) => v.id === ref) ?? model.vpcs.find((v) => v.name === ref)
  if (!hit) throw new ModelLookupError(`no VPC ${ref} in ${model.source} (known: ${model.vpcs.map((v) => (v.name ? `${v.id} (${v.name})` : v.id)).join(', ') || 'none'})`)
  return hit
}

/**
 * @module The world file's schema (YAML, validated with zod). A world declares regions, accounts
 * with their principals and keys, buckets, MRAPs, VPCs and endpoints. The shapes check what a typo
 * would break (unknown keys are refused, so `polices:` is an error, not a silently empty list);
 * the cross-references and the policies inside are checked by ./check.ts.
 */
import { z } from 'zod'
import { templateProblem } from '../storage/upstream/config.js'

const accountId = z.string().regex(/^\d{12}$/, 'an account id is 12 digits (quote it in YAML: "123456789012")')
/** A policy document: JSON text, or the same written as YAML. */
const policyDoc = z.union([z.string(), z.record(z.string(), z.unknown())])
const iamName = (what: string) => z.string().regex(/^[\w+=,.@-]{1,64}$/, `an IAM ${what} name is 1-64 of A-Z a-z 0-9 and +=,.@_-`)
const iamPath = z
  .string()
  .regex(/^\/([\x21-\x7e]*\/)?$/, 'an IAM path starts and ends with / (e.g. /division/)')
  .default('/')
const tags = z.record(z.string(), z.string()).default({})

export const accessKeySchema = z
  .object({
    id: z.string().regex(/^AKIA[A-Z0-9]{12,124}$/, 'a long-term access key id is AKIA followed by 12 or more of A-Z 0-9'),
    secret: z.string().min(16, 'a secret access key has at least 16 characters'),
    status: z.enum(['Active', 'Inactive']).default('Active'),
  })
  .strict()

const namedPolicy = z.object({ name: z.string().min(1).max(128), document: policyDoc }).strict()

/** A managed policy: by ARN, by the name of one declared in the account, or an AWS managed name. */
const policyRef = z.string().min(1)

export const userSchema = z
  .object({
    name: iamName('user'),
    path: iamPath,
    accessKeys: z.array(accessKeySchema).max(2, 'IAM allows at most 2 access keys per user').default([]),
    policies: z.array(namedPolicy).default([]),
    managedPolicies: z.array(policyRef).default([]),
    groups: z.array(z.string()).default([]),
    /** A managed policy (ARN or name), as IAM's PutUserPermissionsBoundary takes. */
    permissionsBoundary: policyRef.optional(),
    tags,
    description: z.string().optional(),
  })
  .strict()

export const groupSchema = z
  .object({
    name: iamName('group'),
    path: iamPath,
    policies: z.array(namedPolicy).default([]),
    managedPolicies: z.array(policyRef).default([]),
  })
  .strict()

export const roleSchema = z
  .object({
    name: iamName('role'),
    path: iamPath,
    /** Who may assume the role (AssumeRolePolicyDocument). */
    trustPolicy: policyDoc,
    policies: z.array(namedPolicy).default([]),
    managedPolicies: z.array(policyRef).default([]),
    permissionsBoundary: policyRef.optional(),
    maxSessionDuration: z.number().int().min(3600, 'maxSessionDuration is 3600 to 43200 seconds').max(43200, 'maxSessionDuration is 3600 to 43200 seconds').default(3600),
    tags,
    description: z.string().optional(),
  })
  .strict()

export const managedPolicySchema = z
  .object({
    name: z.string().regex(/^[\w+=,.@-]{1,128}$/, 'a policy name is 1-128 of A-Z a-z 0-9 and +=,.@_-'),
    path: iamPath,
    document: policyDoc,
    description: z.string().optional(),
  })
  .strict()

export const blockPublicAccessSchema = z
  .object({
    BlockPublicAcls: z.boolean().default(true),
    IgnorePublicAcls: z.boolean().default(true),
    BlockPublicPolicy: z.boolean().default(true),
    RestrictPublicBuckets: z.boolean().default(true),
  })
  .strict()

/**
 * A KMS key of the account (src/kms), found again by its alias when the world is applied anew: the
 * description, policy and enabled state follow the file; the key material is made once, never in it.
 */
export const kmsKeySchema = z
  .object({
    alias: z.string().regex(/^alias\/(?!aws\/)[a-zA-Z0-9/_-]{1,250}$/, 'alias/<name> (letters, digits, / _ -), not under alias/aws/'),
    region: z.string(),
    description: z.string().optional(),
    /** The key policy; absent: KMS's default key policy ("Enable IAM User Permissions"). */
    policy: policyDoc.optional(),
    enabled: z.boolean().default(true),
  })
  .strict()

export const accountSchema = z
  .object({
    id: accountId,
    name: z.string().optional(),
    /** The root user's email address (ACL grants by email address resolve to the account). */
    email: z.string().email().optional(),
    users: z.array(userSchema).default([]),
    roles: z.array(roleSchema).default([]),
    groups: z.array(groupSchema).default([]),
    managedPolicies: z.array(managedPolicySchema).default([]),
    blockPublicAccess: blockPublicAccessSchema.optional(),
    kmsKeys: z.array(kmsKeySchema).default([]),
  })
  .strict()

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'the NAME of an environment variable (A-Z 0-9 _), never the secret itself')

/**
 * A region whose buckets live in an existing S3 engine (src/storage/upstream). Credentials are
 * named environment variables, so the file holds no secret; the bucket template maps mrap bucket
 * names to engine bucket names ({bucket} once, {region} optional).
 */
export const upstreamStorageSchema = z
  .object({
    kind: z.literal('s3'),
    endpoint: z
      .string()
      .url()
      .regex(/^https?:\/\//, 'an http:// or https:// URL'),
    region: z.string().min(1).default('us-east-1'),
    addressing: z.enum(['path', 'virtual']).default('path'),
    accessKeyIdEnv: envName,
    secretAccessKeyEnv: envName,
    bucketTemplate: z
      .string()
      .default('mrap-{region}-{bucket}')
      .superRefine((t, ctx) => {
        const problem = templateProblem(t)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      }),
  })
  .strict()

export const regionSchema = z
  .object({
    name: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'a region name looks like us-east-1'),
    storage: z.union([z.literal('embedded'), z.object({ kind: z.literal('embedded') }).strict(), upstreamStorageSchema]).default('embedded'),
    /** Where the region is, for routing proximity (a latitude/longitude or a named place). */
    position: z.union([z.object({ lat: z.number(), lon: z.number() }).strict(), z.string()]).optional(),
  })
  .strict()

export const bucketSchema = z
  .object({
    name: z.string().min(3).max(255),
    region: z.string(),
    owner: accountId,
    policy: policyDoc.optional(),
    versioning: z.enum(['Enabled', 'Suspended']).optional(),
    /** Left out: all on, as S3 creates buckets since April 2023. `none`: no configuration at all. */
    blockPublicAccess: z.union([blockPublicAccessSchema, z.literal('none')]).optional(),
    replication: z.unknown().optional(),
    /**
     * Default encryption (PutBucketEncryption): `AES256` (SSE-S3, S3's default when left out), or
     * SSE-KMS / DSSE-KMS with the KMS key S3 uses for new objects (a key id, key ARN, alias name or
     * alias ARN, as KMSMasterKeyID takes; left out: the AWS managed key aws/s3) and S3 Bucket Keys.
     * Left out on a bucket that exists: its configuration stays as it is.
     */
    encryption: z
      .union([
        z.literal('AES256'),
        z
          .object({
            algorithm: z.enum(['aws:kms', 'aws:kms:dsse']),
            key: z.string().min(1).optional(),
            bucketKey: z.boolean().default(false),
          })
          .strict(),
      ])
      .optional(),
    /** S3 Object Ownership; left out: BucketOwnerEnforced for a new bucket. `none`: no ownership controls (S3 then acts as ObjectWriter). */
    objectOwnership: z.enum(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter', 'none']).optional(),
    /** The bucket ACL: a canned ACL, or grants besides the owner's FULL_CONTROL (an account id or AllUsers, AuthenticatedUsers, LogDelivery). */
    acl: z
      .union([
        z.enum(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write']),
        z.array(
          z
            .object({
              grantee: z.union([accountId, z.enum(['AllUsers', 'AuthenticatedUsers', 'LogDelivery'])]),
              permission: z.enum(['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL']),
            })
            .strict(),
        ),
      ])
      .optional(),
  })
  .strict()

/** MRAPs are applied by src/control (S3 Control); the shape is checked here so typos get a line. */
export const mrapSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/, 'an MRAP name is 3-50 of a-z 0-9 and -'),
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9]{12}\.mrap$/, 'an MRAP alias is 13 of a-z 0-9 (starting with a letter) followed by .mrap')
      .optional(),
    owner: accountId,
    buckets: z.array(z.union([z.string(), z.object({ bucket: z.string(), account: accountId.optional() }).strict()])).min(1),
    policy: policyDoc.optional(),
    blockPublicAccess: blockPublicAccessSchema.optional(),
    /** Traffic dial per region (0 passive, 100 active). */
    routes: z.record(z.string(), z.union([z.literal(0), z.literal(100)])).optional(),
  })
  .strict()

export const endpointSchema = z
  .object({
    id: z
      .string()
      .regex(/^vpce-[0-9a-z]{8,32}$/, 'an endpoint id looks like vpce-0123456789abcdef0')
      .optional(),
    type: z.enum(['Interface', 'Gateway']),
    service: z.string().regex(/^com\.amazonaws\.[a-z0-9.-]+$/, 'a service name looks like com.amazonaws.s3-global.accesspoint'),
    privateDns: z.boolean().default(true),
    /** EC2 DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint: the VPC's own clients use its gateway endpoint. */
    privateDnsOnlyForInboundResolver: z.boolean().optional(),
    policy: policyDoc.optional(),
    subnets: z.array(z.string()).optional(),
  })
  .strict()

/** VPCs and endpoints are applied by src/network; the shape is checked here. */
export const vpcSchema = z
  .object({
    id: z
      .string()
      .regex(/^vpc-[0-9a-z]{8,32}$/, 'a VPC id looks like vpc-0123456789abcdef0')
      .optional(),
    owner: accountId,
    region: z.string(),
    cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'a CIDR looks like 10.0.0.0/16'),
    internet: z.boolean().default(false),
    tags,
    endpoints: z.array(endpointSchema).default([]),
  })
  .strict()

const millis = z.number().int().min(0)

/**
 * Round-trip milliseconds between two regions (`from: { to: ms }`, either direction), replacing
 * src/routing/latency.ts's distance estimate for MRAP proximity routing and `mrap explain`.
 */
export const latenciesSchema = z.record(z.string(), z.record(z.string(), z.number().min(0, 'a latency is 0 or more milliseconds')))

/**
 * S3 Control settings for MRAPs (src/control/config.ts); what is left out keeps AWS's value.
 * `asyncDelayMs` is one delay for each step of an asynchronous operation, or a range to draw from.
 */
export const controlSchema = z
  .object({
    maxMrapsPerAccount: z.number().int().min(1).optional(),
    maxRegionsPerMrap: z.number().int().min(1).optional(),
    asyncDelayMs: z.union([millis, z.object({ min: millis, max: millis }).strict()]).optional(),
    routeDelayMs: millis.optional(),
  })
  .strict()

export const worldSchema = z
  .object({
    partition: z.string().default('aws'),
    dnsSuffix: z.string().default('amazonaws.com'),
    /** The region the internet front door's requests originate from (routing proximity). */
    frontDoorRegion: z.string().optional(),
    /** Left out: the seed's regions, so a world of one account and one user starts as it is. A fresh array per parse (apply may add to it). */
    regions: z
      .array(regionSchema)
      .min(1)
      .default(() => ['us-east-1', 'us-west-2', 'eu-west-1'].map((name) => ({ name, storage: 'embedded' as const }))),
    accounts: z.array(accountSchema).min(1),
    buckets: z.array(bucketSchema).default([]),
    mraps: z.array(mrapSchema).default([]),
    vpcs: z.array(vpcSchema).default([]),
    latencies: latenciesSchema.optional(),
    control: controlSchema.optional(),
  })
  .strict()

export type World = z.infer<typeof worldSchema>
export type WorldAccount = z.infer<typeof accountSchema>
export type WorldUser = z.infer<typeof userSchema>
export type WorldGroup = z.infer<typeof groupSchema>
export type WorldRole = z.infer<typeof roleSchema>
export type WorldManagedPolicy = z.infer<typeof managedPolicySchema>
export type WorldBucket = z.infer<typeof bucketSchema>
export type WorldMrap = z.infer<typeof mrapSchema>
export type WorldVpc = z.infer<typeof vpcSchema>
export type WorldEndpoint = z.infer<typeof endpointSchema>
export type WorldLatencies = z.infer<typeof latenciesSchema>
export type WorldControl = z.infer<typeof controlSchema>
export type PolicyDocument = z.infer<typeof policyDoc>

/** A policy as JSON text (the world may write it as YAML). */
export function policyText(doc: PolicyDocument): string {
  return typeof doc === 'string' ? doc : JSON.stringify(doc)
}

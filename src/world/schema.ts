/**
 * @module The world file's schema (YAML, validated with zod). A world declares regions, accounts
 * with their principals and keys, buckets, and (in later sections) MRAPs, VPCs and endpoints.
 */
import { z } from 'zod'

const accountId = z.string().regex(/^\d{12}$/, 'an account id is 12 digits')
const policyDoc = z.union([z.string(), z.record(z.string(), z.unknown())])

export const accessKeySchema = z.object({
  id: z.string().regex(/^AKIA[A-Z0-9]{12,124}$/, 'a long-term access key id starts with AKIA'),
  secret: z.string().min(16),
  status: z.enum(['Active', 'Inactive']).default('Active'),
})

const namedPolicy = z.object({ name: z.string().min(1), document: policyDoc })

export const userSchema = z.object({
  name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'an IAM user name is 1-64 of A-Z a-z 0-9 and +=,.@_-'),
  path: z.string().default('/'),
  accessKeys: z.array(accessKeySchema).default([]),
  policies: z.array(namedPolicy).default([]),
  managedPolicies: z.array(z.string()).default([]),
  groups: z.array(z.string()).default([]),
  permissionsBoundary: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  description: z.string().optional(),
})

export const blockPublicAccessSchema = z.object({
  BlockPublicAcls: z.boolean().default(true),
  IgnorePublicAcls: z.boolean().default(true),
  BlockPublicPolicy: z.boolean().default(true),
  RestrictPublicBuckets: z.boolean().default(true),
})

export const accountSchema = z.object({
  id: accountId,
  name: z.string().optional(),
  users: z.array(userSchema).default([]),
  roles: z.array(z.unknown()).default([]),
  groups: z.array(z.unknown()).default([]),
  managedPolicies: z.array(z.unknown()).default([]),
  blockPublicAccess: blockPublicAccessSchema.optional(),
})

export const regionSchema = z.object({
  name: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'a region name looks like us-east-1'),
  storage: z.object({ kind: z.enum(['embedded', 's3']).default('embedded') }).passthrough().default({ kind: 'embedded' }),
})

export const bucketSchema = z.object({
  name: z.string().min(3).max(255),
  region: z.string(),
  owner: accountId,
  policy: policyDoc.optional(),
  versioning: z.enum(['Enabled', 'Suspended']).optional(),
  blockPublicAccess: blockPublicAccessSchema.optional(),
  replication: z.unknown().optional(),
})

export const worldSchema = z.object({
  partition: z.string().default('aws'),
  dnsSuffix: z.string().default('amazonaws.com'),
  /** The region the internet front door's requests originate from (routing proximity). */
  frontDoorRegion: z.string().optional(),
  regions: z.array(regionSchema).min(1),
  accounts: z.array(accountSchema).min(1),
  buckets: z.array(bucketSchema).default([]),
  mraps: z.array(z.unknown()).default([]),
  vpcs: z.array(z.unknown()).default([]),
}).passthrough()

export type World = z.infer<typeof worldSchema>
export type WorldAccount = z.infer<typeof accountSchema>
export type WorldUser = z.infer<typeof userSchema>

/**
 * @module The IAM records as stored: accounts, users, groups, roles, managed policies, access keys
 * and STS sessions. Plain data (JSON in the control store); principals are derived from them in
 * ./identities.ts.
 */
import { randomBytes } from 'node:crypto'
import type { BlockPublicAccess } from '../state/control-store.js'

export interface AccountRec {
  id: string
  name?: string
  /** The root user's email address: what ACL grants by `emailAddress` resolve to (src/s3/acl.ts). */
  email?: string
  blockPublicAccess?: BlockPublicAccess
}

/** Inline policies by name → JSON text; attached managed policies by ARN. */
interface PolicyHolder {
  inline: Record<string, string>
  attached: string[]
}

export interface UserRec extends PolicyHolder {
  account: string
  name: string
  path: string
  id: string
  createdAt: string
  groups: string[]
  boundary?: string
  tags: Record<string, string>
}

export interface GroupRec extends PolicyHolder {
  account: string
  name: string
  path: string
  id: string
  createdAt: string
}

export interface RoleRec extends PolicyHolder {
  account: string
  name: string
  path: string
  id: string
  createdAt: string
  trust: string
  boundary?: string
  maxSessionDuration: number
  tags: Record<string, string>
  description?: string
}

export interface ManagedPolicyRec {
  arn: string
  account: string
  name: string
  path: string
  id: string
  createdAt: string
  document: string
  description?: string
}

export interface AccessKeyRec {
  id: string
  account: string
  user: string
  status: 'Active' | 'Inactive'
  createdAt: string
  /** Plaintext in memory only; sealed in the store. */
  secret: string
}

export interface SessionRec {
  id: string
  account: string
  role: string
  sessionName: string
  secret: string
  token: string
  issuedAt: string
  expiresAt: string
  /** The session policies (inline and managed), merged into one document. */
  sessionPolicy?: string
  tags: Record<string, string>
  sourceIdentity?: string
  /** Who called AssumeRole (for audit). */
  callerArn: string
  /** `global` for sts.amazonaws.com (v1 tokens), else the region of the regional endpoint (v2). */
  issuer: string
}

export function userArn(partition: string, u: { account: string; path: string; name: string }): string {
  return `arn:${partition}:iam::${u.account}:user${u.path}${u.name}`
}
export function groupArn(partition: string, g: { account: string; path: string; name: string }): string {
  return `arn:${partition}:iam::${g.account}:group${g.path}${g.name}`
}
export function roleArn(partition: string, r: { account: string; path: string; name: string }): string {
  return `arn:${partition}:iam::${r.account}:role${r.path}${r.name}`
}
export function policyArn(partition: string, account: string, path: string, name: string): string {
  return `arn:${partition}:iam::${account}:policy${path}${name}`
}
export function sessionArn(partition: string, account: string, role: string, session: string): string {
  return `arn:${partition}:sts::${account}:assumed-role/${role}/${session}`
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** A random IAM unique id or key id: prefix + upper-case base32 (AIDA..., AROA..., AKIA..., ASIA...). */
export function randomId(prefix: string, length = 17): string {
  const bytes = randomBytes(length)
  let out = prefix
  for (let i = 0; i < length; i++) out += B32[bytes[i]! & 31]
  return out
}

/** 40 characters, like AWS's secrets. */
export function randomSecret(): string {
  return randomBytes(30).toString('base64')
}

/** An opaque session token (AWS's are long base64 blobs; clients only echo them). */
export function randomSessionToken(): string {
  return 'IQoJbXJhcA' + randomBytes(180).toString('base64')
}

/** IAM dates: ISO 8601 with seconds, `2024-01-02T03:04:05Z`. */
export function iamDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

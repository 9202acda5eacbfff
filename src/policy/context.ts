/**
 * @module Builds the IAM request context of an S3 request from typed facts. Keys come out
 * lower-cased (IAM key names are case-insensitive; lower case makes lookups one property read).
 * Through a VPC endpoint the request carries aws:SourceVpce, aws:SourceVpc and aws:VpcSourceIp,
 * and no aws:SourceIp.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html
 */
import type { AuthzPrincipal } from './request.js'

export interface S3RequestFacts {
  principal: AuthzPrincipal
  /** Request time in epoch milliseconds (the engine never reads a clock). */
  timeMs: number
  secureTransport: boolean
  /** Client address on the public path; omitted when through a VPC endpoint. */
  sourceIp?: string
  /** Set when the request came through an interface VPC endpoint. */
  vpc?: { endpointId: string; vpcId: string; sourceIp: string }
  /** Set for requests through an access point or MRAP. */
  dataAccessPoint?: { arn: string; account: string }
  /** ListObjects parameters. */
  prefix?: string
  delimiter?: string
  maxKeys?: number
  /** x-amz-* request headers that S3 exposes as keys, names lower-case (e.g. `x-amz-acl`). */
  amzHeaders?: Readonly<Record<string, string>>
  existingObjectTags?: Readonly<Record<string, string>>
  requestObjectTags?: Readonly<Record<string, string>>
  versionId?: string
  /**
   * Object Lock values of PutObject (headers) or PutObjectRetention/PutObjectLegalHold (body), as
   * the request states them: s3:object-lock-mode, -retain-until-date, -legal-hold, and
   * -remaining-retention-days counted from timeMs.
   */
  objectLock?: { mode?: string; retainUntilDate?: string; legalHold?: string }
  /** `AWS4-HMAC-SHA256` or `AWS4-ECDSA-P256-SHA256` (docs/aws/mrap.md §Where AWS is silent). */
  signatureVersion?: string
  /** `REST-HEADER`, `REST-QUERY-STRING` or `POST`. */
  authType?: string
  tlsVersion?: string
  /** Milliseconds since the signature date. */
  signatureAgeMs?: number
  multiFactorAuthPresent?: boolean
  tokenIssueTimeMs?: number
}

/** The request context for authorize(); aws:ResourceAccount is added per context by authorize. */
export function buildS3Context(f: S3RequestFacts): Record<string, string[]> {
  const c: Record<string, string[]> = {}
  const p = f.principal
  c['aws:currenttime'] = [new Date(f.timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z')]
  c['aws:epochtime'] = [String(Math.floor(f.timeMs / 1000))]
  c['aws:securetransport'] = [f.secureTransport ? 'true' : 'false']
  if (p.type !== 'Anonymous') {
    c['aws:principalaccount'] = [p.accountId]
    c['aws:principalarn'] = [p.roleArn ?? p.arn]
    c['aws:principaltype'] = [p.type]
    if (p.userId !== undefined) c['aws:userid'] = [p.userId]
    // aws:username is present for IAM users only.
    if (p.type === 'User' && p.username !== undefined) c['aws:username'] = [p.username]
    if (p.tags) {
      for (const [k, v] of Object.entries(p.tags)) c[`aws:principaltag/${k.toLowerCase()}`] = [v]
      c['aws:principaltagkeys'] = Object.keys(p.tags)
    }
  } else {
    c['aws:principaltype'] = ['Anonymous']
    c['aws:principalaccount'] = ['anonymous']
    c['aws:userid'] = ['anonymous']
  }
  if (f.vpc) {
    c['aws:sourcevpce'] = [f.vpc.endpointId]
    c['aws:sourcevpc'] = [f.vpc.vpcId]
    c['aws:vpcsourceip'] = [f.vpc.sourceIp]
  } else if (f.sourceIp !== undefined) {
    c['aws:sourceip'] = [f.sourceIp]
  }
  if (f.multiFactorAuthPresent !== undefined) c['aws:multifactorauthpresent'] = [String(f.multiFactorAuthPresent)]
  if (f.tokenIssueTimeMs !== undefined) c['aws:tokenissuetime'] = [new Date(f.tokenIssueTimeMs).toISOString()]
  if (f.dataAccessPoint) {
    c['s3:dataaccesspointarn'] = [f.dataAccessPoint.arn]
    c['s3:dataaccesspointaccount'] = [f.dataAccessPoint.account]
  }
  if (f.prefix !== undefined) c['s3:prefix'] = [f.prefix]
  if (f.delimiter !== undefined) c['s3:delimiter'] = [f.delimiter]
  if (f.maxKeys !== undefined) c['s3:max-keys'] = [String(f.maxKeys)]
  if (f.versionId !== undefined) c['s3:versionid'] = [f.versionId]
  const lock = f.objectLock
  if (lock) {
    if (lock.mode !== undefined) c['s3:object-lock-mode'] = [lock.mode]
    if (lock.legalHold !== undefined) c['s3:object-lock-legal-hold'] = [lock.legalHold]
    if (lock.retainUntilDate !== undefined) {
      c['s3:object-lock-retain-until-date'] = [lock.retainUntilDate]
      const until = Date.parse(lock.retainUntilDate)
      // Whole days left, a part day counting as one; absent when the date does not parse.
      if (Number.isFinite(until)) c['s3:object-lock-remaining-retention-days'] = [String(Math.max(0, Math.ceil((until - f.timeMs) / 86_400_000)))]
    }
  }
  for (const [h, v] of Object.entries(f.amzHeaders ?? {})) c[`s3:${h.toLowerCase()}`] = [v]
  if (f.existingObjectTags) {
    for (const [k, v] of Object.entries(f.existingObjectTags)) c[`s3:existingobjecttag/${k.toLowerCase()}`] = [v]
  }
  if (f.requestObjectTags) {
    for (const [k, v] of Object.entries(f.requestObjectTags)) c[`s3:requestobjecttag/${k.toLowerCase()}`] = [v]
    c['s3:requestobjecttagkeys'] = Object.keys(f.requestObjectTags)
  }
  if (f.signatureVersion !== undefined) c['s3:signatureversion'] = [f.signatureVersion]
  if (f.authType !== undefined) c['s3:authtype'] = [f.authType]
  if (f.tlsVersion !== undefined) c['s3:tlsversion'] = [f.tlsVersion]
  if (f.signatureAgeMs !== undefined) c['s3:signatureage'] = [String(f.signatureAgeMs)]
  return c
}

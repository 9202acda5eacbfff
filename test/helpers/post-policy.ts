/**
 * The fields of a browser form upload with a SigV4 POST policy, built as an application's server
 * builds them for its page ("Creating a POST Policy" and "Calculating a Signature",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html): the policy is
 * base64 JSON, signed as that base64 text with the SigV4 signing key of the credential's scope.
 * Independent of the server's code on purpose: node:crypto only.
 */
import { createHmac } from 'node:crypto'
import { ADMIN } from './server.js'

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest()

export function signPostPolicy(policyB64: string, secret: string, date: string, region: string): string {
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request')
  return createHmac('sha256', key).update(policyB64, 'utf8').digest('hex')
}

export interface PostPolicyOptions {
  bucket: string
  key: string
  /** Conditions besides bucket and the x-amz-* ones; `{ key }` is added when none names `$key`. */
  conditions?: unknown[]
  expires?: Date
  creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  region?: string
  /** Sign this text as the policy instead of the one built (for malformed documents). */
  rawPolicy?: string
  now?: Date
}

/** The form fields, in the order a page sends them (the file goes after them). */
export function postPolicyFields(o: PostPolicyOptions): Record<string, string> {
  const creds: NonNullable<PostPolicyOptions['creds']> = o.creds ?? ADMIN
  const region = o.region ?? 'us-east-1'
  const now = o.now ?? new Date()
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const date = amzDate.slice(0, 8)
  const credential = `${creds.accessKeyId}/${date}/${region}/s3/aws4_request`
  const conditions = [...(o.conditions ?? [])]
  if (!conditions.some((c) => (Array.isArray(c) ? c[1] === '$key' : typeof c === 'object' && c !== null && 'key' in c))) conditions.push({ key: o.key })
  const doc = {
    expiration: (o.expires ?? new Date(now.getTime() + 10 * 60_000)).toISOString(),
    conditions: [{ bucket: o.bucket }, ...conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
  }
  // "If the request is using session credentials, it requires one x-amz-security-token form" field.
  if (creds.sessionToken) doc.conditions.push({ 'x-amz-security-token': creds.sessionToken })
  const policy = Buffer.from(o.rawPolicy ?? JSON.stringify(doc)).toString('base64')
  return {
    key: o.key,
    'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    'x-amz-credential': credential,
    'x-amz-date': amzDate,
    ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
    policy,
    'x-amz-signature': signPostPolicy(policy, creds.secretAccessKey, date, region),
  }
}

/**
 * @module Where a region's upstream S3 engine is and how mrap names its buckets there. The world
 * file declares it (src/world/schema.ts `storage`); secrets come from environment variables the
 * file names, so a world file never holds one.
 */
import { s3Error } from '../../shared/errors.js'

export interface UpstreamConfig {
  /** http(s)://host:port of the engine's S3 API. */
  endpoint: string
  /** The engine's region name, used only to sign (SigV4 scope). */
  region: string
  /** Path-style (`host/bucket/key`) unless the engine serves virtual-hosted names. */
  forcePathStyle: boolean
  accessKeyId: string
  secretAccessKey: string
  /** How an mrap bucket is named on the engine; placeholders {bucket} and {region}. */
  bucketTemplate: string
  /** Milliseconds to open a TCP connection before the engine counts as down. */
  connectTimeoutMs?: number
  /** Milliseconds a request may sit without a byte either way. */
  requestTimeoutMs?: number
  /** Keep-alive sockets per engine. */
  maxSockets?: number
}

export const BUCKET_PLACEHOLDERS = ['bucket', 'region'] as const

/**
 * Checks a template: only known placeholders, {bucket} exactly once (two mrap buckets must never
 * share an engine bucket: CloudServer's `bucketMatch` mode let them overwrite each other), and
 * literal text that can appear in a bucket name. Returns a problem, or undefined.
 */
export function templateProblem(template: string): string | undefined {
  const names = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!)
  const unknown = names.filter((n) => !(BUCKET_PLACEHOLDERS as readonly string[]).includes(n))
  if (unknown.length) return `unknown placeholder {${unknown[0]}}; use {bucket} and {region}`
  if (names.filter((n) => n === 'bucket').length !== 1) return 'the template must contain {bucket} exactly once'
  const literal = template.replace(/\{(bucket|region)\}/g, '')
  if (!/^[a-z0-9.-]*$/.test(literal)) return 'outside placeholders only a-z 0-9 . - may appear in a bucket name'
  if (literal.length > 60) return 'the literal part leaves no room for the bucket name (63 characters at most)'
  return undefined
}

/** True when `name` follows S3's general purpose bucket naming rules. */
export function isValidS3BucketName(name: string): boolean {
  return (
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.startsWith('sthree-') &&
    !name.endsWith('-s3alias') &&
    !name.endsWith('--ol-s3')
  )
}

/** The engine bucket of an mrap bucket; InvalidBucketName when the template makes an invalid one. */
export function engineBucketName(template: string, region: string, bucket: string): string {
  const name = template.replace(/\{bucket\}/g, bucket).replace(/\{region\}/g, region)
  if (!isValidS3BucketName(name)) throw s3Error('InvalidBucketName', { fields: { BucketName: bucket } })
  return name
}

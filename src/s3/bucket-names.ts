/**
 * @module Bucket naming rules for new buckets (general purpose buckets):
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * Legacy names (capitals, underscores) exist only when a world file declares them.
 */
import { s3Error } from '../shared/errors.js'

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']

export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'Bucket names must be between 3 (min) and 63 (max) characters long.'
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'Bucket names can consist only of lowercase letters, numbers, periods (.), and hyphens (-), and must begin and end with a letter or number.'
  if (name.includes('..')) return 'Bucket names must not contain two adjacent periods.'
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'Bucket names must not be formatted as an IP address.'
  const p = RESERVED_PREFIXES.find((x) => name.startsWith(x))
  if (p) return `Bucket names must not start with the prefix ${p}.`
  const s = RESERVED_SUFFIXES.find((x) => name.endsWith(x))
  if (s) return `Bucket names must not end with the suffix ${s}.`
  return undefined
}

export function assertValidBucketName(name: string): void {
  const problem = bucketNameProblem(name)
  if (problem) throw s3Error('InvalidBucketName', { message: `The specified bucket is not valid. ${problem}`, fields: { BucketName: name } })
}

/** Names S3 can still address (legacy buckets included): used when parsing requests. */
export function isAddressableBucketName(name: string): boolean {
  return name.length >= 3 && name.length <= 255 && /^[A-Za-z0-9._-]+$/.test(name)
}

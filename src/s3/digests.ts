/**
 * @module Which digests a request body must be checked against, from its headers: Content-MD5 and
 * the flexible checksums (a header value, or an algorithm whose value comes in the aws-chunked
 * trailer, which the auth decoder checks). Hashing itself is src/shared/checksums.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { type ChecksumAlgorithm, ChecksumStream, parseChecksumHeaders, parseContentMd5 } from '../shared/checksums.js'
import { type Headers, header } from './headers.js'

/**
 * A pass-through stream that hashes the body (MD5 for the ETag, plus every checksum the request
 * names and `extra`) and fails before its end when Content-MD5 or a header checksum does not match.
 */
export function bodyDigester(h: Headers, extra: readonly ChecksumAlgorithm[] = []): ChecksumStream {
  const parsed = parseChecksumHeaders(h)
  const md5 = header(h, 'content-md5')
  const algorithms = new Set<ChecksumAlgorithm>(extra)
  if (parsed.sdkAlgorithm) algorithms.add(parsed.sdkAlgorithm)
  if (parsed.trailer) algorithms.add(parsed.trailer)
  const expected: ConstructorParameters<typeof ChecksumStream>[0] = { algorithms: [...algorithms], expected: {} }
  if (md5 !== undefined) expected.expected!.contentMd5 = parseContentMd5(md5)
  if (parsed.checksum) expected.expected!.checksum = parsed.checksum
  return new ChecksumStream(expected)
}

export function isChecksumAlgorithm(v: string): v is ChecksumAlgorithm {
  return ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'].includes(v)
}

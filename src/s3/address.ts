/**
 * @module S3 addressing: the bucket and key a request names (path style, or virtual-host style from
 * the Host), and the query the operations see. Shared by the direct S3 path and the MRAP data plane.
 */

import type { Target } from '../http/target.js'
import { s3Error } from '../shared/errors.js'

/**
 * The query the S3 operations see. A presigned URL's own X-Amz-* parameters mean nothing to them
 * (authentication reads the raw query; no operation reads an X-Amz-* parameter), so a query made of
 * nothing else becomes an empty one without URLSearchParams parsing it per request.
 */
export function s3Query(raw: string): URLSearchParams {
  if (raw === '' || onlyAmzParams(raw)) return new URLSearchParams()
  return new URLSearchParams(raw)
}

function onlyAmzParams(raw: string): boolean {
  // The spellings clients use; any other casing just takes the general path.
  let start = 0
  while (start < raw.length) {
    const amp = raw.indexOf('&', start)
    const end = amp < 0 ? raw.length : amp
    if (end > start && !raw.startsWith('X-Amz-', start) && !raw.startsWith('x-amz-', start)) return false
    start = end + 1
  }
  return true
}

export interface Addressed {
  bucket?: string
  key?: string
}

/** Bucket and key from the path (path style) or from the Host (virtual-host style). */
export function addressOf(target: Target, rawPath: string): Addressed {
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    throw s3Error('InvalidURI', { fields: { URI: rawPath } })
  }
  if (target.kind === 'bucket') {
    const key = path.slice(1)
    return key === '' ? { bucket: target.bucket } : { bucket: target.bucket, key }
  }
  const rest = path.slice(1)
  if (rest === '') return {}
  const slash = rest.indexOf('/')
  if (slash < 0) return { bucket: rest }
  const key = rest.slice(slash + 1)
  return key === '' ? { bucket: rest.slice(0, slash) } : { bucket: rest.slice(0, slash), key }
}

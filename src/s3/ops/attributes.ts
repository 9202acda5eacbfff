/**
 * @module GetObjectAttributes: HeadObject and ListParts in one call, the attributes named in
 * x-amz-object-attributes. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 */
import { invalidArgument } from '../../shared/errors.js'
import type { Checksums, ObjectVersion } from '../../storage/types.js'
import { type ObjectRequest, type S3Response, xmlResponse } from '../context.js'
import { header, httpDate } from '../headers.js'
import { checkReadKey, customerKeyOf } from '../sse-c.js'
import { renderXml, type XmlObject } from '../xml.js'
import { findVersion } from './object.js'

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'])

/** S3's element order inside <Checksum> and <Part>. */
const CHECKSUM_ORDER = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const

function checksumFields(sums: Checksums): XmlObject {
  const out: XmlObject = {}
  for (const alg of CHECKSUM_ORDER) if (sums[alg]) out[`Checksum${alg}`] = sums[alg]
  return out
}

/** The attributes asked for: a comma-separated list (the SDKs send one header, the CLI too). */
function wanted(req: ObjectRequest): Set<string> {
  const raw = header(req.headers, 'x-amz-object-attributes')
  const names = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (names.length === 0) throw invalidArgument('x-amz-object-attributes', raw ?? '', 'Empty attribute list specified')
  for (const n of names) if (!ATTRIBUTES.has(n)) throw invalidArgument('x-amz-object-attributes', n, 'Invalid attribute name specified.')
  return new Set(names)
}

function intHeader(req: ObjectRequest, name: string, dflt: number): number {
  const raw = header(req.headers, name)?.trim()
  if (raw === undefined || raw === '') return dflt
  if (!/^\d{1,9}$/.test(raw)) throw invalidArgument(name, raw, `Provided ${name} not an integer or within integer range`)
  return Number(raw)
}

function objectParts(req: ObjectRequest, v: ObjectVersion): XmlObject | undefined {
  if (!v.parts) return undefined
  const maxParts = Math.min(intHeader(req, 'x-amz-max-parts', 1000), 1000)
  const marker = intHeader(req, 'x-amz-part-number-marker', 0)
  const after = v.parts.filter((p) => p.partNumber > marker)
  const page = after.slice(0, maxParts)
  const truncated = after.length > page.length
  return {
    // TotalPartsCount in the SDKs' model, PartsCount on the wire.
    PartsCount: v.parts.length,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: truncated,
    Part: page.map((p) => ({ ...checksumFields(p.checksums), PartNumber: p.partNumber, Size: p.size })),
  }
}

export async function getObjectAttributes(req: ObjectRequest): Promise<S3Response> {
  // Validated before the read: a malformed request is refused whether or not the key exists.
  const names = wanted(req)
  // A delete marker answers as HeadObject's does (404 with x-amz-delete-marker, or 405 for its version id).
  const { version: v } = await findVersion(req)
  // "you must use the following headers" for an SSE-C object's metadata (GetObjectAttributes API reference).
  checkReadKey(v, customerKeyOf(req.headers))
  const sums = checksumFields(v.checksums)
  const hasChecksum = Object.keys(sums).length > 0
  const body: XmlObject = {
    // Unquoted, unlike every other ETag S3 sends (the API reference's example shows it so).
    ETag: names.has('ETag') ? v.etag : undefined,
    Checksum: names.has('Checksum') && hasChecksum ? { ...sums, ChecksumType: v.checksumType } : undefined,
    ObjectParts: names.has('ObjectParts') ? objectParts(req, v) : undefined,
    StorageClass: names.has('StorageClass') ? (v.storageClass ?? 'STANDARD') : undefined,
    ObjectSize: names.has('ObjectSize') ? v.size : undefined,
  }
  const headers: Record<string, string> = { 'last-modified': httpDate(v.lastModified) }
  if (v.versionId !== 'null' || req.query.has('versionId')) headers['x-amz-version-id'] = v.versionId
  return xmlResponse(renderXml('GetObjectAttributesResponse', body), 200, headers)
}

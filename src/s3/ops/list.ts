/**
 * @module Listing: ListObjects (v1), ListObjectsV2, ListObjectVersions.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */

import { uriEncode } from '../../auth/canonical.js'
import { invalidArgument } from '../../shared/errors.js'
import type { ObjectVersion } from '../../storage/types.js'
import { objectOwner } from '../acl.js'
import { type BucketRequest, ownerOf, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { intParam } from '../headers.js'
import { renderXml, type XmlObject } from '../xml.js'
import { storeOf } from './object.js'

const identity = (s: string | undefined): string | undefined => s
const urlEncode = (s: string | undefined): string | undefined => (s === undefined ? s : uriEncode(s).replace(/%2F/g, '/'))

/**
 * encoding-type=url: the key-like fields are percent-encoded as UTF-8, unreserved characters and '/'
 * kept, a space as %20 (never '+', so a key with a space and one with a '+' stay apart). Which fields:
 * the API reference's EncodingType entries — ListObjectsV2: Delimiter, Prefix, Key, StartAfter;
 * ListObjects: Delimiter, Marker, Prefix, NextMarker, Key; ListObjectVersions: KeyMarker,
 * NextKeyMarker, Prefix, Key, Delimiter — and, as S3 does, CommonPrefixes/Prefix. Tokens and version
 * ids are opaque and never encoded. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 * botocore decodes these fields with unquote_plus when it set encoding-type itself, so %20 and '+'
 * both decode for it; the Ceph s3-tests suite, run against AWS, expects %20 (test_bucket_list_encoding_basic).
 */
function encoder(req: S3Request): (s: string | undefined) => string | undefined {
  const et = req.query.get('encoding-type')
  if (et === null) return identity
  if (et !== 'url') throw invalidArgument('encoding-type', et, 'Invalid Encoding Method specified in Request')
  return urlEncode
}

function owner(req: BucketRequest, o?: ObjectVersion): XmlObject {
  return ownerOf(objectOwner(req.bucket, o))
}

function contents(req: BucketRequest, objs: ObjectVersion[], enc: (s: string) => string | undefined, withOwner: boolean): XmlObject[] {
  return objs.map((o) => ({
    Key: enc(o.key),
    LastModified: o.lastModified,
    ETag: `"${o.etag}"`,
    ChecksumAlgorithm: Object.keys(o.checksums).length > 0 ? Object.keys(o.checksums) : undefined,
    ChecksumType: Object.keys(o.checksums).length > 0 ? o.checksumType : undefined,
    Size: o.size,
    Owner: withOwner ? owner(req, o) : undefined,
    StorageClass: o.storageClass ?? 'STANDARD',
  }))
}

/** The parameters every listing shares (prefix, delimiter, max-keys, encoding-type). */
function listParams(req: S3Request): { q: URLSearchParams; enc: (s: string | undefined) => string; maxKeys: number; prefix: string; delimiter: string | undefined } {
  const q = req.query
  return {
    q,
    enc: encoder(req) as (s: string | undefined) => string,
    maxKeys: intParam(q, 'max-keys', 1000),
    prefix: q.get('prefix') ?? '',
    // An empty delimiter is no delimiter, and S3 does not echo it.
    delimiter: q.get('delimiter') || undefined,
  }
}

export async function listObjectsV2(req: BucketRequest): Promise<S3Response> {
  const { q, enc, maxKeys, prefix, delimiter } = listParams(req)
  const token = q.get('continuation-token')
  const startAfter = q.get('start-after') ?? undefined
  let after = startAfter
  // An empty token is no token (S3 lists from the start and echoes the empty ContinuationToken).
  if (token !== null && token !== '') {
    const decoded = Buffer.from(token, 'base64url').toString('utf8')
    if (!decoded.startsWith('k:')) throw invalidArgument('continuation-token', token, 'The continuation token provided is incorrect')
    after = decoded.slice(2)
  }
  const page = await storeOf(req).listObjects(req.bucket.name, { prefix, ...(delimiter ? { delimiter } : {}), ...(after !== undefined ? { after } : {}), maxKeys })
  const next = page.isTruncated && page.nextAfter !== undefined ? Buffer.from('k:' + page.nextAfter).toString('base64url') : undefined
  return xmlResponse(
    renderXml('ListBucketResult', {
      Name: req.bucket.name,
      Prefix: enc(prefix),
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      MaxKeys: maxKeys,
      EncodingType: q.get('encoding-type') ?? undefined,
      KeyCount: page.objects.length + page.commonPrefixes.length,
      IsTruncated: page.isTruncated,
      ContinuationToken: token ?? undefined,
      NextContinuationToken: next,
      StartAfter: startAfter !== undefined ? enc(startAfter) : undefined,
      Contents: contents(req, page.objects, enc, q.get('fetch-owner') === 'true'),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    }),
  )
}

export async function listObjects(req: BucketRequest): Promise<S3Response> {
  const { q, enc, maxKeys, prefix, delimiter } = listParams(req)
  const marker = q.get('marker') ?? ''
  const page = await storeOf(req).listObjects(req.bucket.name, { prefix, ...(delimiter ? { delimiter } : {}), ...(marker ? { after: marker } : {}), maxKeys })
  return xmlResponse(
    renderXml('ListBucketResult', {
      Name: req.bucket.name,
      Prefix: enc(prefix),
      Marker: enc(marker),
      // S3 returns NextMarker only with a delimiter; clients otherwise use the last key.
      NextMarker: page.isTruncated && delimiter ? enc(page.nextAfter) : undefined,
      MaxKeys: maxKeys,
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      EncodingType: q.get('encoding-type') ?? undefined,
      IsTruncated: page.isTruncated,
      Contents: contents(req, page.objects, enc, true),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    }),
  )
}

export async function listObjectVersions(req: BucketRequest): Promise<S3Response> {
  const { q, enc, maxKeys, prefix, delimiter } = listParams(req)
  const keyMarker = q.get('key-marker') ?? undefined
  const versionIdMarker = q.get('version-id-marker') ?? undefined
  if (versionIdMarker !== undefined && !keyMarker) throw invalidArgument('version-id-marker', versionIdMarker, 'A version-id marker cannot be specified without a key marker.')
  const page = await storeOf(req).listVersions(req.bucket.name, {
    prefix,
    ...(delimiter ? { delimiter } : {}),
    ...(keyMarker ? { keyMarker } : {}),
    ...(versionIdMarker ? { versionIdMarker } : {}),
    maxKeys,
  })
  const versions = page.versions.filter((v) => !v.isDeleteMarker)
  const markers = page.versions.filter((v) => v.isDeleteMarker)
  return xmlResponse(
    renderXml('ListVersionsResult', {
      Name: req.bucket.name,
      Prefix: enc(prefix),
      KeyMarker: enc(keyMarker ?? ''),
      VersionIdMarker: versionIdMarker ?? '',
      NextKeyMarker: page.isTruncated ? enc(page.nextKeyMarker) : undefined,
      NextVersionIdMarker: page.isTruncated ? page.nextVersionIdMarker : undefined,
      MaxKeys: maxKeys,
      Delimiter: delimiter !== undefined ? enc(delimiter) : undefined,
      EncodingType: q.get('encoding-type') ?? undefined,
      IsTruncated: page.isTruncated,
      Version: versions.map((v) => ({
        Key: enc(v.key),
        VersionId: v.versionId,
        IsLatest: v.isLatest,
        LastModified: v.lastModified,
        ETag: `"${v.etag}"`,
        ChecksumAlgorithm: Object.keys(v.checksums).length > 0 ? Object.keys(v.checksums) : undefined,
        Size: v.size,
        Owner: owner(req, v),
        StorageClass: v.storageClass ?? 'STANDARD',
      })),
      DeleteMarker: markers.map((v) => ({ Key: enc(v.key), VersionId: v.versionId, IsLatest: v.isLatest, LastModified: v.lastModified, Owner: owner(req, v) })),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    }),
  )
}

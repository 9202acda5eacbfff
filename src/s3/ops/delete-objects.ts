/**
 * @module DeleteObjects (multi-object delete): each key is authorized and deleted on its own; errors
 * are reported per key, never for the whole request. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */

import { createHash } from 'node:crypto'
import { S3Error, s3Error } from '../../shared/errors.js'
import { type BucketRequest, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { header } from '../headers.js'
import { list, parseXmlBody, renderXml, text, type XmlObject } from '../xml.js'
import { storeOf } from './object.js'
import { deleteRefusal, serialized, versionToDelete } from './object-lock.js'

const MAX_KEYS = 1000

export async function deleteObjects(req: BucketRequest): Promise<S3Response> {
  const raw = await readSmallBody(req.body, 2 * 1024 * 1024)
  // S3 requires an integrity header on this call: Content-MD5 or a flexible checksum.
  const md5 = header(req.headers, 'content-md5')
  const hasChecksum = Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-')) || header(req.headers, 'x-amz-sdk-checksum-algorithm') !== undefined
  if (md5 === undefined && !hasChecksum) throw s3Error('InvalidRequest', { message: 'Missing required header for this request: Content-MD5' })
  if (md5 !== undefined && createHash('md5').update(raw).digest('base64') !== md5) throw s3Error('BadDigest')
  const doc = parseXmlBody(raw, 'Delete')
  const quiet = text(doc.Quiet) === 'true'
  const objects = list(doc.Object)
  if (objects.length === 0) throw s3Error('MalformedXML')
  if (objects.length > MAX_KEYS) throw s3Error('MalformedXML', { message: `The request contained more than ${MAX_KEYS} keys.` })
  const deleted: XmlObject[] = []
  const errors: XmlObject[] = []
  const store = storeOf(req)
  for (const o of objects) {
    const obj = o as Record<string, unknown>
    const key = text(obj.Key)
    const versionId = text(obj.VersionId)
    if (key === undefined) throw s3Error('MalformedXML')
    const action = versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion'
    if (!req.allowed(action, key)) {
      errors.push({ Key: key, VersionId: versionId, Code: 'AccessDenied', Message: 'Access Denied' })
      continue
    }
    try {
      const r =
        versionId === undefined
          ? await store.deleteObject(req.bucket.name, key, { versioning: req.bucket.versioning })
          : await serialized(req.bucket, key, async () => {
              // A protected version is refused per key, as S3 reports it in <Error>.
              const v = await versionToDelete(req, key, versionId)
              const refused = v && deleteRefusal(req, v)
              if (refused) throw refused
              return store.deleteObject(req.bucket.name, key, { versionId, versioning: req.bucket.versioning })
            })
      await req.core.replication.deleted(req.bucket, key, r, versionId)
      if (!quiet) {
        deleted.push({
          Key: key,
          VersionId: versionId,
          DeleteMarker: r.deleteMarker ? true : undefined,
          DeleteMarkerVersionId: r.deleteMarker && req.bucket.versioning !== 'Unversioned' ? r.versionId : undefined,
        })
      }
    } catch (e) {
      const err = e instanceof S3Error ? e : s3Error('InternalError')
      // Deleting a key or version that does not exist is a success in S3.
      if (err.code === 'NoSuchKey' || err.code === 'NoSuchVersion') {
        if (!quiet) deleted.push({ Key: key, VersionId: versionId })
        continue
      }
      errors.push({ Key: key, VersionId: versionId, Code: err.code, Message: err.message })
    }
  }
  return xmlResponse(renderXml('DeleteResult', { Deleted: deleted, Error: errors }))
}

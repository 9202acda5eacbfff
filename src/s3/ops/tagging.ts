/**
 * @module Object tagging (Get/Put/DeleteObjectTagging) and bucket tagging.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
 */
import { s3Error } from '../../shared/errors.js'
import type { Tag } from '../../storage/types.js'
import { type BucketRequest, empty, type ObjectRequest, readSmallBody, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { validateTags } from '../headers.js'
import { list, parseXmlBody, renderXml, text } from '../xml.js'
import { storeOf } from './object.js'

export function parseTagging(raw: Buffer, max: number): Tag[] {
  const doc = parseXmlBody(raw, 'Tagging')
  const set = doc.TagSet
  if (set === undefined) throw s3Error('MalformedXML')
  const tags = list((set as Record<string, unknown> | '') === '' ? undefined : (set as Record<string, unknown>).Tag).map((t) => {
    const o = t as Record<string, unknown>
    const Key = text(o.Key)
    const Value = text(o.Value) ?? ''
    if (Key === undefined) throw s3Error('MalformedXML')
    return { Key, Value }
  })
  validateTags(tags, max)
  return tags
}

function renderTagging(tags: Tag[]): string {
  return renderXml('Tagging', { TagSet: { Tag: tags.map((t) => ({ Key: t.Key, Value: t.Value })) } })
}

function versionOf(req: S3Request): string | undefined {
  return req.query.get('versionId') ?? undefined
}

function versionHeader(versionId: string): Record<string, string> {
  return versionId === 'null' ? {} : { 'x-amz-version-id': versionId }
}

export async function getObjectTagging(req: ObjectRequest): Promise<S3Response> {
  const { version } = await storeOf(req).getObject(req.bucket.name, req.key, versionOf(req))
  return xmlResponse(renderTagging(version.tags), 200, versionHeader(version.versionId))
}

export async function putObjectTagging(req: ObjectRequest): Promise<S3Response> {
  const tags = parseTagging(await readSmallBody(req.body), 10)
  const v = await storeOf(req).updateObject(req.bucket.name, req.key, versionOf(req), { tags })
  await req.core.replication.updated(req.bucket, v)
  return empty(200, versionHeader(v.versionId))
}

export async function deleteObjectTagging(req: ObjectRequest): Promise<S3Response> {
  const v = await storeOf(req).updateObject(req.bucket.name, req.key, versionOf(req), { tags: [] })
  await req.core.replication.updated(req.bucket, v)
  return empty(204, versionHeader(v.versionId))
}

export async function getBucketTagging(req: BucketRequest): Promise<S3Response> {
  const tags = req.bucket.tags
  if (!tags || tags.length === 0) throw s3Error('NoSuchTagSet', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(renderTagging(tags))
}

export async function putBucketTagging(req: BucketRequest): Promise<S3Response> {
  const tags = parseTagging(await readSmallBody(req.body), 50)
  await req.core.state.updateBucket(req.bucket.name, { tags })
  return empty(204)
}

export async function deleteBucketTagging(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { tags: undefined })
  return empty(204)
}

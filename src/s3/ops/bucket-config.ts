/**
 * @module Bucket configurations kept in the control state: policy, policy status, Block Public Access,
 * replication. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html and neighbours.
 */
import { s3Error } from '../../shared/errors.js'
import type { BlockPublicAccess } from '../../state/control-store.js'
import { type BucketRequest, empty, readSmallBody, type S3Response, xmlResponse } from '../context.js'
import { list, parseXmlBody, renderXml, text } from '../xml.js'

const POLICY_LIMIT = 20 * 1024

/** The effective Block Public Access of a bucket: bucket and owner-account settings OR-ed. */
export function effectiveBpa(req: BucketRequest): BlockPublicAccess {
  const b = req.bucket.publicAccessBlock
  const a = req.core.checks.accountBpa(req.bucket.owner)
  const or = (k: keyof BlockPublicAccess) => Boolean(b?.[k]) || Boolean(a?.[k])
  return {
    BlockPublicAcls: or('BlockPublicAcls'),
    IgnorePublicAcls: or('IgnorePublicAcls'),
    BlockPublicPolicy: or('BlockPublicPolicy'),
    RestrictPublicBuckets: or('RestrictPublicBuckets'),
  }
}

export async function putBucketPolicy(req: BucketRequest): Promise<S3Response> {
  const raw = await readSmallBody(req.body, POLICY_LIMIT + 1)
  if (raw.length > POLICY_LIMIT) throw s3Error('MalformedPolicy', { message: 'Policies must be no larger than 20 KB' })
  const textBody = raw.toString('utf8')
  const problem = req.core.checks.bucketPolicyProblem(textBody, req.bucket.name)
  if (problem) throw s3Error('MalformedPolicy', { message: problem })
  if (effectiveBpa(req).BlockPublicPolicy && req.core.checks.isPublic(textBody)) throw s3Error('AccessDenied')
  await req.core.state.updateBucket(req.bucket.name, { policy: textBody })
  return empty(204)
}

export async function getBucketPolicy(req: BucketRequest): Promise<S3Response> {
  const p = req.bucket.policy
  if (p === undefined) throw s3Error('NoSuchBucketPolicy', { fields: { BucketName: req.bucket.name } })
  return { status: 200, headers: { 'content-type': 'application/json' }, body: p }
}

export async function deleteBucketPolicy(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { policy: undefined })
  return empty(204)
}

export async function getBucketPolicyStatus(req: BucketRequest): Promise<S3Response> {
  const p = req.bucket.policy
  if (p === undefined) throw s3Error('NoSuchBucketPolicy', { fields: { BucketName: req.bucket.name } })
  const isPublic = req.core.checks.isPublic(p)
  return xmlResponse(renderXml('PolicyStatus', { IsPublic: isPublic }))
}

const BPA_KEYS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const

export function parseBpa(raw: Buffer): BlockPublicAccess {
  const doc = parseXmlBody(raw, 'PublicAccessBlockConfiguration')
  const out = {} as BlockPublicAccess
  for (const k of BPA_KEYS) {
    const v = text(doc[k])
    if (v !== undefined && v !== 'true' && v !== 'false') throw s3Error('MalformedXML')
    out[k] = v === 'true'
  }
  return out
}

export function renderBpa(b: BlockPublicAccess): string {
  return renderXml('PublicAccessBlockConfiguration', { ...b })
}

export async function getPublicAccessBlock(req: BucketRequest): Promise<S3Response> {
  const b = req.bucket.publicAccessBlock
  if (!b) throw s3Error('NoSuchPublicAccessBlockConfiguration', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(renderBpa(b))
}

export async function putPublicAccessBlock(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { publicAccessBlock: parseBpa(await readSmallBody(req.body)) })
  return empty(200)
}

export async function deletePublicAccessBlock(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { publicAccessBlock: undefined })
  return empty(204)
}

export async function putBucketReplication(req: BucketRequest): Promise<S3Response> {
  const raw = await readSmallBody(req.body)
  const doc = parseXmlBody(raw, 'ReplicationConfiguration')
  if (text(doc.Role) === undefined || list(doc.Rule).length === 0) throw s3Error('MalformedXML')
  if (req.bucket.versioning !== 'Enabled') {
    throw s3Error('InvalidRequest', { message: "Versioning must be 'Enabled' on the bucket to apply a replication configuration" })
  }
  const problem = req.core.replication.validate(req.bucket, doc)
  if (problem) throw problem
  await req.core.state.updateBucket(req.bucket.name, { replication: raw.toString('utf8') })
  return empty(200)
}

export async function getBucketReplication(req: BucketRequest): Promise<S3Response> {
  const r = req.bucket.replication
  if (r === undefined) throw s3Error('ReplicationConfigurationNotFoundError', { fields: { BucketName: req.bucket.name } })
  return xmlResponse(r)
}

export async function deleteBucketReplication(req: BucketRequest): Promise<S3Response> {
  await req.core.state.updateBucket(req.bucket.name, { replication: undefined })
  return empty(204)
}

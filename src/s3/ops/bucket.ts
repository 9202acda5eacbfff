/**
 * @module Bucket operations: create, delete, head, location, listing of buckets, versioning (ACLs: ./acl.ts).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html and neighbours.
 */
import { s3Error } from '../../shared/errors.js'
import type { BucketRecord } from '../../state/control-store.js'
import { assertValidBucketName } from '../bucket-names.js'
import { type BucketRequest, empty, type NamedBucketRequest, ownerOf, readSmallBody, type S3Request, type S3Response, xmlResponse } from '../context.js'
import { parseXmlBody, renderXml, text } from '../xml.js'
import { createBucketConfigs } from './acl.js'
import { enabledLockConfigs, lockConfigOf, lockEnabledHeader } from './object-lock.js'

/** S3's legacy LocationConstraint values. */
const LEGACY_CONSTRAINTS: Record<string, string> = { EU: 'eu-west-1' }

export async function listBuckets(req: S3Request): Promise<S3Response> {
  const account = req.principal.accountId
  const buckets = req.core.state.listBuckets().filter((b) => b.owner === account)
  const prefix = req.query.get('prefix') ?? ''
  const region = req.query.get('bucket-region')
  const shown = buckets.filter((b) => b.name.startsWith(prefix) && (region === null || b.region === region))
  return xmlResponse(
    renderXml('ListAllMyBucketsResult', {
      Buckets: { Bucket: shown.map((b) => ({ Name: b.name, CreationDate: b.createdAt, BucketRegion: b.region })) },
      // The account owns the buckets, not the user who asks: the same Owner as the bucket's ACL.
      Owner: ownerOf(account),
      Prefix: req.query.has('prefix') ? prefix : undefined,
    }),
  )
}

export async function createBucket(req: NamedBucketRequest): Promise<S3Response> {
  const name = req.bucketName
  assertValidBucketName(name)
  const raw = await readSmallBody(req.body)
  let constraint: string | undefined
  if (raw.length > 0) {
    const cfg = parseXmlBody(raw, 'CreateBucketConfiguration')
    constraint = text(cfg.LocationConstraint)
    if (constraint === '') constraint = undefined
  }
  const endpoint = req.endpointRegion
  let region: string
  if (constraint === undefined) {
    if (endpoint !== 'us-east-1') {
      throw s3Error('IllegalLocationConstraintException', {
        message: 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
      })
    }
    region = 'us-east-1'
  } else {
    if (constraint === 'us-east-1') throw s3Error('InvalidLocationConstraint', { fields: { LocationConstraint: constraint } })
    region = LEGACY_CONSTRAINTS[constraint] ?? constraint
    if (!req.core.stores.has(region)) {
      // S3's code; the message also says which regions there are, as a region the world lacks is the usual cause.
      const regions = req.core.world.regions.map((r) => r.name).join(', ')
      throw s3Error('InvalidLocationConstraint', {
        message: `The specified location constraint is not valid. ${constraint} is not a region of this server's world (its regions: ${regions}).`,
        fields: { LocationConstraint: constraint },
      })
    }
    if (endpoint !== 'us-east-1' && endpoint !== region) {
      throw s3Error('IllegalLocationConstraintException', {
        message: `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      })
    }
  }
  const existing = req.core.state.getBucket(name)
  if (existing) return alreadyExists(req, existing, region)
  // "To create a bucket with Object Lock enabled, you must have s3:PutBucketObjectLockConfiguration
  // and s3:PutBucketVersioning" besides s3:CreateBucket (CreateBucket, S3 API reference, Permissions,
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html). Versioning comes on with it.
  const locked = lockEnabledHeader(req.headers)
  const ownershipConfigs = createBucketConfigs(req)
  if (locked && (!req.allowed('s3:PutBucketObjectLockConfiguration') || !req.allowed('s3:PutBucketVersioning'))) throw s3Error('AccessDenied')
  // Idempotent, and shared with whichever node wins a race below, so never undone here.
  await req.core.stores.get(region)!.createBucket(name)
  const created = await req.core.state.write([
    { op: 'expectBucket', name, exists: false },
    {
      op: 'putBucket',
      bucket: {
        name,
        region,
        owner: req.principal.accountId,
        createdAt: req.core.clock(),
        versioning: locked ? 'Enabled' : 'Unversioned',
        configs: { ...(locked ? enabledLockConfigs() : {}), ...ownershipConfigs },
        // Since April 2023 new buckets start with every Block Public Access setting on.
        publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      },
    },
  ])
  if (!created) {
    // Another node created it since this node last heard; its record may not have arrived yet.
    const now = req.core.state.getBucket(name)
    if (now) return alreadyExists(req, now, region)
    throw s3Error('BucketAlreadyExists', { fields: { BucketName: name } })
  }
  req.log.info({ bucket: name, region }, 'bucket created')
  return empty(200, { location: locationOf(req, name, region) })
}

/**
 * The Location S3 answers: `/<bucket>` in us-east-1, elsewhere the bucket's virtual-hosted URL on
 * the global endpoint, `http://` included ("Location": "http://my-bucket.s3.amazonaws.com/" in the
 * AWS CLI's create-bucket example for eu-west-1; the API reference only says "a forward slash
 * followed by the name of the bucket", which is the us-east-1 answer).
 */
function locationOf(req: NamedBucketRequest, name: string, region: string): string {
  return region === 'us-east-1' ? `/${name}` : `http://${name}.s3.${req.core.world.dnsSuffix}/`
}

function alreadyExists(req: NamedBucketRequest, existing: BucketRecord, region: string): S3Response {
  const name = existing.name
  if (existing.owner !== req.principal.accountId) throw s3Error('BucketAlreadyExists', { fields: { BucketName: name } })
  // us-east-1 keeps S3's legacy answer: re-creating your own bucket there succeeds.
  if (existing.region === 'us-east-1' && region === 'us-east-1') return empty(200, { location: `/${name}` })
  throw s3Error('BucketAlreadyOwnedByYou', { fields: { BucketName: name } })
}

export async function deleteBucket(req: BucketRequest): Promise<S3Response> {
  const b = req.bucket
  const inMrap = req.core.bucketInUse(b.name)
  if (inMrap) throw s3Error('InvalidBucketState', { message: `The bucket is part of the Multi-Region Access Point ${inMrap} and cannot be deleted.` })
  await req.core.stores.get(b.region)!.deleteBucket(b.name)
  await req.core.state.deleteBucket(b.name)
  return empty(204)
}

export async function headBucket(req: BucketRequest): Promise<S3Response> {
  return empty(200, { 'x-amz-bucket-region': req.bucket.region, 'x-amz-access-point-alias': 'false' })
}

export async function getBucketLocation(req: BucketRequest): Promise<S3Response> {
  const region = req.bucket.region
  // us-east-1 is the empty constraint, for historical reasons.
  return xmlResponse(renderXml('LocationConstraint', region === 'us-east-1' ? {} : { '#text': region }))
}

export async function getBucketVersioning(req: BucketRequest): Promise<S3Response> {
  const v = req.bucket.versioning
  return xmlResponse(renderXml('VersioningConfiguration', v === 'Unversioned' ? {} : { Status: v }))
}

export async function putBucketVersioning(req: BucketRequest): Promise<S3Response> {
  const cfg = parseXmlBody(await readSmallBody(req.body), 'VersioningConfiguration')
  const status = text(cfg.Status)
  const mfa = text(cfg.MfaDelete)
  if (mfa !== undefined && mfa !== 'Disabled' && mfa !== 'Enabled') throw s3Error('MalformedXML')
  if (mfa === 'Enabled') throw s3Error('InvalidRequest', { message: 'MFA Delete is not supported by this server.' })
  if (status === undefined) return empty(200)
  if (status !== 'Enabled' && status !== 'Suspended') throw s3Error('MalformedXML')
  const b = req.bucket
  if (b.versioning === 'Unversioned' && status === 'Suspended') {
    // Suspending a never-versioned bucket is allowed by S3 and makes it "Suspended".
  }
  if (status === 'Suspended' && (b.replication || lockConfigOf(b))) {
    throw s3Error('InvalidBucketState', { message: 'An Object Lock or replication configuration is present on this bucket, so the versioning state cannot be changed.' })
  }
  await req.core.state.updateBucket(b.name, { versioning: status })
  return empty(200)
}

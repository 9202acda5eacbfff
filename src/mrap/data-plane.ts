/**
 * @module The global endpoint `<alias>.accesspoint.s3-global.<suffix>`: a request names an MRAP by
 * alias, must be signed with SigV4A, is routed to the nearest active healthy bucket, is authorized
 * in the MRAP context and in the routed bucket's context, and is executed there. The MRAP never
 * fulfils a request itself. Behaviour: docs/aws/mrap.md §Data plane, §Where AWS is silent.
 */

import { regionSetCovers } from '../auth/index.js'
import type { Core } from '../core/core.js'
import type { HandlerContext, ServiceHandler } from '../http/handler.js'
import type { WireResult } from '../http/respond.js'
import { authenticateRequest, principalOf } from '../pipeline/credentials.js'
import { executeS3 } from '../pipeline/execute.js'
import { chooseRoutes } from '../routing/mrap-router.js'
import { addressOf, s3Query } from '../s3/address.js'
import { classify, type OperationName } from '../s3/classify.js'
import { S3Error, s3Error } from '../shared/errors.js'
import type { MrapRecord, MrapRoute } from './registry.js'

/** What S3 serves through an MRAP (MrapOperations.html); the rest is refused. */
const SUPPORTED = new Set<OperationName>([
  'GetObject',
  'HeadObject',
  'PutObject',
  'DeleteObject',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'GetObjectAcl',
  'PutObjectAcl',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'ListObjectsV2',
  'ListMultipartUploads',
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
])
const COPY = new Set<OperationName>(['CopyObject', 'UploadPartCopy'])
/** Operations of one upload stay on the bucket that created it, whatever the routes say now. */
const UPLOAD_BOUND = new Set<OperationName>(['UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts'])
/** Safe to try the next region when the first one's storage fails mid-request (no body consumed). */
const RETRYABLE = new Set<OperationName>(['GetObject', 'HeadObject', 'GetObjectTagging', 'GetObjectAcl', 'ListObjectsV2', 'ListMultipartUploads', 'ListParts'])

export const MRAP_REGION_HEADER = 'x-mrap-served-region'

export function mrapHandler(s: Core): ServiceHandler {
  return { envelope: 's3', handle: (ctx) => handleMrap(s, ctx) }
}

async function handleMrap(s: Core, ctx: HandlerContext): Promise<WireResult> {
  const { req, view, origin, requestId, log, info } = ctx
  const alias = ctx.target.kind === 'mrap' ? ctx.target.alias : ''
  const mrap = s.mraps.byAlias(alias)
  if (!mrap || mrap.status === 'CREATING' || mrap.status === 'DELETING') {
    throw s3Error('NoSuchAccessPoint', { fields: { AccessPointName: alias } })
  }
  const { key } = addressOf({ kind: 'bucket', bucket: alias }, view.rawPath)
  const query = s3Query(view.rawQuery)
  const op = classify(view.method, alias, key, query, req.headers)
  info.op = op.name
  info.mrap = alias
  info.key = key
  if (COPY.has(op.name)) {
    throw s3Error('InvalidRequest', { message: `${op.name} is not supported through Multi-Region Access Points.` })
  }
  if (!SUPPORTED.has(op.name)) {
    throw s3Error('MethodNotAllowed', {
      message: `The specified method is not allowed against a Multi-Region Access Point (${op.name}).`,
      fields: { Method: view.method, ResourceType: op.level === 'object' ? 'OBJECT' : 'MULTIREGIONACCESSPOINT' },
      headers: { Allow: op.level === 'object' ? 'GET, HEAD, PUT, POST, DELETE' : 'GET' },
    })
  }

  const auth = authenticateRequest(s, view)
  if (auth.kind !== 'signed' || auth.algorithm !== 'AWS4-ECDSA-P256-SHA256') {
    throw s3Error('InvalidRequest', {
      message: 'Multi-Region Access Point requests must be signed with AWS4-ECDSA-P256-SHA256 (SigV4A); anonymous and AWS4-HMAC-SHA256 requests are not supported.',
    })
  }
  const principal = principalOf(s, auth)
  info.principal = principal.arn

  const candidates = await routesFor(s, mrap, op.name, query, origin.region ?? frontDoorRegion(s))
  let lastError: unknown
  for (const route of candidates) {
    const bucket = s.state.getBucket(route.bucket)
    if (!bucket || bucket.owner !== route.bucketAccountId) {
      lastError = s3Error('NoSuchBucket', { fields: { BucketName: route.bucket } })
      continue
    }
    if (!regionSetCovers(auth.regionSet ?? [], route.region)) {
      throw s3Error('AuthorizationHeaderMalformed', {
        message: `The region set '${(auth.regionSet ?? []).join(',')}' does not include ${route.region}, the region that serves this request.`,
      })
    }
    info.region = route.region
    info.bucket = bucket.name
    try {
      const out = await executeS3(s, { req, view, op, query, auth, principal, origin, requestId, log, endpointRegion: route.region, bucket, bucketName: bucket.name, key, mrap })
      out.headers[MRAP_REGION_HEADER] = route.region
      return out
    } catch (e) {
      if (e instanceof S3Error) e.headers[MRAP_REGION_HEADER] = route.region
      if (!(e instanceof S3Error) || e.code !== 'ServiceUnavailable') throw e
      // The region's storage failed: route around it from now on, and retry reads elsewhere.
      s.health.markDown(route.region)
      log.warn({ region: route.region, mrap: alias }, 'region storage unavailable; marked down')
      lastError = e
      if (!RETRYABLE.has(op.name)) throw e
    }
  }
  throw lastError ?? s3Error('ServiceUnavailable', { message: 'No region of this Multi-Region Access Point is available to serve the request.' })
}

function frontDoorRegion(s: Core): string {
  return s.world.frontDoorRegion ?? s.world.regions[0]!.name
}

/**
 * The buckets to try, best first. Upload-bound operations go to the bucket that holds the upload
 * (even a passive one: in-flight operations finish where they started).
 */
async function routesFor(s: Core, mrap: MrapRecord, op: OperationName, query: URLSearchParams, originRegion: string): Promise<MrapRoute[]> {
  const uploadId = query.get('uploadId')
  if (UPLOAD_BOUND.has(op) && uploadId) {
    for (const r of mrap.regions) {
      const store = s.stores.get(r.region)
      if (!store || !s.health.isUp(r.region)) continue
      try {
        await store.getUpload(r.bucket, uploadId)
        return [r]
      } catch (e) {
        // Only "not this bucket" moves on; a store that fails is a region that is down, not a
        // missing upload (the client would otherwise restart an upload that still exists).
        if (!(e instanceof S3Error) || e.code !== 'NoSuchUpload') {
          if (e instanceof S3Error && e.status >= 500) s.health.markDown(r.region)
          s.log.warn({ err: e, region: r.region, uploadId }, 'MRAP upload lookup failed in a region')
          throw e
        }
      }
    }
    throw s3Error('NoSuchUpload', { fields: { UploadId: uploadId } })
  }
  return chooseRoutes({ routes: mrap.regions, originRegion, isUp: (r) => s.health.isUp(r), latency: s.latency })
}

/**
 * @module S3 Control results for MRAPs, element for element as the service model names them:
 * MultiRegionAccessPointReport, AsyncOperation, MultiRegionAccessPointPolicyDocument, RouteList.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_MultiRegionAccessPointReport.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_AsyncOperation.html
 */

import type { MrapRecord } from '../mrap/registry.js'
import type { XmlObject } from '../s3/xml.js'
import type { AsyncOperationRecord } from './async-ops.js'
import { currentDials } from './routes.js'

export function reportOf(rec: MrapRecord): XmlObject {
  return {
    Name: rec.name,
    Alias: rec.alias,
    CreatedAt: new Date(rec.createdAt),
    PublicAccessBlock: { ...rec.publicAccessBlock },
    Status: rec.status,
    Regions: { Region: rec.regions.map((r) => ({ Bucket: r.bucket, Region: r.region, BucketAccountId: r.bucketAccountId })) },
  }
}

export function asyncOperationOf(op: AsyncOperationRecord): XmlObject {
  const p = op.params
  let parameters: XmlObject
  if (p.operation === 'CreateMultiRegionAccessPoint') {
    parameters = {
      CreateMultiRegionAccessPointRequest: {
        Name: p.create.name,
        PublicAccessBlock: { ...p.create.publicAccessBlock },
        Regions: { Region: p.create.regions.map((r) => ({ Bucket: r.bucket, BucketAccountId: r.bucketAccountId })) },
      },
    }
  } else if (p.operation === 'DeleteMultiRegionAccessPoint') {
    parameters = { DeleteMultiRegionAccessPointRequest: { Name: p.name } }
  } else {
    parameters = { PutMultiRegionAccessPointPolicyRequest: { Name: p.name, Policy: p.policy } }
  }
  const details: XmlObject = {}
  if (op.regions && op.regions.length > 0) {
    details.MultiRegionAccessPointDetails = { Regions: { Region: op.regions.map((r) => ({ Name: r.name, RequestStatus: r.status })) } }
  }
  if (op.error) {
    details.ErrorDetails = { Code: op.error.code, Message: op.error.message, Resource: op.error.resource, RequestId: op.requestId }
  }
  return {
    CreationTime: new Date(op.createdAt),
    Operation: p.operation,
    RequestTokenARN: op.arn,
    RequestParameters: parameters,
    RequestStatus: op.status,
    ResponseDetails: Object.keys(details).length > 0 ? details : undefined,
  }
}

/**
 * Established is the policy in effect; Proposed is the one a running PutMultiRegionAccessPointPolicy
 * carries, or the established one when none is running ("if both carry the same version the
 * proposed one is the established one"). With no policy at all, both are left out.
 */
export function policyDocumentOf(rec: MrapRecord): XmlObject {
  const out: XmlObject = {}
  if (rec.policy !== undefined) out.Established = { Policy: rec.policy }
  const proposed = rec.proposedPolicy ?? rec.policy
  if (proposed !== undefined) out.Proposed = { Policy: proposed }
  return out
}

export function routesOf(rec: MrapRecord): XmlObject[] {
  const dials = currentDials(rec)
  return rec.regions.map((r) => ({ Bucket: r.bucket, Region: r.region, TrafficDialPercentage: dials[r.region] ?? r.trafficDialPercentage }))
}

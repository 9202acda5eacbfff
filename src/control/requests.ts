/**
 * @module Request bodies of the asynchronous MRAP operations, checked as far as the request alone
 * allows (model constraints, names, limits on the number of Regions). What needs the state of the
 * world (buckets, their owners and Regions) is checked by the operation itself (worker.ts).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateMultiRegionAccessPoint.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-naming.html
 */

import { s3Error } from '../shared/errors.js'
import type { BlockPublicAccess } from '../state/control-store.js'
import type { CreateParams } from './async-ops.js'
import { bool, child, items, parseControlBody, str, type XmlNode } from './xml.js'

/** MultiRegionAccessPointName: 3–50, lower-case letters, digits and hyphens, no hyphen at either end. */
export const MRAP_NAME = /^[a-z0-9][-a-z0-9]{1,48}[a-z0-9]$/
const ACCOUNT_ID = /^\d{12}$/
const CLIENT_TOKEN = /^\S{1,64}$/

const invalid = (message: string) => s3Error('InvalidRequest', { message })

export function checkName(name: string | undefined): string {
  if (name === undefined || name === '') throw invalid('The Multi-Region Access Point name is required.')
  if (!MRAP_NAME.test(name)) {
    throw invalid(
      `The Multi-Region Access Point name ${JSON.stringify(name)} is not valid: it must be 3 to 50 characters of lowercase letters, numbers and hyphens, and must begin and end with a letter or number.`,
    )
  }
  return name
}

function clientTokenOf(doc: XmlNode): string {
  const t = str(doc, 'ClientToken')
  if (t === undefined || !CLIENT_TOKEN.test(t)) throw invalid('ClientToken is required: 1 to 64 characters without white space.')
  return t
}

function details(doc: XmlNode): XmlNode {
  const d = child(doc, 'Details')
  if (!d) throw invalid('Details is required.')
  return d
}

/** Omitted: every setting on (docs/aws/mrap.md §Where AWS is silent; AWS's secure default); present: a missing child is false (the model's default). */
function publicAccessBlockOf(d: XmlNode): BlockPublicAccess {
  const p = child(d, 'PublicAccessBlock')
  if (!p) return { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }
  return {
    BlockPublicAcls: bool(p, 'BlockPublicAcls') ?? false,
    IgnorePublicAcls: bool(p, 'IgnorePublicAcls') ?? false,
    BlockPublicPolicy: bool(p, 'BlockPublicPolicy') ?? false,
    RestrictPublicBuckets: bool(p, 'RestrictPublicBuckets') ?? false,
  }
}

export function parseCreate(body: Buffer, maxRegions: number): { clientToken: string; create: CreateParams } {
  const doc = parseControlBody(body, 'CreateMultiRegionAccessPointRequest')
  const clientToken = clientTokenOf(doc)
  const d = details(doc)
  const name = checkName(str(d, 'Name'))
  const regions: CreateParams['regions'] = []
  for (const r of items(child(d, 'Regions'), 'Region')) {
    const bucket = str(r, 'Bucket')
    if (bucket === undefined || bucket.length < 3 || bucket.length > 255) throw invalid('Each Region needs a Bucket (3 to 255 characters).')
    const acct = str(r, 'BucketAccountId')
    if (acct !== undefined && !ACCOUNT_ID.test(acct)) throw invalid(`BucketAccountId ${JSON.stringify(acct)} is not a 12-digit account ID.`)
    if (regions.some((x) => x.bucket === bucket)) throw invalid(`The bucket ${bucket} is listed more than once.`)
    regions.push(acct !== undefined ? { bucket, bucketAccountId: acct } : { bucket })
  }
  if (regions.length === 0) throw invalid('A Multi-Region Access Point needs at least one bucket.')
  if (regions.length > maxRegions) throw invalid(`A Multi-Region Access Point can have at most ${maxRegions} Regions; the request names ${regions.length} buckets.`)
  return { clientToken, create: { name, publicAccessBlock: publicAccessBlockOf(d), regions } }
}

export function parseDelete(body: Buffer): { clientToken: string; name: string } {
  const doc = parseControlBody(body, 'DeleteMultiRegionAccessPointRequest')
  const clientToken = clientTokenOf(doc)
  return { clientToken, name: checkName(str(details(doc), 'Name')) }
}

export function parsePutPolicy(body: Buffer): { clientToken: string; name: string; policy: string } {
  const doc = parseControlBody(body, 'PutMultiRegionAccessPointPolicyRequest')
  const clientToken = clientTokenOf(doc)
  const d = details(doc)
  const name = checkName(str(d, 'Name'))
  const policy = str(d, 'Policy')
  if (policy === undefined || policy.trim() === '') throw s3Error('MalformedPolicy', { message: 'Policy is required.' })
  return { clientToken, name, policy }
}

/**
 * @module Which S3 Control MRAP operation a method and path name (docs/aws/mrap.md §Control API). Labels are
 * greedy (`{Name+}`, `{Mrap+}`, `{RequestTokenARN+}`): clients keep `/` and percent-encode `:` as
 * `%3A`, so the path is decoded before matching and an ARN label may hold slashes.
 */
import { s3Error } from '../shared/errors.js'

export type ControlOperation =
  | { name: 'CreateMultiRegionAccessPoint' }
  | { name: 'DeleteMultiRegionAccessPoint' }
  | { name: 'PutMultiRegionAccessPointPolicy' }
  | { name: 'DescribeMultiRegionAccessPointOperation'; requestTokenArn: string }
  | { name: 'ListMultiRegionAccessPoints' }
  | { name: 'GetMultiRegionAccessPoint'; mrapName: string }
  | { name: 'GetMultiRegionAccessPointPolicy'; mrapName: string }
  | { name: 'GetMultiRegionAccessPointPolicyStatus'; mrapName: string }
  | { name: 'GetMultiRegionAccessPointRoutes'; mrap: string }
  | { name: 'SubmitMultiRegionAccessPointRoutes'; mrap: string }

export type ControlOperationName = ControlOperation['name']

const ASYNC = '/v20180820/async-requests/mrap/'
const INSTANCES = '/v20180820/mrap/instances'

/** The operation, or undefined when the path is S3 Control but not an MRAP operation this server serves. */
export function matchControlPath(method: string, rawPath: string): ControlOperation | undefined {
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    throw s3Error('InvalidURI', { fields: { URI: rawPath } })
  }
  if (path.startsWith(ASYNC)) {
    const rest = path.slice(ASYNC.length)
    if (method === 'POST') {
      if (rest === 'create') return { name: 'CreateMultiRegionAccessPoint' }
      if (rest === 'delete') return { name: 'DeleteMultiRegionAccessPoint' }
      if (rest === 'put-policy') return { name: 'PutMultiRegionAccessPointPolicy' }
      return undefined
    }
    if (method === 'GET' && rest !== '') return { name: 'DescribeMultiRegionAccessPointOperation', requestTokenArn: rest }
    return undefined
  }
  if (path === INSTANCES || path === INSTANCES + '/') return method === 'GET' ? { name: 'ListMultiRegionAccessPoints' } : undefined
  if (!path.startsWith(INSTANCES + '/')) return undefined
  const rest = path.slice(INSTANCES.length + 1)
  if (rest.endsWith('/routes') && rest.length > '/routes'.length) {
    const mrap = rest.slice(0, -'/routes'.length)
    if (method === 'GET') return { name: 'GetMultiRegionAccessPointRoutes', mrap }
    if (method === 'PATCH') return { name: 'SubmitMultiRegionAccessPointRoutes', mrap }
    return undefined
  }
  if (method !== 'GET' || rest === '') return undefined
  if (rest.endsWith('/policystatus')) return { name: 'GetMultiRegionAccessPointPolicyStatus', mrapName: rest.slice(0, -'/policystatus'.length) }
  if (rest.endsWith('/policy')) return { name: 'GetMultiRegionAccessPointPolicy', mrapName: rest.slice(0, -'/policy'.length) }
  return { name: 'GetMultiRegionAccessPoint', mrapName: rest }
}

/** Routes calls are answered in five Regions; every other MRAP call only in us-west-2. */
export function isRouteOperation(name: ControlOperationName): boolean {
  return name === 'GetMultiRegionAccessPointRoutes' || name === 'SubmitMultiRegionAccessPointRoutes'
}

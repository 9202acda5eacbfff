/**
 * @module Stage "authorize" for S3 requests: gathers the policy inputs and asks the policy engine.
 * Until the engine is wired in, a request is allowed only on its own account's resources.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { AuthResult } from '../auth/index.js'
import type { Principal } from '../iam/identities.js'
import type { BucketRecord } from '../state/control-store.js'
import type { Services } from '../services.js'
import type { Operation } from './classify.js'
import type { Origin } from '../pipeline.js'

export interface S3AuthzInput {
  principal: Principal
  op: Operation
  actions: string[]
  bucket?: BucketRecord | undefined
  bucketName?: string | undefined
  key?: string | undefined
  auth: AuthResult
  origin: Origin
  query: URLSearchParams
  headers: IncomingHttpHeaders
}

export interface S3Decision {
  allowed: boolean
  /** For the log and for `mrap explain`; never sent to the client. */
  reason: string
}

export function authorizeS3(_s: Services, input: S3AuthzInput): S3Decision {
  const p = input.principal
  if (p.type === 'Anonymous') return { allowed: false, reason: 'anonymous requests are not allowed' }
  if (input.op.level === 'service' || input.op.name === 'CreateBucket') return { allowed: true, reason: 'authenticated principal' }
  if (input.bucket && input.bucket.owner === p.accountId) return { allowed: true, reason: 'owner account' }
  return { allowed: false, reason: 'not the bucket owner' }
}

/**
 * @module Who signed a request: the one authentication call of every service (S3, the MRAP data plane,
 * S3 Control, IAM, STS, EC2) and the principal behind an access key. One place, so a key that is
 * inactive, a clock or a key cache is the same for all of them.
 */
import { type AuthResult, authenticate, type HttpRequestView, type SigningCredential } from '../auth/index.js'
import type { Core } from '../core/core.js'
import { ANONYMOUS, type Principal } from '../iam/identities.js'
import { s3Error } from '../shared/errors.js'

/** What the Query-protocol services add: their signing name and the (small, read) form body. */
export interface ApiSigning {
  service: string
  bufferedBody: Buffer
}

/** Verifies the request's signature (header or presigned; SigV4 or SigV4A) against an active key. */
export function authenticateRequest(core: Core, view: HttpRequestView, api?: ApiSigning): AuthResult {
  return authenticate(view, {
    now: core.clock(),
    lookup: (id) => lookupKey(core, id),
    keyCache: core.keyCache,
    signingKeyCache: core.signingKeyCache,
    ...(api ? { service: api.service, bufferedBody: api.bufferedBody } : {}),
  })
}

/** The signing credential of an active key: the key record itself (no copy on the hot path). */
export function lookupKey(core: Core, accessKeyId: string): SigningCredential | undefined {
  const rec = core.identities.findKey(accessKeyId)
  return rec && rec.status === 'Active' ? rec : undefined
}

/** The principal of an authenticated request; S3's InvalidAccessKeyId for a key that is gone. */
export function principalOf(core: Core, auth: AuthResult): Principal {
  if (auth.kind === 'anonymous') return ANONYMOUS
  const rec = core.identities.findKey(auth.accessKeyId)
  if (!rec) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: auth.accessKeyId } })
  return rec.principal
}

/**
 * @module The facts of a request that policy conditions read (aws:SourceIp or the VPC keys,
 * aws:SecureTransport, aws:CurrentTime, s3:signatureversion, s3:authType, s3:signatureAge), built
 * in one place for every service: S3, S3 Control, IAM, STS and EC2 decide on the same keys from the
 * same origin, and `mrap explain` builds its origin for the same function.
 */

import type { AuthResult } from '../auth/index.js'
import type { Origin } from '../core/origin.js'
import type { AuthzPrincipal, S3RequestFacts } from '../policy/index.js'

/** The authentication facts conditions read (an AuthResult is one; `mrap explain` makes its own). */
export type AuthFacts =
  | { kind: 'anonymous' }
  | { kind: 'signed'; algorithm: Extract<AuthResult, { kind: 'signed' }>['algorithm']; authType: 'REST-HEADER' | 'REST-QUERY-STRING' | 'POST'; signatureAgeMs: number }

/**
 * A request from a VPC endpoint carries aws:SourceVpce/SourceVpc/VpcSourceIp and no aws:SourceIp
 * (AWS: "aws:SourceIp" is not present for requests through a VPC endpoint); the listeners hand
 * over addresses already without the IPv4-mapped `::ffff:` prefix.
 */
export function requestFacts(origin: Origin, auth: AuthFacts, principal: AuthzPrincipal, timeMs: number): S3RequestFacts {
  const facts: S3RequestFacts = { principal, timeMs, secureTransport: origin.secure }
  if (origin.vpc) facts.vpc = origin.vpc
  else facts.sourceIp = origin.sourceIp
  if (auth.kind === 'signed') {
    facts.signatureVersion = auth.algorithm
    facts.authType = auth.authType
    facts.signatureAgeMs = auth.signatureAgeMs
  }
  return facts
}

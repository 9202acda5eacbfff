/** @module Public types of request authentication (see ./README.md). */
import type { HeaderMap } from './canonical.js'
import type { SigV4AKeyCache, SigV4KeyCache } from './keys.js'

export interface HttpRequestView {
  method: string
  /** The path exactly as on the wire, before '?', still percent-encoded (S3 signs it as is). */
  rawPath: string
  /** The query exactly as on the wire, without '?'. */
  rawQuery: string
  /**
   * Lower-cased header names. Pass node's `req.headersDistinct` (arrays) for exact multi-value
   * canonicalisation; `req.headers` works too but node joins repeated headers with ', ' and drops
   * duplicates of some headers, so a repeated signed header would then not verify.
   */
  headers: HeaderMap
}

export interface SigningCredential {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiresAt?: Date
  /** Temporary credentials: `global` when the global STS endpoint issued them, else the issuing region. */
  tokenIssuer?: string
}

export type CredentialLookup = (accessKeyId: string) => SigningCredential | undefined

export interface AuthOptions {
  now: Date
  lookup: CredentialLookup
  /** Derived SigV4A public keys, per (access key, secret). */
  keyCache: SigV4AKeyCache
  /** Derived SigV4 signing keys, per (access key, secret, date, region, service). */
  signingKeyCache: SigV4KeyCache
  /** Signing name the endpoint expects; default 's3'. EC2/STS endpoints pass 'ec2' / 'sts'. */
  service?: string
  /**
   * Only for services other than s3 (Query protocol): clients may omit x-amz-content-sha256 and sign
   * the SHA-256 of the (small, already buffered) form body. Pass that body here.
   */
  bufferedBody?: Buffer
}

export type SigningAlgorithm = 'AWS4-HMAC-SHA256' | 'AWS4-ECDSA-P256-SHA256'

export type PayloadMode = { kind: 'sha256'; hex: string } | { kind: 'unsigned' } | { kind: 'streaming'; signed: boolean; trailer: boolean; algorithm: 'hmac' | 'ecdsa' | 'none' }

/**
 * What the aws-chunked decoder needs to check chunk and trailer signatures. The key material lives in
 * private fields so that logging an AuthResult never prints it.
 */
export interface ChunkSigner {
  readonly algorithm: 'hmac' | 'ecdsa'
  readonly seedSignature: string
  /** True when `signature` is valid for a chunk whose data hashes to `dataSha256Hex`, chained on `previous`. */
  verifyChunk(previous: string, dataSha256Hex: string, signature: string): boolean
  /** True when `signature` is valid for the trailer block (`name:value\n` lines), chained on `previous`. */
  verifyTrailer(previous: string, canonicalTrailer: string, signature: string): boolean
}

export interface AnonymousAuth {
  kind: 'anonymous'
  payload: PayloadMode
}

export interface SignedAuth {
  kind: 'signed'
  algorithm: SigningAlgorithm
  authType: 'REST-HEADER' | 'REST-QUERY-STRING'
  credential: SigningCredential
  accessKeyId: string
  /** yyyymmdd from the credential scope. */
  scopeDate: string
  /** SigV4 only: the region of the credential scope. The caller checks it against the serving region. */
  region?: string
  /** SigV4A only: x-amz-region-set entries (may contain wildcards); check with regionSetCovers(). */
  regionSet?: string[]
  service: string
  /** `<date>/<region>/<service>/aws4_request` (v4) or `<date>/<service>/aws4_request` (v4a). */
  scope: string
  amzDate: string
  signedAt: Date
  signatureAgeMs: number
  signedHeaders: string[]
  signature: string
  payload: PayloadMode
  /** Present for signed streaming payloads. */
  chunkSigner?: ChunkSigner
}

export type AuthResult = AnonymousAuth | SignedAuth

/** @module Request authentication: SigV4 / SigV4A verification and body decoding. See ./README.md. */

export { authenticate, describeSignature, payloadModeOf } from './authenticate.js'
export { AwsChunkedDecoder, type AwsChunkedOptions } from './aws-chunked.js'
export { decodeBody, expectLength, LengthCheck, Sha256Check, storedContentEncoding } from './body.js'
export { canonicalQuery, parseAmzDate, parseQuery, toAmzDate, uriEncode, uriEncodePath } from './canonical.js'
export { deriveSigV4APublicKey, deriveSigV4APublicPoint, deriveSigV4SigningKey, SigV4AKeyCache, SigV4KeyCache } from './keys.js'
export { parseRegionSet, regionSetCovers } from './parse.js'
export type {
  AnonymousAuth,
  AuthOptions,
  AuthResult,
  ChunkSigner,
  CredentialLookup,
  HttpRequestView,
  PayloadMode,
  SignedAuth,
  SigningAlgorithm,
  SigningCredential,
} from './types.js'

/** @module Request authentication: SigV4 / SigV4A verification and body decoding. See ./README.md. */
export type {
  HttpRequestView, SigningCredential, CredentialLookup, AuthOptions, SigningAlgorithm, PayloadMode,
  ChunkSigner, AnonymousAuth, SignedAuth, AuthResult,
} from './types.js'
export { authenticate, describeSignature, payloadModeOf } from './authenticate.js'
export { regionSetCovers, parseRegionSet } from './parse.js'
export { SigV4KeyCache, SigV4AKeyCache, deriveSigV4SigningKey, deriveSigV4APublicKey, deriveSigV4APublicPoint } from './keys.js'
export { uriEncode, uriEncodePath, canonicalQuery, parseQuery, parseAmzDate, toAmzDate } from './canonical.js'
export { decodeBody, expectLength, storedContentEncoding, LengthCheck, Sha256Check } from './body.js'
export { AwsChunkedDecoder, type AwsChunkedOptions } from './aws-chunked.js'

/**
 * @module SSE-C, server-side encryption with customer-provided keys: the request headers, the key
 * check, the response headers. The store seals the body under the customer's key
 * (storage/embedded/sealed-bytes.ts RegionKey.forCustomer); here the key is validated, compared
 * with the salted HMAC kept with the object, and handed to the store, never stored.
 * Decision and sources: docs/decisions/encryption.md §SSE-C.
 *
 * AWS: "Using server-side encryption with customer-provided keys (SSE-C)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html):
 * AES256 only, the key base64 in `x-amz-server-side-encryption-customer-key`, its MD5 checked, the
 * key never stored ("it stores a randomly salted Hash-based Message Authentication Code (HMAC)
 * value of the encryption key to validate future requests"), every request over HTTPS.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Origin } from '../core/origin.js'
import { invalidArgument, type S3Error, s3Error } from '../shared/errors.js'
import type { ObjectAttributes, ObjectStore } from '../storage/types.js'
import { type Headers, header } from './headers.js'
import { notImplemented } from './unsupported.js'

export const SSE_C_PREFIX = 'x-amz-server-side-encryption-customer-'
export const COPY_SSE_C_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-'

/** A customer key as a request gave it: the 32 bytes and the MD5 (base64) the client sent. */
export interface CustomerKey {
  key: Buffer
  md5: string
}

const ALGORITHM = 'AES256'

// Every GET and PUT looks the triple up, nearly always to find nothing: a name built per call is a
// new string V8 flattens and hashes before each lookup, a name built once is hashed once.
const TRIPLES = new Map<string, readonly [algorithm: string, key: string, md5: string]>()
function tripleOf(prefix: string): readonly [string, string, string] {
  let t = TRIPLES.get(prefix)
  if (!t) {
    t = [`${prefix}algorithm`, `${prefix}key`, `${prefix}key-md5`]
    TRIPLES.set(prefix, t)
  }
  return t
}

/**
 * The customer key a request carries under `prefix` (the object's, or the copy source's), or
 * undefined when it names none. Errors and messages are S3's (SSE-C page, "S3 API headers required
 * for SSE-C"; the same wording in the s3 clones that copy them): every part of the triple is
 * required, AES256 only, a 256-bit key, a matching MD5. The key's value is never echoed.
 */
export function customerKeyOf(headers: Headers, prefix: string = SSE_C_PREFIX): CustomerKey | undefined {
  const names = tripleOf(prefix)
  const alg = header(headers, names[0])
  const key = header(headers, names[1])
  const md5 = header(headers, names[2])
  if (alg === undefined && key === undefined && md5 === undefined) return undefined
  if (alg === undefined)
    throw invalidArgument(`${prefix}algorithm`, undefined, 'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.')
  if (alg.trim() !== ALGORITHM)
    throw s3Error('InvalidEncryptionAlgorithmError', {
      message: 'The encryption request you specified is not valid. Supported value: AES256.',
      fields: { ArgumentName: `${prefix}algorithm`, ArgumentValue: alg },
    })
  if (key === undefined)
    throw invalidArgument(`${prefix}key`, undefined, 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.')
  const bytes = Buffer.from(key.trim(), 'base64')
  if (bytes.length !== 32 || bytes.toString('base64') !== key.trim()) throw invalidArgument(`${prefix}key`, undefined, 'The secret key was invalid for the specified algorithm.')
  if (md5 === undefined)
    throw invalidArgument(
      `${prefix}key-MD5`,
      undefined,
      'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
    )
  if (createHash('md5').update(bytes).digest('base64') !== md5.trim())
    throw invalidArgument(`${prefix}key-MD5`, undefined, 'The calculated MD5 hash of the key did not match the hash that was provided.')
  return { key: bytes, md5: md5.trim() }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/

/**
 * "Amazon S3 rejects any requests made over HTTP when using SSE-C" (SSE-C page). mrap's plain-HTTP
 * front door is also where local clients (the CLI, SDKs, tests on the same machine) come in: a key
 * sent from a loopback address to that door never crosses a network, so it is accepted there;
 * every other plain-HTTP path (a proxy, the internet or a VPC modelled over port 80) is refused
 * as S3 refuses it. docs/decisions/encryption.md §SSE-C.
 */
export function checkTransport(origin: Origin): void {
  if (origin.secure) return
  if (origin.vpc === undefined && origin.host === undefined && LOOPBACK.test(origin.sourceIp)) return
  throw s3Error('InvalidRequest', { message: 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.' })
}

/** The store must seal under customer keys; an engine (upstream) region answers NotImplemented. */
export function checkStore(store: ObjectStore): void {
  if (store.customerKeys !== true) throw notImplemented(`${SSE_C_PREFIX}algorithm`)
}

/**
 * An SSE-C write (PutObject, CopyObject's target, CreateMultipartUpload): over a secure connection,
 * to a store that can seal under the key, without `x-amz-server-side-encryption` beside it; marks
 * the attributes with the algorithm and the key's salted HMAC.
 *
 * Replication: S3 replicates SSE-C objects ("Replicating encrypted objects",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
 * mrap cannot: its worker holds no customer key, and the sealed bytes are bound to this region's
 * master key. So a version a rule would replicate says FAILED at once, as S3 says of a replica it
 * could not make, rather than PENDING forever (docs/decisions/encryption.md §SSE-C).
 */
export function applySseC(req: { origin: Origin; headers: Headers }, store: ObjectStore, attributes: ObjectAttributes, k: CustomerKey): void {
  checkTransport(req.origin)
  checkStore(store)
  const sse = header(req.headers, 'x-amz-server-side-encryption')
  if (sse !== undefined)
    throw invalidArgument('x-amz-server-side-encryption', sse, 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified')
  Object.assign(attributes, sseCAttributes(k))
  if (attributes.replicationStatus === 'PENDING') attributes.replicationStatus = 'FAILED'
}

/** The attributes that mark a version (or upload) as SSE-C: the algorithm and a salted HMAC of the key. */
export function sseCAttributes(k: CustomerKey): Pick<ObjectAttributes, 'sseCustomerAlgorithm' | 'sseCustomerKeyHmac'> {
  const salt = randomBytes(16)
  return { sseCustomerAlgorithm: ALGORITHM, sseCustomerKeyHmac: `${salt.toString('base64')}:${hmac(salt, k.key)}` }
}

function hmac(salt: Buffer, key: Buffer): string {
  return createHmac('sha256', salt).update(key).digest('base64')
}

/** Whether `k` is the key whose HMAC `stored` is (constant time). */
export function keyMatches(stored: string, k: CustomerKey): boolean {
  const [salt, mac] = stored.split(':')
  if (salt === undefined || mac === undefined) return false
  const want = Buffer.from(mac, 'base64')
  const got = Buffer.from(hmac(Buffer.from(salt, 'base64'), k.key), 'base64')
  return want.length === got.length && timingSafeEqual(want, got)
}

const ENCRYPTED_OBJECT = 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.'

/**
 * The key check of a read (GET, HEAD, a copy source): an SSE-C object without a key is 400
 * InvalidRequest, with a key that is not its own 403 AccessDenied; a key for an object that has
 * none is 400 InvalidRequest. Returns the key to open it with.
 */
export function checkReadKey(attrs: ObjectAttributes, k: CustomerKey | undefined): Buffer | undefined {
  if (attrs.sseCustomerKeyHmac === undefined) {
    if (k !== undefined) throw s3Error('InvalidRequest', { message: 'The encryption parameters are not applicable to this object.' })
    return undefined
  }
  if (k === undefined) throw s3Error('InvalidRequest', { message: ENCRYPTED_OBJECT })
  if (!keyMatches(attrs.sseCustomerKeyHmac, k)) throw s3Error('AccessDenied')
  return k.key
}

/**
 * The key check of UploadPart and UploadPartCopy against the upload's: an SSE-C upload needs its
 * key on every part; a part of another upload carries none.
 */
export function checkPartKey(upload: ObjectAttributes, k: CustomerKey | undefined): S3Error | undefined {
  if (upload.sseCustomerKeyHmac === undefined)
    return k === undefined ? undefined : s3Error('InvalidRequest', { message: 'The encryption parameters are not applicable to this object.' })
  if (k === undefined)
    return s3Error('InvalidRequest', {
      message: 'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.',
    })
  if (!keyMatches(upload.sseCustomerKeyHmac, k))
    return invalidArgument(`${SSE_C_PREFIX}key`, undefined, 'The provided encryption parameters did not match the ones used originally.')
  return undefined
}

/**
 * The response headers of an SSE-C object: the algorithm, and the key's MD5 when the request sent
 * one (S3 echoes it; the MD5 is not stored, so Complete, which carries no key, answers the algorithm
 * alone). In place of `x-amz-server-side-encryption: AES256`.
 */
export function sseCResponse(k: CustomerKey | undefined): Record<string, string> {
  const out: Record<string, string> = { [`${SSE_C_PREFIX}algorithm`]: ALGORITHM }
  if (k) out[`${SSE_C_PREFIX}key-md5`] = k.md5
  return out
}

/**
 * An SSE-C version's ETag is not the MD5 of its plaintext ("Objects encrypted by SSE-C or SSE-KMS
 * have ETags that are not an MD5 digest of their object data", Object in the S3 API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html): an MD5 would let whoever reads
 * listings confirm a guess of the content. Keyed by the customer's key, so stable per key and content.
 */
export function customerEtag(k: CustomerKey, md5Hex: string): string {
  return createHmac('md5', k.key).update(md5Hex).digest('hex')
}

/**
 * @module POST Object: a browser's form upload (multipart/form-data) to a bucket. The request is
 * unsigned; the form carries the SigV4 signature over a POST policy, so this stage authenticates
 * from the form, checks the policy, then authorizes and writes exactly as PutObject does (the policy
 * engine through `authorizeS3`, then `dispatch` with a PutObject). The file part is streamed to the
 * store, never buffered. Behaviour and sources: docs/aws/cors.md §POST Object.
 */
import type { IncomingMessage } from 'node:http'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy'
import type { Logger } from 'pino'
import { equalConstantTime } from '../auth/hmac.js'
import { expectLength } from '../auth/index.js'
import type { AuthFacts } from '../authz/request-facts.js'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import type { WireResult } from '../http/respond.js'
import type { Target } from '../http/target.js'
import { ANONYMOUS, type Principal } from '../iam/identities.js'
import { authorizeS3 } from '../s3/authorize.js'
import { classify } from '../s3/classify.js'
import type { ObjectRequest } from '../s3/context.js'
import { dispatch } from '../s3/dispatch.js'
import type { Headers } from '../s3/headers.js'
import { checkHeaderValue, header } from '../s3/headers.js'
import { checkPostPolicy, parsePostPolicy } from '../s3/post-policy.js'
import { esc, list, parseXmlBody, text } from '../s3/xml.js'
import { invalidArgument, isS3Error, type S3Error, s3Error } from '../shared/errors.js'
import type { BucketRecord } from '../state/control-store.js'
import { lookupKey } from './credentials.js'

/** "The form data and boundaries (excluding the contents of the file) cannot exceed 20KB" (POST Object). */
const PRE_DATA_LIMIT = 20 * 1024
/** The 20 KB count boundaries too: empty fields are not free, so their number is bounded as well. */
const MAX_FIELDS = 1000
const MAX_OBJECT_BYTES = 5 * 1024 ** 3
const MAX_KEY_BYTES = 1024
const SIGV4_FIELDS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Signature'] as const
/** Form fields that are the request's authentication, not the object's headers. */
const AUTH_FIELDS = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'x-amz-security-token'])
const REST_FIELDS = new Set(['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'expires', 'content-md5'])

export interface PostInput {
  req: IncomingMessage
  target: Target
  origin: Origin
  requestId: string
  log: Logger
  bucketName: string
  info: Record<string, string | undefined>
}

interface Form {
  fields: [name: string, value: string][]
  file: Readable
  filename: string | undefined
}

const missingField = (name: string): S3Error =>
  invalidArgument(name, '', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`)

export async function postObject(s: Core, x: PostInput): Promise<WireResult> {
  const { req } = x
  const type = header(req.headers, 'content-type')
  if (type === undefined || !/^multipart\/form-data\s*(;|$)/i.test(type.trim())) {
    throw s3Error('PreconditionFailed', { fields: { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' } })
  }
  const bucket = s.state.getBucket(x.bucketName)
  if (!bucket) throw s3Error('NoSuchBucket', { fields: { BucketName: x.bucketName } })

  let bb: BusboyInstance
  try {
    bb = Busboy({
      headers: req.headers as BusboyHeaders,
      isPartAFile: (name) => name?.toLowerCase() === 'file',
      limits: { fieldSize: PRE_DATA_LIMIT, fields: MAX_FIELDS, files: 1 },
    })
  } catch {
    throw s3Error('MalformedPOSTRequest')
  }
  // A client that goes away, sends less than it announced or stalls fails the form (and the write
  // reading its file) with IncompleteBody or RequestTimeout, as a PUT's body does.
  const declared = header(req.headers, 'content-length')
  const source = expectLength(req, declared !== undefined && /^\d{1,16}$/.test(declared) ? Number(declared) : undefined)
  let file: Readable | undefined
  try {
    const form = await readUntilFile(source, bb)
    file = form.file
    return await upload(s, x, bucket, form)
  } catch (e) {
    // Stop parsing and drain the rest of the body, so a keep-alive connection stays usable.
    source.unpipe(bb)
    source.resume()
    file?.unpipe()
    file?.resume()
    throw e
  }
}

/** The fields before the part named `file`, and that part as a stream; "Any fields below it are ignored". */
function readUntilFile(source: Readable, bb: BusboyInstance): Promise<Form> {
  return new Promise((resolve, reject) => {
    const fields: [string, string][] = []
    let preData = 0
    let settled = false
    const fail = (e: S3Error): void => {
      if (!settled) {
        settled = true
        reject(e)
      }
    }
    bb.on('field', (name, value, nameTruncated, valueTruncated) => {
      if (settled) return
      preData += Buffer.byteLength(name) + Buffer.byteLength(value)
      if (nameTruncated || valueTruncated || preData > PRE_DATA_LIMIT) {
        fail(s3Error('MaxPostPreDataLengthExceeded', { fields: { MaxPostPreDataLengthBytes: PRE_DATA_LIMIT } }))
        return
      }
      fields.push([name, value])
    })
    bb.on('file', (_name, stream, filename) => {
      if (settled) {
        stream.resume()
        return
      }
      settled = true
      source.on('error', (e) => {
        if (!stream.readableEnded) stream.destroy(e)
      })
      // Refused before it is read, the file may still fail later (the client gone): never an
      // uncaught error. A write that reads it sees the error through its own pipeline.
      stream.on('error', () => undefined)
      // A body cut short inside the file must fail the write, not end it early.
      bb.on('error', () => {
        if (!stream.readableEnded) stream.destroy(s3Error('MalformedPOSTRequest'))
      })
      resolve({ fields, file: stream, filename })
    })
    bb.on('fieldsLimit', () => fail(s3Error('MaxPostPreDataLengthExceeded', { fields: { MaxPostPreDataLengthBytes: PRE_DATA_LIMIT } })))
    bb.on('error', () => fail(s3Error('MalformedPOSTRequest')))
    bb.on('finish', () => fail(invalidArgument('file', '0', 'POST requires exactly one file upload per request.')))
    source.on('error', (e) => fail(isS3Error(e) ? e : s3Error('IncompleteBody')))
    source.pipe(bb)
  })
}

/** Who signed the form, checked as S3 checks a POST (docs/aws/cors.md §POST Object, "Signing"). */
interface Signer {
  principal: Principal
  auth: AuthFacts
}

function authenticateForm(s: Core, values: Map<string, string>, bucket: BucketRecord, nowMs: number): Signer | undefined {
  const get = (n: string): string | undefined => values.get(n.toLowerCase())
  if (!SIGV4_FIELDS.some((f) => get(f) !== undefined)) {
    if (get('AWSAccessKeyId') !== undefined || get('signature') !== undefined) {
      throw s3Error('InvalidRequest', { message: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.' })
    }
    return undefined // anonymous: "Requests without a security policy are considered anonymous"
  }
  for (const f of SIGV4_FIELDS) if (get(f) === undefined) throw missingField(f)
  const policy = get('policy')
  if (policy === undefined) throw missingField('Policy')
  const algorithm = get('x-amz-algorithm')!
  if (algorithm !== 'AWS4-HMAC-SHA256') throw invalidArgument('X-Amz-Algorithm', algorithm, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
  const credential = get('x-amz-credential')!
  const parts = credential.split('/')
  if (parts.length !== 5) throw invalidArgument('X-Amz-Credential', credential, 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
  const [akid, scopeDate, region, service, terminal] = parts as [string, string, string, string, string]
  if (akid === '') throw invalidArgument('X-Amz-Credential', credential, 'a non-empty Access Key (AKID) must be provided in the credential.')
  if (!/^\d{8}$/.test(scopeDate))
    throw invalidArgument('X-Amz-Credential', credential, `incorrect date format "${scopeDate}". This date in the credential must be in the format "yyyyMMdd".`)
  if (service !== 's3') throw invalidArgument('X-Amz-Credential', credential, `incorrect service "${service}". This endpoint belongs to "s3".`)
  if (terminal !== 'aws4_request') throw invalidArgument('X-Amz-Credential', credential, `incorrect terminal "${terminal}". This endpoint uses "aws4_request".`)
  const date = get('x-amz-date')!
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date)
  if (!m) throw invalidArgument('X-Amz-Date', date, 'X-Amz-Date must be formated via ISO8601 Long format')
  if (region !== bucket.region) {
    throw s3Error('InvalidArgument', {
      message: `the region '${region}' is wrong; expecting '${bucket.region}'`,
      fields: { ArgumentName: 'X-Amz-Credential', ArgumentValue: credential, Region: bucket.region },
      headers: { 'x-amz-bucket-region': bucket.region },
    })
  }
  const cred = lookupKey(s, akid)
  if (!cred) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: akid } })
  const token = get('x-amz-security-token')
  if (cred.sessionToken === undefined) {
    if (token !== undefined) throw s3Error('InvalidToken')
  } else {
    if (token === undefined) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: akid } })
    if (!equalConstantTime(token, cred.sessionToken)) throw s3Error('InvalidToken')
    if (cred.expiresAt !== undefined && cred.expiresAt.getTime() <= nowMs) throw s3Error('ExpiredToken')
  }
  // The signature is over the policy as sent, before it is decoded: a damaged policy is a bad signature.
  const signature = get('x-amz-signature')!
  const expected = s.signingKeyCache.signing(akid, cred.secretAccessKey, scopeDate, region, 's3').mac.digest(policy, 'hex')
  if (!equalConstantTime(signature, expected)) {
    throw s3Error('SignatureDoesNotMatch', {
      fields: {
        AWSAccessKeyId: akid,
        StringToSign: policy,
        SignatureProvided: signature,
        StringToSignBytes: [...Buffer.from(policy)].map((b) => b.toString(16).padStart(2, '0')).join(' '),
      },
    })
  }
  const rec = s.identities.findKey(akid)
  if (!rec) throw s3Error('InvalidAccessKeyId', { fields: { AWSAccessKeyId: akid } })
  const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  return { principal: rec.principal, auth: { kind: 'signed', algorithm: 'AWS4-HMAC-SHA256', authType: 'POST', signatureAgeMs: nowMs - signedAt } }
}

/** Non-ASCII metadata is stored RFC 2047-encoded, as S3 stores what a browser's form sends (UsingMetadata). */
function mailSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`
}

/** The form's object fields as the headers a PutObject would carry. */
function headersOf(values: Map<string, string>): Headers {
  const h: Headers = {}
  for (const [name, value] of values) {
    if (REST_FIELDS.has(name)) h[name] = checkHeaderValue(name, value)
    else if (name === 'acl') h['x-amz-acl'] = value
    else if (name === 'tagging') h['x-amz-tagging'] = taggingQuery(value)
    else if (name.startsWith('x-amz-meta-')) h[name] = mailSafe(value)
    else if (name.startsWith('x-amz-') && !AUTH_FIELDS.has(name)) h[name] = checkHeaderValue(name, value)
  }
  return h
}

/** The `tagging` field's `<Tagging><TagSet><Tag>…` as the x-amz-tagging query string PutObject reads. */
function taggingQuery(xml: string): string {
  const doc = parseXmlBody(xml, 'Tagging')
  const set = doc.TagSet
  const tags = typeof set === 'object' && set !== null ? list((set as Record<string, unknown>).Tag) : []
  const q = new URLSearchParams()
  for (const t of tags) {
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>
    q.append(text(o.Key) ?? '', text(o.Value) ?? '')
  }
  return q.toString()
}

/** Counts the file as it flows, holding it to the policy's content-length-range and S3's 5 GB. */
class SizeLimit extends Transform {
  private n = 0
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.n += chunk.length
    if (this.n > this.max) cb(s3Error('EntityTooLarge', { fields: { ProposedSize: this.n, MaxSizeAllowed: this.max } }))
    else cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    if (this.n < this.min)
      cb(s3Error('EntityTooSmall', { message: 'Your proposed upload is smaller than the minimum allowed size', fields: { ProposedSize: this.n, MinSizeAllowed: this.min } }))
    else cb()
  }
}

async function upload(s: Core, x: PostInput, bucket: BucketRecord, form: Form): Promise<WireResult> {
  const nowMs = s.clock().getTime()
  const values = new Map<string, string>()
  for (const [name, raw] of form.fields) {
    // "${filename} is automatically replaced with the name of the file" in every field; a file part
    // without a filename leaves it as written (observed).
    const value = form.filename === undefined ? raw : raw.split('${filename}').join(form.filename)
    const lower = name.toLowerCase()
    const prev = values.get(lower)
    values.set(lower, prev === undefined ? value : `${prev},${value}`)
  }
  const key = values.get('key')
  if (key === undefined || key === '') throw missingField('key')
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw s3Error('KeyTooLongError', { fields: { Size: Buffer.byteLength(key), MaxSizeAllowed: MAX_KEY_BYTES } })
  const signer = authenticateForm(s, values, bucket, nowMs)
  let range = { min: 0, max: MAX_OBJECT_BYTES }
  if (signer) {
    const limits = checkPostPolicy(parsePostPolicy(values.get('policy')!), { values, names: form.fields.map(([n]) => n), bucket: bucket.name }, nowMs)
    range = { min: limits.min, max: Math.min(limits.max, MAX_OBJECT_BYTES) }
  }
  const principal = signer?.principal ?? ANONYMOUS
  const auth: AuthFacts = signer?.auth ?? { kind: 'anonymous' }
  x.info.op = 'PostObject'
  x.info.key = key
  x.info.principal = principal.arn

  const headers = headersOf(values)
  const query = new URLSearchParams()
  const op = classify('PUT', bucket.name, key, query, {})
  const authz = (action: string, k: string | undefined, b: BucketRecord) =>
    authorizeS3(s, { principal, op, actions: [action], bucket: b, bucketName: b.name, key: k, auth, origin: x.origin, query, headers })
  const decision = authz('s3:PutObject', key, bucket)
  if (!decision.allowed) {
    x.log.info({ why: decision.reason }, 'access denied')
    s.decisions.remember(x.requestId, decision)
    throw s3Error('AccessDenied')
  }
  const body = form.file.pipe(new SizeLimit(range.min, range.max))
  form.file.on('error', (e) => body.destroy(e))
  body.on('error', (err) => x.log.debug({ err: (err as Error).message }, 'form upload body failed'))
  const call: ObjectRequest = {
    core: s,
    requestId: x.requestId,
    op,
    bucketName: bucket.name,
    bucket,
    key,
    query,
    headers,
    body,
    principal,
    endpointRegion: bucket.region,
    log: x.log,
    origin: x.origin,
    allowed: (action, k, other) => authz(action, k, other ?? bucket).allowed,
  }
  const out = await dispatch(call)
  return answer(x, bucket, key, values, out.headers)
}

/** success_action_redirect (303), else success_action_status 200 / 201 (PostResponse) / 204 (the default). */
function answer(x: PostInput, bucket: BucketRecord, key: string, values: Map<string, string>, written: Record<string, string>): WireResult {
  const etag = written.etag ?? ''
  const redirect = values.get('success_action_redirect') ?? values.get('redirect')
  if (redirect !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(redirect)
    } catch {
      url = undefined
    }
    // "If Amazon S3 cannot interpret the URL, it acts as if the field is not present."
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      const q = new URLSearchParams({ bucket: bucket.name, key, etag }).toString()
      return { status: 303, headers: { ...written, location: `${redirect}${redirect.includes('?') ? '&' : '?'}${q}` } }
    }
  }
  const location = objectUrl(x, bucket.name, key)
  const status = values.get('success_action_status')
  if (status === '201') {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>${esc(location)}</Location><Bucket>${esc(bucket.name)}</Bucket><Key>${esc(key)}</Key><ETag>${esc(etag)}</ETag></PostResponse>`
    return { status: 201, headers: { ...written, location, 'content-type': 'application/xml' }, body }
  }
  return { status: status === '200' ? 200 : 204, headers: { ...written, location } }
}

/** The object's URL as the client addressed the bucket (virtual-hosted or path style), key escaped. */
function objectUrl(x: PostInput, bucket: string, key: string): string {
  const scheme = x.origin.secure ? 'https' : 'http'
  const host = header(x.req.headers, 'host') ?? ''
  const k = encodeURIComponent(key)
  return x.target.kind === 'bucket' ? `${scheme}://${host}/${k}` : `${scheme}://${host}/${bucket}/${k}`
}

/**
 * @module Stages authorize → execute for a resolved S3 request, direct or routed by an MRAP: the
 * request is authorized through every layer, its body decoded (signatures and digests checked as it
 * flows), and the operation's handler run.
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { type AuthResult, decodeBody, type HttpRequestView } from '../auth/index.js'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import type { WireResult } from '../http/respond.js'
import type { Principal } from '../iam/identities.js'
import type { MrapRecord } from '../mrap/registry.js'
import { authorizeS3 } from '../s3/authorize.js'
import { actionsFor, type Operation } from '../s3/classify.js'
import type { S3Request } from '../s3/context.js'
import { readSmallBody } from '../s3/context.js'
import { dispatch } from '../s3/dispatch.js'
import { header } from '../s3/headers.js'
import { objectAclDecides, objectAclFor } from '../s3/ops/acl.js'
import { type LockFacts, lockFactsFromBody } from '../s3/ops/object-lock.js'
import { s3Error } from '../shared/errors.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import type { ObjectAcl } from '../storage/types.js'

const MAX_PUT_BYTES = 5 * 1024 ** 3

export interface ExecuteInput {
  req: IncomingMessage
  view: HttpRequestView
  op: Operation
  query: URLSearchParams
  auth: AuthResult
  principal: Principal
  origin: Origin
  requestId: string
  log: Logger
  endpointRegion: string
  bucket?: BucketRecord | undefined
  bucketName?: string | undefined
  key?: string | undefined
  /** Set for requests through a Multi-Region Access Point (the MRAP authorization context). */
  mrap?: MrapRecord | undefined
  /** Object Lock condition-key values read from the body before authorization. */
  objectLock?: LockFacts | undefined
  /** The object's ACL, read before authorization where the bucket's ACLs are enabled. */
  objectAcl?: ObjectAcl | undefined
}

/** Stages authorize → execute for a resolved S3 request (direct, or routed by an MRAP). */
export async function executeS3(s: Core, x: ExecuteInput): Promise<WireResult> {
  const { req, op, query, auth, principal, origin, requestId, log, bucket, bucketName, key, mrap } = x
  // PutObjectRetention and PutObjectLegalHold: the s3:object-lock-* condition keys are in the body,
  // so its few bytes are read (and their signature checked) before the decision that reads them.
  const fromBody = lockFactsFromBody(op.name)
  let early: Buffer | undefined
  let objectLock: LockFacts | undefined
  if (fromBody) {
    early = await readSmallBody(decodeBody(x.view, auth, req), 64 * 1024)
    objectLock = fromBody(early)
    x.objectLock = objectLock
  }
  // Most buckets (BucketOwnerEnforced, the default) have no object ACL to read: no call, no await.
  const objectAcl = bucket && key !== undefined && objectAclDecides(bucket, op.name) ? await objectAclFor(s, bucket, key, op.name, query) : undefined
  x.objectAcl = objectAcl
  const decision = authorizeS3(s, {
    principal,
    op,
    actions: actionsFor(op.name, query),
    bucket,
    bucketName,
    key,
    auth,
    origin,
    query,
    headers: req.headers,
    mrap,
    objectLock,
    objectAcl,
  })
  if (!decision.allowed) {
    log.info({ why: decision.reason }, 'access denied')
    s.decisions.remember(requestId, decision)
    throw s3Error('AccessDenied')
  }

  checkBodyLimits(op, req)
  let body: Readable | undefined
  if (early) body = Readable.from([early])
  else if (op.body !== 'none') {
    body = decodeBody(x.view, auth, req)
    // A body error (bad framing, digest mismatch, client gone) may fire while a handler is still
    // awaiting something else; the consumer sees it through its pipeline, and it must never become
    // an uncaught exception that takes the server down.
    body.on('error', (err) => log.debug({ err: (err as Error).message }, 'request body failed'))
  }
  const s3req = new S3Call(s, x, body)
  const out = await dispatch(s3req)
  if (out.status === 200 && out.body === undefined && x.view.method !== 'HEAD' && !out.headers['content-length']) out.headers['content-length'] = '0'
  return out
}

/**
 * One request as the S3 operations see it. A class on purpose: the lazy body getter lives on the
 * prototype. As an accessor in an object literal it gave every request its own hidden class, which
 * V8 kept past young-generation collections (a third of the CPU of a small GET went to the GC).
 */
class S3Call implements S3Request {
  readonly core: Core
  readonly requestId: string
  readonly op: Operation
  readonly query: URLSearchParams
  readonly headers: S3Request['headers']
  readonly principal: Principal
  readonly endpointRegion: string
  readonly log: Logger
  readonly origin: Origin
  bucketName?: string
  bucket?: BucketRecord
  key?: string
  mrapBpa?: BlockPublicAccess

  constructor(
    s: Core,
    private readonly x: ExecuteInput,
    private decoded: Readable | undefined,
  ) {
    this.core = s
    this.requestId = x.requestId
    this.op = x.op
    this.query = x.query
    this.headers = x.req.headers
    this.principal = x.principal
    this.endpointRegion = x.endpointRegion
    this.log = x.log
    this.origin = x.origin
    if (x.bucketName !== undefined) this.bucketName = x.bucketName
    if (x.bucket) this.bucket = x.bucket
    if (x.key !== undefined) this.key = x.key
    if (x.mrap) this.mrapBpa = x.mrap.publicAccessBlock
  }

  /** Operations without a body never read it: an empty stream only when one asks. */
  get body(): Readable {
    return (this.decoded ??= Readable.from([]))
  }

  allowed(action: string, key?: string, other?: BucketRecord, objectAcl?: ObjectAcl): boolean {
    const x = this.x
    return authorizeS3(this.core, {
      principal: x.principal,
      op: x.op,
      actions: [action],
      bucket: other ?? x.bucket,
      bucketName: other?.name ?? x.bucketName,
      key,
      auth: x.auth,
      origin: x.origin,
      query: x.query,
      headers: x.req.headers,
      mrap: other ? undefined : x.mrap,
      objectLock: x.objectLock,
      objectAcl: objectAcl ?? (other || (key !== undefined && key !== x.key) ? undefined : x.objectAcl),
    }).allowed
  }
}

export function checkBodyLimits(op: Operation, req: IncomingMessage): void {
  if (op.name !== 'PutObject' && op.name !== 'UploadPart') return
  const len = header(req.headers, 'x-amz-decoded-content-length') ?? header(req.headers, 'content-length')
  const chunked = req.headers['transfer-encoding'] !== undefined
  if (len === undefined && !chunked) throw s3Error('MissingContentLength')
  if (len !== undefined) {
    if (!/^\d+$/.test(len)) throw s3Error('InvalidArgument', { message: 'Content-Length is not a number', fields: { ArgumentName: 'Content-Length', ArgumentValue: len } })
    if (Number(len) > MAX_PUT_BYTES) throw s3Error('EntityTooLarge', { fields: { ProposedSize: len, MaxSizeAllowed: MAX_PUT_BYTES } })
  }
}

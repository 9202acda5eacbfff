/**
 * @module Server access logging: a record per request to a bucket with logging enabled
 * (ops/logging.ts), in S3's log format, delivered in batches as objects of the target bucket,
 * named `TargetPrefix + YYYY-mm-DD-HH-MM-SS-UniqueString`, on a timer and on shutdown.
 * "Amazon S3 server access log format", https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html;
 * "Logging requests with server access logging" (key format, best-effort delivery),
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html.
 * Delivery is best effort, as S3's is: records wait in memory, a crash loses the unsent batch.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Core } from '../core/core.js'
import { canonicalId } from './context.js'
import { loggingOf } from './ops/logging.js'

/** What the pipeline knows of one answered request. */
export interface AccessEvent {
  bucket: string
  time: Date
  remoteIp: string
  /** The requester's ARN, undefined for an anonymous request. */
  requester?: string | undefined
  requestId: string
  hostId: string
  method: string
  /** The operation's resource: OBJECT, BUCKET, or a subresource (TAGGING, ACL, LOGGING_STATUS...). */
  resource: string
  key?: string | undefined
  /** The request line's target, as sent. */
  uri: string
  httpVersion: string
  status: number
  errorCode?: string | undefined
  bytesSent?: number | undefined
  objectSize?: number | undefined
  totalMs: number
  referer?: string | undefined
  userAgent?: string | undefined
  versionId?: string | undefined
  signatureVersion?: string | undefined
  authType?: string | undefined
  cipherSuite?: string | undefined
  tlsVersion?: string | undefined
  hostHeader?: string | undefined
  /** The Multi-Region Access Point a request came through. */
  accessPointArn?: string | undefined
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number): string => String(n).padStart(2, '0')

/** `[06/Feb/2019:00:00:38 +0000]`, the format's time field. */
function logTime(d: Date): string {
  return `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`
}

/** A field: `-` when absent; quoted fields escape their quotes (S3 writes them as \"). */
const field = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v))
const quoted = (v: string | undefined): string =>
  `"${
    v === undefined || v === ''
      ? '-'
      : v
          .replace(/\\/g, '\\\\')
          .replace(/"/g, '\\"')
          .replace(/[\r\n]/g, ' ')
  }"`

/** One log line, fields in the documented order (Bucket Owner ... aclRequired). */
export function formatRecord(owner: string, e: AccessEvent): string {
  return [
    canonicalId(owner),
    e.bucket,
    logTime(e.time),
    e.remoteIp,
    field(e.requester),
    e.requestId,
    `REST.${e.method}.${e.resource}`,
    field(e.key === undefined ? undefined : encodeURIComponent(e.key).replace(/%2F/g, '/')),
    quoted(`${e.method} ${e.uri} HTTP/${e.httpVersion}`),
    e.status,
    field(e.errorCode),
    field(e.bytesSent || undefined),
    field(e.objectSize),
    Math.round(e.totalMs),
    field(undefined),
    quoted(e.referer),
    quoted(e.userAgent),
    field(e.versionId),
    e.hostId,
    field(e.signatureVersion),
    field(e.cipherSuite),
    field(e.authType),
    field(e.hostHeader),
    field(e.tlsVersion),
    field(e.accessPointArn),
    field(undefined),
  ].join(' ')
}

const RESOURCES: Record<string, string> = {
  GetObject: 'OBJECT',
  HeadObject: 'OBJECT',
  PutObject: 'OBJECT',
  DeleteObject: 'OBJECT',
  CopyObject: 'OBJECT',
  PostObject: 'OBJECT',
  CreateMultipartUpload: 'UPLOADS',
  UploadPart: 'PART',
  UploadPartCopy: 'PART',
  CompleteMultipartUpload: 'UPLOAD',
  AbortMultipartUpload: 'UPLOAD',
  ListParts: 'UPLOAD',
  GetBucketLogging: 'LOGGING_STATUS',
  PutBucketLogging: 'LOGGING_STATUS',
}

const SUBRESOURCES = new Set([
  'acl',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'legal-hold',
  'lifecycle',
  'location',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'retention',
  'tagging',
  'uploads',
  'versioning',
  'versions',
])

/** The Operation field's resource: OBJECT, BUCKET, or the subresource the request named (TAGGING, ACL...). */
export function resourceOf(op: string | undefined, rawQuery: string): string {
  const known = op !== undefined ? RESOURCES[op] : undefined
  if (known) return known
  const names = rawQuery.split('&').map((p) => decodeURIComponent(p.split('=')[0] ?? ''))
  const sub = names.find((n) => SUBRESOURCES.has(n))
  return sub ? sub.toUpperCase().replace(/-/g, '_') : 'BUCKET'
}

/** `YYYY-mm-DD-HH-MM-SS-` and 16 upper-case hex digits: the simple key format's object name. */
export function logObjectKey(prefix: string, at: Date): string {
  const d = at
  const stamp = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}-${two(d.getUTCHours())}-${two(d.getUTCMinutes())}-${two(d.getUTCSeconds())}`
  return `${prefix}${stamp}-${randomBytes(8).toString('hex').toUpperCase()}`
}

interface Batch {
  source: string
  target: string
  prefix: string
  lines: string[]
}

/** A batch is written early past this many records, so memory stays bounded between ticks. */
const MAX_BATCH = 10_000

export class AccessLog {
  private batches = new Map<string, Batch>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly core: Core,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.flush()
    }, this.intervalMs)
    this.timer.unref()
  }

  /** Flushes what is pending and stops the timer (shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  /** Whether `record` would keep a record of the bucket's: the pipeline builds none for a bucket that does not log. */
  logs(bucket: string): boolean {
    return this.core.state.getBucket(bucket)?.configs.logging !== undefined
  }

  /** Called once per answered S3 request; costs a map lookup when the bucket does not log. */
  record(e: AccessEvent): void {
    const b = this.core.state.getBucket(e.bucket)
    if (!b || b.configs.logging === undefined) return
    const c = loggingOf(b)
    if (!c) return
    const id = `${e.bucket}\n${c.targetBucket}\n${c.targetPrefix}`
    let batch = this.batches.get(id)
    if (!batch) {
      batch = { source: e.bucket, target: c.targetBucket, prefix: c.targetPrefix, lines: [] }
      this.batches.set(id, batch)
    }
    batch.lines.push(formatRecord(b.owner, e))
    if (batch.lines.length >= MAX_BATCH) void this.flush()
  }

  /** Writes every pending batch as one object each; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.deliver())
    return this.flushing
  }

  private async deliver(): Promise<void> {
    const batches = [...this.batches.values()]
    this.batches = new Map()
    for (const batch of batches) {
      try {
        await this.write(batch)
      } catch (err) {
        this.core.log.warn({ err: (err as Error).message, source: batch.source, target: batch.target }, 'access log batch not delivered')
      }
    }
  }

  private async write(batch: Batch): Promise<void> {
    const target = this.core.state.getBucket(batch.target)
    // A target deleted since the records were taken: nothing to deliver to (S3 drops them too).
    if (!target) return
    const store = this.core.stores.get(target.region)
    if (!store) return
    const body = Buffer.from(`${batch.lines.join('\n')}\n`)
    const attributes = { userMetadata: {}, tags: [], contentType: 'text/plain' }
    const key = logObjectKey(batch.prefix, this.core.clock())
    const rs = this.core.replication.statusFor(target, key, [])
    const v = await store.putObject({
      bucket: target.name,
      key,
      versioning: target.versioning,
      size: body.length,
      body: Readable.from([body]),
      attributes: rs ? { ...attributes, replicationStatus: rs } : attributes,
      finalize: () => ({ etag: createHash('md5').update(body).digest('hex'), checksums: {}, checksumType: 'FULL_OBJECT' }),
    })
    await this.core.replication.written(target, v)
  }
}

/**
 * @module Server access logging: a record per request to a bucket with logging enabled
 * (ops/logging.ts), in S3's log format, delivered in batches as objects of the target bucket, on a
 * timer and on shutdown, named in the configuration's key format (simple or date-partitioned) and
 * carrying its TargetGrants in their ACL.
 * "Amazon S3 server access log format", https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html;
 * "Logging requests with server access logging" (key format, best-effort delivery),
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html. docs/decisions/access-logging.md.
 * Delivery is best effort, as S3's is: records wait in memory, a crash loses the unsent batch.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Core } from '../core/core.js'
import type { ObjectAttributes } from '../storage/types.js'
import { aclsEnabled, ownerOnly } from './acl.js'
import { canonicalId } from './context.js'
import { type LoggingConfig, loggingOf } from './ops/logging.js'

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

/** The bucket whose records a log object holds, as the partitioned key names it. */
export interface LogSource {
  account: string
  region: string
  bucket: string
}

/** Midnight UTC of `d`'s day: EventTime's partition. */
const dayOf = (d: Date): Date => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))

/**
 * A log object's key ("Log object key format", https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html#server-log-keyname-format):
 * simple, `[DestinationPrefix][YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString]` at delivery; or
 * partitioned, `[DestinationPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/[YYYY]/[MM]/[DD]/`
 * then the same stamp, whose date is the delivery's (DeliveryTime) or the events' day with the time
 * 00-00-00 (EventTime, the default: "The logs delivered are for a specific day only ... the hour,
 * minutes and seconds are set to 00 in the key", https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html).
 * UniqueString: 16 upper-case hex digits, as S3's keys show them.
 */
export function logObjectKey(c: Pick<LoggingConfig, 'targetPrefix' | 'keyFormat' | 'partitionDateSource'>, source: LogSource, deliveredAt: Date, eventDay?: Date): string {
  const unique = randomBytes(8).toString('hex').toUpperCase()
  const stamp = (d: Date) => `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}-${two(d.getUTCHours())}-${two(d.getUTCMinutes())}-${two(d.getUTCSeconds())}`
  if (c.keyFormat !== 'PartitionedPrefix') return `${c.targetPrefix}${stamp(deliveredAt)}-${unique}`
  const d = c.partitionDateSource === 'DeliveryTime' ? deliveredAt : dayOf(eventDay ?? deliveredAt)
  const path = `${source.account}/${source.region}/${source.bucket}/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/`
  return `${c.targetPrefix}${path}${stamp(d)}-${unique}`
}

const partitionsByEvent = (c: LoggingConfig): boolean => c.keyFormat === 'PartitionedPrefix' && c.partitionDateSource !== 'DeliveryTime'

interface Batch {
  source: LogSource
  config: LoggingConfig
  /** EventTime partitioning: the day every record of the batch was taken on. */
  eventDay?: Date
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
    // One object per source, configuration and (EventTime) day: a log object of that format holds one day only.
    const day = partitionsByEvent(c) ? dayOf(e.time) : undefined
    const id = `${e.bucket}\n${b.configs.logging}\n${day?.getTime() ?? ''}`
    let batch = this.batches.get(id)
    if (!batch) {
      batch = { source: { account: b.owner, region: b.region, bucket: e.bucket }, config: c, lines: [] }
      if (day) batch.eventDay = day
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
        this.core.log.warn({ err: (err as Error).message, source: batch.source.bucket, target: batch.config.targetBucket }, 'access log batch not delivered')
      }
    }
  }

  private async write(batch: Batch): Promise<void> {
    const target = this.core.state.getBucket(batch.config.targetBucket)
    // A target deleted since the records were taken: nothing to deliver to (S3 drops them too).
    if (!target) return
    const store = this.core.stores.get(target.region)
    if (!store) return
    const body = Buffer.from(`${batch.lines.join('\n')}\n`)
    const attributes: ObjectAttributes = { userMetadata: {}, tags: [], contentType: 'text/plain' }
    // "The bucket owner is automatically granted FULL_CONTROL to all logs", TargetGrants beside it
    // (PutBucketLogging). A target whose ACLs were disabled since takes none, as an object write does not.
    const grants = batch.config.targetGrants
    if (grants && aclsEnabled(target)) attributes.acl = { owner: target.owner, grants: [...ownerOnly(target.owner), ...grants] }
    const key = logObjectKey(batch.config, batch.source, this.core.clock(), batch.eventDay)
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

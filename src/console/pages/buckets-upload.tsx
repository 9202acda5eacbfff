/**
 * @module Uploads: the browser sends each file as the raw body of its own XHR (so it can show a
 * `<progress>` per file, cancel and retry: assets/console/buckets-upload.js), and the console
 * streams the body on to the bucket as the signed-in principal with lib-storage's Upload: one
 * PutObject below a part, a multipart upload above, never the whole file in memory (at most
 * QUEUE parts of at most MAX_PART bytes). MinIO's console stalls big uploads behind proxies (design §1.3); a
 * stream with bounded parts is what avoids that.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Upload } from '@aws-sdk/lib-storage'
import type { ApiError } from '../api.js'
import { ApiErrorBox, Notice } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { attempt, bucketArn, bucketHref, formatSize, inputError, type Outcome, s3For } from './buckets-common.js'

/** S3's smallest part (but the last): above it the upload goes multipart. */
const PART = 5 * 1024 * 1024
const QUEUE = 2
const MAX_PARTS = 10_000
/**
 * Parts grow with the file (S3 allows 10,000), but the console holds QUEUE of them in memory per
 * upload, and the size that picks the part size is the browser's word: a bound on the part is a
 * bound on what one signed-in user can make the server hold (QUEUE x 16 MiB), which caps an upload
 * through the console at 10,000 x 16 MiB (156 GiB; larger ones go through the CLI or an SDK).
 */
const MAX_PART = 16 * 1024 * 1024
const MAX_OBJECT = MAX_PART * MAX_PARTS

export function UploadPanel({ ctx, bucket, prefix, listing }: { ctx: ConsoleContext; bucket: string; prefix: string; listing: string }) {
  return (
    <section id="upload-panel" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload</h2>
      <form class="upload-form" data-upload-url={bucketHref(ctx, bucket, '/upload')} data-prefix={prefix} data-listing={listing}>
        <label for="upload-files">Files to upload{prefix ? ` under ${prefix}` : ''}</label>
        <div class="field-group">
          <input id="upload-files" type="file" multiple name="files" />
          <button type="submit">Upload</button>
        </div>
        <noscript>Uploading needs JavaScript (each file is sent with its own progress bar).</noscript>
      </form>
      <ul class="upload-list" aria-label="Uploads" />
      <script src={`${ctx.base}/assets/buckets-upload.js`} defer />
    </section>
  )
}

/** Counts the bytes that pass and fails the stream if they are not what the browser announced. */
class Counted extends Transform {
  seen = 0
  constructor(private readonly expected: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.expected) cb(new Error(`the body is longer than the announced ${this.expected} bytes`))
    else cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    // A cancelled XHR ends the body early: a short body must never become a complete object.
    if (this.seen !== this.expected) cb(new Error(`the body ended after ${this.seen} of ${this.expected} bytes`))
    else cb()
  }
}

function incomplete(e: Error): ApiError {
  return inputError('IncompleteBody', `You did not provide the number of bytes specified by the Content-Length HTTP header (${e.message}).`)
}

function fail(ctx: ConsoleContext, error: ApiError): PageResult {
  return { kind: 'fragment', status: error.status || 400, body: <ApiErrorBox ctx={ctx} error={error} title="Upload failed" /> }
}

export async function uploadObject(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const key = req.query.get('key') ?? ''
  const size = Number(req.query.get('size'))
  const type = req.query.get('type') || 'application/octet-stream'
  if (key === '') return fail(ctx, inputError('InvalidArgument', 'The upload names no key.'))
  if (Buffer.byteLength(key) > 1024) return fail(ctx, inputError('KeyTooLongError', 'Your key is too long'))
  if (!Number.isSafeInteger(size) || size < 0) return fail(ctx, inputError('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411))
  if (size > MAX_OBJECT) {
    const message = `Your proposed upload exceeds the maximum allowed size: the console uploads up to ${formatSize(MAX_OBJECT)} (use the CLI or an SDK for more).`
    return fail(ctx, inputError('EntityTooLarge', message, 400))
  }
  if (!req.body) return fail(ctx, inputError('IncompleteBody', 'The request body is missing.'))
  const counted = new Counted(size)
  // Settles, never rejects: its failure (a short body, the browser gone) is read below.
  const piped = pipeline(req.body, counted).then(
    () => undefined,
    (e: Error) => e,
  )
  // Parts grow with the file so that no upload needs more than S3's 10,000 parts.
  const partSize = Math.max(PART, Math.ceil(size / MAX_PARTS))
  const s3 = await s3For(ctx, bucket)
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: counted, ContentType: type }, partSize, queueSize: QUEUE, leavePartsOnError: false })
  let r: Outcome<Awaited<ReturnType<Upload['done']>>>
  try {
    r = await attempt(() => upload.done(), 's3:PutObject', bucketArn(ctx, bucket, key))
  } catch (e) {
    // Upload rethrows what broke the body (the Counted check, a reset socket).
    if (!counted.destroyed && !counted.errored) throw e
    r = { ok: false, error: incomplete(e as Error) }
  }
  if (!r.ok) {
    // Refused before the body was read: read the rest and drop it, so the browser gets the answer
    // on a connection still in step (an unread body would be taken for the next request).
    counted.resume()
    return fail(ctx, r.error)
  }
  const streamed = await piped
  if (streamed) return fail(ctx, incomplete(streamed))
  const etag = r.value.ETag ?? ''
  return {
    kind: 'fragment',
    body: (
      <Notice status="ok">
        Uploaded {key} ({formatSize(size)}
        {etag.includes('-') ? `, multipart in ${etag.slice(etag.lastIndexOf('-') + 1).replace(/"/g, '')} parts` : ''}). ETag <code>{etag}</code>
      </Notice>
    ),
  }
}

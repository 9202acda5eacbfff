/**
 * @module What the Buckets page's views share: links under `/buckets`, the client for a bucket's
 * region, SDK calls turned into shown errors, and small formatting helpers.
 */
import type { S3Client } from '@aws-sdk/client-s3'
import { type ApiError, isSdkError, toApiError } from '../api.js'
import { href } from '../components.js'
import type { ConsoleContext } from '../page.js'

export const MOUNT = '/buckets'

/** Objects and folders per listed page: S3's own default is 1000, which is a long page to read. */
export const PAGE_SIZE = 100

/** A presigned URL lives at most 7 days with SigV4 (X-Amz-Expires ≤ 604800). */
export const MAX_SHARE_SECONDS = 604800

export type Query = Record<string, string | undefined>

export function bucketsHref(ctx: ConsoleContext, query?: Query): string {
  return href(ctx, MOUNT, query)
}

export function bucketHref(ctx: ConsoleContext, bucket: string, sub = '', query?: Query): string {
  return href(ctx, `${MOUNT}/${encodeURIComponent(bucket)}${sub}`, query)
}

/**
 * The client for a bucket: S3 serves a bucket only in its region and refuses a signature scoped to
 * another one. Which region a bucket lives in is no secret (S3 tells anyone in
 * `x-amz-bucket-region`, even on a 403), so it is read from the state; an unknown bucket gets the
 * front door's region and the API's own NoSuchBucket.
 */
export async function s3For(ctx: ConsoleContext, bucket: string): Promise<S3Client> {
  return ctx.api.s3(bucketRegion(ctx, bucket))
}

export function bucketRegion(ctx: ConsoleContext, bucket: string): string {
  return ctx.core.state.getBucket(bucket)?.region ?? ctx.core.world.frontDoorRegion ?? 'us-east-1'
}

export function bucketArn(ctx: ConsoleContext, bucket: string, key?: string): string {
  return `arn:${ctx.core.world.partition}:s3:::${bucket}${key !== undefined ? `/${key}` : ''}`
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiError }

/**
 * Runs an SDK call; an error the API answered becomes what the page shows (with the permission it
 * needed, for the explain link). Anything else is a bug and is rethrown.
 */
export async function attempt<T>(fn: () => Promise<T>, action: string, resource: string): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    // An API answer or a socket error is shown; anything else is a bug and must not be swallowed.
    if (!isSdkError(e) && typeof (e as { code?: unknown })?.code !== 'string') throw e
    return { ok: false, error: toApiError(e, { action, resource }) }
  }
}

/** A missing configuration is an answer, not a failure (NoSuchBucketPolicy, NoSuchTagSet, …). */
export async function optional<T>(fn: () => Promise<T>, missing: string, action: string, resource: string): Promise<Outcome<T | undefined>> {
  const r = await attempt(fn, action, resource)
  if (!r.ok && r.error.code === missing) return { ok: true, value: undefined }
  return r
}

/** An error the console itself found in the request (before asking the API), shaped like AWS's. */
export function inputError(code: string, message: string, status = 400): ApiError {
  return { code, message, status }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatSize(n: number | undefined): string {
  if (n === undefined) return '—'
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u += 1
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`
}

export function Time({ at }: { at: Date | undefined }) {
  if (!at) return <>—</>
  const iso = at.toISOString()
  return <time datetime={iso}>{iso.replace('T', ' ').slice(0, 19)} UTC</time>
}

/** The last path segment of a key, for a download's file name. */
export function baseName(key: string): string {
  const parts = key.split('/').filter((p) => p !== '')
  return parts[parts.length - 1] ?? 'download'
}

/**
 * @module The listing walk shared by ListObjects, ListObjectVersions and ListMultipartUploads.
 *
 *   rows in key order ──► [prefix filter] ──► key has delimiter after prefix?
 *                                               ├─ no:  emit the row
 *                                               └─ yes: emit the common prefix once, then seek
 *                                                       past every key that shares it
 *   stop when maxKeys entries are emitted; one more entry existing ⇒ isTruncated.
 *
 * Keys compare as UTF-8 bytes (= code points), which is SQLite's BINARY collation on TEXT. JS
 * `<` compares UTF-16 units and disagrees above U+FFFF, so bounds are compared with
 * `compareKeys`. Objects and common prefixes both count toward maxKeys, as S3 counts them.
 */

import type { ListUploadsInput, ListUploadsResult, MultipartUpload } from '../types.js'

/** A point in key order: keys >= (inclusive) or > `key`; `tie` lets a caller resume inside a key. */
export interface Position {
  key: string
  inclusive: boolean
  tie?: number
}

export interface WalkInput<R> {
  prefix: string
  delimiter?: string
  maxKeys: number
  start: Position
  /** Rows at or after `from`, keys below `end` (if given), in listing order, at most `limit`. */
  fetch: (from: Position, end: string | undefined, limit: number) => R[]
  keyOf: (row: R) => string
  /** The position just after a row (for resuming a batch). */
  after: (row: R) => Position
}

export type Entry<R> = { row: R } | { prefix: string }

export interface WalkResult<R> {
  entries: Entry<R>[]
  isTruncated: boolean
}

const BATCH = 1000

export function walk<R>(input: WalkInput<R>): WalkResult<R> {
  const steps = walkSteps(input)
  for (let s = steps.next(); ; ) {
    if (s.done) return s.value
    s = steps.next(input.fetch(s.value.from, s.value.end, s.value.limit))
  }
}

/** `walk` over rows that come from a database across the network (the upstream sidecar on PostgreSQL). */
export async function walkAsync<R>(
  input: Omit<WalkInput<R>, 'fetch'> & { fetch: (from: Position, end: string | undefined, limit: number) => Promise<R[]> },
): Promise<WalkResult<R>> {
  const steps = walkSteps(input)
  for (let s = steps.next(); ; ) {
    if (s.done) return s.value
    s = steps.next(await input.fetch(s.value.from, s.value.end, s.value.limit))
  }
}

/** The walk itself, yielding each fetch it needs, so the sync and async walks share it. */
function* walkSteps<R>(input: Omit<WalkInput<R>, 'fetch'>): Generator<{ from: Position; end: string | undefined; limit: number }, WalkResult<R>, R[]> {
  const { prefix, delimiter, maxKeys } = input
  const entries: Entry<R>[] = []
  if (maxKeys <= 0) return { entries, isTruncated: false }
  const end = prefix === '' ? undefined : keySuccessor(prefix)
  let pos = maxPosition(input.start, { key: prefix, inclusive: true })
  const batch = Math.min(maxKeys + 1, BATCH)
  for (;;) {
    const rows = yield { from: pos, end, limit: batch }
    let reseek = false
    for (const row of rows) {
      if (entries.length === maxKeys) return { entries, isTruncated: true }
      const cp = commonPrefixOf(input.keyOf(row), prefix, delimiter)
      if (cp === undefined) {
        entries.push({ row })
        continue
      }
      entries.push({ prefix: cp })
      const next = keySuccessor(cp)
      if (next === undefined) return { entries, isTruncated: false }
      pos = { key: next, inclusive: true }
      reseek = true
      break
    }
    if (reseek) continue
    if (rows.length < batch) return { entries, isTruncated: false }
    pos = input.after(rows[rows.length - 1]!)
  }
}

/** `key` up to and including the first delimiter after `prefix`, if there is one. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (!delimiter || !key.startsWith(prefix)) return undefined
  const i = key.indexOf(delimiter, prefix.length)
  return i < 0 ? undefined : key.slice(0, i + delimiter.length)
}

/**
 * Where a listing resumes after `marker`: a marker that is itself a common prefix (we hand those
 * out as nextAfter) skips every key under it, so a rolled-up prefix never shows up twice.
 */
export function startAfter(marker: string | undefined, prefix: string, delimiter: string | undefined): Position {
  if (marker === undefined || marker === '') return { key: prefix, inclusive: true }
  if (commonPrefixOf(marker, prefix, delimiter) === marker) {
    const next = keySuccessor(marker)
    if (next !== undefined) return { key: next, inclusive: true }
  }
  return { key: marker, inclusive: false }
}

/** The smallest string greater than every string that starts with `s` (code point order). */
export function keySuccessor(s: string): string | undefined {
  const cps = Array.from(s, (c) => c.codePointAt(0)!)
  while (cps.length > 0) {
    const last = cps.pop()!
    if (last < 0x10ffff) {
      cps.push(last + 1 === 0xd800 ? 0xe000 : last + 1)
      return String.fromCodePoint(...cps)
    }
  }
  return undefined
}

/** UTF-8 byte order, the order SQLite's BINARY collation gives TEXT. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function maxPosition(a: Position, b: Position): Position {
  const c = compareKeys(a.key, b.key)
  if (c !== 0) return c > 0 ? a : b
  return a.inclusive && a.tie === undefined ? b : a
}

/** An open upload as the listing sees it: its key, its id, and its place among the key's uploads. */
export interface UploadRow {
  key: string
  seq: number
}

/**
 * ListMultipartUploads in S3's order (key, then initiation), with S3's markers: one page over a
 * store's upload rows. Both stores list their own records of open uploads through it.
 * `marker(id)` is the upload an uploadIdMarker names, when it is in this bucket.
 */
export function uploadsPage<R extends UploadRow>(o: {
  input: ListUploadsInput
  marker: (uploadId: string) => UploadRow | undefined
  fetch: WalkInput<R>['fetch']
  uploadIdOf: (r: R) => string
  toUpload: (r: R) => MultipartUpload
}): ListUploadsResult {
  const { input } = o
  const m = input.keyMarker && input.uploadIdMarker ? o.marker(input.uploadIdMarker) : undefined
  return uploadsOut(o, walk<R>({ ...uploadsWalk<R>(input, m), fetch: o.fetch }))
}

/** `uploadsPage` over a sidecar across the network. */
export async function uploadsPageAsync<R extends UploadRow>(o: {
  input: ListUploadsInput
  marker: (uploadId: string) => Promise<UploadRow | undefined>
  fetch: (from: Position, end: string | undefined, limit: number) => Promise<R[]>
  uploadIdOf: (r: R) => string
  toUpload: (r: R) => MultipartUpload
}): Promise<ListUploadsResult> {
  const { input } = o
  const m = input.keyMarker && input.uploadIdMarker ? await o.marker(input.uploadIdMarker) : undefined
  return uploadsOut(o, await walkAsync<R>({ ...uploadsWalk<R>(input, m), fetch: o.fetch }))
}

function uploadsWalk<R extends UploadRow>(input: ListUploadsInput, m: UploadRow | undefined): Omit<WalkInput<R>, 'fetch'> {
  const prefix = input.prefix ?? ''
  let start: Position = startAfter(input.keyMarker, prefix, input.delimiter)
  // An upload id of another key (or one since gone) cannot place the listing inside the key.
  if (m && input.keyMarker && m.key === input.keyMarker) start = { key: input.keyMarker, inclusive: false, tie: m.seq }
  return {
    prefix,
    ...(input.delimiter ? { delimiter: input.delimiter } : {}),
    maxKeys: input.maxUploads,
    start,
    keyOf: (r) => r.key,
    after: (r) => ({ key: r.key, inclusive: false, tie: r.seq }),
  }
}

function uploadsOut<R extends UploadRow>(o: { uploadIdOf: (r: R) => string; toUpload: (r: R) => MultipartUpload }, { entries, isTruncated }: WalkResult<R>): ListUploadsResult {
  const out: ListUploadsResult = { uploads: [], commonPrefixes: [], isTruncated }
  for (const e of entries) {
    if ('row' in e) out.uploads.push(o.toUpload(e.row))
    else out.commonPrefixes.push(e.prefix)
  }
  const last = entries[entries.length - 1]
  if (isTruncated && last) {
    if ('row' in last) {
      out.nextKeyMarker = last.row.key
      out.nextUploadIdMarker = o.uploadIdOf(last.row)
    } else out.nextKeyMarker = last.prefix
  }
  return out
}

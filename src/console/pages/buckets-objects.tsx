/**
 * @module A bucket's objects: one server-side page at a time (ListObjectsV2 with the `/`
 * delimiter, or ListObjectVersions), never the whole prefix; a jump-to-prefix box and a search
 * that is a server-side prefix (MinIO's object browser loads a prefix whole and searches in the
 * browser, which is what its users complain about: design/console.md §1). One object's details,
 * versions, download, delete and share link; uploads are in ./buckets-upload.ts.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3'
import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api.js'
import { ApiErrorBox, CsrfField, DataTable, EmptyState, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { attempt, baseName, bucketArn, bucketHref, formatSize, inputError, MAX_SHARE_SECONDS, PAGE_SIZE, type Query, s3For, Time } from './buckets-common.js'
import { bucketFrame, noticeOf } from './buckets-frame.js'
import { presignGet, ShareForm } from './buckets-share.js'
import { UploadPanel } from './buckets-upload.js'

/** How many earlier pages "Previous" can go back to (their tokens ride in the query string). */
const MAX_BACK = 20

interface ListState {
  prefix: string
  search: string
  versions: boolean
  token: string | undefined
  back: string[]
}

function listState(q: URLSearchParams): ListState {
  return {
    prefix: q.get('prefix') ?? '',
    search: q.get('q') ?? '',
    versions: q.get('versions') === '1',
    token: q.get('token') || undefined,
    back: q.getAll('back').slice(-MAX_BACK),
  }
}

/** The listing URL for a state (back tokens repeat: URLSearchParams keeps their order). */
function listHref(ctx: ConsoleContext, bucket: string, s: Partial<ListState>): string {
  const base = bucketHref(ctx, bucket, '', { prefix: s.prefix || undefined, q: s.search || undefined, versions: s.versions ? '1' : undefined, token: s.token })
  const back = (s.back ?? []).map((t) => `back=${encodeURIComponent(t)}`).join('&')
  return back ? `${base}${base.includes('?') ? '&' : '?'}${back}` : base
}

/** ListObjectVersions has two markers; the console carries them as one opaque token. */
function versionToken(key: string | undefined, versionId: string | undefined): string | undefined {
  return key === undefined ? undefined : Buffer.from(JSON.stringify([key, versionId ?? ''])).toString('base64url')
}

function versionMarkers(token: string | undefined): { KeyMarker?: string; VersionIdMarker?: string } {
  if (!token) return {}
  try {
    const [k, v] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown]
    if (typeof k !== 'string' || typeof v !== 'string') return {}
    return { KeyMarker: k, ...(v ? { VersionIdMarker: v } : {}) }
  } catch {
    return {}
  }
}

interface Row {
  key: string
  folder?: boolean
  versionId?: string | undefined
  latest?: boolean | undefined
  deleteMarker?: boolean
  size?: number | undefined
  modified?: Date | undefined
  storageClass?: string | undefined
}

interface Listed {
  rows: Row[]
  next: string | undefined
}

async function listPage(s3: S3Client, bucket: string, st: ListState): Promise<Listed> {
  const Prefix = st.prefix + st.search
  if (!st.versions) {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, Delimiter: '/', MaxKeys: PAGE_SIZE, ...(st.token ? { ContinuationToken: st.token } : {}) }))
    const folders: Row[] = (r.CommonPrefixes ?? []).map((p) => ({ key: p.Prefix!, folder: true }))
    const objects: Row[] = (r.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size, modified: o.LastModified, storageClass: o.StorageClass }))
    return { rows: [...folders, ...objects], next: r.IsTruncated ? r.NextContinuationToken : undefined }
  }
  const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix, Delimiter: '/', MaxKeys: PAGE_SIZE, ...versionMarkers(st.token) }))
  const folders: Row[] = (r.CommonPrefixes ?? []).map((p) => ({ key: p.Prefix!, folder: true }))
  // The SDK splits S3's interleaved list into two arrays: put them back in key order, newest first.
  const versions: Row[] = [
    ...(r.Versions ?? []).map((v) => ({ key: v.Key!, versionId: v.VersionId, latest: v.IsLatest, size: v.Size, modified: v.LastModified, storageClass: v.StorageClass })),
    ...(r.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, versionId: m.VersionId, latest: m.IsLatest, deleteMarker: true, modified: m.LastModified })),
  ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : (b.modified?.getTime() ?? 0) - (a.modified?.getTime() ?? 0)))
  return { rows: [...folders, ...versions], next: r.IsTruncated ? versionToken(r.NextKeyMarker, r.NextVersionIdMarker) : undefined }
}

export async function objectsTab(ctx: ConsoleContext, req: ConsoleRequest, bucket: string, opts: { listingOnly?: boolean }): Promise<ComponentChildren> {
  const st = listState(req.query)
  const listing = await ObjectsListing({ ctx, bucket, st })
  if (opts.listingOnly) return listing
  return (
    <>
      {listing}
      <UploadPanel ctx={ctx} bucket={bucket} prefix={st.prefix} listing={listHref(ctx, bucket, st)} />
    </>
  )
}

async function ObjectsListing({ ctx, bucket, st }: { ctx: ConsoleContext; bucket: string; st: ListState }) {
  const s3 = await s3For(ctx, bucket)
  const action = st.versions ? 's3:ListBucketVersions' : 's3:ListBucket'
  const r = await attempt(() => listPage(s3, bucket, st), action, bucketArn(ctx, bucket))
  const crumbs = st.prefix.split('/').filter((p) => p !== '')
  const columns = st.versions
    ? ['Name', 'Version ID', 'State', { label: 'Size', numeric: true }, 'Last modified', 'Actions']
    : ['Name', { label: 'Size', numeric: true }, 'Last modified', 'Storage class', 'Actions']
  const label = st.prefix ? `Objects under ${st.prefix}` : 'Objects'
  return (
    <section id="objects-listing" aria-labelledby="objects-heading">
      <h2 id="objects-heading">Objects</h2>
      <nav aria-label="Prefix" class="breadcrumb">
        <ul>
          <li>
            <a href={listHref(ctx, bucket, { versions: st.versions })}>{bucket}</a>
          </li>
          {crumbs.map((c, i) => (
            <li>
              <a href={listHref(ctx, bucket, { prefix: `${crumbs.slice(0, i + 1).join('/')}/`, versions: st.versions })}>{c}</a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="grid listing-tools">
        <form method="get" action={bucketHref(ctx, bucket)} aria-label="Jump to a prefix">
          <label for="jump-prefix">Jump to prefix</label>
          <div class="field-group">
            <input id="jump-prefix" name="prefix" value={st.prefix} placeholder="e.g. logs/2026/" spellcheck={false} autocomplete="off" />
            {st.versions ? <input type="hidden" name="versions" value="1" /> : null}
            <button type="submit" class="secondary">
              Go
            </button>
          </div>
        </form>
        <form method="get" action={bucketHref(ctx, bucket)} aria-label="Search keys">
          <label for="search-keys">Keys starting with{st.prefix ? ` (under ${st.prefix})` : ''}</label>
          <div class="field-group">
            <input id="search-keys" name="q" type="search" value={st.search} spellcheck={false} autocomplete="off" />
            {st.prefix ? <input type="hidden" name="prefix" value={st.prefix} /> : null}
            {st.versions ? <input type="hidden" name="versions" value="1" /> : null}
            <button type="submit" class="secondary">
              Search
            </button>
          </div>
        </form>
      </div>
      <p>
        <a href={listHref(ctx, bucket, { prefix: st.prefix, search: st.search, versions: !st.versions })}>
          <span aria-hidden="true">{st.versions ? '☑ ' : '☐ '}</span>
          {st.versions ? 'Hide versions' : 'Show versions'}
        </a>
      </p>
      {!r.ok ? (
        <ApiErrorBox ctx={ctx} error={r.error} title="The objects could not be listed" />
      ) : (
        <>
          <DataTable
            id="objects-table"
            caption={st.search ? `${label} starting with ${st.search}` : label}
            columns={columns}
            rows={r.value.rows.map((row) => rowCells(ctx, bucket, st, row))}
            empty={<EmptyState title={st.search ? 'No keys start with that.' : 'No objects here yet.'}>{st.search ? null : 'Upload files below.'}</EmptyState>}
          />
          <Pager ctx={ctx} bucket={bucket} st={st} next={r.value.next} />
        </>
      )}
    </section>
  )
}

function rowCells(ctx: ConsoleContext, bucket: string, st: ListState, row: Row): ComponentChildren[] {
  const name = row.key.startsWith(st.prefix) ? row.key.slice(st.prefix.length) : row.key
  if (row.folder) {
    const link = <a href={listHref(ctx, bucket, { prefix: row.key, versions: st.versions })}>{name}</a>
    return st.versions ? [link, '—', 'Folder', '—', '—', ''] : [link, '—', '—', 'Folder', '']
  }
  const details = bucketHref(ctx, bucket, '/object', { key: row.key, versionId: st.versions ? row.versionId : undefined })
  const dl = bucketHref(ctx, bucket, '/download', { key: row.key, versionId: st.versions ? row.versionId : undefined })
  const link = <a href={details}>{name}</a>
  if (!st.versions) return [link, formatSize(row.size), <Time at={row.modified} />, row.storageClass ?? 'STANDARD', <a href={dl}>Download</a>]
  const state = row.deleteMarker ? (
    <StatusBadge status="na">{row.latest ? 'Delete marker (latest)' : 'Delete marker'}</StatusBadge>
  ) : row.latest ? (
    <StatusBadge status="ok">Latest</StatusBadge>
  ) : (
    <StatusBadge status="info">Noncurrent</StatusBadge>
  )
  return [
    link,
    <code>{row.versionId}</code>,
    state,
    row.deleteMarker ? '—' : formatSize(row.size),
    <Time at={row.modified} />,
    <span class="row-actions">
      {row.deleteMarker ? null : <a href={dl}>Download</a>}{' '}
      <DeleteForm ctx={ctx} bucket={bucket} objectKey={row.key} versionId={row.versionId} back={{ prefix: st.prefix, versions: '1' }} />
    </span>,
  ]
}

function Pager({ ctx, bucket, st, next }: { ctx: ConsoleContext; bucket: string; st: ListState; next: string | undefined }) {
  const hasPrev = st.token !== undefined
  // An earlier page's token is known only when this page was reached by Next (`back`).
  const prev = st.back.length > 0 ? listHref(ctx, bucket, { ...st, token: st.back[st.back.length - 1] || undefined, back: st.back.slice(0, -1) }) : undefined
  const nextHref = next ? listHref(ctx, bucket, { ...st, token: next, back: [...st.back, st.token ?? ''].slice(-MAX_BACK) }) : undefined
  if (!hasPrev && !nextHref) return null
  return (
    <nav aria-label="Pages" class="pager">
      <ul>
        {hasPrev ? (
          <li>
            <a href={listHref(ctx, bucket, { ...st, token: undefined, back: [] })}>First page</a>
          </li>
        ) : null}
        {prev ? (
          <li>
            <a href={prev} rel="prev">
              Previous
            </a>
          </li>
        ) : null}
        {nextHref ? (
          <li>
            <a href={nextHref} rel="next">
              Next
            </a>
          </li>
        ) : null}
      </ul>
    </nav>
  )
}

/** Deleting is one click behind a disclosure: nothing is lost by a stray press. */
function DeleteForm({ ctx, bucket, objectKey, versionId, back }: { ctx: ConsoleContext; bucket: string; objectKey: string; versionId?: string | undefined; back: Query }) {
  const what = versionId ? 'version' : 'object'
  return (
    <details class="confirm">
      <summary>Delete {what}…</summary>
      <form method="post" action={bucketHref(ctx, bucket, '/delete-object')}>
        <CsrfField ctx={ctx} />
        <input type="hidden" name="key" value={objectKey} />
        {versionId ? <input type="hidden" name="versionId" value={versionId} /> : null}
        {Object.entries(back).map(([k, v]) => (v !== undefined ? <input type="hidden" name={`back-${k}`} value={v} /> : null))}
        <button type="submit" class="contrast">
          {versionId ? `Delete version ${versionId.slice(0, 12)} of ${baseName(objectKey)} permanently` : `Delete ${baseName(objectKey)}`}
        </button>
      </form>
    </details>
  )
}

export async function deleteObject(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const key = req.form.get('key') ?? ''
  const versionId = req.form.get('versionId') || undefined
  const s3 = await s3For(ctx, bucket)
  const action = versionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject'
  const r = await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) })), action, bucketArn(ctx, bucket, key))
  if (!r.ok) return objectPage(ctx, req, bucket, { key, versionId, error: r.error, errorTitle: 'The object was not deleted' })
  const done = versionId ? 'version-deleted' : r.value.DeleteMarker ? 'marker-added' : 'object-deleted'
  const prefix = req.form.get('back-prefix') ?? key.slice(0, key.lastIndexOf('/') + 1)
  const versions = req.form.get('back-versions') === '1' ? '1' : undefined
  return { kind: 'redirect', location: bucketHref(ctx, bucket, '', { prefix: prefix || undefined, versions, done }) }
}

export async function download(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const key = req.query.get('key') ?? ''
  const versionId = req.query.get('versionId') || undefined
  const s3 = await s3For(ctx, bucket)
  const r = await attempt(
    () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) })),
    's3:GetObject',
    bucketArn(ctx, bucket, key),
  )
  if (!r.ok) return objectPage(ctx, req, bucket, { key, versionId, error: r.error, errorTitle: 'The object could not be downloaded' })
  // The SDK's body is the API's response stream: it goes to the browser as it arrives. Whatever
  // type the writer stored, it is served as bytes: the console's origin must never render an
  // object (an HTML or SVG one written by another principal would run as the console).
  return { kind: 'file', contentType: 'application/octet-stream', body: r.value.Body as NodeJS.ReadableStream, filename: baseName(key) }
}

export interface ObjectExtras {
  key?: string
  versionId?: string | undefined
  error?: ApiError
  errorTitle?: string
  share?: { url: string; expires: Date }
}

/** One object: its metadata and replication status (HeadObject), its versions, and its actions. */
export async function objectPage(ctx: ConsoleContext, req: ConsoleRequest, bucket: string, extras: ObjectExtras = {}): Promise<PageResult> {
  const key = extras.key ?? req.query.get('key') ?? ''
  const versionId = extras.versionId ?? (req.query.get('versionId') || undefined)
  if (key === '') return bucketFrame(ctx, bucket, 'objects', <ApiErrorBox ctx={ctx} error={inputError('InvalidArgument', 'Which object? The key is missing.')} />, 400)
  const s3 = await s3For(ctx, bucket)
  const arn = bucketArn(ctx, bucket, key)
  const [head, listed] = await Promise.all([
    attempt(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) })), 's3:GetObject', arn),
    attempt(() => s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: PAGE_SIZE })), 's3:ListBucketVersions', bucketArn(ctx, bucket)),
  ])
  const folder = key.slice(0, key.lastIndexOf('/') + 1)
  const versions = listed.ok
    ? [
        ...(listed.value.Versions ?? []).filter((v) => v.Key === key).map((v) => ({ key, versionId: v.VersionId, latest: v.IsLatest, size: v.Size, modified: v.LastModified })),
        ...(listed.value.DeleteMarkers ?? [])
          .filter((m) => m.Key === key)
          .map((m) => ({ key, versionId: m.VersionId, latest: m.IsLatest, deleteMarker: true, modified: m.LastModified })),
      ].sort((a, b) => (b.modified?.getTime() ?? 0) - (a.modified?.getTime() ?? 0))
    : []
  const st: ListState = { prefix: folder, search: '', versions: true, token: undefined, back: [] }
  const h = head.ok ? head.value : undefined
  const body = (
    <>
      {noticeOf(req)}
      <p>
        <a href={listHref(ctx, bucket, { prefix: folder })}>← Back to {folder || bucket}</a>
      </p>
      <h2>{key}</h2>
      {extras.error ? <ApiErrorBox ctx={ctx} error={extras.error} title={extras.errorTitle} /> : null}
      {head.ok ? null : <ApiErrorBox ctx={ctx} error={headError(head.error)} title="The object's details could not be read" />}
      {h ? (
        <dl class="object-details">
          <dt>Version ID</dt>
          <dd>
            <code>{h.VersionId ?? 'null'}</code>
          </dd>
          <dt>Size</dt>
          <dd>
            {formatSize(h.ContentLength)} ({h.ContentLength ?? 0} bytes)
          </dd>
          <dt>ETag</dt>
          <dd>
            <code>{h.ETag}</code>
          </dd>
          <dt>Content type</dt>
          <dd>{h.ContentType ?? '—'}</dd>
          <dt>Last modified</dt>
          <dd>
            <Time at={h.LastModified} />
          </dd>
          <dt>Replication status</dt>
          <dd>
            <ReplicationBadge status={h.ReplicationStatus} />
          </dd>
        </dl>
      ) : null}
      {h ? (
        <div class="object-actions">
          <a href={bucketHref(ctx, bucket, '/download', { key, versionId })} class="button-link">
            Download
          </a>
          <DeleteForm ctx={ctx} bucket={bucket} objectKey={key} versionId={versionId} back={{ prefix: folder }} />
        </div>
      ) : null}
      {h ? <ShareForm ctx={ctx} bucket={bucket} objectKey={key} versionId={versionId} share={extras.share} /> : null}
      <section aria-labelledby="versions-heading">
        <h3 id="versions-heading">Versions</h3>
        {listed.ok ? (
          <DataTable
            caption={`Versions of ${key}, newest first`}
            columns={['Name', 'Version ID', 'State', { label: 'Size', numeric: true }, 'Last modified', 'Actions']}
            rows={versions.map((v) => rowCells(ctx, bucket, st, v))}
            empty={<EmptyState title="No versions of this key." />}
          />
        ) : (
          <ApiErrorBox ctx={ctx} error={listed.error} title="The versions could not be listed" />
        )}
      </section>
    </>
  )
  return bucketFrame(ctx, bucket, 'objects', body, extras.error ? extras.error.status || 400 : undefined)
}

/** A HEAD's error has no body: give its status S3's code and words back. */
function headError(e: ApiError): ApiError {
  if (e.status === 404) return { ...e, code: 'NoSuchKey', message: 'The specified key does not exist (or its latest version is a delete marker).' }
  if (e.status === 403 && e.code === 'Forbidden') return { ...e, code: 'AccessDenied', message: 'Access Denied' }
  return e
}

function ReplicationBadge({ status }: { status: string | undefined }) {
  if (!status) return <StatusBadge status="info">Not replicated (no rule applies)</StatusBadge>
  const s = status.toUpperCase()
  if (s === 'COMPLETED' || s === 'COMPLETE') return <StatusBadge status="ok">Completed</StatusBadge>
  if (s === 'PENDING') return <StatusBadge status="pending">Pending</StatusBadge>
  if (s === 'FAILED') return <StatusBadge status="deny">Failed</StatusBadge>
  if (s === 'REPLICA') return <StatusBadge status="info">Replica (written by replication)</StatusBadge>
  return <StatusBadge status="info">{status}</StatusBadge>
}

export async function shareObject(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const key = req.form.get('key') ?? ''
  const versionId = req.form.get('versionId') || undefined
  const seconds = Number(req.form.get('expires'))
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SHARE_SECONDS) {
    // AWS's own answer to a longer X-Amz-Expires (AuthorizationQueryParametersError, SigV4 query auth).
    const error = inputError('AuthorizationQueryParametersError', 'X-Amz-Expires must be less than a week (in seconds) that is 604800')
    return objectPage(ctx, req, bucket, { key, versionId, error, errorTitle: 'No link was created' })
  }
  const s3 = await s3For(ctx, bucket)
  const url = await presignGet(s3, req, bucket, key, versionId, seconds)
  return objectPage(ctx, req, bucket, { key, versionId, share: { url, expires: new Date(Date.now() + seconds * 1000) } })
}

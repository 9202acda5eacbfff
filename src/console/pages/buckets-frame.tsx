/**
 * @module The frame of one bucket's views: its heading, region and ARN, the section tabs (links with
 * the tab in the query string, so every view is bookmarkable), and the notice after a change.
 */
import type { ComponentChildren } from 'preact'
import { Notice, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { bucketArn, bucketHref, bucketRegion, bucketsHref } from './buckets-common.js'

/** Notices after a change (Post/Redirect/Get), by code: the query string never carries free text. */
export const NOTICES: Record<string, string> = {
  created: 'Bucket created.',
  deleted: 'Bucket deleted.',
  'object-deleted': 'Object deleted.',
  'version-deleted': 'Version deleted.',
  'marker-added': 'Deleted: a delete marker now hides the object (its versions are kept).',
  versioning: 'Versioning updated.',
  bpa: 'Block Public Access saved.',
  policy: 'Bucket policy saved.',
  'policy-deleted': 'Bucket policy deleted.',
  tags: 'Tags saved.',
  replication: 'Replication configuration saved.',
  'replication-deleted': 'Replication configuration deleted.',
}

export const TABS: { id: string; label: string }[] = [
  { id: 'objects', label: 'Objects' },
  { id: 'versioning', label: 'Versioning' },
  { id: 'permissions', label: 'Permissions' },
  { id: 'replication', label: 'Replication' },
  { id: 'tags', label: 'Tags' },
]

export function noticeOf(req: ConsoleRequest) {
  const text = NOTICES[req.query.get('done') ?? '']
  return text ? <Notice status="ok">{text}</Notice> : null
}

/** The bucket's heading, its tabs (links: the tab is in the query string) and the tab's body. */
export function bucketFrame(ctx: ConsoleContext, bucket: string, tab: string, body: ComponentChildren, status?: number): PageResult {
  return {
    kind: 'page',
    title: `${bucket} · Buckets`,
    ...(status ? { status } : {}),
    body: (
      <>
        <BucketsStyle ctx={ctx} />
        <nav aria-label="Breadcrumb" class="breadcrumb">
          <ul>
            <li>
              <a href={bucketsHref(ctx)}>Buckets</a>
            </li>
            <li>{bucket}</li>
          </ul>
        </nav>
        <h1>{bucket}</h1>
        <p>
          <StatusBadge status="info">{bucketRegion(ctx, bucket)}</StatusBadge> <code>{bucketArn(ctx, bucket)}</code>
        </p>
        <nav aria-label="Bucket sections" class="tabs">
          <ul>
            {TABS.map((t) => (
              <li>
                <a href={bucketHref(ctx, bucket, '', t.id === 'objects' ? undefined : { tab: t.id })} aria-current={t.id === tab ? 'page' : undefined}>
                  {t.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {body}
      </>
    ),
  }
}

/** The page's own few styles (a stylesheet link in the body is valid HTML; CSP forbids inline styles). */
export function BucketsStyle({ ctx }: { ctx: ConsoleContext }) {
  return <link rel="stylesheet" href={`${ctx.base}/assets/buckets.css`} />
}

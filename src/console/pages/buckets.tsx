/**
 * @module The Buckets page: the signed-in principal's buckets by region (ListBuckets), create and
 * delete; one bucket's objects (./buckets-objects.tsx) and settings tabs (./buckets-settings.tsx).
 * Every read and change is an API call as the signed-in principal, so a refusal is AWS's own error
 * with a link that explains it.
 *
 *   GET  /buckets                     buckets by region, create form, open-by-name box
 *   POST /buckets                     CreateBucket (name, region)
 *   GET  /buckets/<b>?tab=…           objects | versioning | permissions | replication | tags
 *   GET  /buckets/<b>/object?key=…    one object: metadata, replication status, versions, share
 *   GET  /buckets/<b>/download?key=…  GetObject streamed as an attachment
 *   POST /buckets/<b>/<action>        upload, delete-object, share, delete-bucket, settings
 */
import { CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3'
import type { ApiError } from '../api.js'
import { ApiErrorBox, CsrfField, DataTable, EmptyState } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { attempt, bucketArn, bucketHref, bucketsHref, MOUNT, s3For, Time } from './buckets-common.js'
import { BucketsStyle, bucketFrame, noticeOf, TABS } from './buckets-frame.js'
import { deleteObject, download, objectPage, objectsTab, shareObject } from './buckets-objects.js'
import { settingsAction, settingsTab } from './buckets-settings.js'
import { uploadObject } from './buckets-upload.js'

export const bucketsPage: ConsolePage = {
  mount: MOUNT,
  nav: { label: 'Buckets', order: 20 },
  async handle(ctx, req) {
    const parts = req.path.split('/').filter((p) => p !== '')
    if (parts.length === 0) {
      if (req.method === 'POST') return createBucket(ctx, req)
      const open = req.query.get('open')?.trim()
      return open ? { kind: 'redirect', location: bucketHref(ctx, open) } : bucketList(ctx, req)
    }
    const bucket = safeDecode(parts[0]!)
    const action = parts.slice(1).join('/')
    if (bucket === undefined) return notFound()
    if (req.method === 'GET') {
      if (action === '') return bucketPage(ctx, req, bucket)
      if (action === 'object') return objectPage(ctx, req, bucket)
      if (action === 'download') return download(ctx, req, bucket)
      return notFound()
    }
    if (action === 'upload') return uploadObject(ctx, req, bucket)
    if (action === 'delete-object') return deleteObject(ctx, req, bucket)
    if (action === 'share') return shareObject(ctx, req, bucket)
    if (action === 'delete-bucket') return deleteBucket(ctx, req, bucket)
    return (await settingsAction(ctx, req, bucket, action)) ?? notFound()
  },
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

function notFound(): PageResult {
  return { kind: 'page', title: 'Not found', status: 404, body: <EmptyState title="There is no such page under Buckets." /> }
}

async function bucketList(ctx: ConsoleContext, req: ConsoleRequest, failure?: { error: ApiError; name: string; region: string }): Promise<PageResult> {
  const s3 = await ctx.api.s3()
  const listed = await attempt(() => s3.send(new ListBucketsCommand({})), 's3:ListAllMyBuckets', '*')
  const regions = ctx.core.world.regions.map((r) => r.name)
  const buckets = listed.ok ? (listed.value.Buckets ?? []) : []
  return {
    kind: 'page',
    title: 'Buckets',
    ...(failure ? { status: failure.error.status || 400 } : {}),
    body: (
      <>
        <BucketsStyle ctx={ctx} />
        <h1>Buckets</h1>
        {noticeOf(req)}
        {listed.ok ? (
          regions.map((region) => {
            const here = buckets.filter((b) => (b.BucketRegion ?? 'us-east-1') === region)
            return (
              <section aria-labelledby={`region-${region}`}>
                <h2 id={`region-${region}`}>{region}</h2>
                <DataTable
                  caption={`Buckets in ${region}`}
                  columns={['Name', 'Created', 'ARN']}
                  rows={here.map((b) => [<a href={bucketHref(ctx, b.Name!)}>{b.Name}</a>, <Time at={b.CreationDate} />, <code>{bucketArn(ctx, b.Name!)}</code>])}
                  empty={<EmptyState title={`No buckets of yours in ${region}.`} />}
                />
              </section>
            )
          })
        ) : (
          <ApiErrorBox ctx={ctx} error={listed.error} title="Your buckets could not be listed" />
        )}
        <div class="grid">
          <section aria-labelledby="create-bucket">
            <h2 id="create-bucket">Create a bucket</h2>
            {failure ? <ApiErrorBox ctx={ctx} error={failure.error} title="The bucket was not created" /> : null}
            <form method="post" action={bucketsHref(ctx)}>
              <CsrfField ctx={ctx} />
              <label for="new-bucket-name">Bucket name</label>
              <input id="new-bucket-name" name="name" required minLength={3} maxLength={63} spellcheck={false} autocomplete="off" value={failure?.name ?? ''} />
              <label for="new-bucket-region">Region</label>
              <select id="new-bucket-region" name="region">
                {regions.map((r) => (
                  <option value={r} selected={r === (failure?.region ?? regions[0])}>
                    {r}
                  </option>
                ))}
              </select>
              <button type="submit">Create bucket</button>
            </form>
          </section>
          <section aria-labelledby="open-bucket">
            <h2 id="open-bucket">Open a bucket by name</h2>
            <p>A bucket of another account that grants you access is not in your list; open it by name.</p>
            <form method="get" action={bucketsHref(ctx)} class="open-bucket">
              <label for="open-bucket-name">Bucket name</label>
              <input id="open-bucket-name" name="open" required spellcheck={false} autocomplete="off" />
              <button type="submit" class="secondary">
                Open
              </button>
            </form>
          </section>
        </div>
      </>
    ),
  }
}

async function createBucket(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  const name = (req.form.get('name') ?? '').trim()
  const region = req.form.get('region') ?? 'us-east-1'
  // CreateBucket goes to the new bucket's region; us-east-1 is the one without a LocationConstraint.
  const s3 = await ctx.api.s3(region)
  const input = region === 'us-east-1' ? { Bucket: name } : { Bucket: name, CreateBucketConfiguration: { LocationConstraint: region as never } }
  const r = await attempt(() => s3.send(new CreateBucketCommand(input)), 's3:CreateBucket', bucketArn(ctx, name))
  if (!r.ok) return bucketList(ctx, req, { error: r.error, name, region })
  return { kind: 'redirect', location: bucketHref(ctx, name, '', { done: 'created' }) }
}

async function deleteBucket(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const s3 = await s3For(ctx, bucket)
  const r = await attempt(() => s3.send(new DeleteBucketCommand({ Bucket: bucket })), 's3:DeleteBucket', bucketArn(ctx, bucket))
  if (r.ok) return { kind: 'redirect', location: bucketsHref(ctx, { done: 'deleted' }) }
  const body = <ApiErrorBox ctx={ctx} error={r.error} title="The bucket was not deleted" />
  return bucketFrame(ctx, bucket, req.form.get('tab') ?? 'versioning', [body, await tabBody(ctx, req, bucket, 'versioning')], r.error.status || 400)
}

async function bucketPage(ctx: ConsoleContext, req: ConsoleRequest, bucket: string): Promise<PageResult> {
  const tab = TABS.some((t) => t.id === req.query.get('tab')) ? req.query.get('tab')! : 'objects'
  // htmx asks for the listing alone (after an upload, or when paging in place).
  if (req.htmx && tab === 'objects') return { kind: 'fragment', body: await objectsTab(ctx, req, bucket, { listingOnly: true }) }
  return bucketFrame(ctx, bucket, tab, [noticeOf(req), await tabBody(ctx, req, bucket, tab)])
}

async function tabBody(ctx: ConsoleContext, req: ConsoleRequest, bucket: string, tab: string) {
  return tab === 'objects' ? objectsTab(ctx, req, bucket, {}) : settingsTab(ctx, bucket, tab)
}

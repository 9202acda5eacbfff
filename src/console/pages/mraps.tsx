/**
 * @module Multi-Region Access Points, as the S3 console shows them: the list, create (name, one
 * bucket per Region, Block Public Access on by default), delete, and each MRAP's details
 * (mraps-details.tsx, mraps-failover.tsx). Create, delete and policy changes are asynchronous in
 * S3 Control: the page that follows polls DescribeMultiRegionAccessPointOperation every second
 * until the operation ends, as the S3 console waits for it.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/CreatingMultiRegionAccessPoints.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingMultiRegionAccessPoints.html
 * SDK modules are imported when a page first needs them (the console's idle server loads none).
 */
import type { MultiRegionAccessPointReport } from '@aws-sdk/client-s3-control'
import { EmptyState, SCROLL_BOX } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { detailsPage, postFailover, postPolicy, postRoutes } from './mraps-details.js'
import { control, mrapArnOf, operationFragment, operationPanel, regionsOf, StatusWord } from './mraps-operation.js'
import { Assets, attempt, ErrorBox, href, pathSegment } from './mraps-ui.js'

const BPA_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
/** Names as S3 Control takes them (CreatingMultiRegionAccessPoints.html "Rules for naming"). */
const NAME_RE = /^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/

export const mrapsPage: ConsolePage = {
  mount: '/mraps',
  nav: { label: 'Multi-Region Access Points', order: 30 },
  async handle(ctx, req) {
    const parts = req.path.split('/').filter((p) => p !== '')
    if (parts.length === 0) return req.method === 'POST' ? create(ctx, req) : list(ctx, req)
    // The page's own paths start with '_', which no MRAP name can (so an MRAP may be called 'create').
    if (parts[0] === '_create' && parts.length === 1) return req.method === 'POST' ? create(ctx, req) : createForm(ctx, req.form)
    if (parts[0] === '_operation' && parts.length === 1) return operationFragment(ctx, req.query.get('token') ?? '', req.query.get('name') ?? '')
    const name = pathSegment(parts[0]!)
    if (!NAME_RE.test(name) || parts.length > 2) return notFound(ctx)
    const action = parts[1]
    if (action === undefined) return detailsPage(ctx, req, name)
    if (req.method !== 'POST') return notFound(ctx)
    if (action === 'delete') return remove(ctx, name)
    if (action === 'policy') return postPolicy(ctx, req, name)
    if (action === 'routes') return postRoutes(ctx, req, name)
    if (action === 'failover') return postFailover(ctx, req, name)
    return notFound(ctx)
  },
}

function notFound(ctx: ConsoleContext): PageResult {
  return {
    kind: 'page',
    status: 404,
    title: 'Not found',
    body: (
      <p>
        No such page. <a href={href(ctx, '/mraps')}>All Multi-Region Access Points</a>
      </p>
    ),
  }
}

async function list(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  const { ListMultiRegionAccessPointsCommand } = await control()
  const c = await ctx.api.s3control()
  const r = await attempt(() => c.send(new ListMultiRegionAccessPointsCommand({ AccountId: ctx.session.accountId })))
  const token = req.query.get('op')
  const aps = r.ok ? (r.value.AccessPoints ?? []) : []
  return {
    kind: 'page',
    title: 'Multi-Region Access Points',
    body: (
      <>
        <Assets ctx={ctx} />
        <hgroup>
          <h1>Multi-Region Access Points</h1>
          <p>One global endpoint for buckets in several Regions; requests go to the nearest active bucket.</p>
        </hgroup>
        {token ? await operationPanel(ctx, token, req.query.get('name') ?? '') : null}
        <p>
          <a href={href(ctx, '/mraps/_create')}>Create Multi-Region Access Point</a>
        </p>
        {!r.ok ? (
          <ErrorBox ctx={ctx} error={r.error} action="s3:ListMultiRegionAccessPoints" resource="*" />
        ) : aps.length === 0 ? (
          <EmptyState title={`No Multi-Region Access Points in account ${ctx.session.accountId} yet.`} />
        ) : (
          <MrapTable ctx={ctx} aps={aps} />
        )}
      </>
    ),
  }
}

function MrapTable(props: { ctx: ConsoleContext; aps: MultiRegionAccessPointReport[] }) {
  return (
    <div {...SCROLL_BOX}>
      <table>
        <caption>Multi-Region Access Points of account {props.ctx.session.accountId}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Alias</th>
            <th scope="col">Status</th>
            <th scope="col">Regions</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {props.aps.map((ap) => (
            <tr>
              <th scope="row">
                <a href={href(props.ctx, `/mraps/${encodeURIComponent(ap.Name ?? '')}`)}>{ap.Name}</a>
              </th>
              <td>
                <code>{ap.Alias}</code>
              </td>
              <td>
                <StatusWord status={ap.Status} />
              </td>
              <td>{(ap.Regions ?? []).map((r) => r.Region).join(', ')}</td>
              <td>{ap.CreatedAt ? <time datetime={ap.CreatedAt.toISOString()}>{ap.CreatedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC</time> : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

async function createForm(ctx: ConsoleContext, form: URLSearchParams, error?: unknown): Promise<PageResult> {
  const { ListBucketsCommand } = await import('@aws-sdk/client-s3')
  const s3 = await ctx.api.s3()
  const buckets = await attempt(() => s3.send(new ListBucketsCommand({})))
  const regions = ctx.core.world.regions.map((r) => r.name)
  const byRegion = new Map<string, string[]>()
  if (buckets.ok) for (const b of buckets.value.Buckets ?? []) if (b.Name && b.BucketRegion) byRegion.set(b.BucketRegion, [...(byRegion.get(b.BucketRegion) ?? []), b.Name])
  const posted = form.has('name')
  return {
    kind: 'page',
    title: 'Create Multi-Region Access Point',
    body: (
      <>
        <Assets ctx={ctx} />
        <nav aria-label="Breadcrumb">
          <ul>
            <li>
              <a href={href(ctx, '/mraps')}>Multi-Region Access Points</a>
            </li>
            <li>Create</li>
          </ul>
        </nav>
        <h1>Create Multi-Region Access Point</h1>
        {error !== undefined ? <ErrorBox ctx={ctx} error={error} action="s3:CreateMultiRegionAccessPoint" resource={mrapArnOf(ctx, '*')} /> : null}
        {!buckets.ok ? <ErrorBox ctx={ctx} error={buckets.error} action="s3:ListAllMyBuckets" resource="*" /> : null}
        <form method="post" action={href(ctx, '/mraps/_create')}>
          <input type="hidden" name="_csrf" value={ctx.session.csrf} />
          <label>
            Multi-Region Access Point name
            <input name="name" required minLength={3} maxLength={50} pattern="[a-z0-9][a-z0-9\-]*[a-z0-9]" value={form.get('name') ?? ''} aria-describedby="name-help" />
            <small id="name-help">3–50 lowercase letters, numbers and hyphens; unique in your account.</small>
          </label>
          <fieldset>
            <legend>Buckets (at most one per Region)</legend>
            {regions.map((region) => (
              <label>
                {`Bucket in ${region}`}
                <select name={`bucket.${region}`}>
                  <option value="">None</option>
                  {(byRegion.get(region) ?? []).map((b) => (
                    <option value={b} selected={form.get(`bucket.${region}`) === b}>
                      {b}
                    </option>
                  ))}
                </select>
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Block Public Access settings for this Multi-Region Access Point</legend>
            {BPA_FIELDS.map((f) => (
              <label>
                <input type="checkbox" name="bpa" value={f} checked={!posted || form.getAll('bpa').includes(f)} /> {f}
              </label>
            ))}
          </fieldset>
          <p class="c2-note" role="note">
            <strong>Fixed after creation:</strong> the buckets and the Block Public Access settings of a Multi-Region Access Point cannot be changed once it is created.
          </p>
          <button type="submit">Create Multi-Region Access Point</button>
        </form>
      </>
    ),
  }
}

async function create(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  const { CreateMultiRegionAccessPointCommand } = await control()
  const name = (req.form.get('name') ?? '').trim()
  const buckets = ctx.core.world.regions.map((r) => req.form.get(`bucket.${r.name}`) ?? '').filter((b) => b !== '')
  const on = new Set(req.form.getAll('bpa'))
  const c = await ctx.api.s3control()
  // The server validates the name and the buckets; its error is AWS's, shown above the form.
  const r = await attempt(() =>
    c.send(
      new CreateMultiRegionAccessPointCommand({
        AccountId: ctx.session.accountId,
        Details: {
          Name: name,
          Regions: buckets.map((Bucket) => ({ Bucket })),
          PublicAccessBlock: Object.fromEntries(BPA_FIELDS.map((f) => [f, on.has(f)])),
        },
      }),
    ),
  )
  if (!r.ok) return createForm(ctx, req.form, r.error)
  return { kind: 'redirect', location: href(ctx, `/mraps/${encodeURIComponent(name)}`, { op: r.value.RequestTokenARN }) }
}

async function remove(ctx: ConsoleContext, name: string): Promise<PageResult> {
  const { DeleteMultiRegionAccessPointCommand } = await control()
  const c = await ctx.api.s3control()
  const r = await attempt(() => c.send(new DeleteMultiRegionAccessPointCommand({ AccountId: ctx.session.accountId, Details: { Name: name } })))
  if (!r.ok) {
    const regions = await regionsOf(ctx, name)
    return {
      kind: 'page',
      title: `Delete ${name}`,
      body: (
        <>
          <Assets ctx={ctx} />
          <h1>Delete {name}</h1>
          <ErrorBox ctx={ctx} error={r.error} action="s3:DeleteMultiRegionAccessPoint" resource={regions ? mrapArnOf(ctx, regions.alias) : mrapArnOf(ctx, '*')} />
          <p>
            <a href={href(ctx, `/mraps/${encodeURIComponent(name)}`)}>Back to {name}</a>
          </p>
        </>
      ),
    }
  }
  return { kind: 'redirect', location: href(ctx, '/mraps', { op: r.value.RequestTokenARN, name }) }
}

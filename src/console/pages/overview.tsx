/**
 * @module The overview (`/`): the world's regions with their health and a switch that takes one down
 * and up (to watch MRAP failover), then what the signed-in principal may list through the API:
 * buckets per region, Multi-Region Access Points, VPCs and their endpoints; the replication backlog
 * and the request rate by region from the server's own metrics. Region health is the server's, not a
 * principal's, so it is read from Core; who may flip it is `mayFlipRegions` (docs/decisions/console.md).
 */
import type { Bucket } from '@aws-sdk/client-s3'
import { type ApiError, toApiError } from '../api.js'
import { ApiErrorBox, CsrfField, DataTable, EmptyState, href, Notice, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { mayFlipRegions, setRegionUp } from '../region-switch.js'

type Loaded<T> = { ok: true; value: T } | { ok: false; error: ApiError }

async function load<T>(fn: () => Promise<T>, attempted: { action: string; resource: string } | undefined): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    return { ok: false, error: toApiError(e, attempted) }
  }
}

interface VpcRow {
  region: string
  id: string
  name: string
  cidr: string
  endpoints: { id: string; service: string; type: string; state: string }[]
}

async function buckets(ctx: ConsoleContext): Promise<Loaded<Bucket[]>> {
  const { ListBucketsCommand } = await import('@aws-sdk/client-s3')
  return load(async () => (await (await ctx.api.s3()).send(new ListBucketsCommand({}))).Buckets ?? [], { action: 's3:ListAllMyBuckets', resource: '*' })
}

async function mraps(ctx: ConsoleContext): Promise<Loaded<{ name: string; alias: string; status: string; regions: string[] }[]>> {
  const { ListMultiRegionAccessPointsCommand } = await import('@aws-sdk/client-s3-control')
  return load(
    async () => {
      const out = await (await ctx.api.s3control()).send(new ListMultiRegionAccessPointsCommand({ AccountId: ctx.session.accountId }))
      return (out.AccessPoints ?? []).map((m) => ({ name: m.Name ?? '', alias: m.Alias ?? '', status: m.Status ?? '', regions: (m.Regions ?? []).map((r) => r.Region ?? '') }))
    },
    { action: 's3:ListMultiRegionAccessPoints', resource: '*' },
  )
}

async function vpcs(ctx: ConsoleContext, regions: string[]): Promise<Loaded<VpcRow[]>> {
  const { DescribeVpcsCommand, DescribeVpcEndpointsCommand } = await import('@aws-sdk/client-ec2')
  return load(
    async () => {
      const rows: VpcRow[] = []
      for (const region of regions) {
        const ec2 = await ctx.api.ec2(region)
        const [v, e] = await Promise.all([ec2.send(new DescribeVpcsCommand({})), ec2.send(new DescribeVpcEndpointsCommand({}))])
        for (const vpc of v.Vpcs ?? []) {
          rows.push({
            region,
            id: vpc.VpcId ?? '',
            name: vpc.Tags?.find((t) => t.Key === 'Name')?.Value ?? '',
            cidr: vpc.CidrBlock ?? '',
            endpoints: (e.VpcEndpoints ?? [])
              .filter((x) => x.VpcId === vpc.VpcId)
              .map((x) => ({ id: x.VpcEndpointId ?? '', service: x.ServiceName ?? '', type: x.VpcEndpointType ?? '', state: x.State ?? '' })),
          })
        }
      }
      return rows
    },
    // No explain link: the Access page explains S3 requests, not EC2's.
    undefined,
  )
}

/** How far back the request rate looks. */
const RATE_WINDOW_MS = 60_000

/**
 * Requests answered in the last minute by the region that served them: an MRAP request's routed
 * region, else its bucket's; requests with no bucket (IAM, EC2, S3 Control, ListBuckets) apart.
 * From the server's own record of its last requests (src/http/recent-requests.ts).
 */
function requestRates(ctx: ConsoleContext): { rows: [string, number][]; capped: boolean } {
  const now = Date.now()
  const all = ctx.core.recentRequests.newestFirst()
  const counts = new Map<string, number>()
  let n = 0
  for (const r of all) {
    if (now - r.time > RATE_WINDOW_MS) break
    n++
    const bucket = r.info.bucket
    const region = r.info.region ?? (bucket !== undefined ? ctx.core.state.getBucket(bucket)?.region : undefined) ?? 'no bucket'
    counts.set(region, (counts.get(region) ?? 0) + 1)
  }
  return { rows: [...counts.entries()].sort((a, b) => b[1] - a[1]), capped: n === all.length && n >= ctx.core.recentRequests.capacity }
}

function RequestRates({ ctx }: { ctx: ConsoleContext }) {
  const { rows, capped } = requestRates(ctx)
  return (
    <DataTable
      caption={`Requests in the last minute, by serving region${capped ? ' (at least: the server remembers its last requests only)' : ''}`}
      columns={['Region', { label: 'Requests', numeric: true }, { label: 'Per second', numeric: true }]}
      rows={rows.map(([region, count]) => [region === 'no bucket' ? 'No bucket (IAM, EC2, S3 Control, listings)' : <code>{region}</code>, count, (count / 60).toFixed(2)])}
      empty={<EmptyState title="No requests in the last minute" />}
    />
  )
}

function ReplicationBacklog({ ctx, visible }: { ctx: ConsoleContext; visible: Set<string> }) {
  // Server-wide figures: only the rules of buckets this principal may list are shown.
  const rules = (ctx.core.metrics.sources?.replicationRules() ?? []).filter((r) => visible.has(r.sourceBucket))
  return (
    <DataTable
      caption="Replication backlog of your buckets' rules"
      columns={[
        'Rule',
        'Destination',
        { label: 'Pending operations', numeric: true },
        { label: 'Pending bytes', numeric: true },
        { label: 'Oldest pending', numeric: true },
        { label: 'Failed', numeric: true },
      ]}
      rows={rules.map((r) => [
        <>
          <code>{r.sourceBucket}</code> {r.ruleId}
        </>,
        <code>{r.destinationBucket}</code>,
        r.backlogOperations,
        r.backlogBytes,
        r.oldestPendingMs > 0 ? `${Math.round(r.oldestPendingMs / 1000)} s` : '—',
        r.failedOperations,
      ])}
      empty={<EmptyState title="No replication rules on your buckets" />}
    />
  )
}

const plural = (n: number, word: string): string => (n === 1 ? word : `${word}s`)

function Summary({ ctx, regions, b, m, v }: { ctx: ConsoleContext; regions: string[]; b: Loaded<Bucket[]>; m: Loaded<unknown[]>; v: Loaded<VpcRow[]> }) {
  const up = regions.filter((r) => ctx.core.health.isUp(r)).length
  const count = (x: Loaded<unknown[]>): string => (x.ok ? String(x.value.length) : '—')
  const endpoints = v.ok ? v.value.reduce((n, x) => n + x.endpoints.length, 0) : undefined
  return (
    <div class="cards">
      <article>
        <span class="figure">
          {up} / {regions.length}
        </span>
        regions healthy {up < regions.length ? <StatusBadge status="warn">Degraded</StatusBadge> : null}
      </article>
      <article>
        <span class="figure">{count(b)}</span> buckets you may list
      </article>
      <article>
        <span class="figure">{count(m)}</span> Multi-Region Access Points
      </article>
      <article>
        <span class="figure">{count(v)}</span> {plural(v.ok ? v.value.length : 2, 'VPC')}
        {endpoints !== undefined ? `, ${endpoints} ${plural(endpoints, 'endpoint')}` : ''}
      </article>
    </div>
  )
}

/** The rate table, refreshed every few seconds by htmx (only it: a swap must not take focus from a form). */
function LiveRates({ ctx }: { ctx: ConsoleContext }) {
  return (
    <div id="live-rates" hx-get={href(ctx, '/', { part: 'rates' })} hx-trigger="every 5s" hx-swap="outerHTML">
      <RequestRates ctx={ctx} />
    </div>
  )
}

function Regions({ ctx, regions, canFlip }: { ctx: ConsoleContext; regions: string[]; canFlip: boolean }) {
  const rows = regions.map((r) => {
    const up = ctx.core.health.isUp(r)
    const cells = [<code>{r}</code>, up ? <StatusBadge status="ok">Healthy</StatusBadge> : <StatusBadge status="down">Down</StatusBadge>]
    if (canFlip)
      cells.push(
        <form method="post" action={href(ctx, '/')} class="inline-form" data-confirm={up ? `Take ${r} down? MRAP requests fail over to other regions.` : undefined}>
          <CsrfField ctx={ctx} />
          <input type="hidden" name="region" value={r} />
          <input type="hidden" name="state" value={up ? 'down' : 'up'} />
          <button type="submit" class={up ? 'secondary' : undefined} aria-label={`${up ? 'Take down' : 'Bring up'} ${r}`}>
            {up ? 'Take down' : 'Bring up'}
          </button>
        </form>,
      )
    return cells
  })
  return (
    <>
      <DataTable caption="Regions and their health" captionHidden columns={canFlip ? ['Region', 'Health', 'Failover drill'] : ['Region', 'Health']} rows={rows} />
      {canFlip ? null : (
        <p>
          <small>Only an administrator of the world may take a region down to test failover.</small>
        </p>
      )}
    </>
  )
}

async function render(ctx: ConsoleContext, notice?: { status: 'ok' | 'deny'; text: string }): Promise<PageResult> {
  const regions = [...ctx.core.stores.keys()]
  const canFlip = mayFlipRegions(ctx.core, ctx.session.accessKeyId)
  const [b, m, v] = await Promise.all([buckets(ctx), mraps(ctx), vpcs(ctx, regions)])
  return {
    kind: 'page',
    title: 'Overview',
    body: (
      <>
        <h1>Overview</h1>
        <p class="lead">The world as {ctx.session.name} sees it: regions, buckets, Multi-Region Access Points and VPCs this principal may list through the API.</p>
        {notice ? <Notice status={notice.status}>{notice.text}</Notice> : null}
        <Summary ctx={ctx} regions={regions} b={b} m={m} v={v} />
        <div class="grid-2">
          <section aria-labelledby="regions-h">
            <h2 id="regions-h">Regions</h2>
            <Regions ctx={ctx} regions={regions} canFlip={canFlip} />
            {canFlip ? (
              <p>
                <small>Taking a region down makes its storage refuse every request, as an outage would: MRAP requests fail over to the next healthy region.</small>
              </p>
            ) : null}
          </section>
          <section aria-labelledby="rate-h">
            <h2 id="rate-h">Request rate by region</h2>
            <LiveRates ctx={ctx} />
          </section>
        </div>
        <div class="grid-2">
          <section aria-labelledby="buckets-h">
            <h2 id="buckets-h">Buckets by region</h2>
            {b.ok ? (
              <DataTable
                caption="Buckets you may list, by region"
                captionHidden
                columns={['Region', 'Buckets']}
                rows={regions.map((r) => [
                  <code>{r}</code>,
                  b.value
                    .filter((x) => x.BucketRegion === r)
                    .map((x) => x.Name)
                    .join(', ') || '—',
                ])}
              />
            ) : (
              <ApiErrorBox ctx={ctx} error={b.error} title="Buckets could not be listed" />
            )}
          </section>
          <section aria-labelledby="repl-h">
            <h2 id="repl-h">Replication backlog</h2>
            {b.ok ? <ReplicationBacklog ctx={ctx} visible={new Set(b.value.map((x) => x.Name ?? ''))} /> : <p>Shown for the buckets you may list.</p>}
          </section>
        </div>
        <section aria-labelledby="mraps-h">
          <h2 id="mraps-h">Multi-Region Access Points</h2>
          {m.ok ? (
            <DataTable
              caption="Multi-Region Access Points of your account"
              captionHidden
              columns={['Name', 'Alias', 'Status', 'Regions']}
              rows={m.value.map((x) => [
                <a href={href(ctx, `/mraps/${encodeURIComponent(x.name)}`)}>{x.name}</a>,
                <code>{x.alias}</code>,
                <StatusBadge status={x.status === 'READY' ? 'ok' : 'pending'}>{x.status}</StatusBadge>,
                x.regions.join(', '),
              ])}
              empty={<EmptyState title="No Multi-Region Access Points in this account" />}
            />
          ) : (
            <ApiErrorBox ctx={ctx} error={m.error} title="Multi-Region Access Points could not be listed" />
          )}
        </section>
        <section aria-labelledby="vpcs-h">
          <h2 id="vpcs-h">VPCs and endpoints</h2>
          {v.ok ? (
            <DataTable
              caption="VPCs and their endpoints"
              captionHidden
              columns={['VPC', 'Region', 'CIDR', 'Endpoints']}
              rows={v.value.map((x) => [
                <>
                  <code>{x.id}</code> {x.name}
                </>,
                x.region,
                x.cidr,
                x.endpoints.length === 0 ? '—' : x.endpoints.map((e) => `${e.id} (${e.type}, ${e.service}, ${e.state})`).join('; '),
              ])}
              empty={<EmptyState title="No VPCs" />}
            />
          ) : (
            <ApiErrorBox ctx={ctx} error={v.error} title="VPCs could not be listed" />
          )}
        </section>
      </>
    ),
  }
}

async function handle(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  if (req.path !== '') return { kind: 'page', status: 404, title: 'Not found', body: <p>There is no such page.</p> }
  if (req.method === 'POST') {
    const region = req.form.get('region') ?? ''
    const state = req.form.get('state')
    if (!ctx.core.stores.has(region) || (state !== 'up' && state !== 'down'))
      return { ...(await render(ctx, { status: 'deny', text: 'Choose a region of this world and up or down.' })), status: 400 } as PageResult
    if (!mayFlipRegions(ctx.core, ctx.session.accessKeyId)) {
      ctx.core.log.warn({ arn: ctx.session.arn, region, state }, 'console: region switch refused')
      return {
        ...(await render(ctx, { status: 'deny', text: `Refused: only an administrator (identity policy allowing s3:* on *) may take a region ${state}.` })),
        status: 403,
      } as PageResult
    }
    await setRegionUp(ctx.core, region, state === 'up')
    ctx.core.log.warn({ arn: ctx.session.arn, region, state }, 'console: region health switched')
    return { kind: 'redirect', location: href(ctx, '/', { changed: `${region}:${state}` }) }
  }
  if (req.htmx && req.query.get('part') === 'rates') return { kind: 'fragment', body: <LiveRates ctx={ctx} /> }
  const changed = /^([a-z0-9-]+):(up|down)$/.exec(req.query.get('changed') ?? '')
  return render(ctx, changed ? { status: 'ok', text: `${changed[1]} is now ${changed[2] === 'up' ? 'up' : 'down'}.` } : undefined)
}

export const overviewPage: ConsolePage = { mount: '/', nav: { label: 'Overview', order: 0 }, handle }

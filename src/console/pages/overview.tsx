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

async function load<T>(fn: () => Promise<T>, attempted: { action: string; resource: string }): Promise<Loaded<T>> {
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
    { action: 'ec2:DescribeVpcs', resource: '*' },
  )
}

function Regions({ ctx, regions, canFlip }: { ctx: ConsoleContext; regions: string[]; canFlip: boolean }) {
  const rows = regions.map((r) => {
    const up = ctx.core.health.isUp(r)
    return [
      <code>{r}</code>,
      up ? <StatusBadge status="ok">Healthy</StatusBadge> : <StatusBadge status="down">Down</StatusBadge>,
      canFlip ? (
        <form method="post" action={href(ctx, '/')} class="inline-form" data-confirm={up ? `Take ${r} down? MRAP requests fail over to other regions.` : undefined}>
          <CsrfField ctx={ctx} />
          <input type="hidden" name="region" value={r} />
          <input type="hidden" name="state" value={up ? 'down' : 'up'} />
          <button type="submit" class={up ? 'secondary' : undefined} aria-label={`${up ? 'Take down' : 'Bring up'} ${r}`}>
            {up ? 'Take down' : 'Bring up'}
          </button>
        </form>
      ) : (
        <small>Only an administrator may change region health.</small>
      ),
    ]
  })
  return <DataTable caption="Regions" columns={['Region', 'Health', 'Failover drill']} rows={rows} />
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
        {notice ? <Notice status={notice.status}>{notice.text}</Notice> : null}
        <section aria-labelledby="regions-h">
          <h2 id="regions-h">Regions</h2>
          <Regions ctx={ctx} regions={regions} canFlip={canFlip} />
        </section>
        <section aria-labelledby="buckets-h">
          <h2 id="buckets-h">Buckets by region</h2>
          {b.ok ? (
            <DataTable
              caption="Buckets you may list, by region"
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
        <section aria-labelledby="mraps-h">
          <h2 id="mraps-h">Multi-Region Access Points</h2>
          {m.ok ? (
            <DataTable
              caption="Multi-Region Access Points of your account"
              columns={['Name', 'Alias', 'Status', 'Regions']}
              rows={m.value.map((x) => [
                x.name,
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
  const changed = /^([a-z0-9-]+):(up|down)$/.exec(req.query.get('changed') ?? '')
  return render(ctx, changed ? { status: 'ok', text: `${changed[1]} is now ${changed[2] === 'up' ? 'up' : 'down'}.` } : undefined)
}

export const overviewPage: ConsolePage = { mount: '/', nav: { label: 'Overview', order: 0 }, handle }

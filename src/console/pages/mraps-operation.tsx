/**
 * @module The progress of S3 Control's asynchronous MRAP operations (create, delete, put policy):
 * a status that names itself in a word and an icon, and a panel htmx refreshes every second
 * through DescribeMultiRegionAccessPointOperation until the operation ends.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_DescribeMultiRegionAccessPointOperation.html
 */
import type { AsyncOperation } from '@aws-sdk/client-s3-control'
import type { ComponentChildren } from 'preact'
import type { ConsoleContext, PageResult } from '../page.js'
import { attempt, ErrorBox, href } from './mraps-ui.js'

/** Loaded when a page first calls S3 Control, not when the console starts. */
export const control = () => import('@aws-sdk/client-s3-control')

export const S3_GLOBAL = 'com.amazonaws.s3-global.accesspoint'

export function mrapArnOf(ctx: ConsoleContext, alias: string): string {
  return `arn:${ctx.core.world.partition}:s3::${ctx.session.accountId}:accesspoint/${alias}`
}

/** The MRAP as GetMultiRegionAccessPoint shows it to the principal, or undefined when refused. */
export async function regionsOf(ctx: ConsoleContext, name: string): Promise<{ alias: string; regions: { bucket: string; region: string }[] } | undefined> {
  const { GetMultiRegionAccessPointCommand } = await control()
  const c = await ctx.api.s3control()
  const r = await attempt(() => c.send(new GetMultiRegionAccessPointCommand({ AccountId: ctx.session.accountId, Name: name })))
  if (!r.ok || !r.value.AccessPoint?.Alias) return undefined
  return { alias: r.value.AccessPoint.Alias, regions: (r.value.AccessPoint.Regions ?? []).map((x) => ({ bucket: x.Bucket ?? '', region: x.Region ?? '' })) }
}

export function StatusWord(props: { status: string | undefined }) {
  const s = props.status ?? 'UNKNOWN'
  const icon = s === 'READY' || s === 'SUCCEEDED' ? '✓' : s === 'FAILED' || s.startsWith('PARTIALLY') || s === 'INCONSISTENT_ACROSS_REGIONS' ? '✕' : '…'
  return (
    <span class={`badge badge-${icon === '✓' ? 'ok' : icon === '✕' ? 'deny' : 'pending'}`}>
      <span class="badge-icon" aria-hidden="true">
        {icon}
      </span>{' '}
      {s}
    </span>
  )
}

/** What an operation is doing, in words. */
function verbOf(op: string | undefined): string {
  if (op === 'CreateMultiRegionAccessPoint') return 'Creating'
  if (op === 'DeleteMultiRegionAccessPoint') return 'Deleting'
  return 'Updating the policy of'
}

/**
 * The progress of an async operation; while it runs, htmx replaces it with a fresh copy every
 * second, and a finished one carries no trigger, so polling stops by itself.
 */
export function OperationProgress(props: { ctx: ConsoleContext; token: string; name: string; op: AsyncOperation | undefined; error?: unknown; after?: ComponentChildren }) {
  const { ctx, token, op } = props
  const done = op?.RequestStatus === 'SUCCEEDED' || op?.RequestStatus === 'FAILED' || props.error !== undefined
  const poll = done ? {} : { 'hx-get': href(ctx, '/mraps/_operation', { token, name: props.name }), 'hx-trigger': 'every 1s', 'hx-swap': 'outerHTML' }
  const failure = op?.ResponseDetails?.ErrorDetails
  return (
    <section id="mrap-operation" class="c2-operation" aria-live="polite" aria-label="Operation progress" {...poll}>
      <p>
        {verbOf(op?.Operation)} <strong>{props.name}</strong>: <StatusWord status={op?.RequestStatus ?? (props.error ? 'FAILED' : 'NEW')} />
      </p>
      {!done ? <progress aria-label="Operation in progress" /> : null}
      {op?.ResponseDetails?.MultiRegionAccessPointDetails?.Regions?.length ? (
        <ul>
          {op.ResponseDetails.MultiRegionAccessPointDetails.Regions.map((r) => (
            <li>
              {r.Name}: {r.RequestStatus}
            </li>
          ))}
        </ul>
      ) : null}
      {failure ? (
        <div role="alert" class="c2-error">
          <strong>{failure.Code}</strong>: {failure.Message}
        </div>
      ) : null}
      {props.error !== undefined ? <ErrorBox ctx={ctx} error={props.error} action="s3:DescribeMultiRegionAccessPointOperation" resource={token} /> : null}
      {done && op?.RequestStatus === 'SUCCEEDED' ? (
        <p>
          {op.Operation === 'DeleteMultiRegionAccessPoint' ? (
            <a href={href(ctx, '/mraps')}>Refresh the list</a>
          ) : (
            <a href={href(ctx, `/mraps/${encodeURIComponent(props.name)}`)}>Show {props.name}</a>
          )}
        </p>
      ) : null}
      {props.after}
    </section>
  )
}

export async function operationFragment(ctx: ConsoleContext, token: string, name: string): Promise<PageResult> {
  return { kind: 'fragment', body: await operationPanel(ctx, token, name, true) }
}

/**
 * The operation as it stands now: the first render of the panel and each poll of it. A poll that
 * sees a create end also replaces the status in the page's header (htmx out-of-band swap), so the
 * page never says CREATING beside a panel that says READY.
 */
export async function operationPanel(ctx: ConsoleContext, token: string, name: string, poll = false): Promise<ComponentChildren> {
  const { DescribeMultiRegionAccessPointOperationCommand, GetMultiRegionAccessPointCommand } = await control()
  const c = await ctx.api.s3control()
  const r = await attempt(() => c.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ctx.session.accountId, RequestTokenARN: token })))
  let after: ComponentChildren
  let header: ComponentChildren
  // A finished create shows the MRAP's own status (READY), read as the signed-in principal.
  if (r.ok && r.value.AsyncOperation?.RequestStatus === 'SUCCEEDED' && r.value.AsyncOperation.Operation === 'CreateMultiRegionAccessPoint') {
    const got = await attempt(() => c.send(new GetMultiRegionAccessPointCommand({ AccountId: ctx.session.accountId, Name: name })))
    if (got.ok) {
      after = (
        <p>
          Multi-Region Access Point status: <StatusWord status={got.value.AccessPoint?.Status} />
        </p>
      )
      if (poll)
        header = (
          <span id="mrap-status" hx-swap-oob="true">
            <StatusWord status={got.value.AccessPoint?.Status} />
          </span>
        )
    }
  }
  return (
    <>
      <OperationProgress ctx={ctx} token={token} name={name} op={r.ok ? r.value.AsyncOperation : undefined} {...(r.ok ? {} : { error: r.error })} after={after} />
      {header}
    </>
  )
}

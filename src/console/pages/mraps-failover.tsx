/**
 * @module The "Replication and failover" tab of an MRAP: each bucket's route as an Active/Passive
 * dial, edited in the S3 console's "Edit routing status" dialog and applied through
 * SubmitMultiRegionAccessPointRoutes; "Failover", which swaps an active and a passive Region; a
 * schematic of the Regions with an arrow to where requests go now; each bucket's replication rules.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingFailover.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html
 * ("at least one Region must be active": the dialog refuses all-passive before sending, and the
 * server's refusal is shown when the check is bypassed).
 */
import type { GetMultiRegionAccessPointResult, MultiRegionAccessPointRoute as Route } from '@aws-sdk/client-s3-control'
import type { ComponentChildren } from 'preact'
import { regionLocation } from '../../routing/latency.js'
import { chooseRoutes } from '../../routing/mrap-router.js'
import { SCROLL_BOX } from '../components.js'
import type { ConsoleContext, ConsoleRequest } from '../page.js'
import { control, mrapArnOf, regionsOf } from './mraps-operation.js'
import { type Attempt, attempt, codeOf, ErrorBox, href } from './mraps-ui.js'

export interface FailoverProblems {
  routesError?: unknown
  failoverError?: unknown
}

const isActive = (r: Route): boolean => (r.TrafficDialPercentage ?? 0) > 0

function Dial(props: { active: boolean }) {
  return props.active ? (
    <span class="badge badge-ok">
      <span class="badge-icon" aria-hidden="true">
        ●
      </span>{' '}
      Active
    </span>
  ) : (
    <span class="badge badge-na">
      <span class="badge-icon" aria-hidden="true">
        ○
      </span>{' '}
      Passive
    </span>
  )
}

export async function failoverTab(ctx: ConsoleContext, name: string, arn: string, got: GetMultiRegionAccessPointResult, problems: FailoverProblems): Promise<ComponentChildren> {
  const { GetMultiRegionAccessPointRoutesCommand } = await control()
  const c = await ctx.api.s3control()
  const r = await attempt(() => c.send(new GetMultiRegionAccessPointRoutesCommand({ AccountId: ctx.session.accountId, Mrap: arn })))
  const routes = r.ok ? (r.value.Routes ?? []) : []
  const action = href(ctx, `/mraps/${encodeURIComponent(name)}`)
  const accountOf = new Map((got.AccessPoint?.Regions ?? []).map((x) => [x.Region ?? '', x.BucketAccountId ?? ctx.session.accountId]))
  return (
    <>
      <h2>Replication and failover</h2>
      {problems.routesError !== undefined ? <ErrorBox ctx={ctx} error={problems.routesError} action="s3:SubmitMultiRegionAccessPointRoutes" resource={arn} /> : null}
      {problems.failoverError !== undefined ? <ErrorBox ctx={ctx} error={problems.failoverError} action="s3:SubmitMultiRegionAccessPointRoutes" resource={arn} /> : null}
      {!r.ok ? <ErrorBox ctx={ctx} error={r.error} action="s3:GetMultiRegionAccessPointRoutes" resource={arn} /> : null}
      {r.ok ? (
        <div class="grid c2-failover">
          <Schematic ctx={ctx} routes={routes} />
          <div>
            <div {...SCROLL_BOX}>
              <table>
                <caption>Failover configuration</caption>
                <thead>
                  <tr>
                    <th scope="col">Region</th>
                    <th scope="col">Bucket</th>
                    <th scope="col">Account</th>
                    <th scope="col">Routing status</th>
                  </tr>
                </thead>
                <tbody>
                  {routes.map((x) => (
                    <tr>
                      <th scope="row">{x.Region}</th>
                      <td>{x.Bucket}</td>
                      <td>{accountOf.get(x.Region ?? '') ?? ''}</td>
                      <td>
                        <Dial active={isActive(x)} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p>
              <button type="button" commandfor="routes-dialog" command="show-modal">
                Edit routing status
              </button>{' '}
              <button type="button" class="secondary" commandfor="failover-dialog" command="show-modal">
                Failover
              </button>
            </p>
            <p>
              <small>Changes reach new requests after the server's routing delay (AWS: up to 2 minutes).</small>
            </p>
          </div>
        </div>
      ) : null}
      <RoutesDialog ctx={ctx} action={`${action}/routes`} routes={routes} />
      <FailoverDialog ctx={ctx} action={`${action}/failover`} routes={routes} />
      <ReplicationTable ctx={ctx} rows={await replicationRows(ctx, routes)} />
    </>
  )
}

function RoutesDialog(props: { ctx: ConsoleContext; action: string; routes: Route[] }) {
  return (
    <dialog id="routes-dialog" aria-labelledby="routes-title">
      <article>
        <h2 id="routes-title">Edit routing status</h2>
        <form method="post" action={props.action} data-require-active="">
          <input type="hidden" name="_csrf" value={props.ctx.session.csrf} />
          <p>Active Regions receive requests; passive ones receive none until they are made active. At least one Region must stay active.</p>
          {props.routes.map((x) => (
            <fieldset>
              <legend>
                {x.Region} <small>({x.Bucket})</small>
              </legend>
              <label>
                <input type="radio" name={`dial.${x.Region}`} value="active" checked={isActive(x)} /> Active
              </label>
              <label>
                <input type="radio" name={`dial.${x.Region}`} value="passive" checked={!isActive(x)} /> Passive
              </label>
            </fieldset>
          ))}
          <p role="alert" class="c2-error" data-require-active-message="" hidden />
          <footer>
            <button type="button" class="secondary" commandfor="routes-dialog" command="close">
              Cancel
            </button>{' '}
            <button type="submit">Save routing status</button>
          </footer>
        </form>
      </article>
    </dialog>
  )
}

function FailoverDialog(props: { ctx: ConsoleContext; action: string; routes: Route[] }) {
  const active = props.routes.filter(isActive)
  const passive = props.routes.filter((x) => !isActive(x))
  return (
    <dialog id="failover-dialog" aria-labelledby="failover-title">
      <article>
        <h2 id="failover-title">Failover</h2>
        {active.length === 0 || passive.length === 0 ? (
          <p>Failover swaps an active Region with a passive one; this Multi-Region Access Point has {passive.length === 0 ? 'no passive' : 'no active'} Region.</p>
        ) : (
          <form method="post" action={props.action}>
            <input type="hidden" name="_csrf" value={props.ctx.session.csrf} />
            <label>
              Active Region to make passive
              <select name="from">
                {active.map((x) => (
                  <option value={x.Region}>{x.Region}</option>
                ))}
              </select>
            </label>
            <label>
              Passive Region to make active
              <select name="to">
                {passive.map((x) => (
                  <option value={x.Region}>{x.Region}</option>
                ))}
              </select>
            </label>
            <footer>
              <button type="button" class="secondary" commandfor="failover-dialog" command="close">
                Cancel
              </button>{' '}
              <button type="submit">Fail over</button>
            </footer>
          </form>
        )}
        {active.length === 0 || passive.length === 0 ? (
          <button type="button" class="secondary" commandfor="failover-dialog" command="close">
            Close
          </button>
        ) : null}
      </article>
    </dialog>
  )
}

/** Sends the dials as given; a refusal (all passive, AccessDenied, 409) comes back to the page. */
export async function submitRoutes(ctx: ConsoleContext, req: ConsoleRequest, name: string): Promise<FailoverProblems | undefined> {
  const updates: { Region: string; TrafficDialPercentage: number }[] = []
  for (const [k, v] of req.form)
    if (k.startsWith('dial.') && (v === 'active' || v === 'passive')) updates.push({ Region: k.slice(5), TrafficDialPercentage: v === 'active' ? 100 : 0 })
  const r = await send(ctx, name, updates)
  return r.ok ? undefined : { routesError: r.error }
}

export async function submitFailover(ctx: ConsoleContext, req: ConsoleRequest, name: string): Promise<FailoverProblems | undefined> {
  const from = req.form.get('from') ?? ''
  const to = req.form.get('to') ?? ''
  const r = await send(ctx, name, [
    { Region: from, TrafficDialPercentage: 0 },
    { Region: to, TrafficDialPercentage: 100 },
  ])
  return r.ok ? undefined : { failoverError: r.error }
}

async function send(ctx: ConsoleContext, name: string, RouteUpdates: { Region: string; TrafficDialPercentage: number }[]): Promise<Attempt<unknown>> {
  const { SubmitMultiRegionAccessPointRoutesCommand } = await control()
  const mrap = await regionsOf(ctx, name)
  // The routes calls take the MRAP's ARN; a principal that may not read the MRAP still gets AWS's answer to the submit.
  const arn = mrapArnOf(ctx, mrap?.alias ?? name)
  const c = await ctx.api.s3control()
  return attempt(() => c.send(new SubmitMultiRegionAccessPointRoutesCommand({ AccountId: ctx.session.accountId, Mrap: arn, RouteUpdates })))
}

/** Longitude/latitude to the schematic's plane (equirectangular, 2 units per degree). */
const project = ([lat, lon]: [number, number]): [number, number] => [(lon + 180) * 2, (90 - lat) * 2]

/**
 * Dots on a latitude/longitude grid (no map data): the MRAP's Regions (filled when active, a ring
 * when passive), the Region requests come from, and an arrow to the bucket the server would choose
 * now — the same choice the data plane makes (src/routing/mrap-router.ts), with the health the
 * overview shows.
 */
function Schematic(props: { ctx: ConsoleContext; routes: Route[] }) {
  const { ctx, routes } = props
  const world = ctx.core.world
  const origin = world.frontDoorRegion ?? world.regions[0]?.name ?? ''
  const at = (region: string): [number, number] | undefined => {
    const p = world.regions.find((r) => r.name === region)?.position
    return p !== undefined && typeof p === 'object' ? [p.lat, p.lon] : regionLocation(region)
  }
  const chosen = chooseRoutes({
    routes: routes.map((x) => ({ bucket: x.Bucket ?? '', bucketAccountId: '', region: x.Region ?? '', trafficDialPercentage: x.TrafficDialPercentage ?? 0 })),
    originRegion: origin,
    isUp: (region) => ctx.core.health.isUp(region),
    latency: ctx.core.latency,
  })[0]
  const from = at(origin)
  const to = chosen ? at(chosen.region) : undefined
  const words = chosen
    ? `Requests from ${origin} go to ${chosen.region} (${chosen.bucket}).`
    : `No active Region is up: requests from ${origin} get an error until a Region is made active or comes back.`
  // Frame the Regions that matter (a margin around them, at least 2:1), so nearby Regions stay apart.
  const pts = [...routes.map((x) => at(x.Region ?? '')), from].filter((p): p is [number, number] => p !== undefined).map(project)
  const xs = pts.map((p) => p[0]),
    ys = pts.map((p) => p[1])
  let [x0, x1, y0, y1] = pts.length ? [Math.min(...xs) - 120, Math.max(...xs) + 180, Math.min(...ys) - 60, Math.max(...ys) + 60] : [0, 720, 0, 360]
  if (x1 - x0 < 2 * (y1 - y0)) [x0, x1] = [(x0 + x1) / 2 - (y1 - y0), (x0 + x1) / 2 + (y1 - y0)]
  else [y0, y1] = [(y0 + y1) / 2 - (x1 - x0) / 4, (y0 + y1) / 2 + (x1 - x0) / 4]
  const k = (x1 - x0) / 360
  const grid: ComponentChildren[] = []
  for (let lon = -180; lon <= 180; lon += 30) grid.push(<line x1={(lon + 180) * 2} y1={0} x2={(lon + 180) * 2} y2={360} />)
  for (let lat = -90; lat <= 90; lat += 30) grid.push(<line x1={0} y1={(90 - lat) * 2} x2={720} y2={(90 - lat) * 2} />)
  return (
    <figure class="c2-schematic">
      <svg viewBox={`${x0} ${y0} ${x1 - x0} ${y1 - y0}`} role="img" aria-labelledby="schematic-title schematic-desc" width="100%">
        <title id="schematic-title">Regions of this Multi-Region Access Point</title>
        <desc id="schematic-desc">{words}</desc>
        <defs>
          <marker id="c2-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="currentColor" />
          </marker>
        </defs>
        <g stroke="currentColor" strokeOpacity="0.15" strokeWidth={k}>
          {grid}
        </g>
        {routes.map((x) => {
          const p = at(x.Region ?? '')
          if (!p) return null
          const [cx, cy] = project(p)
          return (
            <g>
              <circle cx={cx} cy={cy} r={6 * k} fill={isActive(x) ? 'currentColor' : 'none'} stroke="currentColor" strokeWidth={2 * k} />
              <text x={cx + 9 * k} y={cy - 7 * k} fill="currentColor" fontSize={8 * k}>
                {`${x.Region} · ${isActive(x) ? 'active' : 'passive'}`}
              </text>
            </g>
          )
        })}
        {from ? (
          <g>
            <rect x={project(from)[0] - 5 * k} y={project(from)[1] - 5 * k} width={10 * k} height={10 * k} fill="none" stroke="currentColor" strokeWidth={2 * k} />
            <text x={project(from)[0] - 6 * k} y={project(from)[1] + 20 * k} fill="currentColor" fontSize={8 * k}>
              {`requests from ${origin}`}
            </text>
          </g>
        ) : null}
        {from && to && chosen && chosen.region !== origin ? (
          <line
            x1={project(from)[0]}
            y1={project(from)[1]}
            x2={project(to)[0]}
            y2={project(to)[1]}
            stroke="currentColor"
            strokeWidth={2.5 * k}
            strokeDasharray={`${6 * k} ${4 * k}`}
            markerEnd="url(#c2-arrowhead)"
          />
        ) : null}
        {to && chosen && chosen.region === origin ? <circle cx={project(to)[0]} cy={project(to)[1]} r={12 * k} fill="none" stroke="currentColor" strokeWidth={2 * k} /> : null}
      </svg>
      <figcaption>Traffic now: {words}</figcaption>
    </figure>
  )
}

interface ReplicationRow {
  bucket: string
  region: string
  rules: { id: string; status: string; destination: string }[]
  error?: unknown
}

/** Each bucket's replication rules, where the principal may read them (GetBucketReplication). */
async function replicationRows(ctx: ConsoleContext, routes: Route[]): Promise<ReplicationRow[]> {
  const { GetBucketReplicationCommand } = await import('@aws-sdk/client-s3')
  return Promise.all(
    routes.map(async (x): Promise<ReplicationRow> => {
      const s3 = await ctx.api.s3(x.Region)
      const r = await attempt(() => s3.send(new GetBucketReplicationCommand({ Bucket: x.Bucket ?? '' })))
      const row: ReplicationRow = { bucket: x.Bucket ?? '', region: x.Region ?? '', rules: [] }
      if (r.ok)
        row.rules = (r.value.ReplicationConfiguration?.Rules ?? []).map((rule) => ({ id: rule.ID ?? '', status: rule.Status ?? '', destination: rule.Destination?.Bucket ?? '' }))
      else if (codeOf(r.error) !== 'ReplicationConfigurationNotFoundError') row.error = r.error
      return row
    }),
  )
}

function ReplicationTable(props: { ctx: ConsoleContext; rows: ReplicationRow[] }) {
  return (
    <div {...SCROLL_BOX}>
      <table>
        <caption>Replication rules of the buckets</caption>
        <thead>
          <tr>
            <th scope="col">Bucket</th>
            <th scope="col">Region</th>
            <th scope="col">Rules</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              <th scope="row">{row.bucket}</th>
              <td>{row.region}</td>
              <td>
                {row.error !== undefined ? (
                  <span class="badge badge-deny">
                    <span class="badge-icon" aria-hidden="true">
                      ✕
                    </span>{' '}
                    Not readable ({codeOf(row.error) ?? 'error'})
                  </span>
                ) : row.rules.length === 0 ? (
                  'No replication rules'
                ) : (
                  <ul>
                    {row.rules.map((rule) => (
                      <li>
                        {rule.id || '(no ID)'}: {rule.status === 'Enabled' ? '✓ Enabled' : '– Disabled'} → <code>{rule.destination}</code>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/**
 * @module The Requests page: the server's last requests (src/http/recent-requests.ts), newest first,
 * filterable and paged; a denied one opens its explain replay, the result `mrap explain
 * --request-id` prints (`explainAdmin`, the same function the admin socket runs).
 *
 * Who sees what (docs/decisions/console.md §Access and Requests): requests made by principals of the
 * signed-in principal's account, by principals it may simulate, and unsigned requests to its
 * account's buckets (as S3 server access logs go to the bucket owner). A replay discloses the
 * caller's policies, so it needs what the Access page needs: `iam:SimulatePrincipalPolicy` on the
 * caller (or, for an unsigned request, on the bucket owner's account).
 */
import type { ComponentChildren } from 'preact'
import { explainAdmin } from '../../explain/admin.js'
import type { ExplainResult } from '../../explain/evaluate.js'
import { modelFromServices } from '../../explain/from-services.js'
import type { RecentRequest } from '../../http/recent-requests.js'
import { ApiErrorBox, DataTable, EmptyState, href, type Status, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { PageAssets, resolvePrincipal } from './access.js'
import { Matrix } from './access-matrix.js'
import { PolicyList, policiesOf } from './access-policies.js'
import { accountOfArn, sessionPrincipal, simulateChecker } from './access-rules.js'

const PAGE_SIZE = 25

export interface RequestRow {
  r: RecentRequest
  principal: string | undefined
  target: string
  region: string | undefined
  /** The server remembers the S3 decision (a denied request it can replay). */
  replayable: boolean
  /** The bucket or MRAP owner, for unsigned requests. */
  owner: string | undefined
}

function rowOf(ctx: ConsoleContext, r: RecentRequest): RequestRow {
  const i = r.info
  const principal = i.principal === '*' ? undefined : i.principal
  let target: string
  if (i.mrap !== undefined) target = `${i.mrap}${i.key !== undefined ? `/${i.key}` : ''}`
  else if (i.bucket !== undefined) target = `${i.bucket}${i.key !== undefined ? `/${i.key}` : ''}`
  else target = `${r.host ?? ''}${r.path}`
  const bucket = i.bucket !== undefined ? ctx.core.state.getBucket(i.bucket) : undefined
  const mrap = i.mrap !== undefined ? ctx.core.mraps.byAlias(i.mrap) : undefined
  const entry = ctx.core.decisions.get(r.requestId) as { input?: unknown } | undefined
  return { r, principal, target, region: i.region ?? bucket?.region, replayable: entry?.input !== undefined, owner: mrap?.owner ?? bucket?.owner }
}

/** The rows the signed-in principal may see, and whether it may open each one's replay. */
function visibleRows(ctx: ConsoleContext): { rows: RequestRow[]; mayReplay: (row: RequestRow) => boolean } {
  const me = sessionPrincipal(ctx.core, ctx.session)
  if (!me) return { rows: [], mayReplay: () => false }
  const may = simulateChecker(ctx.core, me)
  const partition = ctx.core.world.partition
  const account = ctx.session.accountId
  const rows = ctx.core.recentRequests
    .newestFirst()
    .map((r) => rowOf(ctx, r))
    .filter((row) => (row.principal ? accountOfArn(row.principal) === account || may(row.principal) : row.owner === account))
  const mayReplay = (row: RequestRow) => row.replayable && (row.principal ? may(row.principal) : row.owner !== undefined && may(`arn:${partition}:iam::${row.owner}:root`))
  return { rows, mayReplay }
}

function statusOf(row: RequestRow): { status: Status; word: string } {
  const s = row.r.status
  const code = row.r.info.error
  if (s < 300) return { status: 'ok', word: `${s} OK` }
  if (s < 400) return { status: 'info', word: `${s}` }
  return { status: s === 403 || s >= 500 ? 'deny' : 'warn', word: `${s}${code ? ` ${code}` : ''}` }
}

interface Filters {
  status: string
  principal: string
  q: string
  page: number
}

function readFilters(q: URLSearchParams): Filters {
  const page = Number.parseInt(q.get('page') ?? '1', 10)
  return { status: q.get('status') ?? '', principal: q.get('principal') ?? '', q: q.get('q') ?? '', page: Number.isFinite(page) && page > 0 ? page : 1 }
}

function matches(row: RequestRow, f: Filters): boolean {
  const s = row.r.status
  if (f.status === 'denied' && s !== 403) return false
  if (f.status === 'error' && s < 400) return false
  if (f.status === 'success' && s >= 400) return false
  if (f.principal !== '' && (row.principal ?? 'anonymous') !== f.principal) return false
  if (f.q !== '') {
    const hay = `${row.r.method} ${row.target} ${row.r.info.op ?? ''} ${row.r.requestId} ${row.principal ?? 'anonymous'} ${row.r.info.error ?? ''}`.toLowerCase()
    if (!hay.includes(f.q.toLowerCase())) return false
  }
  return true
}

function FilterForm({ ctx, f, principals }: { ctx: ConsoleContext; f: Filters; principals: string[] }) {
  return (
    <form method="get" action={href(ctx, '/requests')} class="requests-filter">
      <div class="grid">
        <label>
          Status
          <select name="status">
            {[
              ['', 'Any status'],
              ['denied', 'Denied (403)'],
              ['error', 'Errors (4xx, 5xx)'],
              ['success', 'Succeeded'],
            ].map(([v, l]) => (
              <option value={v} selected={f.status === v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Principal
          <select name="principal">
            <option value="">Any principal</option>
            {principals.map((p) => (
              <option value={p} selected={f.principal === p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Text
          <input type="search" name="q" value={f.q} placeholder="bucket, key, operation, request id" />
        </label>
      </div>
      <button type="submit">Filter</button>
    </form>
  )
}

function listPage(ctx: ConsoleContext, req: ConsoleRequest): PageResult {
  const f = readFilters(req.query)
  const { rows, mayReplay } = visibleRows(ctx)
  const principals = [...new Set(rows.map((r) => r.principal ?? 'anonymous'))].sort()
  const hits = rows.filter((r) => matches(r, f))
  const pages = Math.max(1, Math.ceil(hits.length / PAGE_SIZE))
  const page = Math.min(f.page, pages)
  const shown = hits.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)
  const link = (p: number) => href(ctx, '/requests', { status: f.status || undefined, principal: f.principal || undefined, q: f.q || undefined, page: String(p) })
  const table = shown.map((row) => {
    const st = statusOf(row)
    const cells: ComponentChildren[] = [
      <time dateTime={new Date(row.r.time).toISOString()}>{new Date(row.r.time).toISOString().replace('T', ' ').slice(0, 23)}</time>,
      row.r.method,
      <>
        <code>{row.target}</code>
        {row.r.info.op ? <small> {row.r.info.op}</small> : null}
      </>,
      row.principal ? <code>{row.principal}</code> : 'anonymous',
      <>
        <StatusBadge status={st.status}>{st.word}</StatusBadge>
        {mayReplay(row) ? (
          <>
            {' '}
            <a href={href(ctx, `/requests/${encodeURIComponent(row.r.requestId)}`)}>Explain denial</a>
          </>
        ) : null}
      </>,
      row.region ?? '—',
      <code>{row.r.requestId}</code>,
    ]
    return cells
  })
  return {
    kind: 'page',
    title: 'Requests',
    body: (
      <>
        <PageAssets ctx={ctx} />
        <h1>Requests</h1>
        <p>
          The last {ctx.core.recentRequests.capacity} requests this server answered, newest first: those of your account's principals and of principals you may simulate. A denied
          request opens its explain replay (<code>mrap explain --request-id</code>).
        </p>
        <FilterForm ctx={ctx} f={f} principals={principals} />
        <DataTable
          caption={`Requests ${hits.length === 0 ? 0 : (page - 1) * PAGE_SIZE + 1}–${(page - 1) * PAGE_SIZE + shown.length} of ${hits.length}, newest first`}
          columns={['Time (UTC)', 'Method', 'Target', 'Principal', 'Status', 'Served region', 'Request id']}
          rows={table}
          empty={<EmptyState title="No requests match">Requests appear here as the server answers them; change the filters to see more.</EmptyState>}
        />
        {pages > 1 && (
          <nav aria-label="Pages of requests" class="pager">
            <ul>
              <li>{page > 1 ? <a href={link(page - 1)}>Newer</a> : <span aria-disabled="true">Newer</span>}</li>
              <li>
                Page {page} of {pages}
              </li>
              <li>{page < pages ? <a href={link(page + 1)}>Older</a> : <span aria-disabled="true">Older</span>}</li>
            </ul>
          </nav>
        )}
      </>
    ),
  }
}

async function replayPage(ctx: ConsoleContext, requestId: string): Promise<PageResult> {
  const { rows, mayReplay } = visibleRows(ctx)
  const row = rows.find((r) => r.r.requestId === requestId)
  const back = (
    <p>
      <a href={href(ctx, '/requests')}>Back to requests</a>
    </p>
  )
  let body: ComponentChildren
  if (!row || !mayReplay(row)) {
    // One answer for "no such request" and "not yours": the page does not reveal which.
    body = <EmptyState title="No replay for this request">The server keeps replays of its last denied requests, and shows them to who may simulate the caller.</EmptyState>
  } else {
    const out = await explainAdmin(ctx.core, { op: 'explain.request', requestId })
    if (!out.ok) body = <ApiErrorBox ctx={ctx} error={{ code: 'NoReplay', status: 404, message: out.error }} title="No replay" />
    else {
      const result = out.result as ExplainResult
      const model = modelFromServices(ctx.core, 'the running server')
      let policies: ComponentChildren = null
      try {
        const who = resolvePrincipal(model, result.request.principal.arn)
        policies = (
          <>
            <p>The policies below are as they are now; the decision above used them as they were when the request came.</p>
            <PolicyList policies={policiesOf(model, who, result)} />
          </>
        )
      } catch {
        // An anonymous caller or a deleted principal: the matrix says it all.
      }
      body = (
        <>
          <p>
            {row.r.method} <code>{row.target}</code> by {row.principal ? <code>{row.principal}</code> : 'anonymous'} at{' '}
            <time dateTime={new Date(row.r.time).toISOString()}>{new Date(row.r.time).toISOString()}</time>: {statusOf(row).word}.
          </p>
          <ul>
            {result.notes.map((n) => (
              <li>{n}</li>
            ))}
          </ul>
          <p>
            CLI:{' '}
            <code>
              mrap explain --data-dir {ctx.core.config.dataDir} --request-id {requestId}
            </code>
          </p>
          <Matrix result={{ ...result, notes: [] }} expandDenies={true} />
          {policies}
        </>
      )
    }
  }
  return {
    kind: 'page',
    title: `Request ${requestId}`,
    body: (
      <>
        <PageAssets ctx={ctx} />
        <h1>Request {requestId}</h1>
        {back}
        {body}
      </>
    ),
  }
}

export const requestsPage: ConsolePage = {
  mount: '/requests',
  nav: { label: 'Requests', order: 70 },
  async handle(ctx, req) {
    if (req.path === '' || req.path === '/') return listPage(ctx, req)
    const m = /^\/([A-Za-z0-9._-]+)$/.exec(req.path)
    if (m) return replayPage(ctx, m[1]!)
    return { kind: 'page', title: 'Not found', status: 404, body: <EmptyState title="No such page">Go back to the Requests page.</EmptyState> }
  },
}

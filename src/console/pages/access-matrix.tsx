/**
 * @module The explain matrix of the Access page: the verdict, then one row per route and one
 * column per layer (docs: /work design note §3, the IAM policy simulator's "Show statement").
 * Everything shown comes from `explainRequest`'s result, the function `mrap explain --json` prints,
 * so the page and the CLI cannot disagree: each cell carries the CLI's own cell as data attributes.
 * A state is never colour alone: icon, word and colour (WCAG 1.4.1).
 */
import type { ComponentChildren } from 'preact'
import { type Cell, COLUMNS, type Column, NO_ACL, showsAclColumn } from '../../explain/cells.js'
import type { ExplainResult, RouteResult } from '../../explain/evaluate.js'
import type { ConditionExplain, Layer, LayerExplain, StatementExplain } from '../../policy/index.js'

/**
 * A matrix column: the CLI's fixed ones, plus `acl`, which `mrap explain` keeps beside them
 * (RouteResult.acl) and shows only when an ACL took part (`showsAclColumn`), and `kms`, shown as
 * the CLI shows it: when S3 calls KMS for the caller on some route (RouteResult.kms).
 */
export type MatrixColumn = Column | 'acl' | 'kms'

export const COLUMN_TITLE: Record<MatrixColumn, string> = {
  identity: 'Identity policy',
  endpoint: 'VPC endpoint policy',
  mrap: 'MRAP policy',
  bucket: 'Bucket policy',
  acl: 'ACL',
  bpa: 'Block Public Access',
  kms: 'KMS key',
}

const COLUMN_LAYERS: Record<MatrixColumn, Layer[]> = {
  identity: ['identity', 'boundary', 'session'],
  endpoint: ['endpoint'],
  mrap: ['mrap-policy'],
  bucket: ['bucket-policy'],
  acl: ['acl'],
  bpa: ['block-public-access'],
  // The KMS decision is not an S3 layer of the trace: its cell's detail carries it.
  kms: [],
}

/** The columns of a result's matrix, in the CLI's order (the ACL one where `mrap explain` prints it: after the fixed ones). */
export function matrixColumns(result: ExplainResult): MatrixColumn[] {
  const out: MatrixColumn[] = showsAclColumn(result.routes) ? [...COLUMNS, 'acl'] : [...COLUMNS]
  if (result.routes.some((r) => r.kms !== undefined)) out.push('kms')
  return out
}

/** A route's cell in a column; a route without an ACL part shows the CLI's "n/a" there. */
export function cellOf(r: RouteResult, col: MatrixColumn): Cell {
  return col === 'acl' ? (r.acl ?? NO_ACL) : col === 'kms' ? (r.kms ?? NO_ACL) : r.cells[col]
}

export type CellState = 'allow' | 'deny' | 'no-match' | 'na' | 'bpa' | 'input'

/** Icon shapes (aria-hidden: the word beside each says it). */
export function Icon({ state }: { state: CellState }) {
  return (
    <svg aria-hidden="true" class="xm-icon" width={16} height={16} viewBox="0 0 16 16" focusable="false">
      <IconShape state={state} />
    </svg>
  )
}

function IconShape({ state }: { state: CellState }) {
  switch (state) {
    case 'allow':
      return <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="2" />
    case 'deny':
      return <path d="M3.5 3.5l9 9M12.5 3.5l-9 9" fill="none" stroke="currentColor" stroke-width="2.4" />
    case 'no-match':
      return <path d="M3 8h10" fill="none" stroke="currentColor" stroke-width="2" />
    case 'na':
      return (
        <>
          <circle cx="8" cy="8" r="5.5" fill="none" stroke="currentColor" stroke-width="1.5" />
          <path d="M4.2 11.8l7.6-7.6" stroke="currentColor" stroke-width="1.5" />
        </>
      )
    case 'bpa':
      return <path d="M8 1.5l5.5 2v4c0 3.5-2.4 6-5.5 7-3.1-1-5.5-3.5-5.5-7v-4z" fill="none" stroke="currentColor" stroke-width="1.6" />
    case 'input':
      return (
        <>
          <path d="M8 2l6.5 12h-13z" fill="none" stroke="currentColor" stroke-width="1.6" />
          <path d="M8 6.5v3.5M8 11.5v1.2" stroke="currentColor" stroke-width="1.6" />
        </>
      )
  }
}

/** The statements of a column's layers, as the trace has them, with their context (mrap, bucket). */
function columnLayers(r: RouteResult, col: MatrixColumn): { context: string; layer: LayerExplain }[] {
  const out: { context: string; layer: LayerExplain }[] = []
  for (const c of r.trace ?? []) {
    if (col === 'mrap' && c.context !== 'mrap') continue
    if ((col === 'bucket' || col === 'acl') && c.context !== 'bucket') continue
    for (const l of c.layers) if (COLUMN_LAYERS[col].includes(l.layer)) out.push({ context: c.context, layer: l })
  }
  return out
}

/** An Allow statement that matched all but a condition whose key the request does not carry. */
function missingKey(r: RouteResult, col: MatrixColumn): string | undefined {
  for (const { layer } of columnLayers(r, col)) {
    for (const p of layer.policies) {
      for (const st of p.statements) {
        if (st.effect !== 'Allow' || !st.action.matched || !st.resource.matched || !st.principal.matched) continue
        const c = st.conditions.find((x) => !x.matched && x.requestValues === null)
        if (c) return c.key
      }
    }
  }
  return undefined
}

export interface CellView {
  state: CellState
  word: string
  missing?: string
}

export function cellView(r: RouteResult, col: MatrixColumn): CellView {
  const c = cellOf(r, col)
  switch (c.result) {
    case 'allow':
      return { state: 'allow', word: 'Allow' }
    case 'deny':
      return { state: 'deny', word: 'Explicit deny' }
    case 'restricted':
      return { state: 'bpa', word: 'Blocked by BPA' }
    case 'unusable':
      return { state: 'deny', word: `Key ${c.statement === 'PendingDeletion' ? 'pending deletion' : c.statement === 'Disabled' ? 'disabled' : 'not found'}` }
    case 'on':
      return { state: 'na', word: 'On, not blocking' }
    case 'off':
    case 'n/a':
      return { state: 'na', word: 'Not applicable' }
    default: {
      const key = c.blocking ? missingKey(r, col) : undefined
      if (key) return { state: 'input', word: 'Needs input', missing: key }
      return { state: 'no-match', word: c.result === 'none' ? 'No policy' : 'No match' }
    }
  }
}

/** The layer that decided the route: the explicit deny, the first blocking layer, or the grant. */
export function decidingColumn(r: RouteResult): MatrixColumn | undefined {
  if (r.effect === 'Unreachable') return undefined
  // S3's layers allowed and the KMS layer refused (src/explain/kms.ts).
  if (r.kms?.blocking) return 'kms'
  // An object another account owns: its ACL refused before the policy layers (src/explain/evaluate.ts).
  if (r.acl?.blocking) return 'acl'
  if (r.effect === 'ExplicitDeny') return COLUMNS.find((c) => r.cells[c].result === 'deny')
  if (r.effect !== 'Allow') return (['endpoint', 'bpa', 'mrap', 'bucket', 'identity'] as Column[]).find((c) => r.cells[c].blocking)
  const rule = r.rules.bucket
  if (rule === undefined || rule === 'none') return undefined
  if (rule.startsWith('same-account-identity')) return 'identity'
  // The engine's decidedBy: the ACL when its grant allowed and the bucket policy did not.
  return r.acl?.result === 'allow' && r.cells.bucket.result !== 'allow' ? 'acl' : 'bucket'
}

export function verdict(r: ExplainResult): { allowed: boolean; text: string } {
  const n = r.routes.length
  const ok = r.routes.filter((x) => x.effect === 'Allow')
  const bad = r.routes.filter((x) => x.effect !== 'Allow')
  if (r.request.target.kind === 'bucket' || n === 1) return { allowed: ok.length === n && n > 0, text: ok.length === n && n > 0 ? 'Allowed.' : 'Denied.' }
  if (bad.length === 0) return { allowed: true, text: `Allowed on all ${n} routes.` }
  const where = bad.map((x) => `${x.bucket} (${x.region})`).join(', ')
  if (ok.length === 0) return { allowed: false, text: `Denied on all ${n} routes.` }
  return { allowed: false, text: `Allowed on ${ok.length} of ${n} routes. Fails when routed to ${where}.` }
}

/** A stable id for a policy of the trace (for "Show statement" links). */
export function policyId(layer: Layer, name: string | undefined, route: RouteResult): string {
  const scope = layer === 'bucket-policy' ? route.bucket : ''
  const raw = `${layer}|${name ?? ''}|${scope}`
  let h = 0
  for (let i = 0; i < raw.length; i++) h = (h * 31 + raw.charCodeAt(i)) | 0
  return `pol-${(h >>> 0).toString(36)}`
}

function conditionText(c: ConditionExplain): string {
  const req = c.requestValues === null ? 'absent from the request' : `request [${c.requestValues.join(', ')}]`
  return `${c.operator} ${c.key}: ${req}, policy [${c.policyValues.join(', ')}] → ${c.matched ? 'true' : 'false'} (${c.reason})`
}

function StatementDetail({ st, href }: { st: StatementExplain; href: string }) {
  return (
    <li>
      <strong>{st.sid !== undefined && st.sid !== '' ? `Sid ${st.sid}` : `Statement [${st.index}]`}</strong> ({st.effect}, {st.applies ? 'applies' : 'does not apply'}) ·{' '}
      <a href={href}>Show statement</a>
      <ul>
        <li>Action: {st.action.detail}</li>
        <li>Resource: {st.resource.detail}</li>
        <li>Principal: {st.principal.detail}</li>
        {st.conditions.map((c) => (
          <li>Condition {conditionText(c)}</li>
        ))}
      </ul>
    </li>
  )
}

function CellDetails({ r, col, cell }: { r: RouteResult; col: MatrixColumn; cell: Cell }) {
  const layers = columnLayers(r, col)
  const reason = [cell.statement ? `Statement ${cell.statement}` : undefined, cell.detail].filter((x) => x !== undefined).join(': ')
  return (
    <div class="xm-detail">
      {reason !== '' && <p>{reason}</p>}
      {layers.map(({ context, layer }) => (
        <div>
          <p>
            {context} context, {layer.layer}: <strong>{layer.result}</strong>
            {layer.note ? ` (${layer.note})` : ''}
          </p>
          {layer.policies.map((p) => {
            const applied = p.statements.filter((s) => s.applies)
            // A no match lists the statements checked; otherwise the ones that decided.
            const shown = applied.length > 0 ? applied : p.statements
            return (
              <div>
                <p>
                  Policy <code>{p.name ?? layer.layer}</code>: {p.result === 'NoMatch' ? `no match (${p.statements.length} statement(s) checked)` : p.result}
                </p>
                <ul>
                  {shown.map((st) => (
                    <StatementDetail st={st} href={`#${policyId(layer.layer, p.name, r)}-s${st.index}`} />
                  ))}
                </ul>
              </div>
            )
          })}
        </div>
      ))}
    </div>
  )
}

function MatrixCell({ r, col, open }: { r: RouteResult; col: MatrixColumn; open: boolean }) {
  const cell = cellOf(r, col)
  const v = cellView(r, col)
  const deciding = decidingColumn(r) === col
  const cls = `xm-cell xm-${v.state}${cell.blocking ? ' xm-blocking' : ''}${deciding ? ' xm-deciding' : ''}`
  const label: ComponentChildren = (
    <>
      <Icon state={v.state} /> <span class="xm-word">{v.word}</span>
      {v.missing && <span class="xm-key"> ({v.missing})</span>}
      {deciding && <span class="visually-hidden"> (deciding layer)</span>}
    </>
  )
  const hasDetail = cell.detail !== undefined || cell.statement !== undefined || columnLayers(r, col).some((l) => l.layer.policies.length > 0)
  return (
    <td class={cls} data-col={col} data-result={cell.result} data-blocking={String(cell.blocking)} data-statement={cell.statement ?? ''}>
      {hasDetail ? (
        <details open={open && (cell.blocking || cell.result === 'deny')}>
          <summary>{label}</summary>
          <CellDetails r={r} col={col} cell={cell} />
        </details>
      ) : (
        <span class="xm-plain">{label}</span>
      )}
    </td>
  )
}

function RouteHeader({ r }: { r: RouteResult }) {
  const passive = r.dial === 0
  return (
    <th scope="row">
      <code>{r.bucket}</code>
      <br />
      <small>
        {r.region} · {r.account}
      </small>
      <br />
      {r.dial === null ? (
        <span class="xm-badge">Direct</span>
      ) : passive ? (
        <span class="xm-badge xm-passive">Passive (receives traffic after failover)</span>
      ) : (
        <span class="xm-badge xm-active">Active{r.rank !== null ? ` · #${r.rank} from here` : ''}</span>
      )}
    </th>
  )
}

function ResultCell({ r }: { r: RouteResult }) {
  const ok = r.effect === 'Allow'
  const state: CellState = ok ? 'allow' : 'deny'
  const word = ok
    ? 'Allowed'
    : r.effect === 'Unreachable'
      ? r.status === 0
        ? 'Unreachable'
        : `${r.status} ${r.code ?? ''}`
      : r.effect === 'ExplicitDeny'
        ? 'Denied (explicit)'
        : 'Denied'
  return (
    <td class={`xm-cell xm-result xm-${state}`} data-col="result" data-effect={r.effect}>
      <strong>
        <Icon state={state} /> {word}
      </strong>
      {/* Allowed with another status: the bucket has no such object (src/explain/objects.ts). */}
      {(!ok || r.status !== 200) && r.code && r.effect !== 'Unreachable' && (
        <small>
          {' '}
          ({r.status} {r.code})
        </small>
      )}
      <p class="xm-why">{r.why}</p>
    </td>
  )
}

export function Matrix({ result, expandDenies }: { result: ExplainResult; expandDenies: boolean }) {
  const v = verdict(result)
  const columns = matrixColumns(result)
  return (
    <section aria-labelledby="xm-title">
      <h2 id="xm-title">Result</h2>
      <p class={`xm-verdict xm-${v.allowed ? 'allow' : 'deny'}`} role="status">
        <Icon state={v.allowed ? 'allow' : 'deny'} /> <strong>{v.text}</strong>
      </p>
      {result.notes.length > 0 && (
        <ul class="xm-notes">
          {result.notes.map((n) => (
            <li>{n}</li>
          ))}
        </ul>
      )}
      <div class="xm-scroll">
        <table class="xm-matrix">
          <caption>Decision per route (rows) and authorization layer (columns), in evaluation order. Expand a cell for its reason and the statement that decided.</caption>
          <thead>
            <tr>
              <th scope="col">Route</th>
              {columns.map((c) => (
                <th scope="col">{COLUMN_TITLE[c]}</th>
              ))}
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {result.routes.map((r) => (
              <tr data-bucket={r.bucket}>
                <RouteHeader r={r} />
                {columns.map((c) => (
                  <MatrixCell r={r} col={c} open={expandDenies} />
                ))}
                <ResultCell r={r} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

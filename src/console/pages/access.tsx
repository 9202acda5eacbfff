/**
 * @module The Access page: pick a principal, an action, a target (MRAP or bucket) and key, and where
 * the caller sits → the route × layer matrix of `mrap explain` for the running server; and, on its
 * lint tab, the findings of `mrap lint` with one-click fixes. The explanation is computed by the
 * function `mrap explain --data-dir --json` prints (`explainRequest` over `modelFromServices`), only
 * for principals the signed-in one may simulate (./access-rules.ts). State lives in the query string.
 */
import type { ComponentChildren } from 'preact'
import { type ExplainQuery, type ExplainResult, explainRequest, objectQuestion } from '../../explain/evaluate.js'
import { modelFromServices, objectsFromServices } from '../../explain/from-services.js'
import { type AuthzModel, findPrincipal, ModelLookupError, type ModelPrincipal } from '../../explain/model.js'
import { ApiErrorBox, EmptyState, href } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { lintPage } from './access-lint.js'
import { Matrix } from './access-matrix.js'
import { PolicyList, policiesOf } from './access-policies.js'
import { identityDenied, maySimulate, policySourceArn, SIMULATE_ACTION, sessionPrincipal } from './access-rules.js'

export interface AccessInputs {
  principal?: string | undefined
  action: string
  /** `mrap:<alias>` or `bucket:<name>`. */
  target?: string | undefined
  key: string
  /** `internet` or a VPC id. */
  via: string
}

const ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:PutObjectTagging']

/** The inputs from the query string; `resource=<ARN>` (the explain links of error boxes) names the target and key. */
export function readInputs(q: URLSearchParams): AccessInputs {
  let target = q.get('target') || undefined
  let key = q.get('key') ?? ''
  const resource = q.get('resource')
  if (!target && resource) {
    const ap = /^arn:[^:]+:s3::\d{12}:accesspoint\/([^/]+)(?:\/object\/(.*))?$/.exec(resource)
    const b = /^arn:[^:]+:s3:::([^/]+)(?:\/(.*))?$/.exec(resource)
    if (ap) {
      target = `mrap:${ap[1]}`
      if (!key && ap[2] !== undefined) key = ap[2]
    } else if (b) {
      target = `bucket:${b[1]}`
      if (!key && b[2] !== undefined) key = b[2]
    }
  }
  return { principal: q.get('principal') || undefined, action: q.get('action') || 's3:GetObject', target, key, via: q.get('via') || 'internet' }
}

export function resolvePrincipal(model: AuthzModel, name: string): ModelPrincipal {
  return findPrincipal(model, policySourceArn(name))
}

export function explainQueryOf(inputs: AccessInputs, who: ModelPrincipal, timeMs: number): ExplainQuery {
  const t = inputs.target ?? ''
  return {
    as: who.ref,
    action: inputs.action,
    ...(t.startsWith('mrap:') ? { mrap: t.slice(5) } : { bucket: t.replace(/^bucket:/, '') }),
    ...(inputs.key !== '' ? { key: inputs.key } : {}),
    ...(inputs.via !== 'internet' ? { vpc: inputs.via } : {}),
    timeMs,
  }
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** The `mrap explain` command that prints the same result. */
export function cliCommand(q: ExplainQuery, dataDir: string): string {
  const args = ['mrap', 'explain', '--data-dir', dataDir, '--as', q.as, '--action', q.action]
  if (q.mrap !== undefined) args.push('--mrap', q.mrap)
  if (q.bucket !== undefined) args.push('--bucket', q.bucket)
  if (q.key !== undefined) args.push('--key', q.key)
  if (q.vpc !== undefined) args.push('--vpc', q.vpc)
  return args.map(shellWord).join(' ')
}

export function AccessTabs({ ctx, current }: { ctx: ConsoleContext; current: 'explain' | 'lint' }) {
  return (
    <nav aria-label="Access" class="access-tabs">
      <ul>
        <li>
          <a href={href(ctx, '/access')} aria-current={current === 'explain' ? 'page' : undefined}>
            Explain a request
          </a>
        </li>
        <li>
          <a href={href(ctx, '/access/lint')} aria-current={current === 'lint' ? 'page' : undefined}>
            Lint findings
          </a>
        </li>
      </ul>
    </nav>
  )
}

function InputsForm({ ctx, model, inputs, choices }: { ctx: ConsoleContext; model: AuthzModel; inputs: AccessInputs; choices: ModelPrincipal[] }) {
  return (
    <form method="get" action={href(ctx, '/access')} id="access-form" class="access-form">
      <div class="grid">
        <label>
          Principal
          <select name="principal" required>
            {choices.map((p) => (
              <option value={p.ref} selected={p.ref === inputs.principal}>
                {p.ref} ({policySourceArn(p.principal.arn)})
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <input name="action" value={inputs.action} list="access-actions" required autocomplete="off" />
          <datalist id="access-actions">
            {ACTIONS.map((a) => (
              <option value={a} />
            ))}
          </datalist>
        </label>
      </div>
      <div class="grid">
        <label>
          Multi-Region Access Point or bucket
          <select name="target" required>
            <optgroup label="Multi-Region Access Points">
              {model.mraps.map((m) => (
                <option value={`mrap:${m.alias}`} selected={inputs.target === `mrap:${m.alias}`}>
                  {m.name} ({m.alias})
                </option>
              ))}
            </optgroup>
            <optgroup label="Buckets">
              {model.buckets.map((b) => (
                <option value={`bucket:${b.name}`} selected={inputs.target === `bucket:${b.name}`}>
                  {b.name} ({b.region})
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <label>
          Object key
          <input name="key" value={inputs.key} placeholder="k" autocomplete="off" />
        </label>
      </div>
      <fieldset>
        <legend>Where the caller sits</legend>
        <label>
          <input type="radio" name="via" value="internet" checked={inputs.via === 'internet'} /> The internet
        </label>
        {model.vpcs.map((v) => (
          <label>
            <input type="radio" name="via" value={v.id} checked={inputs.via === v.id || inputs.via === v.name} /> VPC {v.name ?? v.id} ({v.id}, {v.region}
            {v.endpoints.length > 0 ? `, endpoints ${v.endpoints.map((e) => e.id).join(', ')}` : ', no endpoints'})
          </label>
        ))}
      </fieldset>
      <button type="submit">Run</button>
    </form>
  )
}

function Results({ ctx, model, who, result, cli, expand }: { ctx: ConsoleContext; model: AuthzModel; who: ModelPrincipal; result: ExplainResult; cli: string; expand: boolean }) {
  return (
    <div id="xm-results">
      <p class="xm-request">
        Principal <code>{result.request.principal.arn}</code> · Action <code>{result.request.action}</code> · Resource <code>{result.request.resource}</code> ·{' '}
        {result.request.network.kind === 'internet' ? 'from the internet' : `from ${result.request.network.vpcName ?? result.request.network.vpcId ?? 'a VPC'}`}
        {result.request.network.endpointId ? ` via ${result.request.network.endpointId}` : ''}
      </p>
      <div class="xm-cli">
        <label for="xm-cli-text">Equivalent CLI command</label>
        <div class="xm-cli-row">
          <input id="xm-cli-text" readonly value={cli} />
          <button type="button" class="secondary" data-copy="xm-cli-text">
            Copy CLI command
          </button>
        </div>
      </div>
      <form method="get" action={href(ctx, '/access')} class="inline-form">
        {ctxQuery(result, who).map(([k, v]) => (
          <input type="hidden" name={k} value={v} />
        ))}
        <button type="submit" name="expand" value="denies" class="secondary outline">
          Expand all denies
        </button>
      </form>
      <Matrix result={result} expandDenies={expand} />
      <PolicyList policies={policiesOf(model, who, result)} />
    </div>
  )
}

function ctxQuery(result: ExplainResult, who: ModelPrincipal): [string, string][] {
  const t = result.request.target
  const n = result.request.network
  const out: [string, string][] = [
    ['principal', who.ref],
    ['action', result.request.action],
    ['target', t.kind === 'mrap' ? `mrap:${t.alias}` : `bucket:${t.name}`],
  ]
  if (result.request.key !== undefined) out.push(['key', result.request.key])
  out.push(['via', n.vpcId ?? 'internet'])
  return out
}

export function PageAssets({ ctx }: { ctx: ConsoleContext }) {
  return (
    <>
      <link rel="stylesheet" href={href(ctx, '/assets/access.css')} />
      <script src={href(ctx, '/assets/access.js')} defer />
    </>
  )
}

function deniedSimulate(ctx: ConsoleContext, target: string) {
  return identityDenied(ctx.session.arn, SIMULATE_ACTION, target)
}

async function explainPage(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  const model = modelFromServices(ctx.core, 'the running server')
  const me = sessionPrincipal(ctx.core, ctx.session)
  const choices = me ? model.principals.filter((p) => maySimulate(ctx.core, me, p.principal.arn)) : []
  const inputs = readInputs(req.query)
  const asked = inputs.principal !== undefined && inputs.target !== undefined
  const form = { ...inputs }
  if (form.principal === undefined) form.principal = choices.find((p) => policySourceArn(p.principal.arn) === policySourceArn(ctx.session.arn))?.ref
  else {
    try {
      form.principal = resolvePrincipal(model, form.principal).ref
    } catch {
      // Shown below as the lookup error.
    }
  }
  if (form.target === undefined) form.target = model.mraps[0] ? `mrap:${model.mraps[0].alias}` : model.buckets[0] ? `bucket:${model.buckets[0].name}` : undefined
  let outcome: ComponentChildren = <EmptyState title="Not simulated yet">Choose the inputs above and press Run to see the decision on every route.</EmptyState>
  if (asked) {
    try {
      const who = resolvePrincipal(model, inputs.principal!)
      const targetArn = policySourceArn(who.principal.arn)
      if (!me || !maySimulate(ctx.core, me, who.principal.arn)) {
        outcome = <ApiErrorBox ctx={ctx} error={deniedSimulate(ctx, targetArn)} title="You may not explain this principal's decisions" />
      } else {
        const q = explainQueryOf(inputs, who, Date.now())
        // As `mrap explain --data-dir` does: the named key's stored ACL on each routed bucket whose ACLs decide.
        const ask = objectQuestion(model, ctx.core.policies.catalog, q)
        if (ask) model.objects = await objectsFromServices(ctx.core, ask)
        const result = explainRequest(model, ctx.core.policies.catalog, q, { verbose: true })
        outcome = <Results ctx={ctx} model={model} who={who} result={result} cli={cliCommand(q, ctx.core.config.dataDir)} expand={req.query.get('expand') === 'denies'} />
      }
    } catch (e) {
      if (!(e instanceof ModelLookupError)) throw e
      outcome = <ApiErrorBox ctx={ctx} error={{ code: 'NotFound', status: 404, message: e.message }} title="Nothing to explain" />
    }
  }
  return {
    kind: 'page',
    title: 'Access',
    body: (
      <>
        <PageAssets ctx={ctx} />
        <h1>Access</h1>
        <AccessTabs ctx={ctx} current="explain" />
        <p>
          Why a request is allowed or denied on each route of a Multi-Region Access Point, layer by layer, as the server decides it now. You may explain yourself, and any principal
          you are allowed <code>{SIMULATE_ACTION}</code> on.
        </p>
        <InputsForm ctx={ctx} model={model} inputs={form} choices={choices} />
        <div id="stale-banner" class="xm-stale" role="status" hidden>
          The inputs changed: the results below are for the previous inputs. Press Run to update them.
        </div>
        {outcome}
      </>
    ),
  }
}

export const accessPage: ConsolePage = {
  mount: '/access',
  nav: { label: 'Access', order: 60 },
  async handle(ctx, req) {
    if (req.path === '' || req.path === '/') return explainPage(ctx, req)
    if (req.path === '/lint' || (req.path === '/lint/apply' && req.method === 'POST')) {
      const tabs = (
        <>
          <PageAssets ctx={ctx} />
          <h1>Access</h1>
          <AccessTabs ctx={ctx} current="lint" />
        </>
      )
      return lintPage(ctx, req, tabs)
    }
    return { kind: 'page', title: 'Not found', status: 404, body: <EmptyState title="No such Access page">Go back to the Access page.</EmptyState> }
  },
}

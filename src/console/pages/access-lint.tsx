/**
 * @module The Access page's lint tab: `mrap lint`'s findings for the running world (the model
 * `mrap lint --data-dir` reads), grouped by severity, each with its fix, and "Apply" where the fix
 * is a policy change the console can make (./access-fixes.ts) through the API as the signed-in
 * principal. The findings are listed only to a principal allowed `access-analyzer:ListFindings`
 * (./access-rules.ts), and only those about its own account's resources (docs/decisions/console.md
 * §Access and Requests); the API decides whether the change itself is allowed.
 */
import type { ComponentChildren } from 'preact'
import { modelFromServices } from '../../explain/from-services.js'
import type { AuthzModel } from '../../explain/model.js'
import { type Finding, runLint, type Severity } from '../../lint/index.js'
import { loadCatalog } from '../../policy/index.js'
import { type ApiError, toApiError } from '../api.js'
import { ApiErrorBox, CsrfField, EmptyState, href, Notice, type Status, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { applyPlan, type FixPlan, findingId, fixPlan } from './access-fixes.js'
import { identityDenied, LIST_FINDINGS_ACTION, lintAnalyzerArn, mayListFindings, sessionPrincipal } from './access-rules.js'

const SEVERITIES: { severity: Severity; title: string; status: Status }[] = [
  { severity: 'error', title: 'Errors', status: 'deny' },
  { severity: 'warning', title: 'Warnings', status: 'warn' },
  { severity: 'info', title: 'Suggestions', status: 'info' },
]

const APPLIED: Record<string, string> = {
  PutBucketPolicy: 'Applied: the bucket policy was replaced (PutBucketPolicy).',
  ModifyVpcEndpoint: 'Applied: the endpoint policy was replaced (ModifyVpcEndpoint).',
  PutMultiRegionAccessPointPolicy: 'Submitted: the MRAP policy changes when its operation ends (PutMultiRegionAccessPointPolicy).',
}

/** The account a finding's policy belongs to, when the model says. */
export function findingAccount(model: AuthzModel, f: Finding): string | undefined {
  const o = f.policy.owner
  const after = (p: string) => o.slice(p.length)
  if (o.startsWith('bucket ')) return model.buckets.find((b) => b.name === after('bucket '))?.owner
  if (o.startsWith('MRAP ')) return model.mraps.find((m) => m.name === after('MRAP '))?.owner
  if (o.startsWith('endpoint ')) return model.vpcs.find((v) => v.endpoints.some((e) => e.id === after('endpoint ')))?.owner
  return /(\d{12})/.exec(o)?.[1]
}

interface LintState {
  model: AuthzModel
  findings: Finding[]
  plans: Map<string, FixPlan>
}

/**
 * Lint and its fix checks cost a few hundred milliseconds on the seed (each explain compiles its
 * policies afresh), so the last answer is kept for as long as the world it was computed on is the
 * same (the model, as JSON, is the key; any policy change makes a new one).
 */
const last = new WeakMap<object, { key: string; state: LintState }>()

async function lintState(ctx: ConsoleContext): Promise<LintState> {
  const model = modelFromServices(ctx.core, 'the running server')
  const key = JSON.stringify(model)
  const hit = last.get(ctx.core)
  if (hit && hit.key === key) return hit.state
  const catalog = ctx.core.policies.catalog ?? (await loadCatalog())
  const timeMs = Date.now()
  const findings = runLint({ model, catalog, timeMs })
  const plans = new Map<string, FixPlan>()
  for (const f of findings) {
    const p = fixPlan(model, catalog, timeMs, f)
    if (p) plans.set(findingId(f), p)
  }
  const state = { model, findings, plans }
  last.set(ctx.core, { key, state })
  return state
}

function visible(ctx: ConsoleContext, state: LintState): Finding[] {
  return state.findings.filter((f) => {
    const acct = findingAccount(state.model, f)
    return acct === undefined || acct === ctx.session.accountId
  })
}

function PlanView({ ctx, f, plan }: { ctx: ConsoleContext; f: Finding; plan: FixPlan }) {
  const id = findingId(f)
  return (
    <div class="lint-plan">
      <p>
        <strong>Proposed change</strong> ({plan.call}): {plan.summary}
      </p>
      <details>
        <summary>Show the new policy</summary>
        <pre>
          <code>{JSON.stringify(JSON.parse(plan.after), null, 2)}</code>
        </pre>
      </details>
      <form method="post" action={href(ctx, '/access/lint/apply')} class="inline-form">
        <CsrfField ctx={ctx} />
        <input type="hidden" name="finding" value={id} />
        <button type="submit" aria-describedby={`${id}-msg`}>
          Apply
        </button>
      </form>
    </div>
  )
}

function FindingView({ ctx, f, plan }: { ctx: ConsoleContext; f: Finding; plan: FixPlan | undefined }) {
  const id = findingId(f)
  const stmt = f.statement !== undefined ? ` · statement ${typeof f.statement === 'number' ? `[${f.statement}]` : f.statement}` : ''
  return (
    <article class="lint-finding" id={id} data-rule={f.rule}>
      <header>
        <code>{f.rule}</code> · {f.policy.owner}: {f.policy.name}
        {stmt}
      </header>
      <p id={`${id}-msg`}>{f.message}</p>
      <p>
        <strong>Fix:</strong> {f.fix}
      </p>
      {plan ? <PlanView ctx={ctx} f={f} plan={plan} /> : <p class="lint-manual">This fix needs a person: the console has no one-click change for it.</p>}
    </article>
  )
}

export function LintView({ ctx, findings, plans, notice, error }: { ctx: ConsoleContext; findings: Finding[]; plans: Map<string, FixPlan>; notice?: string; error?: ApiError }) {
  return (
    <section aria-labelledby="lint-title">
      <h2 id="lint-title">Lint findings</h2>
      <p>
        What <code>mrap lint</code> reports for the running world's policies in account {ctx.session.accountId}. "Apply" makes the change through the API as you ({ctx.session.name}
        ), so it needs the permission the API call needs.
      </p>
      {notice && <Notice status="ok">{notice}</Notice>}
      {error && <ApiErrorBox ctx={ctx} error={error} title="The fix was not applied" />}
      {findings.length === 0 ? (
        <EmptyState title="No findings">The policies of this account pass every lint rule.</EmptyState>
      ) : (
        SEVERITIES.map(({ severity, title, status }) => {
          const list = findings.filter((f) => f.severity === severity)
          if (list.length === 0) return null
          return (
            <section aria-labelledby={`lint-${severity}`}>
              <h3 id={`lint-${severity}`}>
                <StatusBadge status={status}>{title}</StatusBadge> <small>({list.length})</small>
              </h3>
              {list.map((f) => (
                <FindingView ctx={ctx} f={f} plan={plans.get(findingId(f))} />
              ))}
            </section>
          )
        })
      )}
    </section>
  )
}

/** What a principal not allowed to list findings sees: Access Analyzer's refusal, and no finding (not even a count). */
function deniedPage(ctx: ConsoleContext, tabs: ComponentChildren): PageResult {
  const error = identityDenied(ctx.session.arn, LIST_FINDINGS_ACTION, lintAnalyzerArn(ctx.core, ctx.session.accountId), 'AccessDeniedException')
  return {
    kind: 'page',
    title: 'Access: lint findings',
    body: (
      <>
        {tabs}
        <section aria-labelledby="lint-title">
          <h2 id="lint-title">Lint findings</h2>
          <p>
            Lint findings quote your account's policies, so they are listed to principals allowed <code>{LIST_FINDINGS_ACTION}</code>, as IAM Access Analyzer lists its findings.
          </p>
          <ApiErrorBox ctx={ctx} error={error} title="You may not list lint findings" />
        </section>
      </>
    ),
  }
}

export async function lintPage(ctx: ConsoleContext, req: ConsoleRequest, tabs: ComponentChildren): Promise<PageResult> {
  // Asked before anything is linted, and for an Apply too: a refused viewer learns nothing from which finding ids exist.
  const me = sessionPrincipal(ctx.core, ctx.session)
  if (!me || !mayListFindings(ctx.core, me)) return deniedPage(ctx, tabs)
  const state = await lintState(ctx)
  const findings = visible(ctx, state)
  let notice: string | undefined
  let error: ApiError | undefined
  if (req.method === 'POST') {
    const id = req.form.get('finding') ?? ''
    const f = findings.find((x) => findingId(x) === id)
    const plan = f ? state.plans.get(id) : undefined
    if (!f || !plan) {
      notice = 'That finding is no longer reported (or has no one-click fix): nothing was changed.'
    } else {
      try {
        await applyPlan(ctx.api, plan)
        return { kind: 'redirect', location: href(ctx, '/access/lint', { applied: plan.call }) }
      } catch (e) {
        const t = plan.target
        const resource = t.kind === 'bucket' ? `arn:${state.model.partition}:s3:::${t.bucket}` : t.kind === 'endpoint' ? t.endpointId : t.name
        const action = plan.call === 'PutBucketPolicy' ? 's3:PutBucketPolicy' : plan.call === 'ModifyVpcEndpoint' ? 'ec2:ModifyVpcEndpoint' : 's3:PutMultiRegionAccessPointPolicy'
        error = toApiError(e, { action, resource })
      }
    }
  } else {
    // Only the call's name travels in the link, so a crafted URL cannot make the page say anything else.
    const call = req.query.get('applied')
    if (call && APPLIED[call]) notice = APPLIED[call]
  }
  return {
    kind: 'page',
    title: 'Access: lint findings',
    body: (
      <>
        {tabs}
        <LintView ctx={ctx} findings={findings} plans={state.plans} {...(notice ? { notice } : {})} {...(error ? { error } : {})} />
      </>
    ),
  }
}

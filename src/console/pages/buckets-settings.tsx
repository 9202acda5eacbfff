/**
 * @module A bucket's settings tabs: versioning, permissions (Block Public Access, the bucket policy
 * editor with the API's write-time error and `mrap lint`'s findings for the bucket), replication
 * rules, and tags. Each save is the API call a principal would make, so a policy S3 refuses comes
 * back as PutBucketPolicy's own MalformedPolicy, with its words, above the draft that caused it.
 */
import {
  DeleteBucketPolicyCommand,
  DeleteBucketReplicationCommand,
  DeleteBucketTaggingCommand,
  GetBucketPolicyCommand,
  GetBucketReplicationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type ReplicationRule,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { ComponentChildren } from 'preact'
import { modelFromServices } from '../../explain/from-services.js'
import { type Finding, runLint } from '../../lint/index.js'
import { loadCatalog } from '../../policy/index.js'
import type { ApiError } from '../api.js'
import { ApiErrorBox, CsrfField, DataTable, EmptyState, StatusBadge } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { findingAccount } from './access-lint.js'
import { LIST_FINDINGS_ACTION, mayListFindings, sessionPrincipal } from './access-rules.js'
import { attempt, bucketArn, bucketHref, type Outcome, optional, s3For } from './buckets-common.js'
import { bucketFrame } from './buckets-frame.js'

const BPA_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const

const BPA_LABELS: Record<(typeof BPA_FIELDS)[number], string> = {
  BlockPublicAcls: 'Block public access granted through new ACLs',
  IgnorePublicAcls: 'Ignore public ACLs',
  BlockPublicPolicy: 'Block new public bucket policies',
  RestrictPublicBuckets: 'Restrict access to a bucket with a public policy to AWS principals and this account',
}

/** What a failed save leaves on the tab: the error, and the draft the user typed. */
interface Draft {
  error?: ApiError | undefined
  errorTitle?: string
  policy?: string
}

export async function settingsTab(ctx: ConsoleContext, bucket: string, tab: string, draft: Draft = {}): Promise<ComponentChildren> {
  const s3 = await s3For(ctx, bucket)
  const error = draft.error ? <ApiErrorBox ctx={ctx} error={draft.error} title={draft.errorTitle ?? 'The change was not saved'} /> : null
  if (tab === 'versioning') return [error, await versioningTab(ctx, s3, bucket)]
  if (tab === 'permissions') return permissionsTab(ctx, s3, bucket, draft)
  if (tab === 'replication') return [error, await replicationTab(ctx, s3, bucket)]
  return [error, await tagsTab(ctx, s3, bucket)]
}

function Failed({ ctx, r, title }: { ctx: ConsoleContext; r: Outcome<unknown>; title: string }) {
  return r.ok ? null : <ApiErrorBox ctx={ctx} error={r.error} title={title} />
}

async function versioningTab(ctx: ConsoleContext, s3: S3Client, bucket: string) {
  const r = await attempt(() => s3.send(new GetBucketVersioningCommand({ Bucket: bucket })), 's3:GetBucketVersioning', bucketArn(ctx, bucket))
  const status = r.ok ? (r.value.Status ?? 'Unversioned') : undefined
  return (
    <>
      <section aria-labelledby="versioning-heading">
        <h2 id="versioning-heading">Versioning</h2>
        <Failed ctx={ctx} r={r} title="The versioning state could not be read" />
        {status ? (
          <>
            <p>
              Versioning is{' '}
              <StatusBadge status={status === 'Enabled' ? 'ok' : status === 'Suspended' ? 'warn' : 'na'}>
                {status === 'Unversioned' ? 'never enabled' : status.toLowerCase()}
              </StatusBadge>
              . Enabled keeps every version and turns deletes into delete markers; suspended writes the <code>null</code> version again and keeps the others. A versioned bucket can
              never become unversioned.
            </p>
            <form method="post" action={bucketHref(ctx, bucket, '/versioning')} class="inline-form">
              <CsrfField ctx={ctx} />
              <input type="hidden" name="status" value={status === 'Enabled' ? 'Suspended' : 'Enabled'} />
              <button type="submit" class={status === 'Enabled' ? 'secondary' : undefined}>
                {status === 'Enabled' ? 'Suspend versioning' : 'Enable versioning'}
              </button>
            </form>
          </>
        ) : null}
      </section>
      <section aria-labelledby="danger-heading">
        <h2 id="danger-heading">Delete the bucket</h2>
        <p>S3 deletes only an empty bucket (no objects, no versions, no delete markers).</p>
        <details class="confirm">
          <summary>Delete bucket…</summary>
          <form method="post" action={bucketHref(ctx, bucket, '/delete-bucket')}>
            <CsrfField ctx={ctx} />
            <button type="submit" class="contrast">
              Delete {bucket}
            </button>
          </form>
        </details>
      </section>
    </>
  )
}

async function permissionsTab(ctx: ConsoleContext, s3: S3Client, bucket: string, draft: Draft) {
  const arn = bucketArn(ctx, bucket)
  const [bpa, policy] = await Promise.all([
    optional(() => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })), 'NoSuchPublicAccessBlockConfiguration', 's3:GetBucketPublicAccessBlock', arn),
    optional(() => s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), 'NoSuchBucketPolicy', 's3:GetBucketPolicy', arn),
  ])
  // Lint reads the policy behind the API's back: only for someone the API lets read it, and who
  // may list findings at all (the lint tab's rule, docs/decisions/console.md §Access and Requests).
  const me = sessionPrincipal(ctx.core, ctx.session)
  const mayList = me !== undefined && mayListFindings(ctx.core, me)
  const findings = policy.ok && mayList ? await lintFindings(ctx, bucket) : undefined
  const cfg = bpa.ok ? bpa.value?.PublicAccessBlockConfiguration : undefined
  const stored = policy.ok ? policy.value?.Policy : undefined
  const text = draft.policy ?? (stored ? pretty(stored) : '')
  const isPolicyError = draft.policy !== undefined
  return (
    <>
      <section aria-labelledby="bpa-heading">
        <h2 id="bpa-heading">Block Public Access</h2>
        {draft.error && !isPolicyError ? <ApiErrorBox ctx={ctx} error={draft.error} title={draft.errorTitle ?? 'Block Public Access was not saved'} /> : null}
        <Failed ctx={ctx} r={bpa} title="Block Public Access could not be read" />
        {bpa.ok ? (
          <form method="post" action={bucketHref(ctx, bucket, '/public-access')}>
            <CsrfField ctx={ctx} />
            <fieldset>
              <legend>Settings of this bucket (the account's settings apply as well)</legend>
              {BPA_FIELDS.map((f) => (
                <label>
                  <input type="checkbox" name={f} value="true" checked={cfg?.[f] === true} /> {BPA_LABELS[f]}
                </label>
              ))}
            </fieldset>
            <button type="submit">Save Block Public Access</button>
          </form>
        ) : null}
      </section>
      <section aria-labelledby="policy-heading">
        <h2 id="policy-heading">Bucket policy</h2>
        {isPolicyError && draft.error ? <ApiErrorBox ctx={ctx} error={draft.error} title={draft.errorTitle ?? 'S3 refused the policy'} /> : null}
        <Failed ctx={ctx} r={policy} title="The bucket policy could not be read" />
        <form method="post" action={bucketHref(ctx, bucket, '/policy')}>
          <CsrfField ctx={ctx} />
          <label for="policy-text">Policy (JSON){stored === undefined && policy.ok ? ': this bucket has none' : ''}</label>
          <textarea
            id="policy-text"
            name="policy"
            rows={16}
            spellcheck={false}
            class="code-editor"
            aria-invalid={isPolicyError ? 'true' : undefined}
            aria-describedby="policy-help"
          >
            {text}
          </textarea>
          <small id="policy-help">S3 checks the policy when it is saved (PutBucketPolicy); its error, if any, shows above.</small>
          <button type="submit">Save policy</button>
        </form>
        {stored !== undefined ? (
          <details class="confirm">
            <summary>Delete policy…</summary>
            <form method="post" action={bucketHref(ctx, bucket, '/delete-policy')}>
              <CsrfField ctx={ctx} />
              <button type="submit" class="contrast">
                Delete the bucket policy
              </button>
            </form>
          </details>
        ) : null}
      </section>
      <section aria-labelledby="lint-heading">
        <h2 id="lint-heading">Lint findings for this bucket</h2>
        <p>
          What <code>mrap lint</code> finds in the policies in force for {bucket} (a refused draft is never in force).
        </p>
        {!policy.ok ? (
          <p>Reading the findings needs what reading the policy needs (s3:GetBucketPolicy).</p>
        ) : findings === undefined ? (
          <p>
            Lint findings are listed only to principals allowed <code>{LIST_FINDINGS_ACTION}</code>, as IAM Access Analyzer lists its findings; you are not.
          </p>
        ) : (
          <DataTable
            caption={`mrap lint findings for ${bucket}`}
            columns={['Rule', 'Severity', 'Finding', 'Fix']}
            rows={findings.map((f) => [
              <code>{f.rule}</code>,
              <StatusBadge status={f.severity === 'error' ? 'deny' : f.severity === 'warning' ? 'warn' : 'info'}>{f.severity}</StatusBadge>,
              <>
                {f.message}
                {f.statement !== undefined ? <small> (statement {String(f.statement)})</small> : null}
              </>,
              f.fix,
            ])}
            empty={<EmptyState title="No findings for this bucket." />}
          />
        )}
      </section>
    </>
  )
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2)
  } catch {
    return json
  }
}

/**
 * `mrap lint` over the running state, kept to the findings about this bucket's policy; like the
 * lint tab, only those of the signed-in principal's own account (Access Analyzer keeps findings per account).
 */
async function lintFindings(ctx: ConsoleContext, bucket: string): Promise<Finding[]> {
  const catalog = await loadCatalog()
  const model = modelFromServices(ctx.core, 'server')
  const owner = `bucket ${bucket}`
  return runLint({ model, catalog, timeMs: Date.now() }).filter((f) => f.policy.owner === owner && findingAccount(model, f) === ctx.session.accountId)
}

async function replicationTab(ctx: ConsoleContext, s3: S3Client, bucket: string) {
  const r = await optional(
    () => s3.send(new GetBucketReplicationCommand({ Bucket: bucket })),
    'ReplicationConfigurationNotFoundError',
    's3:GetReplicationConfiguration',
    bucketArn(ctx, bucket),
  )
  const cfg = r.ok ? r.value?.ReplicationConfiguration : undefined
  const rules = cfg?.Rules ?? []
  return (
    <section aria-labelledby="replication-heading">
      <h2 id="replication-heading">Replication rules</h2>
      <Failed ctx={ctx} r={r} title="The replication configuration could not be read" />
      {cfg ? (
        <p>
          Replicas are written as <code>{cfg.Role}</code>. Each object's replication status is on its details page.
        </p>
      ) : null}
      {r.ok ? (
        <DataTable
          caption={`Replication rules of ${bucket}`}
          columns={['Rule', 'Status', { label: 'Priority', numeric: true }, 'Filter', 'Destination', 'Delete markers', 'Actions']}
          rows={rules.map((rule) => [
            rule.ID ?? '—',
            <StatusBadge status={rule.Status === 'Enabled' ? 'ok' : 'na'}>{rule.Status ?? '—'}</StatusBadge>,
            rule.Priority ?? '—',
            filterText(rule),
            <code>{rule.Destination?.Bucket}</code>,
            rule.DeleteMarkerReplication?.Status ?? (rule.Prefix !== undefined ? 'Enabled (V1 rule)' : '—'),
            <form method="post" action={bucketHref(ctx, bucket, '/replication')} class="inline-form">
              <CsrfField ctx={ctx} />
              <input type="hidden" name="remove" value={rule.ID ?? ''} />
              <button type="submit" class="secondary outline">
                Remove rule {rule.ID}
              </button>
            </form>,
          ])}
          empty={<EmptyState title="No replication rules.">Objects written to this bucket stay in {bucket}.</EmptyState>}
        />
      ) : null}
      {r.ok ? <AddRuleForm ctx={ctx} bucket={bucket} role={cfg?.Role} /> : null}
    </section>
  )
}

function filterText(rule: ReplicationRule): string {
  const prefix = rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix
  const tags = [...(rule.Filter?.Tag ? [rule.Filter.Tag] : []), ...(rule.Filter?.And?.Tags ?? [])].map((t) => `${t.Key}=${t.Value}`)
  const parts = [prefix ? `prefix ${prefix}` : '', ...tags.map((t) => `tag ${t}`)].filter((p) => p !== '')
  return parts.length ? parts.join(', ') : 'every object'
}

function AddRuleForm({ ctx, bucket, role }: { ctx: ConsoleContext; bucket: string; role: string | undefined }) {
  return (
    <details>
      <summary>Add a rule</summary>
      <form method="post" action={bucketHref(ctx, bucket, '/replication')}>
        <CsrfField ctx={ctx} />
        <div class="grid">
          <div>
            <label for="rule-id">Rule ID</label>
            <input id="rule-id" name="id" required maxLength={255} />
          </div>
          <div>
            <label for="rule-priority">Priority</label>
            <input id="rule-priority" name="priority" type="number" min={0} value="1" required />
          </div>
        </div>
        <label for="rule-prefix">Key prefix (empty: every object)</label>
        <input id="rule-prefix" name="prefix" spellcheck={false} />
        <label for="rule-destination">Destination bucket</label>
        <input id="rule-destination" name="destination" required spellcheck={false} />
        <label for="rule-role">IAM role S3 assumes to replicate</label>
        <input id="rule-role" name="role" required spellcheck={false} value={role ?? `arn:${ctx.core.world.partition}:iam::${ctx.session.accountId}:role/replication`} />
        <label>
          <input type="checkbox" name="deleteMarkers" value="true" /> Replicate delete markers
        </label>
        <button type="submit">Add rule</button>
      </form>
    </details>
  )
}

async function tagsTab(ctx: ConsoleContext, s3: S3Client, bucket: string) {
  const r = await optional(() => s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 's3:GetBucketTagging', bucketArn(ctx, bucket))
  const tags = r.ok ? (r.value?.TagSet ?? []) : []
  const rows = [...tags, { Key: '', Value: '' }]
  return (
    <section aria-labelledby="tags-heading">
      <h2 id="tags-heading">Tags</h2>
      <Failed ctx={ctx} r={r} title="The tags could not be read" />
      {r.ok ? (
        <form method="post" action={bucketHref(ctx, bucket, '/tags')}>
          <CsrfField ctx={ctx} />
          <p>Clear a key to remove its tag; the last row adds one. Saving replaces the whole tag set (PutBucketTagging).</p>
          <DataTable
            caption={`Tags of ${bucket}`}
            columns={['#', 'Key', 'Value']}
            rows={rows.map((t, i) => [
              String(i + 1),
              <input name="key" value={t.Key ?? ''} aria-label={`Key of tag ${i + 1}`} spellcheck={false} />,
              <input name="value" value={t.Value ?? ''} aria-label={`Value of tag ${i + 1}`} spellcheck={false} />,
            ])}
          />
          <button type="submit">Save tags</button>
        </form>
      ) : null}
    </section>
  )
}

/** The settings POSTs: redirect after a change, the tab with AWS's error (and the draft) after a refusal. */
export async function settingsAction(ctx: ConsoleContext, req: ConsoleRequest, bucket: string, action: string): Promise<PageResult | undefined> {
  const s3 = await s3For(ctx, bucket)
  const arn = bucketArn(ctx, bucket)
  const f = req.form
  const done = (tab: string, code: string): PageResult => ({ kind: 'redirect', location: bucketHref(ctx, bucket, '', { tab, done: code }) })
  const refused = async (tab: string, error: ApiError, extra: Draft = {}): Promise<PageResult> =>
    bucketFrame(ctx, bucket, tab, await settingsTab(ctx, bucket, tab, { error, ...extra }), error.status || 400)
  if (action === 'versioning') {
    const Status = f.get('status') === 'Suspended' ? 'Suspended' : 'Enabled'
    const r = await attempt(() => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } })), 's3:PutBucketVersioning', arn)
    return r.ok ? done('versioning', 'versioning') : refused('versioning', r.error)
  }
  if (action === 'public-access') {
    const cfg = Object.fromEntries(BPA_FIELDS.map((k) => [k, f.get(k) === 'true']))
    const r = await attempt(() => s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: cfg })), 's3:PutBucketPublicAccessBlock', arn)
    return r.ok ? done('permissions', 'bpa') : refused('permissions', r.error, { errorTitle: 'Block Public Access was not saved' })
  }
  if (action === 'policy') {
    const Policy = f.get('policy') ?? ''
    const r = await attempt(() => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy })), 's3:PutBucketPolicy', arn)
    return r.ok ? done('permissions', 'policy') : refused('permissions', r.error, { policy: Policy, errorTitle: 'S3 refused the policy' })
  }
  if (action === 'delete-policy') {
    const r = await attempt(() => s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket })), 's3:DeleteBucketPolicy', arn)
    return r.ok ? done('permissions', 'policy-deleted') : refused('permissions', r.error, { errorTitle: 'The policy was not deleted' })
  }
  if (action === 'tags') {
    const keys = f.getAll('key')
    const values = f.getAll('value')
    const TagSet = keys.map((Key, i) => ({ Key: Key.trim(), Value: values[i] ?? '' })).filter((t) => t.Key !== '')
    const r =
      TagSet.length === 0
        ? await attempt(() => s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket })), 's3:PutBucketTagging', arn)
        : await attempt(() => s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet } })), 's3:PutBucketTagging', arn)
    return r.ok ? done('tags', 'tags') : refused('tags', r.error, { errorTitle: 'The tags were not saved' })
  }
  if (action === 'replication') return replicationAction(ctx, s3, bucket, f, done, refused)
  return undefined
}

async function replicationAction(
  ctx: ConsoleContext,
  s3: S3Client,
  bucket: string,
  f: URLSearchParams,
  done: (tab: string, code: string) => PageResult,
  refused: (tab: string, error: ApiError) => Promise<PageResult>,
): Promise<PageResult> {
  const arn = bucketArn(ctx, bucket)
  const current = await optional(() => s3.send(new GetBucketReplicationCommand({ Bucket: bucket })), 'ReplicationConfigurationNotFoundError', 's3:GetReplicationConfiguration', arn)
  if (!current.ok) return refused('replication', current.error)
  const cfg = current.value?.ReplicationConfiguration
  const remove = f.get('remove')
  let rules: ReplicationRule[] = cfg?.Rules ?? []
  let role = cfg?.Role ?? ''
  if (remove !== null) {
    rules = rules.filter((r) => (r.ID ?? '') !== remove)
  } else {
    role = (f.get('role') ?? '').trim()
    const dest = (f.get('destination') ?? '').trim()
    rules = [
      ...rules,
      {
        ID: (f.get('id') ?? '').trim(),
        Priority: Number(f.get('priority') ?? '1'),
        Status: 'Enabled',
        Filter: { Prefix: f.get('prefix') ?? '' },
        DeleteMarkerReplication: { Status: f.get('deleteMarkers') === 'true' ? 'Enabled' : 'Disabled' },
        Destination: { Bucket: dest.startsWith('arn:') ? dest : `arn:${ctx.core.world.partition}:s3:::${dest}` },
      },
    ]
  }
  const r =
    rules.length === 0
      ? await attempt(() => s3.send(new DeleteBucketReplicationCommand({ Bucket: bucket })), 's3:PutReplicationConfiguration', arn)
      : await attempt(
          () => s3.send(new PutBucketReplicationCommand({ Bucket: bucket, ReplicationConfiguration: { Role: role, Rules: rules } })),
          's3:PutReplicationConfiguration',
          arn,
        )
  if (!r.ok) return refused('replication', r.error)
  return done('replication', rules.length === 0 ? 'replication-deleted' : 'replication')
}

/**
 * @module One IAM user, role or group: its inline policies (view and edit, with the IAM API's
 * MalformedPolicyDocument wording beside the editor), attached managed policies, a role's trust
 * policy, a group's members, and a user's access keys. A new key's secret is in the answer to the
 * POST that created it and nowhere else: not in the session, a redirect, a log or a later page
 * ("This is the only time that the secret access key can be viewed or downloaded",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html).
 */
import type { ComponentChildren } from 'preact'
import { EmptyState } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { Assets, attempt, Copyable, Dl, ErrorBox, href, prettyPolicy, Table } from './mraps-ui.js'

export const iamClient = () => import('@aws-sdk/client-iam')

export type Kind = 'user' | 'role' | 'group'

const LABEL: Record<Kind, 'User' | 'Role' | 'Group'> = { user: 'User', role: 'Role', group: 'Group' }

interface Extra {
  /** The inline policy whose save failed, its draft and IAM's error. */
  policy?: { name: string; draft: string; error: unknown }
  /** Created just now: shown once, in this answer only. */
  newKey?: { id: string; secret: string }
  keyError?: { action: string; error: unknown }
}

/** IAM returns policy documents URL-encoded (RFC 3986), as the API reference says. */
const decode = (doc: string | undefined): string => {
  if (doc === undefined) return ''
  try {
    return decodeURIComponent(doc)
  } catch {
    return doc
  }
}

function arnOf(ctx: ConsoleContext, kind: Kind, name: string): string {
  return `arn:${ctx.core.world.partition}:iam::${ctx.session.accountId}:${kind}/${name}`
}

export async function entityPage(ctx: ConsoleContext, kind: Kind, name: string, extra: Extra): Promise<PageResult> {
  const m = await iamClient()
  const c = await ctx.api.iam()
  const L = LABEL[kind]
  const arn = arnOf(ctx, kind, name)
  const base = href(ctx, `/iam/${kind}s/${encodeURIComponent(name)}`)
  const got = await attempt(async () => {
    if (kind === 'user') {
      const arn = (await c.send(new m.GetUserCommand({ UserName: name }))).User?.Arn
      // Its groups, where the principal may list them (a refusal leaves the line out, not the page).
      const groups = await attempt(async () => (await c.send(new m.ListGroupsForUserCommand({ UserName: name }))).Groups ?? [])
      const list = groups.ok
        ? groups.value.map((g) => (
            <>
              <a href={href(ctx, `/iam/groups/${encodeURIComponent(g.GroupName ?? '')}`)}>{g.GroupName}</a>{' '}
            </>
          ))
        : []
      return { arn, more: groups.ok ? <Dl rows={[['Groups', list.length > 0 ? list : 'None']]} /> : null }
    }
    if (kind === 'role') {
      const r = (await c.send(new m.GetRoleCommand({ RoleName: name }))).Role
      return { arn: r?.Arn, more: <Dl rows={[['Trust policy', <pre>{prettyPolicy(decode(r?.AssumeRolePolicyDocument))}</pre>]]} /> }
    }
    const g = await c.send(new m.GetGroupCommand({ GroupName: name }))
    return { arn: g.Group?.Arn, more: <Dl rows={[['Members', (g.Users ?? []).map((u) => u.UserName).join(', ') || 'None']]} /> }
  })
  const crumbs = (
    <nav aria-label="Breadcrumb">
      <ul>
        <li>
          <a href={href(ctx, '/iam', { tab: `${kind}s` })}>IAM {kind}s</a>
        </li>
        <li>{name}</li>
      </ul>
    </nav>
  )
  if (!got.ok) {
    return {
      kind: 'page',
      title: name,
      body: (
        <>
          <Assets ctx={ctx} />
          {crumbs}
          <h1>{name}</h1>
          <ErrorBox ctx={ctx} error={got.error} action={`iam:Get${L}`} resource={arn} />
        </>
      ),
    }
  }
  const inlineNames = await attempt(async () => {
    const p = { [`${L}Name`]: name } as never
    if (kind === 'user') return (await c.send(new m.ListUserPoliciesCommand(p))).PolicyNames ?? []
    if (kind === 'role') return (await c.send(new m.ListRolePoliciesCommand(p))).PolicyNames ?? []
    return (await c.send(new m.ListGroupPoliciesCommand(p))).PolicyNames ?? []
  })
  const inline = inlineNames.ok
    ? await Promise.all(
        inlineNames.value.map(async (policyName) => {
          const p = { [`${L}Name`]: name, PolicyName: policyName } as never
          const doc = await attempt(async () => {
            if (kind === 'user') return (await c.send(new m.GetUserPolicyCommand(p))).PolicyDocument
            if (kind === 'role') return (await c.send(new m.GetRolePolicyCommand(p))).PolicyDocument
            return (await c.send(new m.GetGroupPolicyCommand(p))).PolicyDocument
          })
          return { policyName, doc }
        }),
      )
    : []
  const attached = await attempt(async () => {
    const p = { [`${L}Name`]: name } as never
    if (kind === 'user') return (await c.send(new m.ListAttachedUserPoliciesCommand(p))).AttachedPolicies ?? []
    if (kind === 'role') return (await c.send(new m.ListAttachedRolePoliciesCommand(p))).AttachedPolicies ?? []
    return (await c.send(new m.ListAttachedGroupPoliciesCommand(p))).AttachedPolicies ?? []
  })
  const keys = kind === 'user' ? await attempt(async () => (await c.send(new m.ListAccessKeysCommand({ UserName: name }))).AccessKeyMetadata ?? []) : undefined
  const newPolicyError = extra.policy && !inline.some((p) => p.policyName === extra.policy?.name) ? extra.policy : undefined
  return {
    kind: 'page',
    title: name,
    body: (
      <>
        <Assets ctx={ctx} />
        {crumbs}
        <hgroup>
          <h1>{name}</h1>
          <p>
            {L} <code>{got.value.arn}</code>
          </p>
        </hgroup>
        {got.value.more}
        {extra.newKey ? <NewKey id={extra.newKey.id} secret={extra.newKey.secret} /> : null}
        {keys ? <Keys ctx={ctx} base={base} arn={arn} keys={keys} extra={extra} /> : null}
        <h2>Inline policies</h2>
        {!inlineNames.ok ? <ErrorBox ctx={ctx} error={inlineNames.error} action={`iam:List${L}Policies`} resource={arn} /> : null}
        {inlineNames.ok && inline.length === 0 ? <EmptyState title="No inline policies." /> : null}
        {inline.map((p) =>
          p.doc.ok ? (
            <PolicyForm
              ctx={ctx}
              action={`${base}/policy`}
              policyName={p.policyName}
              text={extra.policy?.name === p.policyName ? extra.policy.draft : prettyPolicy(decode(p.doc.value))}
              error={extra.policy?.name === p.policyName ? extra.policy.error : undefined}
              errorAction={`iam:Put${L}Policy`}
              arn={arn}
            />
          ) : (
            <ErrorBox ctx={ctx} error={p.doc.error} action={`iam:Get${L}Policy`} resource={arn} />
          ),
        )}
        <details open={newPolicyError !== undefined}>
          <summary>Add an inline policy</summary>
          <PolicyForm
            ctx={ctx}
            action={`${base}/policy`}
            text={newPolicyError?.draft ?? ''}
            error={newPolicyError?.error}
            errorAction={`iam:Put${L}Policy`}
            arn={arn}
            nameField={newPolicyError?.name ?? ''}
          />
        </details>
        <h2>Attached managed policies</h2>
        {!attached.ok ? (
          <ErrorBox ctx={ctx} error={attached.error} action={`iam:ListAttached${L}Policies`} resource={arn} />
        ) : attached.value.length === 0 ? (
          <EmptyState title="No attached managed policies." />
        ) : (
          <Table
            caption="Attached managed policies"
            head={['Name', 'ARN', 'Document']}
            rows={(
              await managedDocuments(
                ctx,
                attached.value.map((p) => p.PolicyArn ?? ''),
              )
            ).map((d, i) => [
              attached.value[i]!.PolicyName ?? '',
              <code>{d.arn}</code>,
              d.doc.ok ? (
                <details>
                  <summary>Show</summary>
                  <pre>{prettyPolicy(decode(d.doc.value))}</pre>
                </details>
              ) : (
                <ErrorBox ctx={ctx} error={d.doc.error} action="iam:GetPolicyVersion" resource={d.arn} />
              ),
            ])}
          />
        )}
      </>
    ),
  }
}

/** A managed policy's default version (GetPolicy, then GetPolicyVersion), as the principal may read it. */
async function managedDocuments(ctx: ConsoleContext, arns: string[]) {
  const m = await iamClient()
  const c = await ctx.api.iam()
  return Promise.all(
    arns.map(async (arn) => ({
      arn,
      doc: await attempt(async () => {
        const p = await c.send(new m.GetPolicyCommand({ PolicyArn: arn }))
        return (await c.send(new m.GetPolicyVersionCommand({ PolicyArn: arn, VersionId: p.Policy?.DefaultVersionId ?? 'v1' }))).PolicyVersion?.Document
      }),
    })),
  )
}

function PolicyForm(props: { ctx: ConsoleContext; action: string; policyName?: string; nameField?: string; text: string; error: unknown; errorAction: string; arn: string }) {
  const id = `policy-${props.policyName ?? 'new'}`
  return (
    <form method="post" action={props.action} class="c2-policy-form">
      <input type="hidden" name="_csrf" value={props.ctx.session.csrf} />
      {props.policyName !== undefined ? (
        <>
          <h3>{props.policyName}</h3>
          <input type="hidden" name="policyName" value={props.policyName} />
        </>
      ) : (
        <label>
          Policy name
          <input name="policyName" required maxLength={128} value={props.nameField ?? ''} />
        </label>
      )}
      <label for={id}>{props.policyName !== undefined ? `Policy document of ${props.policyName}` : 'Policy document (JSON)'}</label>
      <textarea id={id} name="policy" rows={10} spellcheck={false} aria-describedby={props.error !== undefined ? `${id}-error` : undefined}>
        {props.text}
      </textarea>
      {props.error !== undefined ? (
        <div id={`${id}-error`}>
          <ErrorBox ctx={props.ctx} error={props.error} action={props.errorAction} resource={props.arn} />
        </div>
      ) : null}
      <button type="submit">Save policy</button>
    </form>
  )
}

function NewKey(props: { id: string; secret: string }) {
  return (
    <article class="c2-new-key" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Access key created</h2>
      <p>
        <strong>This is the only time the secret access key is shown.</strong> Copy it now; it cannot be shown again (create a new key if it is lost).
      </p>
      <Dl
        rows={[
          ['Access key ID', <Copyable value={props.id} label="access key ID" />],
          ['Secret access key', <Copyable value={props.secret} label="secret access key" />],
        ]}
      />
    </article>
  )
}

function Keys(props: {
  ctx: ConsoleContext
  base: string
  arn: string
  keys: Awaited<ReturnType<typeof attempt<{ AccessKeyId?: string | undefined; Status?: string | undefined; CreateDate?: Date | undefined }[]>>>
  extra: Extra
}): ComponentChildren {
  const { ctx, base, keys } = props
  const csrf = <input type="hidden" name="_csrf" value={ctx.session.csrf} />
  return (
    <>
      <h2>Access keys</h2>
      {props.extra.keyError ? <ErrorBox ctx={ctx} error={props.extra.keyError.error} action={props.extra.keyError.action} resource={props.arn} /> : null}
      {!keys.ok ? (
        <ErrorBox ctx={ctx} error={keys.error} action="iam:ListAccessKeys" resource={props.arn} />
      ) : keys.value.length === 0 ? (
        <EmptyState title="No access keys." />
      ) : (
        <Table
          caption="Access keys"
          head={['Access key ID', 'Status', 'Created', 'Actions']}
          rows={keys.value.map((k) => [
            <code>{k.AccessKeyId}</code>,
            k.Status === 'Active' ? '✓ Active' : '– Inactive',
            k.CreateDate ? k.CreateDate.toISOString().slice(0, 10) : '',
            <form method="post" action={`${base}/keys/${k.AccessKeyId}`} class="c2-inline-form">
              {csrf}
              <button
                type="submit"
                name="do"
                value={k.Status === 'Active' ? 'Inactive' : 'Active'}
                class="secondary"
                aria-label={`${k.Status === 'Active' ? 'Deactivate' : 'Activate'} ${k.AccessKeyId}`}
              >
                {k.Status === 'Active' ? 'Deactivate' : 'Activate'}
              </button>{' '}
              <button type="submit" name="do" value="delete" class="secondary" aria-label={`Delete ${k.AccessKeyId}`}>
                Delete
              </button>
            </form>,
          ])}
        />
      )}
      <form method="post" action={`${base}/keys`}>
        {csrf}
        <button type="submit">Create access key</button>
      </form>
    </>
  )
}

export async function postEntity(ctx: ConsoleContext, req: ConsoleRequest, kind: Kind, name: string, rest: string[]): Promise<PageResult> {
  const m = await iamClient()
  const c = await ctx.api.iam()
  const L = LABEL[kind]
  const back: PageResult = { kind: 'redirect', location: href(ctx, `/iam/${kind}s/${encodeURIComponent(name)}`) }
  if (rest.length === 1 && rest[0] === 'policy') {
    const policyName = (req.form.get('policyName') ?? '').trim()
    const draft = req.form.get('policy') ?? ''
    const p = { [`${L}Name`]: name, PolicyName: policyName, PolicyDocument: draft } as never
    // IAM checks the name and the document; its words are what the editor shows.
    const r = await attempt(async () => {
      if (kind === 'user') return c.send(new m.PutUserPolicyCommand(p))
      if (kind === 'role') return c.send(new m.PutRolePolicyCommand(p))
      return c.send(new m.PutGroupPolicyCommand(p))
    })
    return r.ok ? back : entityPage(ctx, kind, name, { policy: { name: policyName, draft, error: r.error } })
  }
  if (kind === 'user' && rest[0] === 'keys') {
    if (rest.length === 1) {
      const r = await attempt(() => c.send(new m.CreateAccessKeyCommand({ UserName: name })))
      const k = r.ok ? r.value.AccessKey : undefined
      if (!k?.AccessKeyId || !k.SecretAccessKey)
        return entityPage(ctx, kind, name, { keyError: { action: 'iam:CreateAccessKey', error: r.ok ? new Error('No key returned') : r.error } })
      return entityPage(ctx, kind, name, { newKey: { id: k.AccessKeyId, secret: k.SecretAccessKey } })
    }
    if (rest.length === 2) {
      const id = rest[1]!
      const what = req.form.get('do')
      const r =
        what === 'delete'
          ? await attempt(() => c.send(new m.DeleteAccessKeyCommand({ UserName: name, AccessKeyId: id })))
          : await attempt(() => c.send(new m.UpdateAccessKeyCommand({ UserName: name, AccessKeyId: id, Status: what === 'Active' ? 'Active' : 'Inactive' })))
      if (!r.ok) return entityPage(ctx, kind, name, { keyError: { action: what === 'delete' ? 'iam:DeleteAccessKey' : 'iam:UpdateAccessKey', error: r.error } })
      return back
    }
  }
  return { kind: 'page', status: 404, title: 'Not found', body: <p>No such page.</p> }
}

/**
 * @module IAM, as the signed-in principal may see it through the IAM API: the account, its users,
 * roles, groups and customer managed policies (iam-entity.tsx shows one user, role or group with its
 * policies and access keys). Kept because MinIO's users missed these pages when they were removed
 * (the design note, §1).
 */

import { EmptyState } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { entityPage, iamClient, type Kind, postEntity } from './iam-entity.js'
import { Assets, attempt, Dl, ErrorBox, href, pathSegment, Table, Tabs } from './mraps-ui.js'

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'roles', label: 'Roles' },
  { id: 'groups', label: 'Groups' },
  { id: 'policies', label: 'Policies' },
]
const KINDS: Record<string, Kind> = { users: 'user', roles: 'role', groups: 'group' }
/** IAM names: letters, digits and +=,.@_- (up to 128 for users and groups, 64 for roles). */
const NAME_RE = /^[\w+=,.@-]{1,128}$/

export const iamPage: ConsolePage = {
  mount: '/iam',
  nav: { label: 'IAM', order: 50 },
  async handle(ctx, req) {
    const parts = req.path
      .split('/')
      .filter((p) => p !== '')
      .map(pathSegment)
    if (parts.length === 0 && req.method === 'GET') return overview(ctx, req)
    const kind = KINDS[parts[0] ?? '']
    if (kind && parts[1] !== undefined && NAME_RE.test(parts[1])) {
      const rest = parts.slice(2)
      if (req.method === 'GET' && rest.length === 0) return entityPage(ctx, kind, parts[1], {})
      if (req.method === 'POST') return postEntity(ctx, req, kind, parts[1], rest)
    }
    return { kind: 'page', status: 404, title: 'Not found', body: <p>No such page.</p> }
  },
}

async function overview(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult> {
  const tab = TABS.some((t) => t.id === req.query.get('tab')) ? req.query.get('tab')! : 'users'
  const account = ctx.core.world.accounts.find((a) => a.id === ctx.session.accountId)
  return {
    kind: 'page',
    title: 'IAM',
    body: (
      <>
        <Assets ctx={ctx} />
        <h1>Identity and Access Management</h1>
        <section aria-labelledby="account-title">
          <h2 id="account-title">Account</h2>
          <Dl
            rows={[
              ['Account ID', ctx.session.accountId],
              ['Account name', account?.name ?? ''],
              ['Signed in as', <code>{ctx.session.arn}</code>],
            ]}
          />
        </section>
        <Tabs label="IAM entities" tabs={TABS} current={tab} link={(id) => href(ctx, '/iam', { tab: id })}>
          {await listTab(ctx, tab)}
        </Tabs>
      </>
    ),
  }
}

async function listTab(ctx: ConsoleContext, tab: string) {
  const m = await iamClient()
  const c = await ctx.api.iam()
  const acct = ctx.session.accountId
  if (tab === 'policies') {
    const r = await attempt(() => c.send(new m.ListPoliciesCommand({ Scope: 'Local' })))
    if (!r.ok) return <ErrorBox ctx={ctx} error={r.error} action="iam:ListPolicies" resource={`arn:${ctx.core.world.partition}:iam::${acct}:policy/`} />
    const list = r.value.Policies ?? []
    return list.length === 0 ? (
      <EmptyState title="No customer managed policies in this account." />
    ) : (
      <Table
        caption="Customer managed policies"
        head={['Name', 'ARN', 'Attachments']}
        rows={list.map((p) => [p.PolicyName ?? '', <code>{p.Arn}</code>, String(p.AttachmentCount ?? 0)])}
      />
    )
  }
  const kind = KINDS[tab]!
  const listed = await attempt(async (): Promise<{ name: string; arn: string; created: Date | undefined }[]> => {
    if (kind === 'user') return ((await c.send(new m.ListUsersCommand({}))).Users ?? []).map((u) => ({ name: u.UserName ?? '', arn: u.Arn ?? '', created: u.CreateDate }))
    if (kind === 'role') return ((await c.send(new m.ListRolesCommand({}))).Roles ?? []).map((u) => ({ name: u.RoleName ?? '', arn: u.Arn ?? '', created: u.CreateDate }))
    return ((await c.send(new m.ListGroupsCommand({}))).Groups ?? []).map((u) => ({ name: u.GroupName ?? '', arn: u.Arn ?? '', created: u.CreateDate }))
  })
  const action = kind === 'user' ? 'iam:ListUsers' : kind === 'role' ? 'iam:ListRoles' : 'iam:ListGroups'
  if (!listed.ok) return <ErrorBox ctx={ctx} error={listed.error} action={action} resource={`arn:${ctx.core.world.partition}:iam::${acct}:${kind}/`} />
  if (listed.value.length === 0) return <EmptyState title={`No ${tab} in this account.`} />
  return (
    <Table
      caption={TABS.find((t) => t.id === tab)!.label}
      head={['Name', 'ARN', 'Created']}
      rows={listed.value.map((e) => [
        <a href={href(ctx, `/iam/${tab}/${encodeURIComponent(e.name)}`)}>{e.name}</a>,
        <code>{e.arn}</code>,
        e.created ? e.created.toISOString().slice(0, 10) : '',
      ])}
    />
  )
}

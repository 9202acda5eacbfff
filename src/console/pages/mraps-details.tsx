/**
 * @module One MRAP's details, in the S3 console's three tabs
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-view-examples.html):
 * Properties (ARN, alias, host names, buckets), Permissions (Block Public Access, the MRAP policy
 * as Proposed and Established, its editor) and Replication and failover (mraps-failover.tsx).
 * Everything is read as the signed-in principal, so each part shows its own refusal.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_MultiRegionAccessPointPolicyDocument.html
 */
import type { GetMultiRegionAccessPointResult } from '@aws-sdk/client-s3-control'
import type { ComponentChildren } from 'preact'
import { EmptyState, SCROLL_BOX } from '../components.js'
import type { ConsoleContext, ConsoleRequest, PageResult } from '../page.js'
import { type FailoverProblems, failoverTab, submitFailover, submitRoutes } from './mraps-failover.js'
import { control, mrapArnOf, operationPanel, S3_GLOBAL, StatusWord } from './mraps-operation.js'
import { Assets, attempt, Copyable, codeOf, Dl, ErrorBox, href, prettyPolicy, Tabs } from './mraps-ui.js'

const TABS = [
  { id: 'properties', label: 'Properties' },
  { id: 'permissions', label: 'Permissions' },
  { id: 'replication', label: 'Replication and failover' },
]

/** What a POST left to show on the page it returns to. */
export interface Problems extends FailoverProblems {
  policyDraft?: string
  policyError?: unknown
}

export async function detailsPage(ctx: ConsoleContext, req: ConsoleRequest, name: string, problems: Problems = {}, tabOverride?: string): Promise<PageResult> {
  const { GetMultiRegionAccessPointCommand } = await control()
  const c = await ctx.api.s3control()
  const got = await attempt(() => c.send(new GetMultiRegionAccessPointCommand({ AccountId: ctx.session.accountId, Name: name })))
  const tab = TABS.some((t) => t.id === (tabOverride ?? req.query.get('tab'))) ? (tabOverride ?? req.query.get('tab')!) : 'properties'
  const token = req.query.get('op')
  const progress = token ? await operationPanel(ctx, token, name) : null
  const crumbs = (
    <nav aria-label="Breadcrumb">
      <ul>
        <li>
          <a href={href(ctx, '/mraps')}>Multi-Region Access Points</a>
        </li>
        <li>{name}</li>
      </ul>
    </nav>
  )
  if (!got.ok) {
    // Right after a create, the operation may not have written the MRAP yet: show its progress only.
    const pending = token !== null && codeOf(got.error) === 'NoSuchMultiRegionAccessPoint'
    return {
      kind: 'page',
      title: name,
      body: (
        <>
          <Assets ctx={ctx} />
          {crumbs}
          <hgroup>
            <h1>{name}</h1>
            {pending ? (
              <p>
                Status:{' '}
                <span id="mrap-status">
                  <StatusWord status="CREATING" />
                </span>
              </p>
            ) : null}
          </hgroup>
          {progress}
          {pending ? null : <ErrorBox ctx={ctx} error={got.error} action="s3:GetMultiRegionAccessPoint" resource={mrapArnOf(ctx, '*')} />}
        </>
      ),
    }
  }
  const ap = got.value.AccessPoint ?? {}
  const arn = mrapArnOf(ctx, ap.Alias ?? '')
  let content: ComponentChildren
  if (tab === 'permissions') content = await permissionsTab(ctx, name, arn, got.value, problems)
  else if (tab === 'replication') content = await failoverTab(ctx, name, arn, got.value, problems)
  else content = await propertiesTab(ctx, got.value, arn)
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
            Status:{' '}
            <span id="mrap-status">
              <StatusWord status={ap.Status} />
            </span>
          </p>
        </hgroup>
        {progress}
        <p>
          <button type="button" class="secondary" commandfor="delete-dialog" command="show-modal">
            Delete
          </button>
        </p>
        <dialog id="delete-dialog" aria-labelledby="delete-title">
          <article>
            <h2 id="delete-title">Delete {name}?</h2>
            <p>Requests to its alias stop working; its buckets and their objects stay. The alias is never reused.</p>
            <form method="post" action={href(ctx, `/mraps/${encodeURIComponent(name)}/delete`)}>
              <input type="hidden" name="_csrf" value={ctx.session.csrf} />
              <footer>
                <button type="button" class="secondary" commandfor="delete-dialog" command="close">
                  Cancel
                </button>{' '}
                <button type="submit">Delete Multi-Region Access Point</button>
              </footer>
            </form>
          </article>
        </dialog>
        <Tabs label={`${name} details`} tabs={TABS} current={tab} link={(id) => href(ctx, `/mraps/${encodeURIComponent(name)}`, { tab: id })}>
          {content}
        </Tabs>
      </>
    ),
  }
}

async function propertiesTab(ctx: ConsoleContext, got: GetMultiRegionAccessPointResult, arn: string): Promise<ComponentChildren> {
  const ap = got.AccessPoint ?? {}
  const host = `${ap.Alias}.accesspoint.s3-global.${ctx.core.world.dnsSuffix}`
  const endpoints = await globalEndpoints(ctx)
  return (
    <>
      <h2>Properties</h2>
      <Dl
        rows={[
          ['ARN', <Copyable value={arn} label="ARN" />],
          ['Alias', <Copyable value={ap.Alias ?? ''} label="alias" />],
          ['Global host name', <Copyable value={host} label="global host name" />],
          ['Created', ap.CreatedAt ? `${ap.CreatedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC` : ''],
        ]}
      />
      <div {...SCROLL_BOX}>
        <table>
          <caption>Buckets</caption>
          <thead>
            <tr>
              <th scope="col">Bucket</th>
              <th scope="col">Account</th>
              <th scope="col">Region</th>
            </tr>
          </thead>
          <tbody>
            {(ap.Regions ?? []).map((r) => (
              <tr>
                <th scope="row">{r.Bucket}</th>
                <td>{r.BucketAccountId ?? ctx.session.accountId}</td>
                <td>{r.Region}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Host names through VPC interface endpoints</h3>
      {endpoints.errors.map((e) => (
        <ErrorBox ctx={ctx} error={e.error} action="ec2:DescribeVpcEndpoints" resource="*" />
      ))}
      {endpoints.list.length === 0 ? (
        <EmptyState title={`No ${S3_GLOBAL} interface endpoints you can see. From the internet, clients use the global host name.`} />
      ) : (
        <div {...SCROLL_BOX}>
          <table>
            <caption>Per VPC endpoint</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">VPC</th>
                <th scope="col">Private DNS</th>
                <th scope="col">Host name in the VPC</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.list.map((e) => (
                <tr>
                  <th scope="row">
                    <a href={href(ctx, `/vpcs/endpoints/${e.id}`, { region: e.region })}>{e.id}</a>
                  </th>
                  <td>{e.vpc}</td>
                  <td>{e.privateDns ? '✓ On' : '– Off'}</td>
                  <td>
                    {e.privateDns ? (
                      <Copyable value={host} label={`host name through ${e.id}`} />
                    ) : (
                      <span>
                        CNAME <code>{host}</code> to <code>{e.dnsName}</code>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}

/** The s3-global interface endpoints the principal may describe, in every region of the world. */
async function globalEndpoints(
  ctx: ConsoleContext,
): Promise<{ list: { id: string; vpc: string; region: string; privateDns: boolean; dnsName: string }[]; errors: { error: unknown }[] }> {
  const { DescribeVpcEndpointsCommand } = await import('@aws-sdk/client-ec2')
  const list: { id: string; vpc: string; region: string; privateDns: boolean; dnsName: string }[] = []
  const errors: { error: unknown }[] = []
  for (const region of ctx.core.world.regions.map((r) => r.name)) {
    const ec2 = await ctx.api.ec2(region)
    const r = await attempt(() => ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'service-name', Values: [S3_GLOBAL] }] })))
    if (!r.ok) {
      // One refusal says it for every region.
      if (errors.length === 0) errors.push({ error: r.error })
      continue
    }
    for (const e of r.value.VpcEndpoints ?? [])
      list.push({ id: e.VpcEndpointId ?? '', vpc: e.VpcId ?? '', region, privateDns: e.PrivateDnsEnabled === true, dnsName: e.DnsEntries?.[0]?.DnsName ?? '' })
  }
  return { list, errors }
}

const BPA_WORDS: [string, string][] = [
  ['BlockPublicAcls', 'Block public access granted through new ACLs'],
  ['IgnorePublicAcls', 'Ignore public ACLs'],
  ['BlockPublicPolicy', 'Block public policies'],
  ['RestrictPublicBuckets', 'Restrict access to public policies to AWS principals and this account'],
]

async function permissionsTab(ctx: ConsoleContext, name: string, arn: string, got: GetMultiRegionAccessPointResult, problems: Problems): Promise<ComponentChildren> {
  const { GetMultiRegionAccessPointPolicyCommand, GetMultiRegionAccessPointPolicyStatusCommand } = await control()
  const c = await ctx.api.s3control()
  const [policy, status] = await Promise.all([
    attempt(() => c.send(new GetMultiRegionAccessPointPolicyCommand({ AccountId: ctx.session.accountId, Name: name }))),
    attempt(() => c.send(new GetMultiRegionAccessPointPolicyStatusCommand({ AccountId: ctx.session.accountId, Name: name }))),
  ])
  const bpa = (got.AccessPoint?.PublicAccessBlock ?? {}) as Record<string, boolean | undefined>
  const established = policy.ok ? policy.value.Policy?.Established?.Policy : undefined
  const proposed = policy.ok ? policy.value.Policy?.Proposed?.Policy : undefined
  const draft = problems.policyDraft ?? prettyPolicy(proposed ?? established)
  return (
    <>
      <h2>Block Public Access</h2>
      <p>Fixed when the Multi-Region Access Point was created.</p>
      <div {...SCROLL_BOX}>
        <table>
          <caption>Block Public Access settings</caption>
          <tbody>
            {BPA_WORDS.map(([k, words]) => (
              <tr>
                <th scope="row">
                  {words} <small>({k})</small>
                </th>
                <td>{bpa[k] ? '✓ On' : '– Off'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Multi-Region Access Point policy</h2>
      {status.ok ? <p>Public: {status.value.Established?.IsPublic ? '⚠ Yes, the established policy grants public access' : '✓ No'}</p> : null}
      {!policy.ok ? <ErrorBox ctx={ctx} error={policy.error} action="s3:GetMultiRegionAccessPointPolicy" resource={arn} /> : null}
      {policy.ok ? (
        <Dl
          rows={[
            ['Established', established === undefined ? 'No policy' : <pre>{prettyPolicy(established)}</pre>],
            ['Proposed', proposed === undefined ? 'No policy' : proposed === established ? 'Same as established' : <pre>{prettyPolicy(proposed)}</pre>],
          ]}
        />
      ) : null}
      <form method="post" action={href(ctx, `/mraps/${encodeURIComponent(name)}/policy`)} class="c2-policy-form">
        <input type="hidden" name="_csrf" value={ctx.session.csrf} />
        <label for="mrap-policy">Policy (JSON)</label>
        <textarea id="mrap-policy" name="policy" rows={14} spellcheck={false} aria-describedby={problems.policyError !== undefined ? 'mrap-policy-error' : undefined}>
          {draft}
        </textarea>
        {problems.policyError !== undefined ? (
          <div id="mrap-policy-error">
            <ErrorBox ctx={ctx} error={problems.policyError} action="s3:PutMultiRegionAccessPointPolicy" resource={arn} />
          </div>
        ) : null}
        <p>
          <small>A policy can be replaced, never deleted. A request must pass both this policy and the policy of the bucket it lands on.</small>
        </p>
        <button type="submit">Save policy</button>
      </form>
    </>
  )
}

export async function postPolicy(ctx: ConsoleContext, req: ConsoleRequest, name: string): Promise<PageResult> {
  const { PutMultiRegionAccessPointPolicyCommand } = await control()
  const c = await ctx.api.s3control()
  const policy = req.form.get('policy') ?? ''
  const r = await attempt(() => c.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ctx.session.accountId, Details: { Name: name, Policy: policy } })))
  if (!r.ok) return detailsPage(ctx, req, name, { policyDraft: policy, policyError: r.error }, 'permissions')
  return { kind: 'redirect', location: href(ctx, `/mraps/${encodeURIComponent(name)}`, { tab: 'permissions', op: r.value.RequestTokenARN }) }
}

export async function postRoutes(ctx: ConsoleContext, req: ConsoleRequest, name: string): Promise<PageResult> {
  const problems = await submitRoutes(ctx, req, name)
  if (problems) return detailsPage(ctx, req, name, problems, 'replication')
  return { kind: 'redirect', location: href(ctx, `/mraps/${encodeURIComponent(name)}`, { tab: 'replication' }) }
}

export async function postFailover(ctx: ConsoleContext, req: ConsoleRequest, name: string): Promise<PageResult> {
  const problems = await submitFailover(ctx, req, name)
  if (problems) return detailsPage(ctx, req, name, problems, 'replication')
  return { kind: 'redirect', location: href(ctx, `/mraps/${encodeURIComponent(name)}`, { tab: 'replication' }) }
}

/**
 * @module VPCs and endpoints, as the VPC console shows them: in every Region of the world, the VPCs,
 * subnets and VPC endpoints the principal may describe (EC2 is regional, so one call per Region);
 * for an endpoint, its DNS names (private DNS and the names it answers) and its policy, "Full access"
 * by default or custom JSON, edited through ModifyVpcEndpoint with EC2's validation errors.
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcEndpoint.html
 */
import type { Subnet, Vpc, VpcEndpoint } from '@aws-sdk/client-ec2'
import { isDefaultEndpointPolicy } from '../../network/vpcs.js'
import { EmptyState, SCROLL_BOX } from '../components.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from '../page.js'
import { Assets, type Attempt, attempt, Dl, ErrorBox, href, prettyPolicy } from './mraps-ui.js'

const ec2 = () => import('@aws-sdk/client-ec2')

export const vpcsPage: ConsolePage = {
  mount: '/vpcs',
  nav: { label: 'VPCs and endpoints', order: 40 },
  async handle(ctx, req) {
    const parts = req.path.split('/').filter((p) => p !== '')
    if (parts.length === 0) return overview(ctx)
    const region = req.query.get('region') ?? req.form.get('region') ?? ''
    if (parts[0] === 'endpoints' && parts.length >= 2 && /^vpce-[0-9a-z]+$/.test(parts[1]!) && ctx.core.world.regions.some((r) => r.name === region)) {
      const id = parts[1]!
      if (parts.length === 2 && req.method === 'GET') return endpointPage(ctx, region, id)
      if (parts.length === 3 && parts[2] === 'policy' && req.method === 'POST') return modifyPolicy(ctx, req, region, id)
    }
    return { kind: 'page', status: 404, title: 'Not found', body: <p>No such page.</p> }
  },
}

interface RegionView {
  region: string
  vpcs: Attempt<Vpc[]>
  subnets: Attempt<Subnet[]>
  endpoints: Attempt<VpcEndpoint[]>
}

async function regionView(ctx: ConsoleContext, region: string): Promise<RegionView> {
  const { DescribeVpcsCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand } = await ec2()
  const c = await ctx.api.ec2(region)
  const [vpcs, subnets, endpoints] = await Promise.all([
    attempt(async () => (await c.send(new DescribeVpcsCommand({}))).Vpcs ?? []),
    attempt(async () => (await c.send(new DescribeSubnetsCommand({}))).Subnets ?? []),
    attempt(async () => (await c.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints ?? []),
  ])
  return { region, vpcs, subnets, endpoints }
}

/** The first refused call of a Region: one box says it, instead of one per table. */
function Refusal(props: { ctx: ConsoleContext; view: RegionView }) {
  const v = props.view
  const [action, r] =
    (
      [
        ['ec2:DescribeVpcs', v.vpcs],
        ['ec2:DescribeSubnets', v.subnets],
        ['ec2:DescribeVpcEndpoints', v.endpoints],
      ] as const
    ).find(([, x]) => !x.ok) ?? []
  return r && !r.ok ? <ErrorBox ctx={props.ctx} error={r.error} action={action!} resource="*" /> : null
}

const nameOf = (tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined): string => tags?.find((t) => t.Key === 'Name')?.Value ?? ''

function PolicyBadge(props: { policy: string | undefined }) {
  return props.policy === undefined || isDefaultEndpointPolicy(props.policy) ? (
    <span class="badge badge-info">
      <span class="badge-icon" aria-hidden="true">
        ◇
      </span>{' '}
      Default full access
    </span>
  ) : (
    <span class="badge badge-na">
      <span class="badge-icon" aria-hidden="true">
        ◆
      </span>{' '}
      Custom
    </span>
  )
}

async function overview(ctx: ConsoleContext): Promise<PageResult> {
  const views = await Promise.all(ctx.core.world.regions.map((r) => regionView(ctx, r.name)))
  return {
    kind: 'page',
    title: 'VPCs and endpoints',
    body: (
      <>
        <Assets ctx={ctx} />
        <hgroup>
          <h1>VPCs and endpoints</h1>
          <p>Every Region of this server's world, as account {ctx.session.accountId} sees it through the EC2 API.</p>
        </hgroup>
        {views.map((v) => (
          <section aria-labelledby={`region-${v.region}`}>
            <h2 id={`region-${v.region}`}>{v.region}</h2>
            <Refusal ctx={ctx} view={v} />
            {!v.vpcs.ok ? null : v.vpcs.value.length === 0 ? (
              <EmptyState title={`No VPCs in ${v.region}.`} />
            ) : (
              <div {...SCROLL_BOX}>
                <table>
                  <caption>VPCs in {v.region}</caption>
                  <thead>
                    <tr>
                      <th scope="col">VPC</th>
                      <th scope="col">Name</th>
                      <th scope="col">CIDR</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {v.vpcs.value.map((x) => (
                      <tr>
                        <th scope="row">{x.VpcId}</th>
                        <td>{nameOf(x.Tags)}</td>
                        <td>{x.CidrBlock}</td>
                        <td>{x.State}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {!v.subnets.ok || v.subnets.value.length === 0 ? null : (
              <div {...SCROLL_BOX}>
                <table>
                  <caption>Subnets in {v.region}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Subnet</th>
                      <th scope="col">VPC</th>
                      <th scope="col">CIDR</th>
                      <th scope="col">Availability Zone</th>
                    </tr>
                  </thead>
                  <tbody>
                    {v.subnets.value.map((x) => (
                      <tr>
                        <th scope="row">{x.SubnetId}</th>
                        <td>{x.VpcId}</td>
                        <td>{x.CidrBlock}</td>
                        <td>{x.AvailabilityZone}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {!v.endpoints.ok ? null : v.endpoints.value.length === 0 ? (
              <EmptyState title={`No VPC endpoints in ${v.region}.`} />
            ) : (
              <div {...SCROLL_BOX}>
                <table>
                  <caption>VPC endpoints in {v.region}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Endpoint</th>
                      <th scope="col">Type</th>
                      <th scope="col">Service</th>
                      <th scope="col">VPC</th>
                      <th scope="col">Private DNS</th>
                      <th scope="col">Policy</th>
                    </tr>
                  </thead>
                  <tbody>
                    {v.endpoints.value.map((e) => (
                      <tr>
                        <th scope="row">
                          <a href={href(ctx, `/vpcs/endpoints/${e.VpcEndpointId}`, { region: v.region })}>{e.VpcEndpointId}</a>
                        </th>
                        <td>{e.VpcEndpointType}</td>
                        <td>
                          <code>{e.ServiceName}</code>
                        </td>
                        <td>{e.VpcId}</td>
                        <td>{e.VpcEndpointType === 'Interface' ? (e.PrivateDnsEnabled ? '✓ On' : '– Off') : 'Not applicable'}</td>
                        <td>
                          <PolicyBadge policy={e.PolicyDocument} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        ))}
      </>
    ),
  }
}

async function endpointPage(ctx: ConsoleContext, region: string, id: string, problem?: { draft: string; error: unknown }): Promise<PageResult> {
  const { DescribeVpcEndpointsCommand } = await ec2()
  const c = await ctx.api.ec2(region)
  const r = await attempt(() => c.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })))
  const e = r.ok ? r.value.VpcEndpoints?.[0] : undefined
  const resource = `arn:${ctx.core.world.partition}:ec2:${region}:${ctx.session.accountId}:vpc-endpoint/${id}`
  const crumbs = (
    <nav aria-label="Breadcrumb">
      <ul>
        <li>
          <a href={href(ctx, '/vpcs')}>VPCs and endpoints</a>
        </li>
        <li>{id}</li>
      </ul>
    </nav>
  )
  if (!e) {
    return {
      kind: 'page',
      title: id,
      body: (
        <>
          <Assets ctx={ctx} />
          {crumbs}
          <h1>{id}</h1>
          {!r.ok ? <ErrorBox ctx={ctx} error={r.error} action="ec2:DescribeVpcEndpoints" resource="*" /> : <p>No such endpoint in {region}.</p>}
        </>
      ),
    }
  }
  const dns = e.DnsEntries ?? []
  const action = href(ctx, `/vpcs/endpoints/${id}/policy`)
  return {
    kind: 'page',
    title: id,
    body: (
      <>
        <Assets ctx={ctx} />
        {crumbs}
        <hgroup>
          <h1>{id}</h1>
          <p>
            {e.VpcEndpointType} endpoint for <code>{e.ServiceName}</code> in {e.VpcId} ({region})
          </p>
        </hgroup>
        <Dl
          rows={[
            ['State', e.State ?? ''],
            ['Private DNS', e.VpcEndpointType === 'Interface' ? (e.PrivateDnsEnabled ? '✓ On' : '– Off') : 'Not applicable (gateway endpoints use route tables)'],
            ['Subnets', (e.SubnetIds ?? []).join(', ') || 'None'],
            ['Route tables', (e.RouteTableIds ?? []).join(', ') || 'None'],
            ['Policy', <PolicyBadge policy={e.PolicyDocument} />],
          ]}
        />
        {dns.length > 0 ? (
          <div {...SCROLL_BOX}>
            <table>
              <caption>DNS names</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">What answers it</th>
                </tr>
              </thead>
              <tbody>
                {dns.map((d) => (
                  <tr>
                    <th scope="row">
                      <code>{d.DnsName}</code>
                    </th>
                    <td>{(d.DnsName ?? '').includes('.vpce.') ? 'Endpoint-specific name' : 'Private DNS: answered inside the VPC with the endpoint'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <h2>Endpoint policy</h2>
        <form method="post" action={action}>
          <input type="hidden" name="_csrf" value={ctx.session.csrf} />
          <input type="hidden" name="region" value={region} />
          <label for="endpoint-policy">Policy (JSON)</label>
          <textarea id="endpoint-policy" name="policy" rows={14} spellcheck={false} aria-describedby={problem ? 'endpoint-policy-error' : undefined}>
            {problem?.draft ?? prettyPolicy(e.PolicyDocument)}
          </textarea>
          {problem ? (
            <div id="endpoint-policy-error">
              <ErrorBox ctx={ctx} error={problem.error} action="ec2:ModifyVpcEndpoint" resource={resource} />
            </div>
          ) : null}
          <button type="submit" name="do" value="save">
            Save policy
          </button>{' '}
          <button type="submit" name="do" value="reset" class="secondary">
            Reset to full access
          </button>
        </form>
      </>
    ),
  }
}

async function modifyPolicy(ctx: ConsoleContext, req: ConsoleRequest, region: string, id: string): Promise<PageResult> {
  const { ModifyVpcEndpointCommand } = await ec2()
  const c = await ctx.api.ec2(region)
  const policy = req.form.get('policy') ?? ''
  const reset = req.form.get('do') === 'reset'
  const r = await attempt(() => c.send(new ModifyVpcEndpointCommand(reset ? { VpcEndpointId: id, ResetPolicy: true } : { VpcEndpointId: id, PolicyDocument: policy })))
  if (!r.ok) return endpointPage(ctx, region, id, { draft: policy, error: r.error })
  return { kind: 'redirect', location: href(ctx, `/vpcs/endpoints/${id}`, { region }) }
}

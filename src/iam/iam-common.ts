/**
 * @module What IAM's actions share: finding users / groups / roles (NoSuchEntity), their XML
 * shapes, policy-document checks through the policy engine (MalformedPolicyDocument,
 * LimitExceeded), and the inline / attached / boundary policy actions, which are the same for
 * the three kinds of policy holder.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html
 */
import { type IdentityAttachment, type PolicyKind, parsePolicy, validatePolicy } from '../policy/index.js'
import { esc } from '../s3/xml.js'
import { s3Error } from '../shared/errors.js'
import { type ApiCall, requireAllowed } from './api-auth.js'
import { awsManaged } from './aws-managed.js'
import { type GroupRec, groupArn, type ManagedPolicyRec, type RoleRec, roleArn, type UserRec, userArn } from './model.js'
import { el, members, node, tagList } from './query.js'
import { nameKey } from './store.js'

export type HolderKind = 'user' | 'group' | 'role'
export type Holder = UserRec | GroupRec | RoleRec
export type Op = (call: ApiCall) => string | undefined | Promise<string | undefined>

const LABEL: Record<HolderKind, 'User' | 'Group' | 'Role'> = { user: 'User', group: 'Group', role: 'Role' }
const MAX_ATTACHED = 10

export const NAME_RE = /^[\w+=,.@-]{1,64}$/
export const POLICY_NAME_RE = /^[\w+=,.@-]{1,128}$/
const PATH_RE = /^\/([\x21-\x7e]*\/)?$/

export function checkName(value: string, param: string, re = NAME_RE): string {
  if (!re.test(value)) {
    throw s3Error('ValidationError', {
      message: `1 validation error detected: Value '${value}' at '${param.charAt(0).toLowerCase()}${param.slice(1)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${re.source.replace(/^\^|\$$/g, '')}`,
    })
  }
  return value
}

export function checkPath(call: ApiCall): string {
  const p = call.params.opt('Path') ?? '/'
  if (!PATH_RE.test(p) || p.length > 512)
    throw s3Error('ValidationError', {
      message: `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
    })
  return p
}

export function partition(call: ApiCall): string {
  return call.s.identities.partition
}

export function arnOf(call: ApiCall, kind: HolderKind, h: { account: string; path: string; name: string }): string {
  const p = partition(call)
  return kind === 'user' ? userArn(p, h) : kind === 'group' ? groupArn(p, h) : roleArn(p, h)
}

export function findHolder(call: ApiCall, kind: HolderKind, name: string): Holder | undefined {
  const st = call.s.identities.store
  const key = nameKey(call.principal.accountId, name)
  return kind === 'user' ? st.users.get(key) : kind === 'group' ? st.groups.get(key) : st.roles.get(key)
}

export function noSuch(kind: HolderKind, name: string): never {
  throw s3Error('NoSuchEntity', { message: kind === 'user' ? `The user with name ${name} cannot be found.` : `The ${kind} with name ${name} cannot be found.` })
}

/** Authorizes `action` on the holder (its ARN, path included when it exists), then returns it. */
export function authorizedHolder(call: ApiCall, kind: HolderKind, name: string, action: string): Holder {
  const h = findHolder(call, kind, name)
  requireAllowed(call, action, arnOf(call, kind, h ?? { account: call.principal.accountId, path: '/', name }))
  return h ?? noSuch(kind, name)
}

/** A policy about to be stored, checked as IAM would (grammar, placement, size quotas). */
export function checkPolicyDocument(call: ApiCall, text: string, kind: PolicyKind, attachment?: IdentityAttachment, entityName?: string): void {
  const r = parsePolicy(text, { kind })
  const catalog = call.s.policies.catalog
  const errors = r.ok ? validatePolicy(r.policy, { kind, ...(catalog ? { catalog } : {}), ...(attachment ? { attachment } : {}), ...(entityName ? { entityName } : {}) }) : r.errors
  const e = errors[0]
  if (!e) return
  throw s3Error(e.code === 'LimitExceeded' ? 'LimitExceeded' : 'MalformedPolicyDocument', { message: e.message })
}

/** An attachable managed policy (the caller's account's, or AWS managed) by ARN. */
export function managedPolicy(call: ApiCall, arn: string): { arn: string; name: string; document: string; rec?: ManagedPolicyRec } {
  const rec = call.s.identities.store.policies.get(arn)
  if (rec && rec.account === call.principal.accountId) return { arn, name: rec.name, document: rec.document, rec }
  const aws = awsManaged(arn)
  if (aws) return { arn, name: aws.name, document: aws.document }
  throw s3Error('NoSuchEntity', { message: `Policy ${arn} does not exist or is not attachable.` })
}

export function date(s: string): string {
  return el('CreateDate', s)
}

export function boundaryXml(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : node('PermissionsBoundary', el('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'), el('PermissionsBoundaryArn', arn))
}

export function userXml(call: ApiCall, u: UserRec, tag = 'User'): string {
  return node(tag, el('Path', u.path), el('UserName', u.name), el('UserId', u.id), el('Arn', arnOf(call, 'user', u)), date(u.createdAt), boundaryXml(u.boundary), tagList(u.tags))
}
export function groupXml(call: ApiCall, g: GroupRec, tag = 'Group'): string {
  return node(tag, el('Path', g.path), el('GroupName', g.name), el('GroupId', g.id), el('Arn', arnOf(call, 'group', g)), date(g.createdAt))
}
export function roleXml(call: ApiCall, r: RoleRec, tag = 'Role'): string {
  return node(
    tag,
    el('Path', r.path),
    el('RoleName', r.name),
    el('RoleId', r.id),
    el('Arn', arnOf(call, 'role', r)),
    date(r.createdAt),
    el('AssumeRolePolicyDocument', encodeURIComponent(r.trust)),
    el('Description', r.description),
    el('MaxSessionDuration', r.maxSessionDuration),
    boundaryXml(r.boundary),
    tagList(r.tags),
  )
}

async function put(call: ApiCall, kind: HolderKind, next: Holder): Promise<void> {
  await call.s.identities.mutate((st) => st.put(kind, next as never))
}

const ATTACHMENT: Record<HolderKind, IdentityAttachment> = { user: 'inline-user', group: 'inline-group', role: 'inline-role' }

/** Put/Get/Delete/List{User,Group,Role}Policy, Attach/Detach/ListAttached{...}Policies. */
export function holderPolicyOps(kind: HolderKind): Record<string, Op> {
  const L = LABEL[kind]
  const param = `${L}Name`
  return {
    [`Put${L}Policy`]: async (call) => {
      const name = call.params.req(param)
      const policyName = checkName(call.params.req('PolicyName'), 'PolicyName', POLICY_NAME_RE)
      const doc = call.params.req('PolicyDocument')
      const h = authorizedHolder(call, kind, name, `iam:Put${L}Policy`)
      checkPolicyDocument(call, doc, 'identity', ATTACHMENT[kind], h.name)
      await put(call, kind, { ...h, inline: { ...h.inline, [policyName]: doc } })
      return undefined
    },
    [`Get${L}Policy`]: (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:Get${L}Policy`)
      const policyName = call.params.req('PolicyName')
      const doc = h.inline[policyName]
      if (doc === undefined) throw s3Error('NoSuchEntity', { message: `The ${kind} policy with name ${policyName} cannot be found.` })
      return el(param, h.name) + el('PolicyName', policyName) + el('PolicyDocument', encodeURIComponent(doc))
    },
    [`Delete${L}Policy`]: async (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:Delete${L}Policy`)
      const policyName = call.params.req('PolicyName')
      if (h.inline[policyName] === undefined) throw s3Error('NoSuchEntity', { message: `The ${kind} policy with name ${policyName} cannot be found.` })
      const inline = { ...h.inline }
      delete inline[policyName]
      await put(call, kind, { ...h, inline })
      return undefined
    },
    [`List${L}Policies`]: (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:List${L}Policies`)
      return (
        members(
          'PolicyNames',
          Object.keys(h.inline)
            .sort()
            .map((n) => esc(n)),
        ) + el('IsTruncated', false)
      )
    },
    [`Attach${L}Policy`]: async (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:Attach${L}Policy`)
      const p = managedPolicy(call, call.params.req('PolicyArn'))
      if (h.attached.includes(p.arn)) return undefined
      if (h.attached.length >= MAX_ATTACHED) throw s3Error('LimitExceeded', { message: `Cannot exceed quota for PoliciesPer${L}: ${MAX_ATTACHED}` })
      await put(call, kind, { ...h, attached: [...h.attached, p.arn] })
      return undefined
    },
    [`Detach${L}Policy`]: async (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:Detach${L}Policy`)
      const arn = call.params.req('PolicyArn')
      if (!h.attached.includes(arn)) throw s3Error('NoSuchEntity', { message: `Policy ${arn} was not found.` })
      await put(call, kind, { ...h, attached: h.attached.filter((a) => a !== arn) })
      return undefined
    },
    [`ListAttached${L}Policies`]: (call) => {
      const h = authorizedHolder(call, kind, call.params.req(param), `iam:ListAttached${L}Policies`)
      const items = h.attached.map((arn) => el('PolicyName', arn.slice(arn.lastIndexOf('/') + 1)) + el('PolicyArn', arn))
      return members('AttachedPolicies', items) + el('IsTruncated', false)
    },
  }
}

/** Put/Delete{User,Role}PermissionsBoundary. */
export function boundaryOps(kind: 'user' | 'role'): Record<string, Op> {
  const L = LABEL[kind]
  return {
    [`Put${L}PermissionsBoundary`]: async (call) => {
      const h = authorizedHolder(call, kind, call.params.req(`${L}Name`), `iam:Put${L}PermissionsBoundary`) as UserRec | RoleRec
      const p = managedPolicy(call, call.params.req('PermissionsBoundary'))
      await put(call, kind, { ...h, boundary: p.arn })
      return undefined
    },
    [`Delete${L}PermissionsBoundary`]: async (call) => {
      const h = authorizedHolder(call, kind, call.params.req(`${L}Name`), `iam:Delete${L}PermissionsBoundary`) as UserRec | RoleRec
      const next = { ...h }
      delete next.boundary
      await put(call, kind, next)
      return undefined
    },
  }
}

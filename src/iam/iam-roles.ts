/**
 * @module IAM roles (with their trust policies) and customer managed policies.
 */
import { s3Error } from '../shared/errors.js'
import { type ApiCall, requireAllowed, tagContext } from './api-auth.js'
import {
  arnOf,
  authorizedHolder,
  boundaryOps,
  checkName,
  checkPath,
  checkPolicyDocument,
  date,
  findHolder,
  holderPolicyOps,
  managedPolicy,
  type Op,
  POLICY_NAME_RE,
  roleXml,
} from './iam-common.js'
import { iamDate, type ManagedPolicyRec, policyArn, type RoleRec, randomId } from './model.js'
import { el, members, node } from './query.js'
import { nameKey } from './store.js'

function role(call: ApiCall, name: string, action: string): RoleRec {
  return authorizedHolder(call, 'role', name, action) as RoleRec
}

function maxSession(call: ApiCall): number {
  const v = call.params.int('MaxSessionDuration') ?? 3600
  if (v < 3600 || v > 43200)
    throw s3Error('ValidationError', {
      message: `1 validation error detected: Value '${v}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
    })
  return v
}

function policyXml(call: ApiCall, p: ManagedPolicyRec): string {
  const st = call.s.identities.store
  let count = 0
  for (const h of [...st.users.values(), ...st.groups.values(), ...st.roles.values()]) if (h.attached.includes(p.arn)) count++
  return node(
    'Policy',
    el('PolicyName', p.name),
    el('PolicyId', p.id),
    el('Arn', p.arn),
    el('Path', p.path),
    el('DefaultVersionId', 'v1'),
    el('AttachmentCount', count),
    el('PermissionsBoundaryUsageCount', 0),
    el('IsAttachable', true),
    el('Description', p.description),
    date(p.createdAt),
    el('UpdateDate', p.createdAt),
  )
}

export const roleOps: Record<string, Op> = {
  CreateRole: async (call) => {
    const name = checkName(call.params.req('RoleName'), 'RoleName')
    const path = checkPath(call)
    const trust = call.params.req('AssumeRolePolicyDocument')
    const tags = call.params.tags()
    const acct = call.principal.accountId
    requireAllowed(call, 'iam:CreateRole', arnOf(call, 'role', { account: acct, path, name }), tagContext(tags))
    if (findHolder(call, 'role', name)) throw s3Error('EntityAlreadyExists', { message: `Role with name ${name} already exists.` })
    checkPolicyDocument(call, trust, 'trust')
    const rec: RoleRec = {
      account: acct,
      name,
      path,
      id: randomId('AROA'),
      createdAt: iamDate(call.now),
      trust,
      inline: {},
      attached: [],
      maxSessionDuration: maxSession(call),
      tags,
    }
    const description = call.params.opt('Description')
    if (description !== undefined) rec.description = description
    const boundary = call.params.opt('PermissionsBoundary')
    if (boundary) rec.boundary = managedPolicy(call, boundary).arn
    await call.s.identities.mutate((st) => st.put('role', rec))
    return roleXml(call, rec)
  },
  GetRole: (call) => roleXml(call, role(call, call.params.req('RoleName'), 'iam:GetRole')),
  ListRoles: (call) => {
    requireAllowed(call, 'iam:ListRoles', `arn:${call.s.identities.partition}:iam::${call.principal.accountId}:role/`)
    const prefix = call.params.opt('PathPrefix') ?? '/'
    const roles = [...call.s.identities.store.roles.values()].filter((r) => r.account === call.principal.accountId && r.path.startsWith(prefix))
    return (
      members(
        'Roles',
        roles.map((r) => roleXml(call, r, 'x').slice(3, -4)),
      ) + el('IsTruncated', false)
    )
  },
  DeleteRole: async (call) => {
    const r = role(call, call.params.req('RoleName'), 'iam:DeleteRole')
    if (Object.keys(r.inline).length > 0) throw s3Error('DeleteConflict', { message: 'Cannot delete entity, must delete policies first.' })
    if (r.attached.length > 0) throw s3Error('DeleteConflict', { message: 'Cannot delete entity, must detach all policies first.' })
    await call.s.identities.mutate((st) => st.delete('role', nameKey(r.account, r.name)))
    return undefined
  },
  UpdateAssumeRolePolicy: async (call) => {
    const r = role(call, call.params.req('RoleName'), 'iam:UpdateAssumeRolePolicy')
    const trust = call.params.req('PolicyDocument')
    checkPolicyDocument(call, trust, 'trust')
    await call.s.identities.mutate((st) => st.put('role', { ...r, trust }))
    return undefined
  },
  UpdateRole: async (call) => {
    const r = role(call, call.params.req('RoleName'), 'iam:UpdateRole')
    const next = { ...r }
    if (call.params.opt('MaxSessionDuration') !== undefined) next.maxSessionDuration = maxSession(call)
    const d = call.params.opt('Description')
    if (d !== undefined) next.description = d
    await call.s.identities.mutate((st) => st.put('role', next))
    return ''
  },
  ...holderPolicyOps('role'),
  ...boundaryOps('role'),

  CreatePolicy: async (call) => {
    const name = checkName(call.params.req('PolicyName'), 'PolicyName', POLICY_NAME_RE)
    const path = checkPath(call)
    const document = call.params.req('PolicyDocument')
    const acct = call.principal.accountId
    const arn = policyArn(call.s.identities.partition, acct, path, name)
    requireAllowed(call, 'iam:CreatePolicy', arn)
    if ([...call.s.identities.store.policies.values()].some((p) => p.account === acct && p.name.toLowerCase() === name.toLowerCase())) {
      throw s3Error('EntityAlreadyExists', { message: `A policy called ${name} already exists. Duplicate names are not allowed.` })
    }
    checkPolicyDocument(call, document, 'identity', 'managed')
    const rec: ManagedPolicyRec = { arn, account: acct, name, path, id: randomId('ANPA'), createdAt: iamDate(call.now), document }
    const description = call.params.opt('Description')
    if (description !== undefined) rec.description = description
    await call.s.identities.mutate((st) => st.put('policy', rec))
    return policyXml(call, rec)
  },
  GetPolicy: (call) => {
    const arn = call.params.req('PolicyArn')
    requireAllowed(call, 'iam:GetPolicy', arn)
    const p = managedPolicy(call, arn)
    const rec: ManagedPolicyRec = p.rec ?? { arn, account: 'aws', name: p.name, path: '/', id: 'ANPAAWSMANAGED00000', createdAt: '2015-02-06T18:39:46Z', document: p.document }
    return policyXml(call, rec)
  },
  GetPolicyVersion: (call) => {
    const arn = call.params.req('PolicyArn')
    requireAllowed(call, 'iam:GetPolicyVersion', arn)
    const p = managedPolicy(call, arn)
    const v = call.params.req('VersionId')
    if (v !== 'v1') throw s3Error('NoSuchEntity', { message: `Policy ${arn} version ${v} does not exist or is not attachable.` })
    return node(
      'PolicyVersion',
      el('Document', encodeURIComponent(p.document)),
      el('VersionId', 'v1'),
      el('IsDefaultVersion', true),
      date(p.rec?.createdAt ?? '2015-02-06T18:39:46Z'),
    )
  },
  ListPolicies: (call) => {
    requireAllowed(call, 'iam:ListPolicies', `arn:${call.s.identities.partition}:iam::${call.principal.accountId}:policy/`)
    const list = [...call.s.identities.store.policies.values()].filter((p) => p.account === call.principal.accountId)
    return (
      members(
        'Policies',
        list.map((p) => policyXml(call, p).slice(8, -9)),
      ) + el('IsTruncated', false)
    )
  },
  DeletePolicy: async (call) => {
    const arn = call.params.req('PolicyArn')
    requireAllowed(call, 'iam:DeletePolicy', arn)
    const p = managedPolicy(call, arn)
    if (!p.rec) throw s3Error('AccessDenied', { message: 'AWS managed policies cannot be deleted.' })
    const st = call.s.identities.store
    const used = [...st.users.values(), ...st.groups.values(), ...st.roles.values()].some((h) => h.attached.includes(arn) || ('boundary' in h && h.boundary === arn))
    if (used) throw s3Error('DeleteConflict', { message: 'Cannot delete a policy attached to entities.' })
    await call.s.identities.mutate((s) => s.delete('policy', arn))
    return undefined
  },
}

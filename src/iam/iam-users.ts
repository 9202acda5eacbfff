/**
 * @module IAM users, their access keys, and groups. A secret access key is returned once, by
 * CreateAccessKey; it is stored sealed (./secret-box.ts) and never logged or listed again.
 */
import { s3Error } from '../shared/errors.js'
import { type ApiCall, requireAllowed, tagContext } from './api-auth.js'
import { arnOf, authorizedHolder, boundaryOps, checkName, checkPath, findHolder, groupXml, holderPolicyOps, managedPolicy, type Op, userXml } from './iam-common.js'
import { type GroupRec, iamDate, randomId, randomSecret, type UserRec } from './model.js'
import { el, members, node } from './query.js'
import { nameKey } from './store.js'

const MAX_KEYS_PER_USER = 2

/** UserName, or the calling user when omitted (GetUser, CreateAccessKey, ListAccessKeys ...). */
function userNameOrSelf(call: ApiCall): string {
  const n = call.params.opt('UserName')
  if (n) return n
  if (call.principal.type === 'User' && call.principal.username) return call.principal.username
  throw s3Error('ValidationError', { message: 'Must specify userName when calling with non-User credentials' })
}

function user(call: ApiCall, name: string, action: string): UserRec {
  return authorizedHolder(call, 'user', name, action) as UserRec
}

function keysOf(call: ApiCall, u: UserRec) {
  return [...call.s.identities.store.keys.values()].filter((k) => k.account === u.account && k.user.toLowerCase() === u.name.toLowerCase())
}

function exists(what: string, name: string): never {
  throw s3Error('EntityAlreadyExists', { message: `${what} with name ${name} already exists.` })
}

export const userOps: Record<string, Op> = {
  CreateUser: async (call) => {
    const name = checkName(call.params.req('UserName'), 'UserName')
    const path = checkPath(call)
    const tags = call.params.tags()
    const acct = call.principal.accountId
    requireAllowed(call, 'iam:CreateUser', arnOf(call, 'user', { account: acct, path, name }), tagContext(tags))
    if (findHolder(call, 'user', name)) exists('User', name)
    const rec: UserRec = { account: acct, name, path, id: randomId('AIDA'), createdAt: iamDate(call.now), inline: {}, attached: [], groups: [], tags }
    const boundary = call.params.opt('PermissionsBoundary')
    if (boundary) rec.boundary = managedPolicy(call, boundary).arn
    await call.s.identities.mutate((st) => st.put('user', rec))
    return userXml(call, rec)
  },
  GetUser: (call) => userXml(call, user(call, userNameOrSelf(call), 'iam:GetUser')),
  ListUsers: (call) => {
    requireAllowed(call, 'iam:ListUsers', `arn:${call.s.identities.partition}:iam::${call.principal.accountId}:user/`)
    const prefix = call.params.opt('PathPrefix') ?? '/'
    const users = [...call.s.identities.store.users.values()]
      .filter((u) => u.account === call.principal.accountId && u.path.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
    return (
      members(
        'Users',
        users.map((u) => userXml(call, u, 'x').slice(3, -4)),
      ) + el('IsTruncated', false)
    )
  },
  DeleteUser: async (call) => {
    const u = user(call, call.params.req('UserName'), 'iam:DeleteUser')
    const conflict = (what: string): never => {
      throw s3Error('DeleteConflict', { message: `Cannot delete entity, must ${what} first.` })
    }
    if (keysOf(call, u).length > 0) conflict('delete access keys')
    if (Object.keys(u.inline).length > 0) conflict('delete policies')
    if (u.attached.length > 0) conflict('detach all policies')
    if (u.groups.length > 0) conflict('remove users from group')
    await call.s.identities.mutate((st) => st.delete('user', nameKey(u.account, u.name)))
    return undefined
  },
  TagUser: async (call) => {
    const u = user(call, call.params.req('UserName'), 'iam:TagUser')
    const tags = call.params.tags()
    await call.s.identities.mutate((st) => st.put('user', { ...u, tags: { ...u.tags, ...tags } }))
    return undefined
  },

  CreateAccessKey: async (call) => {
    const u = user(call, userNameOrSelf(call), 'iam:CreateAccessKey')
    if (keysOf(call, u).length >= MAX_KEYS_PER_USER) throw s3Error('LimitExceeded', { message: `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}` })
    const key = { id: randomId('AKIA', 16), account: u.account, user: u.name, status: 'Active' as const, createdAt: iamDate(call.now), secret: randomSecret() }
    await call.s.identities.mutate((st) => st.put('key', key))
    call.ctx.info.accessKeyId = key.id
    return node('AccessKey', el('UserName', u.name), el('AccessKeyId', key.id), el('Status', key.status), el('SecretAccessKey', key.secret), el('CreateDate', key.createdAt))
  },
  ListAccessKeys: (call) => {
    const u = user(call, userNameOrSelf(call), 'iam:ListAccessKeys')
    const items = keysOf(call, u).map((k) => el('UserName', u.name) + el('AccessKeyId', k.id) + el('Status', k.status) + el('CreateDate', k.createdAt))
    return el('UserName', u.name) + members('AccessKeyMetadata', items) + el('IsTruncated', false)
  },
  UpdateAccessKey: async (call) => {
    const u = user(call, userNameOrSelf(call), 'iam:UpdateAccessKey')
    const status = call.params.req('Status')
    if (status !== 'Active' && status !== 'Inactive')
      throw s3Error('ValidationError', {
        message: `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
      })
    const key = ownKey(call, u)
    await call.s.identities.mutate((st) => st.put('key', { ...key, status }))
    return undefined
  },
  DeleteAccessKey: async (call) => {
    const u = user(call, userNameOrSelf(call), 'iam:DeleteAccessKey')
    const key = ownKey(call, u)
    await call.s.identities.mutate((st) => st.delete('key', key.id))
    return undefined
  },
  ...holderPolicyOps('user'),
  ...boundaryOps('user'),

  CreateGroup: async (call) => {
    const name = checkName(call.params.req('GroupName'), 'GroupName')
    const path = checkPath(call)
    const acct = call.principal.accountId
    requireAllowed(call, 'iam:CreateGroup', arnOf(call, 'group', { account: acct, path, name }))
    if (findHolder(call, 'group', name)) exists('Group', name)
    const rec: GroupRec = { account: acct, name, path, id: randomId('AGPA'), createdAt: iamDate(call.now), inline: {}, attached: [] }
    await call.s.identities.mutate((st) => st.put('group', rec))
    return groupXml(call, rec)
  },
  GetGroup: (call) => {
    const g = authorizedHolder(call, 'group', call.params.req('GroupName'), 'iam:GetGroup') as GroupRec
    return (
      groupXml(call, g) +
      members(
        'Users',
        groupMembers(call, g).map((u) => userXml(call, u, 'x').slice(3, -4)),
      ) +
      el('IsTruncated', false)
    )
  },
  ListGroups: (call) => {
    requireAllowed(call, 'iam:ListGroups', `arn:${call.s.identities.partition}:iam::${call.principal.accountId}:group/`)
    const groups = [...call.s.identities.store.groups.values()].filter((g) => g.account === call.principal.accountId)
    return (
      members(
        'Groups',
        groups.map((g) => groupXml(call, g, 'x').slice(3, -4)),
      ) + el('IsTruncated', false)
    )
  },
  DeleteGroup: async (call) => {
    const g = authorizedHolder(call, 'group', call.params.req('GroupName'), 'iam:DeleteGroup') as GroupRec
    if (groupMembers(call, g).length > 0) throw s3Error('DeleteConflict', { message: 'Cannot delete entity, must remove users from group first.' })
    if (Object.keys(g.inline).length > 0) throw s3Error('DeleteConflict', { message: 'Cannot delete entity, must delete policies first.' })
    if (g.attached.length > 0) throw s3Error('DeleteConflict', { message: 'Cannot delete entity, must detach all policies first.' })
    await call.s.identities.mutate((st) => st.delete('group', nameKey(g.account, g.name)))
    return undefined
  },
  AddUserToGroup: async (call) => {
    const g = authorizedHolder(call, 'group', call.params.req('GroupName'), 'iam:AddUserToGroup') as GroupRec
    const u = findHolder(call, 'user', call.params.req('UserName')) as UserRec | undefined
    if (!u) throw s3Error('NoSuchEntity', { message: `The user with name ${call.params.req('UserName')} cannot be found.` })
    if (u.groups.some((x) => x.toLowerCase() === g.name.toLowerCase())) return undefined
    await call.s.identities.mutate((st) => st.put('user', { ...u, groups: [...u.groups, g.name] }))
    return undefined
  },
  RemoveUserFromGroup: async (call) => {
    const g = authorizedHolder(call, 'group', call.params.req('GroupName'), 'iam:RemoveUserFromGroup') as GroupRec
    const u = findHolder(call, 'user', call.params.req('UserName')) as UserRec | undefined
    if (!u?.groups.some((x) => x.toLowerCase() === g.name.toLowerCase()))
      throw s3Error('NoSuchEntity', { message: `The user with name ${call.params.req('UserName')} cannot be found in group ${g.name}.` })
    await call.s.identities.mutate((st) => st.put('user', { ...u, groups: u.groups.filter((x) => x.toLowerCase() !== g.name.toLowerCase()) }))
    return undefined
  },
  ListGroupsForUser: (call) => {
    const u = user(call, call.params.req('UserName'), 'iam:ListGroupsForUser')
    const groups = u.groups.map((n) => findHolder(call, 'group', n) as GroupRec | undefined).filter((g): g is GroupRec => g !== undefined)
    return (
      members(
        'Groups',
        groups.map((g) => groupXml(call, g, 'x').slice(3, -4)),
      ) + el('IsTruncated', false)
    )
  },
  ...holderPolicyOps('group'),
}

function ownKey(call: ApiCall, u: UserRec) {
  const id = call.params.req('AccessKeyId')
  const key = call.s.identities.store.keys.get(id)
  if (!key || key.account !== u.account || key.user.toLowerCase() !== u.name.toLowerCase()) {
    throw s3Error('NoSuchEntity', { message: `The Access Key with id ${id} cannot be found.` })
  }
  return key
}

function groupMembers(call: ApiCall, g: GroupRec): UserRec[] {
  return [...call.s.identities.store.users.values()].filter((u) => u.account === g.account && u.groups.some((x) => x.toLowerCase() === g.name.toLowerCase()))
}

/**
 * @module What the schema cannot see: names unique where AWS wants them unique, references that
 * resolve (groups, managed policies, regions, owners, buckets), and every policy in the world
 * parsed and validated by the policy engine for its attachment point. Each problem carries the
 * path into the world so the loader can point at the line.
 */

import { AWS_MANAGED, awsManaged } from '../iam/aws-managed.js'
import { policyArn } from '../iam/model.js'
import { type Catalog, type IdentityAttachment, type PolicyError, type PolicyKind, parsePolicy, validatePolicy } from '../policy/index.js'
import { type PolicyDocument, policyText, type World, type WorldAccount } from './schema.js'

export type WorldPath = (string | number)[]
export interface WorldIssue {
  path: WorldPath
  message: string
}

export interface CheckOptions {
  /** The action catalogue (action-level rules); without it only grammar and placement rules run. */
  catalog?: Catalog
  /** Managed policies that exist in the running state (a world applied later may attach them). */
  existingPolicy?: (arn: string) => boolean
}

export function describePolicyError(e: PolicyError): string {
  const where = e.statement !== undefined ? ` (statement ${e.statement}${e.element ? `, ${e.element}` : ''})` : e.element ? ` (${e.element})` : ''
  return `${e.code}: ${e.message}${where}`
}

/** Grammar and placement problems of one policy, as AWS would word them. */
export function policyProblems(
  doc: PolicyDocument,
  kind: PolicyKind,
  opts: { catalog?: Catalog | undefined; attachment?: IdentityAttachment; entityName?: string; grammarOnly?: boolean } = {},
): string[] {
  const text = policyText(doc)
  const r = parsePolicy(text, { kind })
  if (!r.ok) return r.errors.map(describePolicyError)
  if (opts.grammarOnly) return []
  const v = validatePolicy(r.policy, {
    kind,
    ...(opts.catalog ? { catalog: opts.catalog } : {}),
    ...(opts.attachment ? { attachment: opts.attachment } : {}),
    ...(opts.entityName ? { entityName: opts.entityName } : {}),
  })
  return v.map(describePolicyError)
}

/** A managed policy reference of an account (ARN, declared name, or AWS managed name) → its ARN. */
export function resolvePolicyRef(ref: string, account: WorldAccount, partition: string, existing?: (arn: string) => boolean): string | undefined {
  if (ref.startsWith('arn:')) {
    if (awsManaged(ref)) return ref
    if (account.managedPolicies.some((p) => policyArn(partition, account.id, p.path, p.name) === ref)) return ref
    return existing?.(ref) ? ref : undefined
  }
  const declared = account.managedPolicies.find((p) => p.name === ref)
  if (declared) return policyArn(partition, account.id, declared.path, declared.name)
  if (AWS_MANAGED[ref]) return `arn:${partition}:iam::aws:policy/${ref}`
  return undefined
}

export function checkWorld(world: World, opts: CheckOptions = {}): WorldIssue[] {
  const issues: WorldIssue[] = []
  const add = (path: WorldPath, message: string): void => {
    issues.push({ path, message })
  }
  const dupes = <T>(items: T[], keyOf: (t: T) => string, base: WorldPath, field: string, what: string): void => {
    const seen = new Set<string>()
    items.forEach((it, i) => {
      const k = keyOf(it)
      if (seen.has(k)) add([...base, i, field], `${what} ${k} is declared twice`)
      seen.add(k)
    })
  }
  const regions = new Set(world.regions.map((r) => r.name))
  dupes(world.regions, (r) => r.name, ['regions'], 'name', 'region')
  if (world.frontDoorRegion !== undefined && !regions.has(world.frontDoorRegion)) {
    add(['frontDoorRegion'], `region ${world.frontDoorRegion} is not one of the world's regions (${[...regions].join(', ')})`)
  }
  // A misspelt region here would silently keep the distance estimate: routing never asks for it.
  for (const [from, row] of Object.entries(world.latencies ?? {})) {
    if (!regions.has(from)) {
      add(['latencies', from], `region ${from} is not declared in regions (${[...regions].join(', ')})`)
      continue
    }
    for (const to of Object.keys(row)) if (!regions.has(to)) add(['latencies', from, to], `region ${to} is not declared in regions (${[...regions].join(', ')})`)
  }
  const accounts = new Set(world.accounts.map((a) => a.id))
  dupes(world.accounts, (a) => a.id, ['accounts'], 'id', 'account')

  const keyIds = new Map<string, string>()
  world.accounts.forEach((a, ai) => {
    const base: WorldPath = ['accounts', ai]
    const ci = (s: string) => s.toLowerCase()
    dupes(a.users, (u) => ci(u.name), [...base, 'users'], 'name', 'user')
    dupes(a.groups, (g) => ci(g.name), [...base, 'groups'], 'name', 'group')
    dupes(a.roles, (r) => ci(r.name), [...base, 'roles'], 'name', 'role')
    dupes(a.managedPolicies, (p) => ci(p.name), [...base, 'managedPolicies'], 'name', 'managed policy')
    const groups = new Set(a.groups.map((g) => ci(g.name)))
    const ref = (r: string, path: WorldPath): void => {
      if (resolvePolicyRef(r, a, world.partition, opts.existingPolicy) === undefined) {
        add(path, `managed policy ${r} is not declared in account ${a.id}'s managedPolicies, nor an AWS managed policy mrap knows (${Object.keys(AWS_MANAGED).join(', ')})`)
      }
    }
    const policies = (list: { name: string; document: PolicyDocument }[], path: WorldPath, attachment: IdentityAttachment, entity: string): void => {
      dupes(list, (p) => p.name, path, 'name', 'inline policy')
      list.forEach((p, i) => {
        for (const m of policyProblems(p.document, 'identity', { catalog: opts.catalog, attachment, entityName: entity })) add([...path, i, 'document'], m)
      })
    }
    a.managedPolicies.forEach((p, i) => {
      for (const m of policyProblems(p.document, 'identity', { catalog: opts.catalog, attachment: 'managed' })) add([...base, 'managedPolicies', i, 'document'], m)
    })
    a.groups.forEach((g, i) => {
      const gp: WorldPath = [...base, 'groups', i]
      policies(g.policies, [...gp, 'policies'], 'inline-group', g.name)
      g.managedPolicies.forEach((r, j) => {
        ref(r, [...gp, 'managedPolicies', j])
      })
    })
    a.users.forEach((u, i) => {
      const up: WorldPath = [...base, 'users', i]
      policies(u.policies, [...up, 'policies'], 'inline-user', u.name)
      u.managedPolicies.forEach((r, j) => {
        ref(r, [...up, 'managedPolicies', j])
      })
      if (u.permissionsBoundary !== undefined) ref(u.permissionsBoundary, [...up, 'permissionsBoundary'])
      u.groups.forEach((g, j) => {
        if (!groups.has(ci(g))) add([...up, 'groups', j], `group ${g} is not declared in account ${a.id}`)
      })
      u.accessKeys.forEach((k, j) => {
        const owner = keyIds.get(k.id)
        if (owner !== undefined) add([...up, 'accessKeys', j, 'id'], `access key ${k.id} is already ${owner}'s`)
        keyIds.set(k.id, `${a.id}/${u.name}`)
      })
    })
    a.roles.forEach((r, i) => {
      const rp: WorldPath = [...base, 'roles', i]
      for (const m of policyProblems(r.trustPolicy, 'trust', { catalog: opts.catalog })) add([...rp, 'trustPolicy'], m)
      policies(r.policies, [...rp, 'policies'], 'inline-role', r.name)
      r.managedPolicies.forEach((x, j) => {
        ref(x, [...rp, 'managedPolicies', j])
      })
      if (r.permissionsBoundary !== undefined) ref(r.permissionsBoundary, [...rp, 'permissionsBoundary'])
    })
  })

  const owned = (path: WorldPath, owner: string): void => {
    if (!accounts.has(owner)) add(path, `account ${owner} is not declared in accounts`)
  }
  const inRegion = (path: WorldPath, region: string): void => {
    if (!regions.has(region)) add(path, `region ${region} is not declared in regions (${[...regions].join(', ')})`)
  }
  dupes(world.buckets, (b) => b.name, ['buckets'], 'name', 'bucket')
  const buckets = new Set(world.buckets.map((b) => b.name))
  world.buckets.forEach((b, i) => {
    inRegion(['buckets', i, 'region'], b.region)
    owned(['buckets', i, 'owner'], b.owner)
    // Only grammar here: a policy S3 would refuse at write time is kept for `mrap lint` and left
    // off the running bucket (the seed's own DOC-EXAMPLE-BUCKET1 policy is one).
    if (b.policy !== undefined) for (const m of policyProblems(b.policy, 'bucket', { grammarOnly: true })) add(['buckets', i, 'policy'], m)
  })
  dupes(world.mraps, (m) => m.name, ['mraps'], 'name', 'MRAP')
  world.mraps.forEach((m, i) => {
    owned(['mraps', i, 'owner'], m.owner)
    m.buckets.forEach((b, j) => {
      const name = typeof b === 'string' ? b : b.bucket
      if (!buckets.has(name)) add(['mraps', i, 'buckets', j], `bucket ${name} is not declared in buckets`)
    })
    for (const r of Object.keys(m.routes ?? {})) inRegion(['mraps', i, 'routes', r], r)
    if (m.policy !== undefined) for (const x of policyProblems(m.policy, 'mrap', { grammarOnly: true })) add(['mraps', i, 'policy'], x)
  })
  world.vpcs.forEach((v, i) => {
    owned(['vpcs', i, 'owner'], v.owner)
    inRegion(['vpcs', i, 'region'], v.region)
    v.endpoints.forEach((e, j) => {
      if (e.policy !== undefined) for (const x of policyProblems(e.policy, 'endpoint', { grammarOnly: true })) add(['vpcs', i, 'endpoints', j, 'policy'], x)
    })
  })
  return issues
}

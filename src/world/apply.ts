/**
 * @module Applying a world to the running state. The world is the declared starting state:
 * - everything it declares is created, or brought to what it declares (entities it does not
 *   mention, e.g. users created later through IAM, are left alone: apply never deletes);
 * - all-or-nothing: the whole world (schema, references, every policy through the policy engine,
 *   conflicts with the running state) is checked before the first write, and the control and IAM
 *   writes are one batch through the state seam (one transaction, in SQLite or PostgreSQL). Bucket directories are created in the object stores
 *   first; that step is idempotent, so a failed apply leaves at most empty, unlisted directories;
 * - idempotent: the hash of the last applied world is kept; applying the same world again
 *   (every `mrap serve` restart) changes nothing, so changes made through the APIs survive
 *   restarts. A different world is applied in full.
 * A bucket policy S3 would refuse is kept in the world (for `mrap lint`) and left off the bucket.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { applyWorldMraps } from '../control/world.js'
import type { Core } from '../core/core.js'
import { ConcurrentChangeError } from '../iam/identities.js'
import { iamDate, policyArn, randomId } from '../iam/model.js'
import { type IamStore, nameKey } from '../iam/store.js'
import { applyWorldVpcs, checkWorldVpcs } from '../network/world-vpcs.js'
import { worldReplicationXml } from '../replication/world.js'
import type { BucketRecord } from '../state/control-store.js'
import type { StateOp } from '../state/state-store.js'
import { EmbeddedObjectStore } from '../storage/embedded/index.js'
import { applyBucketAcl } from './bucket-acl.js'
import { applyBucketEncryption } from './bucket-encryption.js'
import { checkWorld, resolvePolicyRef, type WorldIssue } from './check.js'
import { applyWorldKmsKeys } from './kms.js'
import { worldError } from './load.js'
import { policyText, type World, type WorldAccount } from './schema.js'

const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }

export interface ApplyResult {
  /** False when this exact world was already applied. */
  changed: boolean
  created: string[]
  updated: string[]
  warnings: string[]
}

export function worldHash(world: World): string {
  return createHash('sha256').update(JSON.stringify(world)).digest('hex')
}

export async function applyWorld(s: Core, world: World): Promise<ApplyResult> {
  const hash = worldHash(world)
  const result: ApplyResult = { changed: false, created: [], updated: [], warnings: [] }
  if (s.state.get('world', 'applied') === hash) return result

  // 1. Check everything before writing anything.
  const store = s.identities.store
  const issues: WorldIssue[] = checkWorld(world, {
    ...(s.policies.catalog ? { catalog: s.policies.catalog } : {}),
    existingPolicy: (arn) => store.policies.has(arn),
  })
  if (world !== s.world) {
    if (world.partition !== s.world.partition)
      issues.push({ path: ['partition'], message: `the running server's partition is ${s.world.partition}; restart it to change the partition` })
    if (world.dnsSuffix !== s.world.dnsSuffix) issues.push({ path: ['dnsSuffix'], message: `the running server's DNS suffix is ${s.world.dnsSuffix}; restart it to change it` })
  }
  world.buckets.forEach((b, i) => {
    const cur = s.state.getBucket(b.name)
    if (cur && (cur.region !== b.region || cur.owner !== b.owner)) {
      issues.push({ path: ['buckets', i], message: `bucket ${b.name} already exists in ${cur.region} owned by ${cur.owner}; the world says ${b.region} owned by ${b.owner}` })
    }
  })
  world.accounts.forEach((a, ai) => {
    a.users.forEach((u, ui) => {
      u.accessKeys.forEach((k, ki) => {
        const cur = store.keys.get(k.id)
        if (cur && (cur.account !== a.id || cur.user.toLowerCase() !== u.name.toLowerCase())) {
          issues.push({ path: ['accounts', ai, 'users', ui, 'accessKeys', ki, 'id'], message: `access key ${k.id} already belongs to ${cur.account}/${cur.user}` })
        }
      })
    })
  })
  issues.push(...checkWorldVpcs(s, world))
  if (issues.length > 0) throw worldError(world, issues)

  // 2. Storage: regions and bucket directories (idempotent, outside the transaction).
  for (const r of world.regions) {
    if (s.stores.has(r.name)) continue
    const st = new EmbeddedObjectStore({ region: r.name, dir: join(s.config.dataDir, 'regions', r.name), sealer: s.sealer })
    await st.open()
    s.stores.set(r.name, st)
    if (world !== s.world) s.world.regions.push(r)
    result.created.push(`region ${r.name}`)
  }
  for (const b of world.buckets) if (!s.state.getBucket(b.name)) await s.stores.get(b.region)!.createBucket(b.name)

  // 3. Control and IAM records, in one batch. A false write means a guard failed: another node
  // issued one of the new MRAPs' aliases meanwhile; nothing was written, and applying again retries.
  try {
    await s.identities.mutate(
      (st) => {
        for (const a of world.accounts) applyAccount(s, st, world.partition, a, result)
      },
      () => {
        const ops: StateOp[] = []
        for (const b of world.buckets) applyBucket(s, b, result, ops)
        const pending = new Map(ops.flatMap((o) => (o.op === 'putBucket' ? [[o.bucket.name, o.bucket] as const] : [])))
        const mraps = applyWorldMraps(s, world.mraps, pending)
        result.created.push(...mraps.created)
        result.updated.push(...mraps.updated)
        result.warnings.push(...mraps.warnings)
        const vpcs = applyWorldVpcs(s, world)
        result.created.push(...vpcs.created)
        result.updated.push(...vpcs.updated)
        const kms = applyWorldKmsKeys(s, world)
        result.created.push(...kms.created)
        result.updated.push(...kms.updated)
        result.warnings.push(...kms.warnings)
        ops.push(...mraps.ops, ...vpcs.ops, ...kms.ops, { op: 'put', ns: 'world', key: 'applied', value: hash })
        return ops
      },
    )
  } catch (e) {
    if (e instanceof ConcurrentChangeError) throw new Error(`world: ${e.message} (an MRAP alias of the world was taken by another node)`)
    throw e
  }
  result.changed = result.created.length + result.updated.length > 0
  for (const w of result.warnings) s.log.warn(w)
  return result
}

function applyBucket(s: Core, b: World['buckets'][number], result: ApplyResult, ops: StateOp[]): void {
  const cur = s.state.getBucket(b.name)
  let next: BucketRecord = cur ?? {
    name: b.name,
    region: b.region,
    owner: b.owner,
    createdAt: s.clock(),
    versioning: b.versioning ?? 'Unversioned',
    configs: {},
    ...(b.blockPublicAccess === 'none' ? {} : { publicAccessBlock: b.blockPublicAccess ?? ALL_ON }),
  }
  if (cur) {
    next = { ...cur }
    if (b.versioning !== undefined) next.versioning = b.versioning
    // S3 never suspends versioning on a bucket with Object Lock (docs/decisions/object-lock.md).
    if (cur.configs['object-lock'] !== undefined && next.versioning !== 'Enabled') {
      next.versioning = 'Enabled'
      result.warnings.push(`bucket ${b.name}: Object Lock is enabled, so its versioning stays Enabled (S3 refuses to suspend it)`)
    }
    if (b.blockPublicAccess === 'none') delete next.publicAccessBlock
    else if (b.blockPublicAccess !== undefined) next.publicAccessBlock = b.blockPublicAccess
  }
  if (b.policy !== undefined) {
    const text = policyText(b.policy)
    const verdict = s.checks.bucketPolicyProblem(text, b.name)
    if (verdict) result.warnings.push(`bucket ${b.name}: the world's bucket policy is one S3 would refuse (${verdict}); the bucket runs without it (mrap lint explains)`)
    else next.policy = text
  }
  if (b.replication !== undefined) {
    try {
      next.replication = worldReplicationXml(b.replication)
    } catch (e) {
      result.warnings.push(`bucket ${b.name}: the world's replication is one S3 would refuse (${(e as Error).message}); the bucket runs without it`)
    }
  }
  applyBucketAcl(b, next, !cur, result.warnings)
  applyBucketEncryption(b, next)
  if (!cur) {
    ops.push({ op: 'putBucket', bucket: next })
    result.created.push(`bucket ${b.name}`)
    return
  }
  if (JSON.stringify(next) !== JSON.stringify(cur)) {
    ops.push({ op: 'putBucket', bucket: next })
    result.updated.push(`bucket ${b.name}`)
  }
}

/** Puts `rec` when it is new or differs; records what happened. */
function upsert<K extends 'account' | 'user' | 'group' | 'role' | 'policy' | 'key'>(
  st: IamStore,
  kind: K,
  key: string,
  rec: Parameters<IamStore['put']>[1] & object,
  label: string,
  result: ApplyResult,
): void {
  const cur = st.get(kind, key)
  if (cur && JSON.stringify(cur) === JSON.stringify(rec)) return
  st.put(kind, rec as never)
  ;(cur ? result.updated : result.created).push(label)
}

function applyAccount(s: Core, st: IamStore, partition: string, a: WorldAccount, result: ApplyResult): void {
  const now = iamDate(s.clock())
  const acct = {
    id: a.id,
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.email !== undefined ? { email: a.email } : {}),
    ...(a.blockPublicAccess ? { blockPublicAccess: a.blockPublicAccess } : {}),
  }
  upsert(st, 'account', a.id, acct, `account ${a.id}`, result)
  const ref = (r: string): string => resolvePolicyRef(r, a, partition, (arn) => st.policies.has(arn))!
  const inline = (list: { name: string; document: unknown }[]): Record<string, string> => Object.fromEntries(list.map((p) => [p.name, policyText(p.document as string)]))

  for (const p of a.managedPolicies) {
    const arn = policyArn(partition, a.id, p.path, p.name)
    const cur = st.policies.get(arn)
    upsert(
      st,
      'policy',
      arn,
      {
        arn,
        account: a.id,
        name: p.name,
        path: p.path,
        id: cur?.id ?? randomId('ANPA'),
        createdAt: cur?.createdAt ?? now,
        document: policyText(p.document),
        ...(p.description !== undefined ? { description: p.description } : {}),
      },
      `policy ${arn}`,
      result,
    )
  }
  for (const g of a.groups) {
    const cur = st.groups.get(nameKey(a.id, g.name))
    upsert(
      st,
      'group',
      nameKey(a.id, g.name),
      {
        account: a.id,
        name: g.name,
        path: g.path,
        id: cur?.id ?? randomId('AGPA'),
        createdAt: cur?.createdAt ?? now,
        inline: inline(g.policies),
        attached: g.managedPolicies.map(ref),
      },
      `group ${a.id}/${g.name}`,
      result,
    )
  }
  for (const u of a.users) {
    const cur = st.users.get(nameKey(a.id, u.name))
    upsert(
      st,
      'user',
      nameKey(a.id, u.name),
      {
        account: a.id,
        name: u.name,
        path: u.path,
        id: cur?.id ?? randomId('AIDA'),
        createdAt: cur?.createdAt ?? now,
        inline: inline(u.policies),
        attached: u.managedPolicies.map(ref),
        groups: u.groups.map((g) => a.groups.find((x) => x.name.toLowerCase() === g.toLowerCase())!.name),
        ...(u.permissionsBoundary !== undefined ? { boundary: ref(u.permissionsBoundary) } : {}),
        tags: u.tags,
      },
      `user ${a.id}/${u.name}`,
      result,
    )
    for (const k of u.accessKeys) {
      const ck = st.keys.get(k.id)
      upsert(st, 'key', k.id, { id: k.id, account: a.id, user: u.name, status: k.status, createdAt: ck?.createdAt ?? now, secret: k.secret }, `access key ${k.id}`, result)
    }
  }
  for (const r of a.roles) {
    const cur = st.roles.get(nameKey(a.id, r.name))
    upsert(
      st,
      'role',
      nameKey(a.id, r.name),
      {
        account: a.id,
        name: r.name,
        path: r.path,
        id: cur?.id ?? randomId('AROA'),
        createdAt: cur?.createdAt ?? now,
        trust: policyText(r.trustPolicy),
        inline: inline(r.policies),
        attached: r.managedPolicies.map(ref),
        ...(r.permissionsBoundary !== undefined ? { boundary: ref(r.permissionsBoundary) } : {}),
        maxSessionDuration: r.maxSessionDuration,
        tags: r.tags,
        ...(r.description !== undefined ? { description: r.description } : {}),
      },
      `role ${a.id}/${r.name}`,
      result,
    )
  }
}

/**
 * @module The evaluation model of a world file, with no server: principals are derived by the
 * server's own IAM code (an in-memory `Identities`, so identity policies resolve exactly as when
 * the world is applied), and each resource policy is put through the write-time rules so the model
 * knows which ones AWS would refuse (they are kept, marked, and not in force, as `mrap serve` does).
 */

import { createHash } from 'node:crypto'
import { awsManaged } from '../iam/aws-managed.js'
import { Identities, uniqueId } from '../iam/identities.js'
import { policyArn } from '../iam/model.js'
import { nameKey } from '../iam/store.js'
import { defaultKeyPolicy } from '../kms/keys.js'
import type { MrapRoute } from '../mrap/registry.js'
import type { Catalog } from '../policy/index.js'
import type { BlockPublicAccess, BucketRecord } from '../state/control-store.js'
import { applyBucketAcl } from '../world/bucket-acl.js'
import { applyBucketEncryption } from '../world/bucket-encryption.js'
import { resolvePolicyRef } from '../world/check.js'
import { policyText, type World, type WorldAccount } from '../world/schema.js'
import { type AuthzModel, DEFAULT_ENDPOINT_POLICY, type ModelBucket, type ModelMrap, type ModelPolicy, type ModelPrincipal, type ModelVpc, mrapArnOf } from './model.js'
import { refusalOf } from './write-time.js'

const ALL_ON: BlockPublicAccess = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }
const CREATED = '2024-01-01T00:00:00Z'

export function modelFromWorld(world: World, opts: { source: string; catalog?: Catalog | undefined }): AuthzModel {
  const { partition } = world
  const identityPolicies: ModelPolicy[] = []
  const ids = Identities.memory(partition)
  ids.mutateNow((st) => {
    for (const [ai, a] of world.accounts.entries()) {
      st.put('account', { id: a.id, ...(a.name !== undefined ? { name: a.name } : {}), ...(a.blockPublicAccess ? { blockPublicAccess: a.blockPublicAccess } : {}) })
      const ref = (r: string): string => resolvePolicyRef(r, a, partition) ?? r
      for (const [i, p] of a.managedPolicies.entries()) {
        const arn = policyArn(partition, a.id, p.path, p.name)
        st.put('policy', { arn, account: a.id, name: p.name, path: p.path, id: uniqueId('ANPA', arn), createdAt: CREATED, document: policyText(p.document) })
        identityPolicies.push(identityPolicy(opts.catalog, arn, `managed policy ${arn}`, policyText(p.document), ['accounts', ai, 'managedPolicies', i, 'document'], 'managed'))
      }
      const inline = (list: { name: string; document: unknown }[]): Record<string, string> => Object.fromEntries(list.map((p) => [p.name, policyText(p.document as string)]))
      for (const [gi, g] of a.groups.entries()) {
        st.put('group', {
          account: a.id,
          name: g.name,
          path: g.path,
          id: uniqueId('AGPA', `${a.id}/${g.name}`),
          createdAt: CREATED,
          inline: inline(g.policies),
          attached: g.managedPolicies.map(ref),
        })
        g.policies.forEach((p, i) => {
          identityPolicies.push(
            identityPolicy(
              opts.catalog,
              p.name,
              `group ${a.id}/${g.name}`,
              policyText(p.document),
              ['accounts', ai, 'groups', gi, 'policies', i, 'document'],
              'inline-group',
              g.name,
            ),
          )
        })
      }
      for (const [ui, u] of a.users.entries()) {
        st.put('user', {
          account: a.id,
          name: u.name,
          path: u.path,
          id: uniqueId('AIDA', `${a.id}/${u.name}`),
          createdAt: CREATED,
          inline: inline(u.policies),
          attached: u.managedPolicies.map(ref),
          groups: u.groups.map((g) => a.groups.find((x) => x.name.toLowerCase() === g.toLowerCase())?.name ?? g),
          ...(u.permissionsBoundary !== undefined ? { boundary: ref(u.permissionsBoundary) } : {}),
          tags: u.tags,
        })
        u.policies.forEach((p, i) => {
          identityPolicies.push(
            identityPolicy(opts.catalog, p.name, `user ${a.id}/${u.name}`, policyText(p.document), ['accounts', ai, 'users', ui, 'policies', i, 'document'], 'inline-user', u.name),
          )
        })
      }
      for (const [ri, r] of a.roles.entries()) {
        st.put('role', {
          account: a.id,
          name: r.name,
          path: r.path,
          id: uniqueId('AROA', `${a.id}/${r.name}`),
          createdAt: CREATED,
          trust: policyText(r.trustPolicy),
          inline: inline(r.policies),
          attached: r.managedPolicies.map(ref),
          ...(r.permissionsBoundary !== undefined ? { boundary: ref(r.permissionsBoundary) } : {}),
          maxSessionDuration: r.maxSessionDuration,
          tags: r.tags,
        })
        identityPolicies.push(
          identityPolicy(
            opts.catalog,
            'trust policy',
            `role ${a.id}/${r.name}`,
            policyText(r.trustPolicy),
            ['accounts', ai, 'roles', ri, 'trustPolicy'],
            undefined,
            r.name,
            'trust',
          ),
        )
        r.policies.forEach((p, i) => {
          identityPolicies.push(
            identityPolicy(opts.catalog, p.name, `role ${a.id}/${r.name}`, policyText(p.document), ['accounts', ai, 'roles', ri, 'policies', i, 'document'], 'inline-role', r.name),
          )
        })
      }
    }
  })
  const principals = worldPrincipals(world, ids)
  // Attached AWS managed policies appear once each, for lint (they are AWS's and always valid).
  for (const p of principals) {
    for (const d of p.principal.identityPolicies) {
      if (awsManaged(d.name) && !identityPolicies.some((x) => x.name === d.name)) identityPolicies.push({ kind: 'identity', owner: 'AWS', name: d.name, text: d.document })
    }
  }
  for (const ip of identityPolicies) ip.principals = principals.filter((p) => appliesTo(ip, p)).map((p) => p.ref)

  const accountBpa = (id: string): BlockPublicAccess | undefined => world.accounts.find((a) => a.id === id)?.blockPublicAccess
  const buckets: ModelBucket[] = world.buckets.map((b, i) => {
    const bpa = b.blockPublicAccess === 'none' ? undefined : (b.blockPublicAccess ?? ALL_ON)
    const out: ModelBucket = {
      name: b.name,
      region: b.region,
      owner: b.owner,
      versioning: b.versioning ?? 'Unversioned',
      ...(bpa ? { blockPublicAccess: bpa } : {}),
      path: ['buckets', i],
    }
    if (b.policy !== undefined) {
      const text = policyText(b.policy)
      const refusal = refusalOf(text, 'bucket', { catalog: opts.catalog, bucket: b.name, blockPublicAccess: [bpa, accountBpa(b.owner)] })
      out.policy = {
        kind: 'bucket',
        owner: `bucket ${b.name}`,
        name: `bucket policy of ${b.name}`,
        text,
        path: ['buckets', i, 'policy'],
        ...(refusal ? { refusal: pick(refusal) } : {}),
      }
    }
    if (b.replication !== undefined) out.replication = JSON.stringify(b.replication)
    // As world apply makes the bucket (an ACL S3 would refuse on BucketOwnerEnforced is left out).
    const rec: BucketRecord = { name: b.name, region: b.region, owner: b.owner, createdAt: new Date(0), versioning: 'Unversioned', configs: {} }
    applyBucketAcl(b, rec, true, [])
    applyBucketEncryption(b, rec)
    out.configs = rec.configs
    return out
  })
  const mraps: ModelMrap[] = world.mraps.map((m, i) => {
    const bpa = m.blockPublicAccess ?? ALL_ON
    const dials: Record<string, number> = m.routes ?? {}
    const routes: MrapRoute[] = m.buckets.map((ref) => {
      const name = typeof ref === 'string' ? ref : ref.bucket
      const b = world.buckets.find((x) => x.name === name)
      const region = b?.region ?? 'unknown'
      return { bucket: name, bucketAccountId: b?.owner ?? m.owner, region, trafficDialPercentage: dials[region] ?? 100 }
    })
    const out: ModelMrap = { name: m.name, alias: m.alias ?? `${m.name}.unassigned.mrap`, owner: m.owner, blockPublicAccess: bpa, routes, path: ['mraps', i] }
    if (m.policy !== undefined) {
      const text = policyText(m.policy)
      const refusal = refusalOf(text, 'mrap', { catalog: opts.catalog, mrapArn: mrapArnOf(out, partition), blockPublicAccess: [bpa, accountBpa(m.owner)] })
      out.policy = { kind: 'mrap', owner: `MRAP ${m.name}`, name: `policy of ${out.alias}`, text, path: ['mraps', i, 'policy'], ...(refusal ? { refusal: pick(refusal) } : {}) }
    }
    return out
  })
  const vpcs = worldVpcs(world, opts.catalog)
  return {
    source: opts.source,
    from: 'world',
    partition,
    frontDoorRegion: world.frontDoorRegion ?? world.regions[0]!.name,
    regions: world.regions.map((r) => r.name),
    ...(world.latencies ? { latencies: world.latencies } : {}),
    accounts: world.accounts.map((a) => ({
      id: a.id,
      ...(a.name !== undefined ? { name: a.name } : {}),
      ...(a.blockPublicAccess ? { blockPublicAccess: a.blockPublicAccess } : {}),
    })),
    principals,
    buckets,
    mraps,
    vpcs,
    identityPolicies,
    ...worldKmsKeys(world),
  }
}

/**
 * The world's KMS keys as explain and lint see a server's. A key's id is made when the world is
 * applied, so here each gets a stable stand-in (a UUID-shaped digest of account, region and alias);
 * what names a key in a world file, a bucket's `encryption.key` among them, is its alias.
 */
function worldKmsKeys(world: World): Pick<AuthzModel, 'kmsKeys' | 'kmsAliases'> {
  const kmsKeys: NonNullable<AuthzModel['kmsKeys']> = []
  const kmsAliases: NonNullable<AuthzModel['kmsAliases']> = []
  for (const a of world.accounts) {
    for (const k of a.kmsKeys) {
      const h = createHash('sha256').update(`${a.id}/${k.region}/${k.alias}`).digest('hex')
      const keyId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
      kmsKeys.push({
        keyId,
        arn: `arn:${world.partition}:kms:${k.region}:${a.id}:key/${keyId}`,
        account: a.id,
        region: k.region,
        keyState: k.enabled ? 'Enabled' : 'Disabled',
        policy: k.policy !== undefined ? policyText(k.policy) : defaultKeyPolicy(a.id, world.partition),
      })
      kmsAliases.push({ aliasName: k.alias, account: a.id, region: k.region, targetKeyId: keyId })
    }
  }
  return { kmsKeys, kmsAliases }
}

/** The world's VPCs and endpoints (an endpoint without a policy has the default, full access). */
export function worldVpcs(world: World, catalog: Catalog | undefined): ModelVpc[] {
  return world.vpcs.map((v, i) => ({
    id: v.id ?? `vpc-world${String(i).padStart(12, '0')}`,
    owner: v.owner,
    region: v.region,
    cidr: v.cidr,
    internet: v.internet,
    ...(v.tags.Name !== undefined ? { name: v.tags.Name } : {}),
    endpoints: v.endpoints.map((e, j) => {
      const id = e.id ?? `vpce-world${String(i).padStart(6, '0')}${String(j).padStart(6, '0')}`
      const path = ['vpcs', i, 'endpoints', j, 'policy']
      const text = e.policy !== undefined ? policyText(e.policy) : DEFAULT_ENDPOINT_POLICY
      const refusal = e.policy !== undefined ? refusalOf(text, 'endpoint', { catalog }) : undefined
      const policy: ModelPolicy = {
        kind: 'endpoint',
        owner: `endpoint ${id}`,
        name: `policy of ${id}`,
        text,
        ...(e.policy !== undefined ? { path } : {}),
        ...(refusal ? { refusal: pick(refusal) } : {}),
      }
      return { id, type: e.type, service: e.service, privateDns: e.privateDns, ...(e.privateDnsOnlyForInboundResolver ? { privateDnsOnlyForInboundResolver: true } : {}), policy }
    }),
  }))
}

function pick(r: { status: number; code: string; message: string }): ModelPolicy['refusal'] {
  return { status: r.status, code: r.code, message: r.message }
}

function identityPolicy(
  catalog: Catalog | undefined,
  name: string,
  owner: string,
  text: string,
  path: (string | number)[],
  attachment?: ModelPolicy['attachment'],
  entityName?: string,
  kind: 'identity' | 'trust' = 'identity',
): ModelPolicy {
  const refusal = refusalOf(text, kind, { catalog, ...(attachment ? { attachment } : {}), ...(entityName ? { entityName } : {}) })
  return { kind, owner, name, text, path, ...(attachment ? { attachment } : {}), ...(refusal ? { refusal: pick(refusal) } : {}) }
}

function appliesTo(p: ModelPolicy, who: ModelPrincipal): boolean {
  return who.principal.identityPolicies.some((d) => d.document === p.text && (d.name === p.name || d.name.endsWith(` ${p.name}`)))
}

/** Users, and a session of each role (`<account>/role/<name>`), as the server derives them. */
export function worldPrincipals(world: World, ids: Identities): ModelPrincipal[] {
  const out: ModelPrincipal[] = []
  const accounts: WorldAccount[] = world.accounts
  for (const a of accounts) {
    for (const u of a.users) {
      const rec = ids.store.users.get(nameKey(a.id, u.name))
      if (rec) out.push({ ref: `${a.id}/${u.name}`, name: u.name, principal: ids.userPrincipal(rec) })
    }
    for (const r of a.roles) out.push(rolePrincipal(ids, a.id, r.name))
  }
  return out
}

export function rolePrincipal(ids: Identities, account: string, role: string): ModelPrincipal {
  const principal = ids.sessionPrincipal({
    id: 'ASIAEXPLAIN',
    account,
    role,
    sessionName: 'mrap-explain',
    secret: '',
    token: '',
    issuedAt: CREATED,
    expiresAt: CREATED,
    tags: {},
    callerArn: '',
    issuer: 'global',
  })
  return { ref: `${account}/role/${role}`, name: `role/${role}`, principal }
}

/**
 * @module The running state as a world file (`mrap world export`) that `mrap serve --world`
 * accepts: regions, accounts with their IAM entities, buckets. Secret access keys are left out
 * unless asked for (`--include-secrets`), since the output tends to end up in a repository; the
 * world then declares the users without keys. MRAPs and VPCs come from their registries, so what
 * was built through S3 Control and EC2 survives the round trip; only the `latencies` and `control`
 * settings (which no API changes) are echoed from the world the server was started with.
 */
import { stringify } from 'yaml'
import type { Core } from '../core/core.js'
import type { IamStore } from '../iam/store.js'
import { defaultKeyPolicy, KmsKeys } from '../kms/keys.js'
import { isDefaultEndpointPolicy } from '../network/vpcs.js'
import { exportBucketAcl } from './bucket-acl.js'
import { exportBucketEncryption } from './bucket-encryption.js'
import type { World } from './schema.js'

type Json = Record<string, unknown>

function doc(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function shortRef(arn: string, account: string): string {
  // Account policies and AWS managed policies by name read better; anything else stays an ARN.
  const own = arn.match(/^arn:[a-z-]+:iam::(\d{12}|aws):policy\/(?:.*\/)?([^/]+)$/)
  return own && (own[1] === account || own[1] === 'aws') && !/:policy\/.+\//.test(arn) ? own[2]! : arn
}

function inline(map: Record<string, string>): Json[] {
  return Object.entries(map).map(([name, text]) => ({ name, document: doc(text) }))
}

function accounts(st: IamStore, includeSecrets: boolean, kms?: (account: string) => Json[]): Json[] {
  const out: Json[] = []
  for (const a of [...st.accounts.values()].sort((x, y) => x.id.localeCompare(y.id))) {
    const mine = <T extends { account: string }>(m: Map<string, T>): T[] => [...m.values()].filter((r) => r.account === a.id)
    const acct: Json = { id: a.id }
    if (a.name !== undefined) acct.name = a.name
    if (a.email !== undefined) acct.email = a.email
    if (a.blockPublicAccess) acct.blockPublicAccess = a.blockPublicAccess
    acct.users = mine(st.users).map((u) => {
      const user: Json = { name: u.name }
      if (u.path !== '/') user.path = u.path
      const keys = mine(st.keys).filter((k) => k.user.toLowerCase() === u.name.toLowerCase())
      if (includeSecrets && keys.length > 0) user.accessKeys = keys.map((k) => ({ id: k.id, secret: k.secret, status: k.status }))
      if (Object.keys(u.inline).length) user.policies = inline(u.inline)
      if (u.attached.length) user.managedPolicies = u.attached.map((x) => shortRef(x, a.id))
      if (u.groups.length) user.groups = u.groups
      if (u.boundary !== undefined) user.permissionsBoundary = shortRef(u.boundary, a.id)
      if (Object.keys(u.tags).length) user.tags = u.tags
      return user
    })
    const groups = mine(st.groups).map((g) => {
      const group: Json = { name: g.name }
      if (g.path !== '/') group.path = g.path
      if (Object.keys(g.inline).length) group.policies = inline(g.inline)
      if (g.attached.length) group.managedPolicies = g.attached.map((x) => shortRef(x, a.id))
      return group
    })
    if (groups.length) acct.groups = groups
    const roles = mine(st.roles).map((r) => {
      const role: Json = { name: r.name }
      if (r.path !== '/') role.path = r.path
      role.trustPolicy = doc(r.trust)
      if (Object.keys(r.inline).length) role.policies = inline(r.inline)
      if (r.attached.length) role.managedPolicies = r.attached.map((x) => shortRef(x, a.id))
      if (r.boundary !== undefined) role.permissionsBoundary = shortRef(r.boundary, a.id)
      if (r.maxSessionDuration !== 3600) role.maxSessionDuration = r.maxSessionDuration
      if (Object.keys(r.tags).length) role.tags = r.tags
      if (r.description !== undefined) role.description = r.description
      return role
    })
    if (roles.length) acct.roles = roles
    const policies = [...st.policies.values()]
      .filter((p) => p.account === a.id)
      .map((p) => {
        const mp: Json = { name: p.name }
        if (p.path !== '/') mp.path = p.path
        mp.document = doc(p.document)
        if (p.description !== undefined) mp.description = p.description
        return mp
      })
    if (policies.length) acct.managedPolicies = policies
    if (kms) {
      const keys = kms(a.id)
      if (keys.length) acct.kmsKeys = keys
    }
    out.push(acct)
  }
  return out
}

export function exportWorld(s: Core, opts: { includeSecrets?: boolean } = {}): Json {
  const w: World = s.world
  const out: Json = { partition: w.partition, dnsSuffix: w.dnsSuffix }
  if (w.frontDoorRegion !== undefined) out.frontDoorRegion = w.frontDoorRegion
  out.regions = w.regions.filter((r) => s.stores.has(r.name))
  out.accounts = accounts(s.identities.store, opts.includeSecrets === true, (account) => exportKmsKeys(s, account))
  out.buckets = s.state.listBuckets().map((b) => {
    const bucket: Json = { name: b.name, region: b.region, owner: b.owner }
    if (b.versioning !== 'Unversioned') bucket.versioning = b.versioning
    // A bucket without a configuration (DeletePublicAccessBlock, or made before AWS's 2023
    // default) must stay without one: a missing key would be applied as all on.
    bucket.blockPublicAccess = b.publicAccessBlock ?? 'none'
    if (b.policy !== undefined) bucket.policy = doc(b.policy)
    exportBucketAcl(b, bucket)
    exportBucketEncryption(b, bucket)
    return bucket
  })
  const mraps = exportMraps(s)
  if (mraps.length) out.mraps = mraps
  const vpcs = exportVpcs(s)
  if (vpcs.length) out.vpcs = vpcs
  if (w.latencies) out.latencies = w.latencies
  if (w.control) out.control = w.control
  return out
}

/**
 * An account's KMS keys as the world file declares them (src/world/kms.ts). The world finds a key
 * by its alias, so a key without one cannot be declared and is left out; a key pending deletion is
 * left out too, since applying it elsewhere would make a new, usable key. Never the key material,
 * even with --include-secrets: the world file cannot carry it, and a re-made key would not
 * decrypt the old ciphertexts anyway.
 */
function exportKmsKeys(s: Core, account: string): Json[] {
  const keys = new KmsKeys(s.state, s.sealer, s.world.partition, s.clock)
  const out: Json[] = []
  for (const r of s.world.regions) {
    if (!s.stores.has(r.name)) continue
    const aliases = keys.aliases(account, r.name).sort((x, y) => x.aliasName.localeCompare(y.aliasName))
    for (const k of keys.list(account, r.name).sort((x, y) => x.creationDate - y.creationDate || x.keyId.localeCompare(y.keyId))) {
      const alias = aliases.find((a) => a.targetKeyId === k.keyId)
      if (!alias || k.keyState === 'PendingDeletion') continue
      const key: Json = { alias: alias.aliasName, region: r.name }
      if (k.description !== '') key.description = k.description
      if (k.policy !== defaultKeyPolicy(account, s.world.partition)) key.policy = doc(k.policy)
      key.enabled = k.keyState === 'Enabled'
      out.push(key)
    }
  }
  return out
}

/** Only READY MRAPs: one still being created or deleted is the async operation's business. */
function exportMraps(s: Core): Json[] {
  return s.mraps
    .list()
    .filter((m) => m.status === 'READY')
    .sort((a, b) => a.owner.localeCompare(b.owner) || a.name.localeCompare(b.name))
    .map((m) => {
      const out: Json = {
        name: m.name,
        alias: m.alias,
        owner: m.owner,
        buckets: m.regions.map((r) => (r.bucketAccountId !== m.owner ? { bucket: r.bucket, account: r.bucketAccountId } : r.bucket)),
        blockPublicAccess: { ...m.publicAccessBlock },
      }
      if (m.regions.some((r) => r.trafficDialPercentage !== 100)) out.routes = Object.fromEntries(m.regions.map((r) => [r.region, r.trafficDialPercentage]))
      if (m.policy !== undefined) out.policy = doc(m.policy)
      return out
    })
}

function exportVpcs(s: Core): Json[] {
  const reg = s.vpcs
  return reg.listVpcs().map((v) => {
    const out: Json = { id: v.id, owner: v.owner, region: v.region, cidr: v.cidr }
    if (v.internet) out.internet = true
    if (Object.keys(v.tags).length) out.tags = { ...v.tags }
    // Subnets are left out: the world file cannot declare them, so naming them would not apply.
    const endpoints = reg.listEndpoints({ vpcId: v.id }).map((e) => {
      const ep: Json = { id: e.id, type: e.type, service: e.service }
      if (e.type === 'Interface') ep.privateDns = e.privateDns
      if (e.privateDnsOnlyForInboundResolver !== undefined) ep.privateDnsOnlyForInboundResolver = e.privateDnsOnlyForInboundResolver
      if (!isDefaultEndpointPolicy(e.policy)) ep.policy = doc(e.policy)
      return ep
    })
    if (endpoints.length) out.endpoints = endpoints
    return out
  })
}

export function exportWorldYaml(s: Core, opts: { includeSecrets?: boolean } = {}): string {
  const header = [
    `# mrap world export (${s.clock().toISOString()})`,
    opts.includeSecrets ? '# Contains secret access keys: keep it private.' : '# Secret access keys are left out; `mrap world export --include-secrets` includes them.',
    '',
  ].join('\n')
  return header + stringify(exportWorld(s, opts), { lineWidth: 0 })
}

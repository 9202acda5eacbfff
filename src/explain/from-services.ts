/**
 * @module The evaluation model of a running server, read from its live state (not from SQLite
 * behind its back: the server holds derived indexes and pending changes in memory). Served over
 * the admin socket (`explain.model`) so `mrap explain --data-dir` and `mrap lint --data-dir` see
 * exactly what the server decides with. Only policies in force exist here: refused ones were never
 * stored. VPCs and endpoints come from the server's VPC registry (src/network) when it has one,
 * else from the declared world.
 */
import type { Core } from '../core/core.js'
import { nameKey } from '../iam/store.js'
import { aclConfigs, aclsEnabled } from '../s3/acl.js'
import { readObjectAcl } from '../s3/ops/acl.js'
import { S3Error } from '../shared/errors.js'
import { rolePrincipal } from './from-world.js'
import {
  type AuthzModel,
  DEFAULT_ENDPOINT_POLICY,
  type ModelBucket,
  type ModelKmsKey,
  type ModelMrap,
  type ModelObject,
  type ModelPolicy,
  type ModelPrincipal,
  type ModelVpc,
} from './model.js'
import type { ObjectQuestion } from './objects.js'

export function modelFromServices(s: Core, source: string): AuthzModel {
  const ids = s.identities
  const principals: ModelPrincipal[] = []
  for (const u of [...ids.store.users.values()].sort((a, b) => nameKey(a.account, a.name).localeCompare(nameKey(b.account, b.name)))) {
    principals.push({ ref: `${u.account}/${u.name}`, name: u.name, principal: ids.userPrincipal(u) })
  }
  for (const r of [...ids.store.roles.values()].sort((a, b) => nameKey(a.account, a.name).localeCompare(nameKey(b.account, b.name)))) {
    principals.push(rolePrincipal(ids, r.account, r.name))
  }
  const identityPolicies: ModelPolicy[] = []
  for (const p of principals) {
    for (const d of p.principal.identityPolicies) {
      const have = identityPolicies.find((x) => x.name === d.name && x.text === d.document)
      if (have) have.principals!.push(p.ref)
      else identityPolicies.push({ kind: 'identity', owner: d.name.startsWith('arn:') ? 'managed' : `principal ${p.ref}`, name: d.name, text: d.document, principals: [p.ref] })
    }
  }
  const buckets: ModelBucket[] = s.state.listBuckets().map((b) => {
    const out: ModelBucket = { name: b.name, region: b.region, owner: b.owner, versioning: b.versioning as ModelBucket['versioning'] }
    if (b.publicAccessBlock) out.blockPublicAccess = b.publicAccessBlock
    if (b.policy !== undefined) out.policy = { kind: 'bucket', owner: `bucket ${b.name}`, name: `bucket policy of ${b.name}`, text: b.policy }
    if (b.replication !== undefined) out.replication = b.replication
    const acl = aclConfigs(b.configs)
    if (acl) out.configs = acl
    // The default encryption: lint's SSE-KMS replication finding, explain's KMS layer (src/explain/kms.ts).
    if (b.configs.encryption !== undefined) out.configs = { ...out.configs, encryption: b.configs.encryption }
    return out
  })
  const mraps: ModelMrap[] = s.mraps
    .list()
    .filter((m) => m.status === 'READY')
    .map((m) => {
      const out: ModelMrap = { name: m.name, alias: m.alias, owner: m.owner, blockPublicAccess: m.publicAccessBlock, routes: m.regions.map((r) => ({ ...r })) }
      if (m.policy !== undefined) out.policy = { kind: 'mrap', owner: `MRAP ${m.name}`, name: `policy of ${m.alias}`, text: m.policy }
      return out
    })
  const bpa = s.accountBpaMap()
  const accounts = [...ids.accounts].sort().map((id) => ({ id, ...(bpa[id] ? { blockPublicAccess: bpa[id] } : {}) }))
  const latencies = s.world.latencies
  return {
    source,
    from: 'server',
    partition: s.world.partition,
    frontDoorRegion: s.world.frontDoorRegion ?? s.world.regions[0]!.name,
    regions: [...s.stores.keys()],
    ...(latencies ? { latencies } : {}),
    accounts,
    principals,
    buckets,
    mraps,
    vpcs: registryVpcs(s),
    identityPolicies,
    // Only what a key policy decision needs: the sealed material stays in the state seam.
    kmsKeys: s.state.list('kms-key').map((r) => {
      const k = JSON.parse(r.value) as ModelKmsKey
      return {
        keyId: k.keyId,
        arn: k.arn,
        account: k.account,
        region: k.region,
        keyState: k.keyState,
        ...(k.deletionDate !== undefined ? { deletionDate: k.deletionDate } : {}),
        policy: k.policy,
        ...(k.tags ? { tags: k.tags } : {}),
      }
    }),
    kmsAliases: s.state.list('kms-alias').map((r) => JSON.parse(r.value) as NonNullable<AuthzModel['kmsAliases']>[number]),
    kmsGrants: s.state.list('kms-grant').map((r) => JSON.parse(r.value) as NonNullable<AuthzModel['kmsGrants']>[number]),
  }
}

function registryVpcs(s: Core): ModelVpc[] {
  const reg = s.vpcs
  return reg.listVpcs().map((v) => ({
    id: v.id,
    owner: v.owner,
    region: v.region,
    cidr: v.cidr,
    internet: v.internet,
    ...(v.tags.Name !== undefined ? { name: v.tags.Name } : {}),
    endpoints: reg.listEndpoints({ vpcId: v.id }).map((e) => ({
      id: e.id,
      type: e.type,
      service: e.service,
      privateDns: e.privateDns,
      ...(e.privateDnsOnlyForInboundResolver ? { privateDnsOnlyForInboundResolver: true } : {}),
      policy: { kind: 'endpoint' as const, owner: `endpoint ${e.id}`, name: `policy of ${e.id}`, text: e.policy ?? DEFAULT_ENDPOINT_POLICY },
    })),
  }))
}

/**
 * Each named bucket's copy of the question's object, read as the server reads it (`readObjectAcl`,
 * the read of `objectAclFor`, the same store getObject the operations make), from the bucket's own
 * region: its ACL where the bucket's ACLs are enabled, and on every bucket whether it is there. A
 * store error is kept as the answer S3 gives.
 */
export async function objectsFromServices(s: Pick<Core, 'state' | 'stores'>, q: ObjectQuestion): Promise<ModelObject[]> {
  const out: ModelObject[] = []
  for (const name of q.buckets) {
    const b = s.state.getBucket(name)
    if (!b) continue
    const read = await readObjectAcl(s, b, q.key, q.versionId)
    const o: ModelObject = { bucket: name, key: q.key, ...(q.versionId !== undefined ? { versionId: q.versionId } : {}) }
    if ('error' in read) {
      const e = read.error
      // Anything but an S3 error would be the server's own failure, which S3 reports as a 500.
      o.error =
        e instanceof S3Error ? { status: e.status, code: e.code, ...(e.fields.deleteMarker === 'true' ? { deleteMarker: true } : {}) } : { status: 500, code: 'InternalError' }
    } else if (read.acl && aclsEnabled(b)) o.acl = read.acl
    out.push(o)
  }
  return out
}

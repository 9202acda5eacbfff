/**
 * @module The world file's KMS keys (accounts[].kmsKeys): each found by its alias in its region, made
 * (material sealed, alias) when missing, its description, policy and enabled state brought to the
 * file's otherwise. State ops only, written in the same batch as the rest of the world.
 * docs/decisions/encryption.md §KMS.
 */
import type { Core } from '../core/core.js'
import { defaultKeyPolicy, type KmsKeyRecord, KmsKeys } from '../kms/keys.js'
import type { StateOp } from '../state/state-store.js'
import { policyText, type World } from './schema.js'

export function applyWorldKmsKeys(s: Core, world: World): { ops: StateOp[]; created: string[]; updated: string[]; warnings: string[] } {
  const keys = new KmsKeys(s.state, s.sealer, world.partition, s.clock)
  const out = { ops: [] as StateOp[], created: [] as string[], updated: [] as string[], warnings: [] as string[] }
  for (const a of world.accounts) {
    for (const k of a.kmsKeys) {
      if (!world.regions.some((r) => r.name === k.region)) {
        out.warnings.push(`account ${a.id}: KMS key ${k.alias} names region ${k.region}, which the world does not have; not made`)
        continue
      }
      const policy = k.policy !== undefined ? policyText(k.policy) : defaultKeyPolicy(a.id, world.partition)
      if (!s.policies.get(policy, 'resource', `key policy of ${k.alias}`)) {
        out.warnings.push(`account ${a.id}: the key policy of ${k.alias} is not a valid policy; the key was not made or changed`)
        continue
      }
      const state: KmsKeyRecord['keyState'] = k.enabled ? 'Enabled' : 'Disabled'
      const cur = keys.resolve(a.id, k.region, k.alias)
      if (!cur) {
        const rec = { ...keys.record(a.id, k.region, { description: k.description ?? '', policy }), keyState: state }
        out.ops.push({ op: 'put', ns: 'kms-key', key: rec.keyId, value: JSON.stringify(rec) })
        out.ops.push({
          op: 'put',
          ns: 'kms-alias',
          key: `${a.id}/${k.region}/${k.alias}`,
          value: JSON.stringify({ aliasName: k.alias, account: a.id, region: k.region, targetKeyId: rec.keyId }),
        })
        out.created.push(`KMS key ${k.alias} (${a.id}, ${k.region})`)
        continue
      }
      // A key pending deletion keeps that state: the world cannot bring it back silently.
      const next = { ...cur, description: k.description ?? cur.description, policy, keyState: cur.keyState === 'PendingDeletion' ? cur.keyState : state }
      if (JSON.stringify(next) !== JSON.stringify(cur)) {
        out.ops.push({ op: 'put', ns: 'kms-key', key: cur.keyId, value: JSON.stringify(next) })
        out.updated.push(`KMS key ${k.alias} (${a.id}, ${k.region})`)
      }
    }
  }
  return out
}

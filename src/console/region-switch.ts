/**
 * @module The overview's failover drill: take a region's storage down and bring it back, as the
 * fault files of `src/replication/faults.ts` do (the store refuses every call, routing marks the
 * region down; coming back, the health probe sees the store answer again). It changes the whole
 * server for everyone, so only an administrator may use it: a principal whose identity policies
 * allow `s3:*` (or `*`) on `*` without conditions, with no Deny, boundary or session policy in the
 * way (docs/decisions/console.md). This is the console's own rule: AWS has no such action.
 */
import type { Core } from '../core/core.js'

type Statement = { Effect?: unknown; Action?: unknown; NotAction?: unknown; Resource?: unknown; Condition?: unknown }

const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

function statements(doc: string): Statement[] {
  try {
    const s = (JSON.parse(doc) as { Statement?: unknown }).Statement
    return (Array.isArray(s) ? s : s && typeof s === 'object' ? [s] : []) as Statement[]
  } catch {
    return []
  }
}

const allActions = (a: string[]): boolean => a.some((x) => x === '*' || x.toLowerCase() === 's3:*')

/** Whether the key's principal may take regions down and up (see the module comment). */
export function mayFlipRegions(core: Core, accessKeyId: string): boolean {
  const rec = core.identities.findKey(accessKeyId)
  if (rec?.status !== 'Active') return false
  const p = rec.principal
  if (p.permissionsBoundary !== undefined || p.sessionPolicy !== undefined) return false
  const all = p.identityPolicies.flatMap((d) => statements(d.document))
  // Any Deny could cover s3: refuse rather than judge its scope here.
  if (all.some((s) => s.Effect === 'Deny')) return false
  return all.some((s) => s.Effect === 'Allow' && s.Condition === undefined && s.NotAction === undefined && allActions(list(s.Action)) && list(s.Resource).includes('*'))
}

/** Takes a region's storage down (`up` false) or brings it back, and updates routing's view now. */
export async function setRegionUp(core: Core, region: string, up: boolean): Promise<void> {
  const store = core.stores.get(region)
  if (!store) return
  store.setAvailable?.(up)
  if (!up) core.health.markDown(region)
  else await core.health.probe()
}

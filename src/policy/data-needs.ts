/**
 * @module Which optional request data the policies refer to, so the pipeline loads it (once)
 * before calling authorize: object tags are only fetched when a policy mentions them.
 */
import type { CompiledPolicy } from './types.js'
import { templateKeys } from './variables.js'

export interface DataNeeds {
  existingObjectTags: boolean
  requestObjectTags: boolean
  principalTags: boolean
}

export function dataNeeds(policies: readonly (CompiledPolicy | undefined)[]): DataNeeds {
  const out: DataNeeds = { existingObjectTags: false, requestObjectTags: false, principalTags: false }
  const see = (key: string): void => {
    const k = key.toLowerCase()
    if (k.startsWith('s3:existingobjecttag/')) out.existingObjectTags = true
    if (k.startsWith('s3:requestobjecttag')) out.requestObjectTags = true
    if (k.startsWith('aws:principaltag')) out.principalTags = true
  }
  for (const p of policies) {
    if (!p) continue
    for (const st of p.statements) {
      for (const c of st.conditions) {
        see(c.key)
        const pr = c.prepared
        if (pr.kind === 'string' || pr.kind === 'glob' || pr.kind === 'arn') for (const it of pr.items) templateKeys(it.t).forEach(see)
      }
      for (const r of [...(st.resources?.items ?? []), ...(st.notResources?.items ?? [])]) templateKeys(r.template).forEach(see)
    }
  }
  return out
}

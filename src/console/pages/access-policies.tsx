/**
 * @module The policies behind an explain result, each shown whole with every statement addressable
 * (`#<policy>-s<index>`), so "Show statement" opens the policy with that statement highlighted, as
 * the IAM policy simulator does ("Testing IAM policies with the IAM policy simulator",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html).
 * Texts come from the same model the explanation was computed on.
 */
import type { ExplainResult, RouteResult } from '../../explain/evaluate.js'
import type { AuthzModel, ModelPrincipal } from '../../explain/model.js'
import type { Layer } from '../../policy/index.js'
import { policyId } from './access-matrix.js'

export interface ShownPolicy {
  id: string
  title: string
  text: string
}

const LAYER_TITLE: Record<Layer, string> = {
  identity: 'Identity policy',
  boundary: 'Permissions boundary',
  session: 'Session policy',
  endpoint: 'VPC endpoint policy',
  'mrap-policy': 'MRAP policy',
  'bucket-policy': 'Bucket policy',
  acl: 'ACL',
  'block-public-access': 'Block Public Access',
}

function textOf(model: AuthzModel, who: ModelPrincipal | undefined, result: ExplainResult, route: RouteResult, layer: Layer, name: string | undefined): string | undefined {
  switch (layer) {
    case 'identity':
      return who?.principal.identityPolicies.find((d) => d.name === name)?.document
    case 'boundary':
      return who?.principal.permissionsBoundary
    case 'session':
      return who?.principal.sessionPolicy
    case 'endpoint':
      return model.vpcs.flatMap((v) => v.endpoints).find((e) => e.id === result.request.network.endpointId)?.policy.text
    case 'mrap-policy':
      return result.request.target.kind === 'mrap' ? model.mraps.find((m) => m.alias === (result.request.target as { alias: string }).alias)?.policy?.text : undefined
    case 'bucket-policy':
      return model.buckets.find((b) => b.name === route.bucket)?.policy?.text
    default:
      return undefined
  }
}

export function policiesOf(model: AuthzModel, who: ModelPrincipal | undefined, result: ExplainResult): ShownPolicy[] {
  const out = new Map<string, ShownPolicy>()
  for (const route of result.routes) {
    for (const c of route.trace ?? []) {
      for (const l of c.layers) {
        for (const p of l.policies) {
          const id = policyId(l.layer, p.name, route)
          if (out.has(id)) continue
          const text = textOf(model, who, result, route, l.layer, p.name)
          if (text === undefined) continue
          const title = `${LAYER_TITLE[l.layer]}: ${l.layer === 'bucket-policy' ? route.bucket : (p.name ?? '')}`
          out.set(id, { id, title, text })
        }
      }
    }
  }
  return [...out.values()]
}

/** The policy pretty-printed, cut into the text before, each statement, and the text after. */
export function statementPieces(text: string): { kind: 'text' | 'statement'; text: string; index?: number }[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return [{ kind: 'text', text }]
  }
  if (typeof doc !== 'object' || doc === null || !('Statement' in doc)) return [{ kind: 'text', text: JSON.stringify(doc, null, 2) }]
  const d = doc as Record<string, unknown>
  const list = Array.isArray(d.Statement) ? d.Statement : [d.Statement]
  const marks = list.map((_, i) => `\u0000S${i}\u0000`)
  const shell = JSON.stringify({ ...d, Statement: marks }, null, 2)
  const out: { kind: 'text' | 'statement'; text: string; index?: number }[] = []
  let rest = shell
  list.forEach((st, i) => {
    const mark = JSON.stringify(marks[i])
    const at = rest.indexOf(mark)
    const before = rest.slice(0, at)
    const indent = before.slice(before.lastIndexOf('\n') + 1)
    out.push({ kind: 'text', text: before })
    out.push({ kind: 'statement', index: i, text: JSON.stringify(st, null, 2).replace(/\n/g, `\n${indent}`) })
    rest = rest.slice(at + mark.length)
  })
  out.push({ kind: 'text', text: rest })
  return out
}

export function PolicyList({ policies }: { policies: ShownPolicy[] }) {
  if (policies.length === 0) return null
  return (
    <section aria-labelledby="xm-policies">
      <h2 id="xm-policies">Policies evaluated</h2>
      {policies.map((p) => (
        <details id={p.id} class="xm-policy">
          <summary>{p.title}</summary>
          <pre>
            <code>
              {statementPieces(p.text).map((piece) =>
                piece.kind === 'statement' ? (
                  <span class="xm-stmt" id={`${p.id}-s${piece.index}`} tabIndex={-1}>
                    {piece.text}
                  </span>
                ) : (
                  piece.text
                ),
              )}
            </code>
          </pre>
        </details>
      ))}
    </section>
  )
}

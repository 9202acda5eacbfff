/**
 * Runs every JSON fixture under test/fixtures/policy/ (one file per rule, each citing the AWS
 * page it pins). Four shapes, told apart by `kind`:
 * - condition: one Condition block, a request context, whether it holds;
 * - authorize: layers of policies, a request, the expected effect / decidedBy / blockedBy;
 * - validate: policy text, kind and options, the expected errors (code, message, statement, element);
 * - public: a resource policy and whether S3 judges it public.
 */

import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { AuthzPrincipal, BlockPublicAccess, Catalog, CompiledPolicy, Layers, PolicyKind } from './index.js'
import { authorize, isPublic, loadCatalog, parsePolicy, validatePolicy } from './index.js'

const ROOT = fileURLToPath(new URL('../../test/fixtures/policy/', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') && !p.includes(`${join(ROOT, 'seed')}`) ? [p] : []
  })
}

function compile(doc: unknown, kind: PolicyKind, name?: string): CompiledPolicy {
  const r = parsePolicy(typeof doc === 'string' ? doc : JSON.stringify(doc), { kind, ...(name ? { name } : {}) })
  if (!r.ok) throw new Error(`fixture policy does not parse: ${JSON.stringify(r.errors)}`)
  return r.policy
}

interface Fixture {
  kind: 'condition' | 'authorize' | 'validate' | 'public'
  rule: string
  source: string | string[]
  cases: Record<string, unknown>[]
}

const DEFAULT_PRINCIPAL: AuthzPrincipal = { type: 'User', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012', userId: 'AIDAALICE', username: 'alice' }

function runCondition(c: Record<string, unknown>): boolean {
  const version = (c.version as string | null | undefined) === null ? undefined : ((c.version as string | undefined) ?? '2012-10-17')
  const policy = compile({ ...(version ? { Version: version } : {}), Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: c.condition }] }, 'identity')
  const d = authorize(
    {
      principal: DEFAULT_PRINCIPAL,
      action: 's3:GetObject',
      resources: { bucket: { arn: 'arn:aws:s3:::b/k', ownerAccount: '123456789012' } },
      context: (c.context ?? {}) as Record<string, string[]>,
    },
    { identity: [policy] },
  )
  return d.effect === 'Allow'
}

function runAuthorize(c: Record<string, unknown>) {
  const p = (c.policies ?? {}) as Record<string, unknown>
  const bpa = (c.blockPublicAccess ?? {}) as { mrap?: BlockPublicAccess; bucket?: BlockPublicAccess; accounts?: Record<string, BlockPublicAccess> }
  const layers: Layers = { identity: ((p.identity ?? []) as unknown[]).map((d, i) => compile(d, 'identity', `identity#${i}`)) }
  if (p.boundary) layers.boundary = compile(p.boundary, 'boundary', 'boundary')
  if (p.session) layers.session = (p.session as unknown[]).map((d) => compile(d, 'session'))
  if (p.endpoint) layers.endpoint = { id: 'vpce-1a2b3c4d', policy: compile(p.endpoint, 'endpoint') }
  if (p.mrap || bpa.mrap) layers.mrap = { ...(p.mrap ? { policy: compile(p.mrap, 'mrap') } : {}), ...(bpa.mrap ? { blockPublicAccess: bpa.mrap } : {}) }
  if (p.bucket || bpa.bucket || c.acl) {
    layers.bucket = {
      ...(p.bucket ? { policy: compile(p.bucket, 'bucket') } : {}),
      ...(bpa.bucket ? { blockPublicAccess: bpa.bucket } : {}),
      ...(c.acl ? { acl: c.acl as { grants: boolean; isPublic: boolean } } : {}),
    }
  }
  if (bpa.accounts) layers.accountBlockPublicAccess = bpa.accounts
  const req = c.request as Record<string, unknown>
  return authorize(
    {
      principal: (req.principal ?? DEFAULT_PRINCIPAL) as AuthzPrincipal,
      action: req.action as string,
      resources: req.resources as never,
      context: (req.context ?? {}) as Record<string, string[]>,
    },
    layers,
    { explain: true, ...((c.options ?? {}) as object) },
  )
}

let catalog: Catalog | undefined

for (const file of files(ROOT)) {
  const fx = JSON.parse(readFileSync(file, 'utf8')) as Fixture
  const rel = file.slice(ROOT.length)
  test(`${rel}: ${fx.rule}`, async () => {
    assert.ok(fx.source && fx.source.length > 0, 'every fixture cites its source')
    assert.ok(fx.cases.length > 0)
    for (const c of fx.cases) {
      const name = `${rel} / ${String(c.name)}`
      if (fx.kind === 'condition') {
        assert.equal(runCondition(c), c.expected, name)
      } else if (fx.kind === 'authorize') {
        const d = runAuthorize(c)
        const e = c.expected as { effect: string; decidedBy?: string; blockedBy?: string[]; context?: string; rule?: string }
        assert.equal(d.effect, e.effect, name)
        if (e.decidedBy) assert.equal(d.decidedBy, e.decidedBy, `${name} (decidedBy)`)
        if (e.blockedBy) assert.deepEqual(d.blockedBy, e.blockedBy, `${name} (blockedBy)`)
        if (e.context) assert.equal(d.context, e.context, `${name} (context)`)
        if (e.rule)
          assert.ok(
            d.explain?.some((x) => x.rule === e.rule),
            `${name} (rule ${e.rule}: ${JSON.stringify(d.explain?.map((x) => x.rule))})`,
          )
      } else if (fx.kind === 'validate') {
        const kind = c.policyKind as PolicyKind
        const text = typeof c.policy === 'string' ? c.policy : JSON.stringify(c.policy)
        const parsed = parsePolicy(text, { kind })
        let errors = parsed.ok ? [] : parsed.errors
        if (parsed.ok) {
          catalog ??= await loadCatalog()
          errors = validatePolicy(parsed.policy, { kind, catalog, ...((c.options ?? {}) as object) })
        }
        const got = errors.map((e) => ({
          code: e.code,
          message: e.message,
          ...(e.statement !== undefined ? { statement: e.statement } : {}),
          ...(e.element ? { element: e.element } : {}),
        }))
        assert.deepEqual(got, c.errors, name)
      } else {
        assert.equal(isPublic(compile(c.policy, (c.policyKind as PolicyKind) ?? 'bucket'), (c.policyKind as PolicyKind) ?? 'bucket'), c.expected, name)
      }
    }
  })
}

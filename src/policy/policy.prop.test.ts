/**
 * Property tests (fast-check): monotonicity of Deny, order independence, and a stable
 * parse → serialize → parse round trip, over policies drawn from a small S3 vocabulary.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { AuthzPrincipal, AuthzRequest, CompiledPolicy, Decision, Layers, PolicyKind } from './index.js'
import { authorize, parsePolicy, serializePolicy } from './index.js'

const O = '123456789012'
const X = '111122223333'

const actions = fc.subarray(['s3:GetObject', 's3:Get*', 's3:PutObject', '*', 's3:ListBucket', 'S3:getobject'], { minLength: 1 })
const resources = fc.subarray(['arn:aws:s3:::b/*', 'arn:aws:s3:::b', 'arn:aws:s3:::*', '*', 'arn:aws:s3:::b/k?', `arn:aws:s3::${O}:accesspoint/m.mrap/object/*`], { minLength: 1 })
const conditions = fc.option(
  fc.constantFrom(
    { StringEquals: { 'aws:SourceVpce': 'vpce-1' } },
    { StringNotEquals: { 'aws:SourceVpce': 'vpce-1' } },
    { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a'] } },
    { Bool: { 'aws:SecureTransport': 'true' } },
    { StringLike: { 's3:prefix': 'home/${aws:username}/*' } },
  ),
  { nil: undefined },
)
const principals = fc.constantFrom<unknown>('*', { AWS: O }, { AWS: X }, { AWS: `arn:aws:iam::${O}:user/alice` })

function statement(withPrincipal: boolean) {
  return fc
    .record({
      Effect: fc.constantFrom('Allow', 'Deny'),
      Action: actions,
      Resource: resources,
      Condition: conditions,
      Principal: withPrincipal ? principals : fc.constant(undefined),
    })
    .map((s): Record<string, unknown> => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)))
}
const policyDoc = (withPrincipal: boolean) => fc.array(statement(withPrincipal), { minLength: 1, maxLength: 5 }).map((Statement) => ({ Version: '2012-10-17', Statement }))

const world = fc.record({
  identity: fc.array(policyDoc(false), { maxLength: 2 }),
  endpoint: fc.option(policyDoc(true), { nil: undefined }),
  mrap: fc.option(policyDoc(true), { nil: undefined }),
  bucket: fc.option(policyDoc(true), { nil: undefined }),
  caller: fc.constantFrom<AuthzPrincipal>(
    { type: 'User', arn: `arn:aws:iam::${O}:user/alice`, accountId: O, username: 'alice' },
    { type: 'User', arn: `arn:aws:iam::${X}:user/bob`, accountId: X, username: 'bob' },
    { type: 'Anonymous', arn: 'anonymous', accountId: 'anonymous' },
  ),
  action: fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket'),
  viaMrap: fc.boolean(),
  context: fc.record({ 'aws:sourcevpce': fc.constantFrom(['vpce-1'], ['vpce-2']), 'aws:securetransport': fc.constant(['true']) }),
  rpb: fc.boolean(),
})

type World = typeof world extends fc.Arbitrary<infer W> ? W : never

function compile(doc: unknown, kind: PolicyKind): CompiledPolicy {
  const r = parsePolicy(JSON.stringify(doc), { kind })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.policy
}

function decide(w: World): Decision {
  const layers: Layers = { identity: w.identity.map((d) => compile(d, 'identity')) }
  if (w.endpoint) layers.endpoint = { id: 'vpce-1', policy: compile(w.endpoint, 'endpoint') }
  if (w.mrap) layers.mrap = { policy: compile(w.mrap, 'mrap'), blockPublicAccess: { RestrictPublicBuckets: w.rpb } }
  if (w.bucket) layers.bucket = { policy: compile(w.bucket, 'bucket') }
  const key = w.action === 's3:ListBucket' ? '' : '/k1'
  const req: AuthzRequest = {
    principal: w.caller,
    action: w.action,
    resources: {
      ...(w.viaMrap ? { mrap: { arn: `arn:aws:s3::${O}:accesspoint/m.mrap${key ? '/object/k1' : ''}`, ownerAccount: O } } : {}),
      bucket: { arn: `arn:aws:s3:::b${key}`, ownerAccount: O },
    },
    context: w.context,
  }
  return authorize(req, layers)
}

const denyStatement = statement(true).map((s): Record<string, unknown> => ({ ...s, Effect: 'Deny' }))

test('adding a Deny never turns a deny into an allow (and keeps an explicit deny explicit)', () => {
  fc.assert(
    fc.property(world, denyStatement, fc.constantFrom('identity', 'endpoint', 'mrap', 'bucket'), (w, deny, where) => {
      const before = decide(w)
      const w2 = structuredClone(w)
      if (where === 'identity') {
        const { Principal: _p, ...d } = deny
        w2.identity = [...w2.identity, { Version: '2012-10-17', Statement: [d] }]
      } else {
        const target = (w2[where] ?? { Version: '2012-10-17', Statement: [] }) as { Version: string; Statement: Record<string, unknown>[] }
        target.Statement = [...target.Statement, { ...deny, Principal: deny.Principal ?? '*' }]
        w2[where] = target as never
      }
      const after = decide(w2)
      if (before.effect !== 'Allow') assert.notEqual(after.effect, 'Allow')
      if (before.effect === 'ExplicitDeny') assert.equal(after.effect, 'ExplicitDeny')
    }),
    { numRuns: 400 },
  )
})

test('statement order and policy order never change the decision', () => {
  fc.assert(
    fc.property(world, fc.integer({ min: 1, max: 1000 }), (w, seed) => {
      const shuffle = <T>(xs: T[]): T[] =>
        xs
          .map((x, i) => [x, (i * 7919 + seed) % 101] as const)
          .sort((a, b) => a[1] - b[1])
          .map(([x]) => x)
      const w2 = structuredClone(w)
      w2.identity = shuffle(w2.identity).map((p) => ({ ...p, Statement: shuffle(p.Statement) }))
      for (const k of ['endpoint', 'mrap', 'bucket'] as const) {
        const p = w2[k]
        if (p) w2[k] = { ...p, Statement: shuffle(p.Statement) }
      }
      const a = decide(w)
      const b = decide(w2)
      assert.equal(b.effect, a.effect)
      assert.equal(b.decidedBy, a.decidedBy)
      assert.deepEqual(b.blockedBy, a.blockedBy)
    }),
    { numRuns: 400 },
  )
})

test('parse → serialize → parse is stable (text and decisions)', () => {
  fc.assert(
    fc.property(world, fc.boolean(), (w, objectForm) => {
      for (const doc of [...w.identity, w.endpoint, w.mrap, w.bucket]) {
        if (!doc) continue
        const d = objectForm && doc.Statement.length === 1 ? { ...doc, Statement: doc.Statement[0] } : doc
        const once = serializePolicy(compile(d, 'bucket'))
        const twice = serializePolicy(compile(JSON.parse(once), 'bucket'))
        assert.equal(twice, once)
      }
      const round = structuredClone(w)
      round.identity = round.identity.map((p) => JSON.parse(serializePolicy(compile(p, 'identity'))))
      if (round.bucket) round.bucket = JSON.parse(serializePolicy(compile(round.bucket, 'bucket')))
      assert.equal(decide(round).effect, decide(w).effect)
    }),
    { numRuns: 300 },
  )
})

/**
 * Unit tests: matchers, CIDR parsing, the S3 context builder, explanations, lint and data needs.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { arnPatternOf, matchArn } from './arn.js'
import type { CompiledPolicy, PolicyKind } from './index.js'
import { authorize, buildS3Context, dataNeeds, lintPolicy, loadCatalog, parsePolicy, publicStatus } from './index.js'
import { cidrContains, parseCidr, parseIp } from './ip.js'
import { globOf, matchGlob } from './wildcard.js'

function compile(doc: unknown, kind: PolicyKind = 'identity'): CompiledPolicy {
  const r = parsePolicy(JSON.stringify(doc), { kind })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors))
  return r.policy
}

test('globs: shapes and matching', () => {
  assert.equal(globOf('abc').shape, 'exact')
  assert.equal(globOf('*').shape, 'any')
  assert.equal(globOf('ab*').shape, 'prefix')
  assert.equal(globOf('*ab').shape, 'suffix')
  assert.equal(globOf('a*b?c').shape, 'general')
  assert.ok(matchGlob(globOf('a*b?c'), 'aXXbYc'))
  assert.ok(!matchGlob(globOf('a*b?c'), 'aXXbc'))
  assert.ok(matchGlob(globOf('*a*a*'), 'banana'))
  assert.ok(!matchGlob(globOf('*x*'), 'banana'))
  assert.ok(matchGlob(globOf('ab*'), 'zzabc', 2, 5), 'window matching')
  assert.ok(!matchGlob(globOf('abc'), 'zzabcd', 2, 6))
})

test('ARN patterns: per-segment matching and the empty MRAP region', () => {
  const mrap = 'arn:aws:s3::123456789012:accesspoint/x.mrap/object/k'
  assert.ok(matchArn(arnPatternOf('arn:aws:s3::123456789012:accesspoint/x.mrap/object/*'), mrap))
  assert.ok(matchArn(arnPatternOf('arn:aws:s3:*:123456789012:accesspoint/*'), mrap))
  assert.ok(!matchArn(arnPatternOf('arn:aws:s3:us-east-1:123456789012:accesspoint/*'), mrap))
  assert.ok(!matchArn(arnPatternOf('arn:aws:s3:?:123456789012:accesspoint/*'), mrap))
  assert.ok(matchArn(arnPatternOf('*'), 'anything'))
  assert.ok(!matchArn(arnPatternOf('arn:aws:s3:::b/*'), 'arn:aws:s3:::b'))
  assert.ok(matchArn(arnPatternOf('arn:aws:s3:::b*'), 'arn:aws:s3:::b/k'))
})

test('CIDR parsing: IPv4, IPv6, compressed and embedded forms', () => {
  const c = parseCidr('2001:db8::/32')
  assert.ok(c?.v6 && c.prefix === 32)
  assert.ok(cidrContains(c, parseIp('2001:db8:ffff::1') as Uint8Array))
  assert.ok(!cidrContains(c, parseIp('2001:db9::1') as Uint8Array))
  assert.deepEqual(Array.from(parseIp('::ffff:192.0.2.1') as Uint8Array).slice(12), [192, 0, 2, 1])
  assert.equal(parseCidr('10.0.0.0/33'), undefined)
  assert.equal(parseIp('1.2.3'), undefined)
  assert.equal(parseIp('1::2::3'), undefined)
})

test('buildS3Context: endpoint requests carry VPC keys and no aws:SourceIp', () => {
  const principal = {
    type: 'AssumedRole' as const,
    arn: 'arn:aws:sts::123456789012:assumed-role/app/s',
    roleArn: 'arn:aws:iam::123456789012:role/app',
    accountId: '123456789012',
    userId: 'AROAX:s',
    tags: { Team: 'blue' },
  }
  const c = buildS3Context({
    principal,
    timeMs: Date.UTC(2025, 0, 2, 3, 4, 5),
    secureTransport: true,
    vpc: { endpointId: 'vpce-1', vpcId: 'vpc-1', sourceIp: '10.0.0.9' },
    sourceIp: '203.0.113.1',
    prefix: 'home/',
    maxKeys: 10,
    existingObjectTags: { Project: 'x' },
    amzHeaders: { 'x-amz-acl': 'private' },
    signatureVersion: 'AWS4-ECDSA-P256-SHA256',
    authType: 'REST-HEADER',
    tlsVersion: '1.3',
    signatureAgeMs: 1200,
  })
  assert.deepEqual(c['aws:sourcevpce'], ['vpce-1'])
  assert.equal(c['aws:sourceip'], undefined)
  assert.deepEqual(c['aws:principalarn'], ['arn:aws:iam::123456789012:role/app'])
  assert.deepEqual(c['aws:currenttime'], ['2025-01-02T03:04:05Z'])
  assert.deepEqual(c['aws:epochtime'], [String(Date.UTC(2025, 0, 2, 3, 4, 5) / 1000)])
  assert.equal(c['aws:username'], undefined, 'sessions have no aws:username')
  assert.deepEqual(c['aws:principaltag/team'], ['blue'])
  assert.deepEqual(c['s3:existingobjecttag/project'], ['x'])
  assert.deepEqual(c['s3:x-amz-acl'], ['private'])
  assert.deepEqual(c['s3:max-keys'], ['10'])
  assert.deepEqual(c['s3:signatureage'], ['1200'])
})

test('explain names the statement, the element that failed and the condition key and value', () => {
  const p = compile({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'FromVpce', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } },
      { Sid: 'Other', Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*' },
    ],
  })
  const req = {
    principal: { type: 'User' as const, arn: 'arn:aws:iam::123456789012:user/a', accountId: '123456789012' },
    action: 's3:GetObject',
    resources: { bucket: { arn: 'arn:aws:s3:::b/k', ownerAccount: '123456789012' } },
    context: { 'aws:sourcevpce': ['vpce-2'] },
  }
  const plain = authorize(req, { identity: [p] })
  assert.equal(plain.explain, undefined, 'no explanation unless asked for')
  const d = authorize(req, { identity: [p] }, { explain: true })
  assert.equal(d.effect, 'ImplicitDeny')
  const id = d.explain?.[0]?.layers.find((l) => l.layer === 'identity')
  const [s0, s1] = id?.policies[0]?.statements ?? []
  assert.equal(s0?.sid, 'FromVpce')
  assert.equal(s0?.action.matched, true)
  assert.equal(s0?.resource.matched, true)
  assert.deepEqual(
    s0?.conditions.map((c) => [c.key, c.requestValues, c.policyValues, c.matched]),
    [['aws:SourceVpce', ['vpce-2'], ['vpce-1'], false]],
  )
  assert.equal(s0?.applies, false)
  assert.equal(s1?.action.matched, false)
  assert.match(s1?.action.detail ?? '', /not in Action/)
})

test('matched refs name the deciding statements', () => {
  const p = compile({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'A', Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Sid: 'D', Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
    ],
  })
  const req = {
    principal: { type: 'User' as const, arn: 'arn:aws:iam::123456789012:user/a', accountId: '123456789012' },
    action: 's3:DeleteObject',
    resources: { bucket: { arn: 'arn:aws:s3:::b/k', ownerAccount: '123456789012' } },
    context: {},
  }
  const d = authorize(req, { identity: [p] })
  assert.deepEqual(
    d.matched.map((m) => [m.layer, m.sid, m.effect]),
    [['identity', 'D', 'Deny']],
  )
})

test('lint reports unknown actions and condition keys and public grants', async () => {
  const catalog = await loadCatalog()
  const p = compile(
    {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'S', Effect: 'Allow', Principal: '*', Action: ['s3:GetObjekt', 's3:Get*'], Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 's3:Bogus': 'x' } } },
      ],
    },
    'bucket',
  )
  const rules = lintPolicy(p, { kind: 'bucket', bucket: 'b', catalog }).map((f) => f.rule)
  assert.ok(rules.includes('unknown-action'))
  assert.ok(rules.includes('unknown-condition-key'))
  assert.ok(rules.includes('public-policy'))
  assert.equal(publicStatus(p).reasons[0]?.statement, 'S')
})

test('dataNeeds: object tags only when a policy mentions them', () => {
  const tagged = compile({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { StringEquals: { 's3:ExistingObjectTag/classification': 'public' } } }],
  })
  const plain = compile({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:PrincipalTag/team}/*' }] })
  assert.deepEqual(dataNeeds([tagged]), { existingObjectTags: true, requestObjectTags: false, principalTags: false })
  assert.deepEqual(dataNeeds([plain, undefined]), { existingObjectTags: false, requestObjectTags: false, principalTags: true })
})

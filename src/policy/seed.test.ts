/**
 * The seed page's three policies (test/fixtures/policy/seed/policies.json), decided as in
 * docs/aws/authorization.md §The seed page for every caller and both routed buckets, plus their write-time fate.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { AuthzPrincipal, CompiledPolicy, Layers, PolicyKind } from './index.js'
import { authorize, buildS3Context, isPublic, loadCatalog, parsePolicy, validatePolicy } from './index.js'

const seed = JSON.parse(readFileSync(new URL('../../test/fixtures/policy/seed/policies.json', import.meta.url), 'utf8')) as Record<string, unknown>

function compile(name: string, kind: PolicyKind): CompiledPolicy {
  const r = parsePolicy(JSON.stringify(seed[name]), { kind, name })
  assert.ok(r.ok, `${name} parses`)
  return r.policy
}

const OWNER = '123456789012'
const MRAP_ARN = `arn:aws:s3::${OWNER}:accesspoint/mfzwi23gnjvgw.mrap`
const endpoint = compile('endpoint', 'endpoint')
const mrapPolicy = compile('mrap', 'mrap')
const bucketPolicies: Record<string, CompiledPolicy> = {
  'DOC-EXAMPLE-BUCKET1': compile('bucket1Half', 'bucket'),
  'DOC-EXAMPLE-BUCKET2': compile('bucket2Half', 'bucket'),
}
const identity = compile('identityGetObject', 'identity')

const sameUser: AuthzPrincipal = { type: 'User', arn: `arn:aws:iam::${OWNER}:user/alice`, accountId: OWNER, userId: 'AIDAALICE', username: 'alice' }
const otherUser: AuthzPrincipal = { type: 'User', arn: 'arn:aws:iam::111122223333:user/bob', accountId: '111122223333', userId: 'AIDABOB', username: 'bob' }

function decide(who: AuthzPrincipal, withIdentity: boolean, bucket: string, opts: { action?: string; key?: string | null; bpaOn?: boolean; combined?: boolean } = {}) {
  const key = opts.key === undefined ? 'k' : opts.key
  const context = buildS3Context({
    principal: who,
    timeMs: Date.UTC(2025, 0, 1),
    secureTransport: true,
    vpc: { endpointId: 'vpce-0123456789abcdef0', vpcId: 'vpc-0123456789abcdef0', sourceIp: '10.0.1.23' },
    dataAccessPoint: { arn: MRAP_ARN, account: OWNER },
    signatureVersion: 'AWS4-ECDSA-P256-SHA256',
    authType: 'REST-HEADER',
  })
  const bpa = opts.bpaOn ? { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } : {}
  const layers: Layers = {
    identity: withIdentity ? [identity] : [],
    endpoint: { id: 'vpce-0123456789abcdef0', policy: endpoint },
    mrap: { policy: mrapPolicy, blockPublicAccess: bpa },
    bucket: { policy: opts.combined ? compile('bucket', 'bucket') : (bucketPolicies[bucket] as CompiledPolicy), blockPublicAccess: bpa },
  }
  return authorize(
    {
      principal: who,
      action: opts.action ?? 's3:GetObject',
      resources: {
        mrap: { arn: key === null ? MRAP_ARN : `${MRAP_ARN}/object/${key}`, ownerAccount: OWNER },
        bucket: { arn: key === null ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`, ownerAccount: OWNER, bucketName: bucket },
      },
      context,
    },
    layers,
    { explain: true },
  )
}

const B1 = 'DOC-EXAMPLE-BUCKET1'
const B2 = 'DOC-EXAMPLE-BUCKET2'

test('§7.2 row 1: same account with identity grant → Allow on both buckets', () => {
  for (const b of [B1, B2]) {
    const d = decide(sameUser, true, b)
    assert.equal(d.effect, 'Allow', b)
    assert.equal(d.decidedBy, 'identity')
  }
})

test('§7.2 row 2: same account, no identity grant → 403 on BUCKET1 (no /*), Allow on BUCKET2', () => {
  const d1 = decide(sameUser, false, B1)
  assert.equal(d1.effect, 'ImplicitDeny')
  assert.equal(d1.context, 'bucket')
  assert.deepEqual(d1.blockedBy, ['identity', 'bucket-policy'])
  const mrapCtx = d1.explain?.find((e) => e.context === 'mrap')
  assert.equal(mrapCtx?.result, 'Allow', 'the MRAP policy allows')
  const bucketLayer = d1.explain?.find((e) => e.context === 'bucket')?.layers.find((l) => l.layer === 'bucket-policy')
  assert.equal(bucketLayer?.result, 'NoMatch')
  assert.match(bucketLayer?.policies[0]?.statements[0]?.resource.detail ?? '', /not in Resource/)
  const d2 = decide(sameUser, false, B2)
  assert.equal(d2.effect, 'Allow')
  assert.equal(d2.decidedBy, 'bucket-policy')
})

test('§7.2 row 3: other account with identity grant → 403 on BUCKET1, Allow on BUCKET2', () => {
  const d1 = decide(otherUser, true, B1)
  assert.equal(d1.effect, 'ImplicitDeny')
  assert.deepEqual(d1.blockedBy, ['bucket-policy'])
  assert.equal(d1.explain?.find((e) => e.context === 'mrap')?.rule, 'cross-account-identity-and-resource')
  assert.equal(decide(otherUser, true, B2).effect, 'Allow')
})

test('§7.2 row 4: other account, no identity grant → 403 on both', () => {
  for (const b of [B1, B2]) {
    const d = decide(otherUser, false, b)
    assert.equal(d.effect, 'ImplicitDeny', b)
    assert.equal(d.decidedBy, 'identity')
  }
})

test('§7.2 row 5: key missing: the ListBucket check is denied by the endpoint policy', () => {
  for (const who of [sameUser, otherUser]) {
    for (const b of [B1, B2]) {
      const d = decide(who, true, b, { action: 's3:ListBucket', key: null })
      assert.equal(d.effect, 'ImplicitDeny')
      assert.equal(d.decidedBy, 'endpoint')
    }
  }
})

test('the combined bucket document evaluated as data decides like the split halves', () => {
  for (const who of [sameUser, otherUser]) {
    for (const b of [B1, B2]) {
      assert.equal(decide(who, false, b, { combined: true }).effect, decide(who, false, b).effect)
    }
  }
})

test('with BPA on (MRAP defaults): cross-account callers are refused, same-account identity still works', () => {
  assert.equal(decide(otherUser, true, B2, { bpaOn: true }).effect, 'ImplicitDeny')
  assert.equal(decide(otherUser, true, B2, { bpaOn: true }).decidedBy, 'block-public-access')
  assert.equal(decide(sameUser, true, B1, { bpaOn: true }).effect, 'Allow')
  assert.equal(decide(sameUser, true, B2, { bpaOn: true }).effect, 'Allow')
})

test('all three seed policies are public', () => {
  assert.equal(isPublic(endpoint, 'resource'), true)
  assert.equal(isPublic(mrapPolicy, 'mrap'), true)
  assert.equal(isPublic(compile('bucket', 'bucket'), 'bucket'), true)
})

test('write time: S3 refuses the bucket policy as written and BUCKET1 half; BUCKET2 half and MRAP policy are stored', async () => {
  const catalog = await loadCatalog()
  const combined = compile('bucket', 'bucket')
  for (const b of [B1, B2]) {
    const errs = validatePolicy(combined, { kind: 'bucket', bucket: b, catalog })
    assert.ok(
      errs.some((e) => e.message === 'Policy has invalid resource' && e.statement === 'Public-read'),
      b,
    )
  }
  const half1 = validatePolicy(bucketPolicies[B1] as CompiledPolicy, { kind: 'bucket', bucket: B1, catalog })
  assert.deepEqual(
    half1.map((e) => [e.code, e.message, e.statement, e.element]),
    [['MalformedPolicy', 'Action does not apply to any resource(s) in statement', 'Public-read', 'Action']],
  )
  assert.deepEqual(validatePolicy(bucketPolicies[B2] as CompiledPolicy, { kind: 'bucket', bucket: B2, catalog }), [])
  assert.deepEqual(validatePolicy(mrapPolicy, { kind: 'mrap', mrapArn: MRAP_ARN, catalog }), [])
  assert.deepEqual(validatePolicy(endpoint, { kind: 'endpoint', catalog }), [])
})

/**
 * Policy engine throughput. Standalone: `node --import tsx bench/policy.ts`.
 * Prints one JSON line per case; bounded to roughly 10 s in total.
 * Goals (issue 3): >= 1,000,000 simple decisions/s and >= 200,000 four-layer decisions/s.
 */

import type { AuthzRequest, CompiledPolicy, Layers, PolicyKind } from '../src/policy/index.js'
import { authorize, buildS3Context, parsePolicy } from '../src/policy/index.js'

const OWNER = '123456789012'
const MRAP = `arn:aws:s3::${OWNER}:accesspoint/mfzwi23gnjvgw.mrap`
const VPCE = 'vpce-0123456789abcdef0'

function compile(doc: unknown, kind: PolicyKind): CompiledPolicy {
  const r = parsePolicy(JSON.stringify(doc), { kind })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.policy
}

/** Nine non-matching statements with conditions, then the one that grants. */
function tenStatements(principal: boolean, resources: string[], grant: Record<string, unknown>): unknown {
  const st: Record<string, unknown>[] = []
  for (let i = 0; i < 9; i++) {
    st.push({
      Sid: `S${i}`,
      Effect: i % 3 === 0 ? 'Deny' : 'Allow',
      ...(principal ? { Principal: { AWS: `arn:aws:iam::${OWNER}:role/r${i}` } } : {}),
      Action: [`s3:PutObject${i}`, 's3:DeleteObject*'],
      Resource: resources,
      Condition: { StringEquals: { 'aws:SourceVpce': `vpce-other${i}` }, IpAddress: { 'aws:VpcSourceIp': '10.9.0.0/16' } },
    })
  }
  st.push({
    Sid: 'Grant',
    Effect: 'Allow',
    ...(principal ? { Principal: { AWS: `arn:aws:iam::${OWNER}:root` } } : {}),
    Action: ['s3:GetObject', 's3:GetObjectVersion'],
    Resource: resources,
    ...grant,
  })
  return { Version: '2012-10-17', Statement: st }
}

function bench(name: string, ms: number, fn: () => unknown, extra: Record<string, unknown> = {}): void {
  // Warm up, then count iterations in batches until the time is spent.
  for (let i = 0; i < 20000; i++) fn()
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < 1000; i++) fn()
    n += 1000
    now = performance.now()
  }
  const perSec = Math.round((n / (now - start)) * 1000)
  console.log(JSON.stringify({ bench: name, decisionsPerSec: perSec, nsPerDecision: Math.round(1e9 / perSec), ...extra }))
}

// 1. Simple: one identity policy, one statement, direct bucket request.
const simpleLayers: Layers = {
  identity: [compile({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }] }, 'identity')],
}
const principal = { type: 'User' as const, arn: `arn:aws:iam::${OWNER}:user/alice`, accountId: OWNER, userId: 'AIDAALICE', username: 'alice' }
const simpleReq: AuthzRequest = {
  principal,
  action: 's3:GetObject',
  resources: { bucket: { arn: 'arn:aws:s3:::bucket/photos/cat.jpg', ownerAccount: OWNER } },
  context: buildS3Context({ principal, timeMs: Date.UTC(2025, 0, 1), secureTransport: true, sourceIp: '203.0.113.7' }),
}
let sink = 0
bench(
  'simple',
  1500,
  () => {
    sink += authorize(simpleReq, simpleLayers).effect === 'Allow' ? 1 : 0
  },
  { goal: 1_000_000 },
)

// 2. Realistic MRAP request through a VPC endpoint: four layers, ten statements each.
const vpceCond = { Condition: { StringEquals: { 'aws:SourceVpce': VPCE }, Bool: { 'aws:SecureTransport': 'true' } } }
const fourLayers: Layers = {
  identity: [compile(tenStatements(false, [`${MRAP}/object/*`, 'arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*'], vpceCond), 'identity')],
  endpoint: { id: VPCE, policy: compile(tenStatements(true, [`${MRAP}/object/*`, 'arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*'], vpceCond), 'endpoint') },
  mrap: { policy: compile(tenStatements(true, [`${MRAP}/object/*`], vpceCond), 'mrap'), blockPublicAccess: { BlockPublicPolicy: true, RestrictPublicBuckets: true } },
  bucket: {
    policy: compile(tenStatements(true, ['arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*'], { Condition: { StringEquals: { 's3:DataAccessPointArn': MRAP } } }), 'bucket'),
    blockPublicAccess: { BlockPublicPolicy: true, RestrictPublicBuckets: true },
  },
  accountBlockPublicAccess: { [OWNER]: { BlockPublicPolicy: true } },
}
const fourReq: AuthzRequest = {
  principal,
  action: 's3:GetObject',
  resources: {
    mrap: { arn: `${MRAP}/object/photos/cat.jpg`, ownerAccount: OWNER },
    bucket: { arn: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET1/photos/cat.jpg', ownerAccount: OWNER },
  },
  context: buildS3Context({
    principal,
    timeMs: Date.UTC(2025, 0, 1),
    secureTransport: true,
    vpc: { endpointId: VPCE, vpcId: 'vpc-0123456789abcdef0', sourceIp: '10.0.1.23' },
    dataAccessPoint: { arn: MRAP, account: OWNER },
    signatureVersion: 'AWS4-ECDSA-P256-SHA256',
    authType: 'REST-HEADER',
  }),
}
if (authorize(fourReq, fourLayers).effect !== 'Allow') throw new Error('four-layer case must allow')
bench(
  'mrap-vpce-four-layers',
  2500,
  () => {
    sink += authorize(fourReq, fourLayers).effect === 'Allow' ? 1 : 0
  },
  { goal: 200_000, statementsPerLayer: 10 },
)

// 3. 1,000-statement policies (identity and bucket), the granting statement last.
function thousand(principal: boolean): unknown {
  const st: unknown[] = []
  for (let i = 0; i < 999; i++) {
    st.push({
      Effect: 'Allow',
      ...(principal ? { Principal: { AWS: `arn:aws:iam::${OWNER}:user/u${i}` } } : {}),
      Action: `s3:GetObject`,
      Resource: `arn:aws:s3:::bucket/prefix${i}/*`,
      Condition: { StringLike: { 's3:prefix': `p${i}*` } },
    })
  }
  st.push({ Effect: 'Allow', ...(principal ? { Principal: '*' } : {}), Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/photos/*' })
  return { Version: '2012-10-17', Statement: st }
}
const bigLayers: Layers = { identity: [compile(thousand(false), 'identity')], bucket: { policy: compile(thousand(true), 'bucket') } }
bench(
  'thousand-statements',
  2000,
  () => {
    sink += authorize(simpleReq, bigLayers).effect === 'Allow' ? 1 : 0
  },
  { statements: 2000 },
)

// 4. Explanation, for comparison (only paid when asked for).
bench('mrap-vpce-four-layers-explain', 1000, () => {
  sink += authorize(fourReq, fourLayers, { explain: true }).effect === 'Allow' ? 1 : 0
})

if (sink === 0) console.error('unexpected: nothing allowed')

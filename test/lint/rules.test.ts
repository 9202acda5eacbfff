/**
 * Each lint rule with a world that triggers it and one that does not. The worlds are small
 * variations of one base (an account, two buckets in two regions, an MRAP over them, a VPC with an
 * s3-global endpoint), written as YAML so findings carry file lines.
 */

import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { stringify } from 'yaml'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { type Finding, RULES, runLint } from '../../src/lint/index.js'
import { renderSarif } from '../../src/lint/render.js'
import { type Catalog, loadCatalog } from '../../src/policy/index.js'
import { parseWorld } from '../../src/world/load.js'

const A = '111122223333'
const B = '444455556666'
const ALIAS = 'abcdefghijklm.mrap'
const MRAP = `arn:aws:s3::${A}:accesspoint/${ALIAS}`
const OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }
const ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }
const doc = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement })
const delegate = (bucket: string) =>
  doc({
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: '*',
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { StringEquals: { 's3:DataAccessPointArn': MRAP } },
  })
const FULL_READ = ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject']
const replication = (to: string) => ({ Role: `arn:aws:iam::${A}:role/r`, Rules: [{ Status: 'Enabled', Destination: { Bucket: `arn:aws:s3:::${to}` } }] })

interface Base {
  userPolicy?: Record<string, unknown>
  b1Policy?: Record<string, unknown> | string
  b2Policy?: Record<string, unknown>
  mrapPolicy?: Record<string, unknown>
  mrapBpa?: typeof OFF
  acctBpa?: typeof OFF
  endpointPolicy?: Record<string, unknown>
  replicate?: boolean
  partnerPolicy?: Record<string, unknown>
}

/** A clean world by default: delegation bucket policies, non-public MRAP policy, full endpoint. */
function world(o: Base = {}): string {
  return stringify({
    regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
    accounts: [
      {
        id: A,
        blockPublicAccess: o.acctBpa ?? ON,
        users: [
          {
            name: 'alice',
            policies: [
              {
                name: 'Read',
                document:
                  o.userPolicy ??
                  doc({
                    Effect: 'Allow',
                    Action: FULL_READ,
                    Resource: [MRAP, `${MRAP}/object/*`, 'arn:aws:s3:::one-bucket', 'arn:aws:s3:::one-bucket/*', 'arn:aws:s3:::two-bucket', 'arn:aws:s3:::two-bucket/*'],
                  }),
              },
            ],
          },
        ],
      },
      { id: B, blockPublicAccess: ON, users: [{ name: 'bob', policies: o.partnerPolicy ? [{ name: 'P', document: o.partnerPolicy }] : [] }] },
    ],
    buckets: [
      {
        name: 'one-bucket',
        region: 'us-east-1',
        owner: A,
        versioning: 'Enabled',
        blockPublicAccess: o.acctBpa ?? ON,
        policy: o.b1Policy ?? delegate('one-bucket'),
        ...(o.replicate === false ? {} : { replication: replication('two-bucket') }),
      },
      {
        name: 'two-bucket',
        region: 'eu-west-1',
        owner: A,
        versioning: 'Enabled',
        blockPublicAccess: o.acctBpa ?? ON,
        policy: o.b2Policy ?? delegate('two-bucket'),
        ...(o.replicate === false ? {} : { replication: replication('one-bucket') }),
      },
    ],
    mraps: [
      {
        name: 'test-mrap',
        alias: ALIAS,
        owner: A,
        buckets: ['one-bucket', 'two-bucket'],
        blockPublicAccess: o.mrapBpa ?? ON,
        policy: o.mrapPolicy ?? doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: FULL_READ, Resource: [MRAP, `${MRAP}/object/*`] }),
      },
    ],
    vpcs: [
      {
        id: 'vpc-0aaaaaaaaaaaaaaa1',
        owner: A,
        region: 'us-east-1',
        cidr: '10.1.0.0/16',
        tags: { Name: 'v' },
        endpoints: [{ id: 'vpce-0aaaaaaaaaaaaaaa1', type: 'Interface', service: 'com.amazonaws.s3-global.accesspoint', ...(o.endpointPolicy ? { policy: o.endpointPolicy } : {}) }],
      },
    ],
  })
}

let catalog: Catalog
before(async () => {
  catalog = await loadCatalog()
})

function lint(text: string): Finding[] {
  const w = parseWorld(text, 'test.yaml', { check: false })
  return runLint({ model: modelFromWorld(w, { source: 'test.yaml', catalog }), catalog, timeMs: Date.UTC(2025, 0, 1), world: w })
}
const rules = (fs: Finding[]) => [...new Set(fs.map((f) => f.rule))].sort()
const only = (fs: Finding[], rule: string) => fs.filter((f) => f.rule === rule)

test('the base world is clean', () => {
  assert.deepEqual(
    lint(world()).map((f) => `${f.rule}: ${f.message}`),
    [],
  )
})

test('grammar: a policy that does not parse', () => {
  const fs = only(lint(world({ b1Policy: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"' })), 'grammar')
  assert.equal(fs.length, 1)
  assert.equal(fs[0]!.severity, 'error')
  assert.equal(fs[0]!.file, 'test.yaml')
  assert.ok(fs[0]!.line !== undefined)
})

test('write-time: IAM refuses a Principal in an identity policy', () => {
  const fs = only(lint(world({ userPolicy: doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }) })), 'write-time')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /IAM would refuse to store it: 400 MalformedPolicyDocument "Policy document should not specify a principal\."/)
})

test("action-resource: the seed's missing /* (S3 refuses it) and an identity statement that grants nothing", () => {
  const bucket = only(
    lint(
      world({ b1Policy: doc({ Sid: 'Public-read', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::one-bucket' }) }),
    ),
    'action-resource',
  )
  assert.equal(bucket.length, 1)
  assert.equal(bucket[0]!.severity, 'error')
  assert.equal(bucket[0]!.statement, 'Public-read')
  assert.match(bucket[0]!.fix, /"arn:aws:s3:::one-bucket\/\*"/)
  const identity = only(lint(world({ userPolicy: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::one-bucket' }) })), 'action-resource')
  assert.equal(identity.length, 1)
  assert.equal(identity[0]!.severity, 'warning')
})

test("foreign-resource: the seed's combined bucket policy on one bucket", () => {
  const combined = doc({
    Sid: 'Public-read',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${A}:root` },
    Action: 's3:GetObject',
    Resource: ['arn:aws:s3:::one-bucket/*', 'arn:aws:s3:::two-bucket/*'],
  })
  const fs = only(lint(world({ b1Policy: combined })), 'foreign-resource')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /arn:aws:s3:::two-bucket\/\*/)
  assert.match(fs[0]!.message, /400 MalformedPolicy "Policy has invalid resource"/)
})

test('unknown-action and unknown-condition-key (identity policies; S3 refuses them in its own)', () => {
  const fs = lint(world({ userPolicy: doc({ Effect: 'Allow', Action: ['s3:GetObjekt', ...FULL_READ], Resource: '*', Condition: { StringEquals: { 's3:NoSuchKey': 'x' } } }) }))
  assert.equal(only(fs, 'unknown-action').length, 1)
  assert.equal(only(fs, 'unknown-condition-key').length, 1)
  assert.deepEqual(only(lint(world()), 'unknown-action'), [])
})

test('condition-key-not-applicable: s3:prefix on GetObject never appears', () => {
  const fs = only(
    lint(
      world({
        userPolicy: doc(
          { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { StringEquals: { 's3:prefix': 'home/' } } },
          { Effect: 'Allow', Action: FULL_READ, Resource: '*' },
        ),
      }),
    ),
    'condition-key-not-applicable',
  )
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /s3:prefix never appears in requests for s3:GetObject/)
  const ok = only(
    lint(
      world({
        userPolicy: doc(
          { Effect: 'Allow', Action: FULL_READ, Resource: '*' },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: '*', Condition: { StringEquals: { 's3:prefix': 'home/' } } },
        ),
      }),
    ),
    'condition-key-not-applicable',
  )
  assert.deepEqual(ok, [])
})

test('public-policy and bpa-off: a public MRAP policy with Block Public Access off', () => {
  const open = doc({ Effect: 'Allow', Principal: '*', Action: FULL_READ, Resource: [MRAP, `${MRAP}/object/*`] })
  const fs = lint(world({ mrapPolicy: open, mrapBpa: OFF, acctBpa: OFF }))
  assert.equal(only(fs, 'public-policy').length, 1)
  assert.match(only(fs, 'public-policy')[0]!.message, /not anonymous users/)
  assert.equal(only(fs, 'bpa-off').length, 1)
  const vpceOnly = doc({
    Effect: 'Allow',
    Principal: '*',
    Action: FULL_READ,
    Resource: [MRAP, `${MRAP}/object/*`],
    Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-0aaaaaaaaaaaaaaa1' } },
  })
  assert.deepEqual(
    rules(lint(world({ mrapPolicy: vpceOnly, mrapBpa: OFF, acctBpa: OFF }))).filter((r) => r.startsWith('public') || r.startsWith('bpa')),
    [],
  )
})

test('bpa-blocks-policy: BlockPublicPolicy refuses a public bucket policy', () => {
  const open = doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::one-bucket/*' }, ...delegate('one-bucket').Statement)
  const fs = only(lint(world({ b1Policy: open })), 'bpa-blocks-policy')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /403 AccessDenied/)
  assert.deepEqual(only(lint(world()), 'bpa-blocks-policy'), [])
})

test("bpa-restricts-grants: RestrictPublicBuckets neutralises a public policy's cross-account grants", () => {
  const open = doc({ Effect: 'Allow', Principal: '*', Action: FULL_READ, Resource: [MRAP, `${MRAP}/object/*`] })
  // BlockPublicPolicy off (so it is stored), RestrictPublicBuckets on at the account.
  const acct = { ...OFF, RestrictPublicBuckets: true }
  const fs = only(lint(world({ mrapPolicy: open, mrapBpa: OFF, acctBpa: acct })), 'bpa-restricts-grants')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /only principals of 111122223333/)
  assert.deepEqual(only(lint(world({ mrapPolicy: open, mrapBpa: OFF, acctBpa: OFF })), 'bpa-restricts-grants'), [])
})

test('route-inconsistent: bob (another account) is allowed through one bucket only', () => {
  const bobRead = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })
  const grant = (bucket: string) =>
    doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }, ...delegate(bucket).Statement)
  const mrapPolicy = doc({ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${A}:root`, `arn:aws:iam::${B}:root`] }, Action: FULL_READ, Resource: [MRAP, `${MRAP}/object/*`] })
  // one-bucket grants only its own account (no delegation to the MRAP): bob is denied there.
  const ownOnly = doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: '*', Resource: ['arn:aws:s3:::one-bucket', 'arn:aws:s3:::one-bucket/*'] })
  const fs = only(lint(world({ partnerPolicy: bobRead, mrapPolicy, b1Policy: ownOnly, b2Policy: grant('two-bucket') })), 'route-inconsistent')
  assert.equal(fs.length, 1)
  assert.equal(fs[0]!.policy.owner, 'bucket one-bucket')
  assert.match(fs[0]!.message, /444455556666\/bob/)
  assert.deepEqual(only(lint(world({ partnerPolicy: bobRead, mrapPolicy, b1Policy: grant('one-bucket'), b2Policy: grant('two-bucket') })), 'route-inconsistent'), [])
})

test('endpoint-missing-bucket: the endpoint policy allows the MRAP but not one of its buckets', () => {
  const ep = (buckets: string[]) =>
    doc({ Effect: 'Allow', Principal: '*', Action: FULL_READ, Resource: [MRAP, `${MRAP}/object/*`, ...buckets.flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`])] })
  const fs = only(lint(world({ endpointPolicy: ep(['one-bucket']) })), 'endpoint-missing-bucket')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /two-bucket/)
  assert.deepEqual(only(lint(world({ endpointPolicy: ep(['one-bucket', 'two-bucket']) })), 'endpoint-missing-bucket'), [])
})

test("missing-key-403 and versioned-read-denied: an endpoint that allows only s3:GetObject (the seed's)", () => {
  const getOnly = doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [MRAP + '/object/*', 'arn:aws:s3:::one-bucket/*', 'arn:aws:s3:::two-bucket/*'] })
  const fs = lint(world({ endpointPolicy: getOnly }))
  const m = only(fs, 'missing-key-403')
  assert.equal(m.length, 1)
  assert.equal(m[0]!.policy.kind, 'endpoint')
  assert.equal(only(fs, 'versioned-read-denied').length, 1)
  assert.deepEqual(
    rules(lint(world())).filter((r) => r === 'missing-key-403' || r === 'versioned-read-denied'),
    [],
  )
})

test('replication-missing: MRAP buckets without replication rules between them', () => {
  const fs = only(lint(world({ replicate: false })), 'replication-missing')
  assert.equal(fs.length, 1)
  assert.match(fs[0]!.message, /one-bucket → two-bucket, two-bucket → one-bucket/)
})

test('SARIF 2.1.0: rules, levels, file and line', () => {
  const fs = lint(world({ replicate: false, b1Policy: '{' }))
  const sarif = JSON.parse(renderSarif(fs, 'test.yaml', RULES)) as {
    version: string
    runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: { physicalLocation?: { region?: { startLine: number } } }[] }[] }[]
  }
  assert.equal(sarif.version, '2.1.0')
  const run = sarif.runs[0]!
  assert.ok(run.tool.driver.rules.some((r) => r.id === 'route-inconsistent'))
  const grammar = run.results.find((r) => r.ruleId === 'grammar')!
  assert.equal(grammar.level, 'error')
  assert.ok(grammar.locations[0]!.physicalLocation?.region?.startLine)
})

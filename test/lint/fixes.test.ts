/**
 * The public-access rules' suggested fixes, applied as written: the condition a fix names is read
 * out of its text and put into the policy, and the finding must go away without a new one.
 * bpa-off counts a level without any Block Public Access configuration as off: S3 applies the
 * most restrictive combination of the bucket's and the account's settings ("Blocking public
 * access to your Amazon S3 storage",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html),
 * and a setting acts only when set TRUE ("PublicAccessBlockConfiguration", S3 Control API
 * Reference, https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PublicAccessBlockConfiguration.html),
 * so a level with no configuration adds nothing.
 */

import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { stringify } from 'yaml'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { type Finding, runLint } from '../../src/lint/index.js'
import { type Catalog, loadCatalog } from '../../src/policy/index.js'
import { parseWorld } from '../../src/world/load.js'

const A = '111122223333'
const ALIAS1 = 'abcdefghijklm.mrap'
const ALIAS2 = 'nopqrstuvwxyz.mrap'
const OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }
const VPCE = 'vpce-0aaaaaaaaaaaaaaa1'
type Doc = { Version: string; Statement: Record<string, unknown>[] }
const doc = (...Statement: Record<string, unknown>[]): Doc => ({ Version: '2012-10-17', Statement })
const mrapArn = (alias: string) => `arn:aws:s3::${A}:accesspoint/${alias}`
const PUBLIC_BUCKET = doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::one-bucket/*' })

interface Opts {
  bucketPolicy?: Doc
  mrapPolicy?: Doc
  endpointPolicy?: Doc
  bucketBpa?: typeof OFF | 'none'
  acctBpa?: typeof OFF
  mraps?: number
}

function world(o: Opts): string {
  const mraps = [ALIAS1, ALIAS2].slice(0, o.mraps ?? 1).map((alias, i) => ({
    name: `mrap-${i + 1}`,
    alias,
    owner: A,
    buckets: ['one-bucket', 'two-bucket'],
    blockPublicAccess: OFF,
    ...(i === 0 && o.mrapPolicy ? { policy: o.mrapPolicy } : {}),
  }))
  return stringify({
    regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
    accounts: [{ id: A, ...(o.acctBpa ? { blockPublicAccess: o.acctBpa } : {}), users: [{ name: 'alice' }] }],
    buckets: [
      { name: 'one-bucket', region: 'us-east-1', owner: A, blockPublicAccess: o.bucketBpa ?? OFF, ...(o.bucketPolicy ? { policy: o.bucketPolicy } : {}) },
      { name: 'two-bucket', region: 'eu-west-1', owner: A, blockPublicAccess: OFF },
    ],
    mraps,
    vpcs: [
      {
        id: 'vpc-0aaaaaaaaaaaaaaa1',
        owner: A,
        region: 'us-east-1',
        cidr: '10.1.0.0/16',
        endpoints: [{ id: VPCE, type: 'Interface', service: 'com.amazonaws.s3-global.accesspoint', ...(o.endpointPolicy ? { policy: o.endpointPolicy } : {}) }],
      },
    ],
  })
}

let catalog: Catalog
before(async () => {
  catalog = await loadCatalog()
})

function lint(text: string): Finding[] {
  const w = parseWorld(text, 'fixes.yaml', { check: false })
  return runLint({ model: modelFromWorld(w, { source: 'fixes.yaml', catalog }), catalog, timeMs: Date.UTC(2025, 0, 1), world: w })
}
const key = (f: Finding) => `${f.rule} ${f.policy.kind} ${f.policy.name}`

/** The `"StringEquals": {...}` object a fix names, parsed from its text. */
function conditionIn(fix: string): Record<string, unknown> {
  const m = fix.match(/"StringEquals": (\{"[^"]+": (?:"[^"]+"|\[[^\]]*\])\})/)
  assert.ok(m, `no StringEquals condition in the fix: ${fix}`)
  return JSON.parse(m[1]!) as Record<string, unknown>
}

/** The rule fires on `broken`, not on `fixed` (the fix applied by the caller), and `fixed` brings no new finding. */
function clears(broken: Opts, fixed: (fix: string) => Opts, rule: string): string {
  const beforeFs = lint(world(broken))
  const f = beforeFs.find((x) => x.rule === rule)
  assert.ok(f, `${rule} fires before the fix: ${beforeFs.map(key).join('; ')}`)
  const afterFs = lint(world(fixed(f.fix)))
  assert.deepEqual(afterFs.filter((x) => x.rule === rule).map(key), [], `${rule} is cleared by its fix: ${f.fix}`)
  const old = new Set(beforeFs.map(key))
  assert.deepEqual(afterFs.filter((x) => !old.has(key(x))).map(key), [], 'the fix brings no new finding')
  return f.fix
}

/** Lints `before`, applies the first fix of `rule` to the policy, lints again: the rule is gone and nothing new appears. */
function applyFix(opts: Opts, rule: string, target: 'bucketPolicy' | 'mrapPolicy', principal: unknown): { fix: string } {
  const beforeFs = lint(world(opts))
  const f = beforeFs.find((x) => x.rule === rule)
  assert.ok(f, `${rule} fires before the fix: ${beforeFs.map(key).join('; ')}`)
  const policy = opts[target]!
  const fixed = doc(...policy.Statement.map((s) => ({ ...s, Principal: principal, Condition: { StringEquals: conditionIn(f.fix) } })))
  const afterFs = lint(world({ ...opts, [target]: fixed }))
  assert.deepEqual(
    afterFs.filter((x) => x.rule === rule),
    [],
    `${rule} is cleared by its fix`,
  )
  const old = new Set(beforeFs.map(key))
  assert.deepEqual(afterFs.filter((x) => !old.has(key(x))).map(key), [], 'the fix brings no new finding')
  return { fix: f.fix }
}

test('public-policy on a bucket held by two MRAPs: the fix names both, and applying it clears it', () => {
  const { fix } = applyFix({ bucketPolicy: PUBLIC_BUCKET, mraps: 2 }, 'public-policy', 'bucketPolicy', { AWS: '*' })
  assert.ok(fix.includes(mrapArn(ALIAS1)) && fix.includes(mrapArn(ALIAS2)), fix)
})

test('bpa-off on a bucket: the delegation fix clears it too', () => {
  applyFix({ bucketPolicy: PUBLIC_BUCKET, acctBpa: OFF }, 'bpa-off', 'bucketPolicy', { AWS: '*' })
})

test('bpa-restricts-grants: the delegation fix clears it', () => {
  applyFix({ bucketPolicy: PUBLIC_BUCKET, bucketBpa: { ...OFF, RestrictPublicBuckets: true } }, 'bpa-restricts-grants', 'bucketPolicy', { AWS: '*' })
})

test('public-policy on an MRAP: the aws:SourceVpce fix clears it', () => {
  const open = doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${mrapArn(ALIAS1)}/object/*` })
  const { fix } = applyFix({ mrapPolicy: open }, 'public-policy', 'mrapPolicy', '*')
  assert.match(fix, new RegExp(VPCE))
})

test('bpa-off fires when Block Public Access is not configured at either level', () => {
  const fs = lint(world({ bucketPolicy: PUBLIC_BUCKET, bucketBpa: 'none' }))
  const off = fs.filter((f) => f.rule === 'bpa-off')
  assert.equal(off.length, 1, fs.map(key).join('; '))
  assert.match(off[0]!.message, /bucket one-bucket: not configured, account 111122223333: not configured/)
  // Configured all on at the bucket: no bpa-off (the policy is refused instead).
  assert.deepEqual(
    lint(world({ bucketPolicy: PUBLIC_BUCKET, bucketBpa: { ...OFF, BlockPublicPolicy: true, RestrictPublicBuckets: true } })).filter((f) => f.rule === 'bpa-off'),
    [],
  )
})

test('endpoint-missing-bucket: adding the ARNs the fix names clears it', () => {
  const resources = [`${mrapArn(ALIAS1)}/object/*`, 'arn:aws:s3:::one-bucket/*']
  const ep = (extra: string[]) => doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [...resources, ...extra] })
  const fix = clears(
    { endpointPolicy: ep([]) },
    (fix) => {
      const named = fix.match(/add (arn:[^ ]+(?:, arn:[^ ]+)*) \(/)
      assert.ok(named, fix)
      return { endpointPolicy: ep(named[1]!.split(', ')) }
    },
    'endpoint-missing-bucket',
  )
  assert.match(fix, /two-bucket\/\*/)
})

test('action-resource: the object ARN the fix names clears it', () => {
  const delegated = (resource: string) =>
    doc({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: resource, Condition: { StringEquals: { 's3:DataAccessPointArn': mrapArn(ALIAS1) } } })
  clears(
    { bucketPolicy: delegated('arn:aws:s3:::one-bucket') },
    (fix) => {
      const named = fix.match(/use "([^"]+)"/)
      assert.ok(named, fix)
      return { bucketPolicy: delegated(named[1]!) }
    },
    'action-resource',
  )
})

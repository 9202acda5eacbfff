/**
 * ACLs in `mrap explain` (an ACL column when an ACL decided, naming the grant), in `mrap lint`
 * ("ACLs on an owner-enforced bucket", "public ACL grant") and in the world file (apply, export,
 * apply again: the same bucket ACL and Object Ownership).
 * AWS: "Access control list (ACL) overview" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html),
 * "Troubleshooting" under S3 Object Ownership
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GetBucketAclCommand, GetBucketOwnershipControlsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { stringify } from 'yaml'
import { runExplain } from '../../src/cli/explain.js'
import { runLintCli } from '../../src/cli/lint.js'
import { exportWorld } from '../../src/world/export.js'
import type { World } from '../../src/world/schema.js'
import { PARTNER_ACCOUNT } from '../helpers/accounts.js'
import { PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const TIME = '2025-01-01T00:00:00Z'
const OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }

function aclWorld(): World {
  const w = testWorld()
  w.buckets.push(
    {
      name: 'acl-open',
      region: 'us-east-1',
      owner: '123456789012',
      objectOwnership: 'ObjectWriter',
      blockPublicAccess: OFF,
      acl: [{ grantee: PARTNER_ACCOUNT, permission: 'WRITE' }],
    },
    { name: 'acl-public', region: 'us-east-1', owner: '123456789012', objectOwnership: 'BucketOwnerPreferred', blockPublicAccess: OFF, acl: 'public-read' },
    { name: 'acl-enforced', region: 'us-east-1', owner: '123456789012', acl: [{ grantee: 'AllUsers', permission: 'READ' }] },
  )
  return w
}

describe('ACLs in explain, lint and the world file', () => {
  let dir: string
  let file: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrap-acl-world-'))
    file = join(dir, 'world.yaml')
    writeFileSync(file, stringify(aclWorld()))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('explain: the ACL column names the grant that allowed a cross-account PutObject; no ACL column where none decided', async () => {
    const out = await runExplain({ world: file, as: 'partner-admin', action: 's3:PutObject', bucket: 'acl-open', key: 'k', time: TIME }, false)
    assert.equal(out.results[0]!.routes[0]!.effect, 'Allow')
    assert.match(out.text, /ACL/)
    assert.match(out.text, /allow WRITE to 444455556666/)
    assert.equal(out.results[0]!.routes[0]!.acl?.statement, `WRITE to ${PARTNER_ACCOUNT}`)
    const json = await runExplain({ world: file, as: 'partner-admin', action: 's3:PutObject', bucket: 'acl-open', key: 'k', time: TIME, json: true }, false)
    assert.match(json.text, /"acl"/)
    // On a bucket whose ACLs are disabled the ACL takes no part, and the table has no ACL column.
    const enforced = await runExplain({ world: file, as: 'partner-admin', action: 's3:ListBucket', bucket: 'acl-enforced', time: TIME }, false)
    assert.equal(enforced.results[0]!.routes[0]!.effect, 'ImplicitDeny')
    assert.doesNotMatch(enforced.text.split('\n').find((l) => l.startsWith('ROUTE')) ?? '', /ACL/)
  })

  test('lint: "ACLs on an owner-enforced bucket" (error) and "public ACL grant" (warning)', async () => {
    const out = await runLintCli({ world: file, format: 'json' }, false)
    const findings = JSON.parse(out.text).findings as { rule: string; severity: string; message: string; line?: number }[]
    const enforced = findings.find((f) => f.rule === 'acl-owner-enforced')
    assert.ok(enforced, out.text)
    assert.equal(enforced.severity, 'error')
    assert.match(enforced.message, /acl-enforced/)
    assert.equal(typeof enforced.line, 'number')
    const pub = findings.filter((f) => f.rule === 'acl-public-grant')
    assert.deepEqual(
      pub.map((f) => [f.severity, /acl-public/.test(f.message)]),
      [['warning', true]],
    )
    assert.match(pub[0]!.message, /READ to AllUsers/)
  })

  describe('the world file', () => {
    let s: TestServer
    before(async () => {
      s = await startTestServer({ world: aclWorld() })
    })
    after(async () => s.stop())

    test('apply gives the buckets their ownership and ACLs (the owner-enforced one none), which then decide requests; export gives them back', async () => {
      const c = s.client()
      assert.equal((await c.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl-open' }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership, 'ObjectWriter')
      const open = await c.send(new GetBucketAclCommand({ Bucket: 'acl-open' }))
      assert.deepEqual(
        open.Grants?.map((g) => g.Permission),
        ['FULL_CONTROL', 'WRITE'],
      )
      assert.equal((await c.send(new GetBucketAclCommand({ Bucket: 'acl-enforced' }))).Grants?.length, 1)
      // The world's WRITE grant lets the partner's administrator write.
      await s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: 'acl-open', Key: 'from-partner', Body: 'x' }))
      const exported = exportWorld(s.services) as { buckets: Record<string, unknown>[] }
      const byName = Object.fromEntries(exported.buckets.map((b) => [b.name, b]))
      assert.equal(byName['acl-open']!.objectOwnership, 'ObjectWriter')
      assert.deepEqual(byName['acl-open']!.acl, [{ grantee: PARTNER_ACCOUNT, permission: 'WRITE' }])
      assert.equal(byName['acl-public']!.objectOwnership, 'BucketOwnerPreferred')
      assert.deepEqual(byName['acl-public']!.acl, [{ grantee: 'AllUsers', permission: 'READ' }])
      assert.equal(byName['acl-enforced']!.acl, undefined)
      assert.equal(byName['acl-enforced']!.objectOwnership, undefined)
      // The public-read bucket reads anonymously... through the world's grant.
      await c.send(new PutObjectCommand({ Bucket: 'acl-public', Key: 'p', Body: 'pub', ACL: 'public-read' }))
      const anon = s.client({ accessKeyId: '', secretAccessKey: '' }, 'us-east-1', { signer: { sign: async (r: unknown) => r } })
      assert.equal(await (await anon.send(new GetObjectCommand({ Bucket: 'acl-public', Key: 'p' }))).Body!.transformToString(), 'pub')
    })
  })
})

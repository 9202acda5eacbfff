/**
 * `mrap explain` judges object actions with the object's own ACL, read per routed bucket as the
 * server reads it before authorizing (src/explain/objects.ts), and agrees with real requests: an
 * MRAP over two buckets whose ACLs are enabled (ObjectWriter), each holding its own copy of a key.
 * - `shared`: in both; PutObjectAcl grants the partner account READ on the us-east-1 copy only.
 * - `east-only`: only in us-east-1; the other route answers as S3 does for a missing key: 404
 *   NoSuchKey to a caller that may s3:ListBucket, 403 AccessDenied to one that may not.
 * - `theirs`: written to us-east-1 by the partner account, which owns it; the bucket owner's admin
 *   is refused there ("the bucket owner ... does not have permissions on the objects that other
 *   accounts own", Access control list (ACL) overview).
 * AWS: "Access control list (ACL) overview" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html),
 * PutObjectAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html), GetObject
 * ("If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access
 * Denied error", https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GetObjectCommand, PutObjectAclCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { stringify } from 'yaml'
import { runExplain } from '../../src/cli/explain.js'
import { runLintCli } from '../../src/cli/lint.js'
import type { ExplainResult, RouteResult } from '../../src/explain/evaluate.js'
import { mrapRecord } from '../../src/explain/evaluate.js'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { loadCatalog } from '../../src/policy/index.js'
import { canonicalId } from '../../src/s3/context.js'
import type { World } from '../../src/world/schema.js'
import { PARTNER_ACCOUNT, SEED_ACCOUNT } from '../helpers/accounts.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bytesOf, PARTNER_ADMIN, READER, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const ALIAS = 'aclobjects123.mrap'
const ARN = mrapArnOf(SEED_ACCOUNT, ALIAS)
const EAST = 'acl-objects-east'
const WEST = 'acl-objects-west'
const CALLERS = { '123456789012/admin': ADMIN, '123456789012/reader': READER, '444455556666/partner-admin': PARTNER_ADMIN }

function objectWorld(): World {
  const w = testWorld()
  w.buckets.push(
    // The partner may write here (bucket WRITE), and then owns what it writes (ObjectWriter).
    { name: EAST, region: 'us-east-1', owner: SEED_ACCOUNT, objectOwnership: 'ObjectWriter', acl: [{ grantee: PARTNER_ACCOUNT, permission: 'WRITE' }] },
    {
      name: WEST,
      region: 'eu-west-1',
      owner: SEED_ACCOUNT,
      objectOwnership: 'ObjectWriter',
      // reader may GetObject here, not s3:ListBucket: a missing key is 403 to it.
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ReaderGets', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${SEED_ACCOUNT}:user/reader` }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${WEST}/*` },
        ],
      },
    },
  )
  w.mraps.push({
    name: 'acl-objects',
    alias: ALIAS,
    owner: SEED_ACCOUNT,
    buckets: [EAST, WEST],
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PartnerAndReader',
          Effect: 'Allow',
          Principal: { AWS: [PARTNER_ACCOUNT, `arn:aws:iam::${SEED_ACCOUNT}:user/reader`] },
          Action: 's3:GetObject',
          Resource: `${ARN}/object/*`,
        },
      ],
    },
  })
  return w
}

let s: TestServer
let dir: string
let worldFile: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrap-object-acl-'))
  worldFile = join(dir, 'world.yaml')
  const world = objectWorld()
  writeFileSync(worldFile, stringify(world))
  s = await startTestServer({ world, console: true })
  if (!s.services.mraps.byAlias(ALIAS)) {
    const m = modelFromWorld(world, { source: 'test', catalog: await loadCatalog() }).mraps.find((x) => x.alias === ALIAS)!
    s.services.mraps.put(mrapRecord(m))
  }
  const east = s.client(ADMIN)
  const west = s.client(ADMIN, 'eu-west-1')
  await east.send(new PutObjectCommand({ Bucket: EAST, Key: 'shared', Body: 'east copy' }))
  await west.send(new PutObjectCommand({ Bucket: WEST, Key: 'shared', Body: 'west copy' }))
  // Grant headers replace the whole ACL: the owner's FULL_CONTROL is named again.
  await east.send(new PutObjectAclCommand({ Bucket: EAST, Key: 'shared', GrantFullControl: `id=${canonicalId(SEED_ACCOUNT)}`, GrantRead: `id=${canonicalId(PARTNER_ACCOUNT)}` }))
  await east.send(new PutObjectCommand({ Bucket: EAST, Key: 'east-only', Body: 'only here' }))
  await s.client(PARTNER_ADMIN).send(new PutObjectCommand({ Bucket: EAST, Key: 'theirs', Body: 'partner owns this' }))
  await west.send(new PutObjectCommand({ Bucket: WEST, Key: 'theirs', Body: 'owner owns this' }))
})
after(async () => {
  await s?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** `mrap explain --data-dir` as the CLI runs it (over the admin socket). */
async function explain(
  as: string,
  key: string,
  source: { dataDir: string } | { world: string } = { dataDir: s.dataDir },
  version?: { action: string; versionId?: string },
): Promise<{ result: ExplainResult; text: string }> {
  const q = { ...source, as, action: version?.action ?? 's3:GetObject', mrap: ALIAS, key, ...(version?.versionId !== undefined ? { versionId: version.versionId } : {}) }
  const json = await runExplain({ ...q, json: true }, false)
  return { result: json.results[0]!, text: (await runExplain(q, false)).text }
}

const route = (r: ExplainResult, bucket: string): RouteResult => r.routes.find((x) => x.bucket === bucket)!

/** The real GetObject through the MRAP with only `bucket` active: status and error code. */
async function realGet(
  creds: { accessKeyId: string; secretAccessKey: string },
  bucket: string,
  key: string,
  versionId?: string,
): Promise<{ status: number; code?: string; body?: string }> {
  const m = s.services.mraps.byAlias(ALIAS)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: r.bucket === bucket ? 100 : 0 })) })
  try {
    const out = await proxiedS3Client(s, { creds }).send(new GetObjectCommand({ Bucket: ARN, Key: key, ...(versionId !== undefined ? { VersionId: versionId } : {}) }))
    return { status: 200, body: (await bytesOf(out)).toString() }
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } }
    return { status: err.$metadata?.httpStatusCode ?? 0, code: err.name }
  } finally {
    s.services.mraps.put(m)
  }
}

describe('explain reads each routed copy of the object', () => {
  test('a READ grant on one copy: the partner is allowed on that route (the ACL cell names the grant) and refused on the other', async () => {
    const { result, text } = await explain('partner-admin', 'shared')
    const east = route(result, EAST)
    const west = route(result, WEST)
    assert.deepEqual([east.effect, east.status, east.object], ['Allow', 200, 'stored'])
    assert.deepEqual([east.acl?.result, east.acl?.statement], ['allow', `READ to ${PARTNER_ACCOUNT}`])
    assert.match(east.acl!.detail!, new RegExp(`the ACL stored on shared \\(owner ${SEED_ACCOUNT}\\)`))
    assert.deepEqual([west.effect, west.status, west.code, west.acl?.result], ['ImplicitDeny', 403, 'AccessDenied', 'no-match'])
    assert.match(west.acl!.detail!, /no grant allows this action; shared has the default ACL/)
    assert.match(text, /ACL\s+RESULT/)
    assert.match(text, new RegExp(`${EAST} \\(us-east-1\\).*allow READ to ${PARTNER_ACCOUNT}\\s+allow \\(200\\)`))
    assert.match(text, new RegExp(`${WEST} \\(eu-west-1\\).*403 AccessDenied`))
    assert.deepEqual(await realGet(PARTNER_ADMIN, EAST, 'shared'), { status: 200, body: 'east copy' })
    assert.deepEqual(await realGet(PARTNER_ADMIN, WEST, 'shared'), { status: 403, code: 'AccessDenied' })
  })

  test('a key missing on one route: 404 NoSuchKey to the admin (s3:ListBucket), 403 to reader (no s3:ListBucket), as the real GET answers', async () => {
    const admin = route((await explain('admin', 'east-only')).result, WEST)
    assert.deepEqual([admin.effect, admin.status, admin.code, admin.object], ['Allow', 404, 'NoSuchKey', 'missing'])
    assert.match(admin.why, new RegExp(`no object east-only in bucket ${WEST}: 404 NoSuchKey`))
    assert.match(admin.acl!.detail!, /no object east-only in this bucket \(404 NoSuchKey\)/)
    assert.match((await explain('admin', 'east-only')).text, new RegExp(`allowed through all 2 routes, but the object is missing: ${WEST} answers 404 NoSuchKey\\.`))
    const { result, text } = await explain('reader', 'east-only')
    const reader = route(result, WEST)
    assert.deepEqual([reader.effect, reader.status, reader.code], ['ImplicitDeny', 403, 'AccessDenied'])
    assert.match(reader.why, /s3:ListBucket is not allowed, so S3 answers 403 AccessDenied rather than 404 NoSuchKey/)
    assert.match(text, new RegExp(`${WEST} \\(eu-west-1\\).*403 AccessDenied\n`))
    assert.deepEqual(await realGet(ADMIN, WEST, 'east-only'), { status: 404, code: 'NoSuchKey' })
    assert.deepEqual(await realGet(READER, WEST, 'east-only'), { status: 403, code: 'AccessDenied' })
  })

  test("an object the partner owns: the bucket owner's admin is refused on that route by the object's ACL alone", async () => {
    const { result, text } = await explain('admin', 'theirs')
    const east = route(result, EAST)
    assert.deepEqual([east.effect, east.status, east.code], ['ImplicitDeny', 403, 'AccessDenied'])
    assert.deepEqual([east.acl?.result, east.acl?.blocking, east.acl?.statement], ['no-match', true, `owner ${PARTNER_ACCOUNT}`])
    assert.match(east.why, new RegExp(`the object is owned by ${PARTNER_ACCOUNT} and its ACL grants nothing to ${SEED_ACCOUNT}`))
    assert.equal(route(result, WEST).effect, 'Allow')
    assert.match(text, /ACL\s+RESULT/)
    assert.deepEqual(await realGet(ADMIN, EAST, 'theirs'), { status: 403, code: 'AccessDenied' })
  })

  test('explain agrees with the real GetObject for every caller, key, version and route', async () => {
    // s3:GetObjectVersion reads the version named (`null`: the unversioned buckets' only one; a
    // version id no copy has), as GetObject with VersionId does.
    const versions = [undefined, { action: 's3:GetObjectVersion' }, { action: 's3:GetObjectVersion', versionId: 'no-such-version' }]
    for (const [ref, creds] of Object.entries(CALLERS)) {
      for (const key of ['shared', 'east-only', 'theirs']) {
        for (const v of versions) {
          const { result } = await explain(ref, key, undefined, v)
          for (const r of result.routes) {
            const got = await realGet(creds, r.bucket, key, v ? (v.versionId ?? 'null') : undefined)
            const where = `${ref} ${key} ${v?.action ?? 's3:GetObject'} ${v?.versionId ?? ''} routed to ${r.bucket}: explain says ${r.status} ${r.code ?? ''} (${r.why})`
            assert.equal(got.status, r.status, where)
            if (got.status !== 200) assert.equal(got.code, r.code, where)
          }
        }
      }
    }
  })
})

test("the console's Access page reads the same copies: the ACL cell allows on the granted route, the other row is denied", async () => {
  const c = s.console!
  // The partner's administrator explains itself (the page's rule: iam:SimulatePrincipalPolicy, or oneself).
  const signed = c.sessions.signIn(PARTNER_ADMIN.accessKeyId, PARTNER_ADMIN.secretAccessKey, '', 'test')
  assert.ok(signed.ok)
  const q = new URLSearchParams({ principal: `${PARTNER_ACCOUNT}/partner-admin`, action: 's3:GetObject', target: `mrap:${ALIAS}`, key: 'shared', via: 'internet' })
  const res = await fetch(`${c.url}/access?${q}`, { headers: { cookie: `mrap_console=${signed.entry.session.id}` } })
  assert.equal(res.status, 200)
  const html = await res.text()
  const row = (bucket: string) => html.slice(html.indexOf(`data-bucket="${bucket}"`), html.indexOf('</tr>', html.indexOf(`data-bucket="${bucket}"`)))
  assert.match(row(EAST), /data-col="acl" data-result="allow"/)
  assert.match(row(EAST), /data-effect="Allow"/)
  assert.match(row(WEST), /data-effect="ImplicitDeny"/)
})

describe('models without objects say so', () => {
  test("a world file declares no objects: the routes are judged on the default ACL, and the cell and a note say the object's ACL was not known", async () => {
    const { result, text } = await explain('partner-admin', 'shared', { world: worldFile })
    for (const r of result.routes) {
      assert.equal(r.object, 'unknown')
      assert.equal(r.effect, 'ImplicitDeny')
      assert.match(r.acl!.detail!, /the object's ACL is not known \(.*world\.yaml is a world file, which declares no objects\): judged as the default ACL/)
    }
    assert.ok(result.notes.some((n) => /the ACL of shared is not known on acl-objects-east, acl-objects-west/.test(n)))
    assert.match(text, /acl: no grant allows this action; the object's ACL is not known/)
  })

  test('lint: a route finding on buckets with ACLs enabled says it holds for objects whose ACL grants only their owner', async () => {
    const out = await runLintCli({ world: worldFile, format: 'json', time: '2025-01-01T00:00:00Z' }, false)
    const findings = JSON.parse(out.text).findings as { rule: string; message: string }[]
    const f = findings.find((x) => x.rule === 'route-inconsistent' && x.message.includes('MRAP acl-objects') && x.message.includes('s3:GetObject'))
    assert.ok(f, out.text)
    assert.match(f.message, /This holds for objects whose ACL grants no one but their owner: acl-objects-east, acl-objects-west have ACLs enabled/)
  })
})

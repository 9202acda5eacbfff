/**
 * `mrap explain --data-dir --key` answers, on every routed bucket (ACLs enabled or not), what the
 * real request answers when the bucket has no such object (src/explain/objects.ts readsVersion): an
 * MRAP over two BucketOwnerEnforced buckets (ACLs disabled, S3's default), the key in one only.
 * - GetObject, HeadObject (findVersion): 404 NoSuchKey to a caller that may s3:ListBucket (admin),
 *   403 AccessDenied to one that may not (reader): "If you don't have the s3:ListBucket permission,
 *   Amazon S3 returns an HTTP status code 403 Access Denied error" (GetObject,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html; HeadObject,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 * - GetObjectTagging, PutObjectTagging: the store's answer, 404 NoSuchKey (NoSuchVersion for a
 *   version id the bucket lacks) whatever s3:ListBucket says, as mrap's src/s3/ops/tagging.ts reads
 *   the version (GetObjectTagging, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html).
 * A refused request stays refused; a world file (no objects) is judged as before.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3'
import { stringify } from 'yaml'
import { runExplain } from '../../src/cli/explain.js'
import type { ExplainResult, RouteResult } from '../../src/explain/evaluate.js'
import { mrapRecord } from '../../src/explain/evaluate.js'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { loadCatalog } from '../../src/policy/index.js'
import type { World } from '../../src/world/schema.js'
import { SEED_ACCOUNT } from '../helpers/accounts.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bytesOf, READER, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const ALIAS = 'missingobject.mrap'
const ARN = mrapArnOf(SEED_ACCOUNT, ALIAS)
const EAST = 'missing-objects-east'
const WEST = 'missing-objects-west'
const CALLERS = { '123456789012/admin': ADMIN, '123456789012/reader': READER }
const READER_ARN = `arn:aws:iam::${SEED_ACCOUNT}:user/reader`
/** reader may read objects and their tags, never s3:ListBucket nor write tags. */
const READER_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']

function readerPolicy(bucket: string) {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'ReaderReads', Effect: 'Allow', Principal: { AWS: READER_ARN }, Action: READER_ACTIONS, Resource: `arn:aws:s3:::${bucket}/*` }],
  }
}

function missingWorld(): World {
  const w = testWorld()
  // No objectOwnership: BucketOwnerEnforced, the default; the object's ACL takes no part.
  w.buckets.push(
    { name: EAST, region: 'us-east-1', owner: SEED_ACCOUNT, policy: readerPolicy(EAST) },
    { name: WEST, region: 'eu-west-1', owner: SEED_ACCOUNT, policy: readerPolicy(WEST) },
  )
  w.mraps.push({
    name: 'missing-objects',
    alias: ALIAS,
    owner: SEED_ACCOUNT,
    buckets: [EAST, WEST],
    policy: { Version: '2012-10-17', Statement: [{ Sid: 'Reader', Effect: 'Allow', Principal: { AWS: READER_ARN }, Action: READER_ACTIONS, Resource: `${ARN}/object/*` }] },
  })
  return w
}

let s: TestServer
let dir: string
let worldFile: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrap-missing-object-'))
  worldFile = join(dir, 'world.yaml')
  const world = missingWorld()
  writeFileSync(worldFile, stringify(world))
  s = await startTestServer({ world, console: true })
  if (!s.services.mraps.byAlias(ALIAS)) {
    const m = modelFromWorld(world, { source: 'test', catalog: await loadCatalog() }).mraps.find((x) => x.alias === ALIAS)!
    s.services.mraps.put(mrapRecord(m))
  }
  await s.client(ADMIN).send(new PutObjectCommand({ Bucket: EAST, Key: 'east-only', Body: 'only here', Tagging: 'a=1' }))
})
after(async () => {
  await s?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function explain(as: string, action: string, opts: { versionId?: string; world?: boolean } = {}): Promise<{ result: ExplainResult; text: string }> {
  const q = {
    ...(opts.world ? { world: worldFile } : { dataDir: s.dataDir }),
    as,
    action,
    mrap: ALIAS,
    key: 'east-only',
    ...(opts.versionId !== undefined ? { versionId: opts.versionId } : {}),
  }
  const json = await runExplain({ ...q, json: true }, false)
  return { result: json.results[0]!, text: (await runExplain(q, false)).text }
}

const route = (r: ExplainResult, bucket: string): RouteResult => r.routes.find((x) => x.bucket === bucket)!

type Call = 'GetObject' | 'HeadObject' | 'GetObjectTagging' | 'PutObjectTagging'

/** The real request through the MRAP with only `bucket` active: its status and error name. */
async function real(creds: { accessKeyId: string; secretAccessKey: string }, call: Call, bucket: string, versionId?: string): Promise<{ status: number; code?: string }> {
  const m = s.services.mraps.byAlias(ALIAS)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: r.bucket === bucket ? 100 : 0 })) })
  const c = proxiedS3Client(s, { creds })
  const where = { Bucket: ARN, Key: 'east-only', ...(versionId !== undefined ? { VersionId: versionId } : {}) }
  try {
    if (call === 'GetObject') await bytesOf(await c.send(new GetObjectCommand(where)))
    else if (call === 'HeadObject') await c.send(new HeadObjectCommand(where))
    else if (call === 'GetObjectTagging') await c.send(new GetObjectTaggingCommand(where))
    else await c.send(new PutObjectTaggingCommand({ ...where, Tagging: { TagSet: [{ Key: 'a', Value: '1' }] } }))
    return { status: 200 }
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } }
    return { status: err.$metadata?.httpStatusCode ?? 0, code: err.name }
  } finally {
    c.destroy()
    s.services.mraps.put(m)
  }
}

/** Each real call, the action explain is asked for it, and the version id it names. */
const CASES: { call: Call; action: string; versionId?: string }[] = [
  { call: 'GetObject', action: 's3:GetObject' },
  { call: 'HeadObject', action: 's3:GetObject' },
  { call: 'GetObjectTagging', action: 's3:GetObjectTagging' },
  { call: 'PutObjectTagging', action: 's3:PutObjectTagging' },
  { call: 'GetObject', action: 's3:GetObjectVersion', versionId: 'null' },
  { call: 'GetObjectTagging', action: 's3:GetObjectVersionTagging', versionId: 'null' },
  { call: 'GetObjectTagging', action: 's3:GetObjectVersionTagging', versionId: 'no-such-version' },
]

describe('a key missing on one route of BucketOwnerEnforced buckets', () => {
  test('GetObject: 404 NoSuchKey to the admin (s3:ListBucket), 403 AccessDenied to reader, on the route without the key', async () => {
    const { result: a, text } = await explain('admin', 's3:GetObject')
    assert.deepEqual([route(a, EAST).effect, route(a, EAST).status, route(a, EAST).object], ['Allow', 200, 'stored'])
    const w = route(a, WEST)
    assert.deepEqual([w.effect, w.status, w.code, w.object, w.acl], ['Allow', 404, 'NoSuchKey', 'missing', undefined])
    assert.match(w.why, new RegExp(`no object east-only in bucket ${WEST}: 404 NoSuchKey`))
    assert.match(text, new RegExp(`allowed through all 2 routes, but the object is missing: ${WEST} answers 404 NoSuchKey\\.`))
    const r = route((await explain('reader', 's3:GetObject')).result, WEST)
    assert.deepEqual([r.effect, r.status, r.code], ['ImplicitDeny', 403, 'AccessDenied'])
    assert.match(r.why, /s3:ListBucket is not allowed, so S3 answers 403 AccessDenied rather than 404 NoSuchKey/)
    assert.deepEqual(await real(ADMIN, 'GetObject', WEST), { status: 404, code: 'NoSuchKey' })
    assert.deepEqual(await real(READER, 'GetObject', WEST), { status: 403, code: 'AccessDenied' })
  })

  test('GetObjectTagging: 404 NoSuchKey to both callers (the tagging read does not hide a missing key)', async () => {
    for (const [ref, creds] of Object.entries(CALLERS)) {
      const w = route((await explain(ref, 's3:GetObjectTagging')).result, WEST)
      assert.deepEqual([w.effect, w.status, w.code], ['Allow', 404, 'NoSuchKey'], ref)
      assert.deepEqual(await real(creds, 'GetObjectTagging', WEST), { status: 404, code: 'NoSuchKey' }, ref)
    }
  })

  test('a refused request stays refused: reader may not PutObjectTagging on either route', async () => {
    const { result } = await explain('reader', 's3:PutObjectTagging')
    for (const r of result.routes) assert.deepEqual([r.effect, r.status, r.code], ['ImplicitDeny', 403, 'AccessDenied'], r.bucket)
    assert.equal(route(result, WEST).why.includes('no object'), false)
  })

  test('explain agrees with the real request for every caller, call, version and route', async () => {
    for (const [ref, creds] of Object.entries(CALLERS)) {
      for (const c of CASES) {
        const { result } = await explain(ref, c.action, c.versionId !== undefined ? { versionId: c.versionId } : {})
        for (const r of result.routes) {
          const got = await real(creds, c.call, r.bucket, c.versionId)
          const where = `${ref} ${c.call} (${c.action} ${c.versionId ?? ''}) routed to ${r.bucket}: explain says ${r.status} ${r.code ?? ''} (${r.why})`
          assert.equal(got.status, r.status, where)
          // HEAD answers carry no body, so no error code to compare.
          if (got.status !== 200 && c.call !== 'HeadObject') assert.equal(got.code, r.code, where)
        }
      }
    }
  })
})

test('a world file declares no objects: BucketOwnerEnforced routes are judged as before, allowed (200)', async () => {
  const { result } = await explain('admin', 's3:GetObject', { world: true })
  for (const r of result.routes) assert.deepEqual([r.effect, r.status, r.object], ['Allow', 200, undefined], r.bucket)
})

test("the console's Access page reads the same copies: the route without the key answers 404 NoSuchKey to the admin", async () => {
  const c = s.console!
  const signed = c.sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
  assert.ok(signed.ok)
  const q = new URLSearchParams({ principal: `${SEED_ACCOUNT}/admin`, action: 's3:GetObject', target: `mrap:${ALIAS}`, key: 'east-only', via: 'internet' })
  const res = await fetch(`${c.url}/access?${q}`, { headers: { cookie: `mrap_console=${signed.entry.session.id}` } })
  assert.equal(res.status, 200)
  const html = await res.text()
  const row = (bucket: string) => html.slice(html.indexOf(`data-bucket="${bucket}"`), html.indexOf('</tr>', html.indexOf(`data-bucket="${bucket}"`)))
  assert.match(row(WEST), /data-col="result" data-effect="Allow"/)
  assert.match(row(WEST), /\(404 NoSuchKey\)/)
  assert.doesNotMatch(row(EAST), /NoSuchKey/)
})

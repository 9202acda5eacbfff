/**
 * `mrap explain` agrees with what the server answers. An in-process server runs the seed world;
 * explain reads its state over the admin socket (`explain.model`, as `mrap explain --data-dir`
 * does); then for each principal and each bucket of the seed MRAP, the MRAP's routes are set so
 * that bucket is the only active one, the real request is sent (JS SDK, SigV4A, through the
 * internet proxy), and the server's status is compared with explain's decision for that route.
 * The VPC path is not covered here: it needs the VPC proxy of the network model.
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { adminRequest } from '../../src/admin/client.js'
import { type ExplainResult, explainRequest, mrapRecord } from '../../src/explain/evaluate.js'
import { modelFromWorld } from '../../src/explain/from-world.js'
import type { AuthzModel } from '../../src/explain/model.js'
import { type Catalog, loadCatalog } from '../../src/policy/index.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from '../../src/world/load.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, PARTNER, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ALIAS = 'mfzwi23gnjvgw.mrap'
const ARN = mrapArnOf(OWNER, ALIAS)
const CALLERS = { '123456789012/admin': ADMIN, '123456789012/reader': READER, '444455556666/partner': PARTNER }

let s: TestServer
let catalog: Catalog
let model: AuthzModel

before(async () => {
  catalog = await loadCatalog()
  s = await startTestServer()
  if (!s.services.mraps.byAlias(ALIAS)) {
    // The seed's MRAP as the world declares it (for servers whose world apply does not create MRAPs).
    const seed = modelFromWorld(loadWorldFile(DEFAULT_WORLD_FILE), { source: 'seed', catalog })
    s.services.mraps.put(mrapRecord(seed.mraps[0]!))
  }
  const admin = s.client(ADMIN)
  await admin.send(new PutObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1', Key: 'k', Body: 'one' }))
  await s.client(ADMIN, 'eu-west-1').send(new PutObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET2', Key: 'k', Body: 'two' }))
  model = (await adminRequest(s.dataDir, { op: 'explain.model' })).model as AuthzModel
})
after(async () => {
  await s.stop()
})

function onlyActive(bucket: string): void {
  const m = s.services.mraps.byAlias(ALIAS)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: r.bucket === bucket ? 100 : 0 })) })
}

async function serverStatus(creds: { accessKeyId: string; secretAccessKey: string }): Promise<{ status: number; requestId?: string | undefined }> {
  try {
    const out = await proxiedS3Client(s, { creds }).send(new GetObjectCommand({ Bucket: ARN, Key: 'k' }))
    await out.Body?.transformToString()
    return { status: 200 }
  } catch (e) {
    const err = e as { $metadata?: { httpStatusCode?: number; requestId?: string } }
    return { status: err.$metadata?.httpStatusCode ?? 0, requestId: err.$metadata?.requestId }
  }
}

test('the server model holds the seed: principals, both buckets (BUCKET1 without its refused policy), the MRAP', () => {
  assert.deepEqual(
    model.principals
      .map((p) => p.ref)
      .filter((r) => r in CALLERS)
      .sort(),
    Object.keys(CALLERS).sort(),
  )
  assert.equal(model.buckets.find((b) => b.name === 'DOC-EXAMPLE-BUCKET1')?.policy, undefined)
  assert.ok(model.buckets.find((b) => b.name === 'DOC-EXAMPLE-BUCKET2')?.policy)
  assert.equal(model.mraps.find((m) => m.alias === ALIAS)?.routes.length, 2)
})

for (const [ref, creds] of Object.entries(CALLERS)) {
  test(`explain agrees with the server for ${ref} on every route (internet)`, async () => {
    const r: ExplainResult = explainRequest(model, catalog, { as: ref, action: 's3:GetObject', mrap: ALIAS, key: 'k', timeMs: Date.now() })
    const m = s.services.mraps.byAlias(ALIAS)!
    try {
      for (const route of r.routes) {
        onlyActive(route.bucket)
        const got = await serverStatus(creds)
        assert.equal(got.status, route.status, `${ref} routed to ${route.bucket}: explain says ${route.status} (${route.why}), the server answered ${got.status}`)
        if (got.status === 403) {
          // The server remembers the denial; --request-id replays it to the same decision.
          assert.ok(got.requestId, 'the 403 carries a request id')
          const replay = (await adminRequest(s.dataDir, { op: 'explain.request', requestId: got.requestId! })).result as ExplainResult
          assert.equal(replay.routes[0]!.bucket, route.bucket)
          assert.equal(replay.routes[0]!.effect, route.effect)
          assert.deepEqual(replay.routes[0]!.cells, route.cells)
        }
      }
    } finally {
      s.services.mraps.put(m)
    }
    // The seed page's table (docs/aws/authorization.md) from the internet: admin everywhere; reader and partner only through BUCKET2.
    const expected = ref.endsWith('/admin') ? [200, 200] : [403, 200]
    assert.deepEqual(
      r.routes.map((x) => x.status),
      expected,
    )
  })
}

test('an unknown request id is refused with a clear message', async () => {
  await assert.rejects(adminRequest(s.dataDir, { op: 'explain.request', requestId: 'NOSUCHREQUEST' }), /no decision recorded for request id NOSUCHREQUEST/)
})

/**
 * The active/passive story with examples/active-passive.yaml: two regions behind one MRAP, us-west-2
 * passive; writes go to us-east-1 and replicate to the standby. us-east-1's storage fails; the
 * operator fails over with SubmitMultiRegionAccessPointRoutes; writes continue in us-west-2 (PENDING
 * while us-east-1 is down); when us-east-1 comes back its backlog drains and both buckets converge.
 */

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3'
import { SubmitMultiRegionAccessPointRoutesCommand } from '@aws-sdk/client-s3-control'
import { applyWorldMraps } from '../../src/control/world.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from '../../src/world/load.js'
import { controlClient } from '../control/helpers.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitFor } from './helpers.js'

const ACCOUNT = '111122223333'
const APP_ADMIN = { accessKeyId: 'AKIAAPADMIN00EXAMPLE', secretAccessKey: 'aPaDmIn/K7MDENG/bPxRfiCYEXAMPLEKEY0000' }
const PRIMARY = 'app-primary-use1',
  STANDBY = 'app-standby-usw2'

let s: TestServer
let arn: string

before(async () => {
  const world = loadWorldFile(join(DEFAULT_WORLD_FILE, '..', 'active-passive.yaml'))
  s = await startTestServer({ world })
  // Whichever component applies world MRAPs at start, the example's MRAP must exist.
  if (!s.services.mraps.byName(ACCOUNT, 'app-mrap')) applyWorldMraps(s.services, world.mraps)
  const m = s.services.mraps.byName(ACCOUNT, 'app-mrap')!
  arn = mrapArnOf(ACCOUNT, m.alias)
})
after(async () => {
  await s.stop()
})

async function routes(active: string, passive: string): Promise<void> {
  const c = controlClient(s, APP_ADMIN, 'us-west-2')
  await c.send(
    new SubmitMultiRegionAccessPointRoutesCommand({
      AccountId: ACCOUNT,
      Mrap: arn,
      RouteUpdates: [
        { Region: active, TrafficDialPercentage: 100 },
        { Region: passive, TrafficDialPercentage: 0 },
      ],
    }),
  )
}

const status = async (bucket: string, key: string): Promise<string | undefined> => {
  const st = s.services.stores.get(s.services.state.getBucket(bucket)!.region)!
  return (await st.getObject(bucket, key)).version.replicationStatus
}

test('fail over to the passive region, keep writing, fail back: both buckets converge', { timeout: 60_000 }, async () => {
  assert.match(s.services.state.getBucket(PRIMARY)?.replication ?? '', /app-standby-usw2/, 'the world declares replication')
  await routes('us-east-1', 'us-west-2')
  const c = proxiedS3Client(s, { creds: APP_ADMIN })
  const before = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'orders/1', Body: 'first' }))
  await waitFor('orders/1 replicated', async () => (await status(PRIMARY, 'orders/1')) === 'COMPLETED')
  assert.equal(await status(STANDBY, 'orders/1'), 'REPLICA')

  // us-east-1's storage fails; the operator fails over.
  const east = s.services.stores.get('us-east-1')!
  east.setAvailable!(false)
  s.services.health.markDown('us-east-1')
  await routes('us-west-2', 'us-east-1')
  const during = await c.send(new PutObjectCommand({ Bucket: arn, Key: 'orders/2', Body: 'during the outage' }))
  await c.send(new PutObjectTaggingCommand({ Bucket: arn, Key: 'orders/1', Tagging: { TagSet: [{ Key: 'state', Value: 'shipped' }] } }))
  assert.equal(await status(STANDBY, 'orders/2'), 'PENDING')
  const got = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'orders/1' }))
  assert.equal(await got.Body!.transformToString(), 'first', 'the standby serves what was replicated before the outage')
  assert.ok(s.replication.snapshot().backlogOperations >= 2)

  // us-east-1 returns (the health probe sees it) and rejoins; the backlog drains; fail back.
  east.setAvailable!(true)
  await s.services.health.probe()
  await waitFor('orders/2 replicated back', async () => (await status(STANDBY, 'orders/2')) === 'COMPLETED')
  await s.replication.idle()
  await routes('us-east-1', 'us-west-2')
  const r2 = await c.send(new GetObjectCommand({ Bucket: arn, Key: 'orders/2' }))
  assert.equal(await r2.Body!.transformToString(), 'during the outage')
  assert.equal(r2.VersionId, during.VersionId)
  assert.equal(r2.ReplicationStatus, 'REPLICA')
  const tags = await c.send(new GetObjectTaggingCommand({ Bucket: arn, Key: 'orders/1' }))
  assert.deepEqual(tags.TagSet, [{ Key: 'state', Value: 'shipped' }], 'the tag change on the replica came back (replica modification sync)')
  const h = await c.send(new HeadObjectCommand({ Bucket: arn, Key: 'orders/1' }))
  assert.equal(h.VersionId, before.VersionId)
  for (const b of [PRIMARY, STANDBY]) {
    const st = s.services.stores.get(s.services.state.getBucket(b)!.region)!
    const vs = await st.listVersions(b, { maxKeys: 100 })
    assert.deepEqual(vs.versions.map((v) => `${v.key}@${v.versionId}`).sort(), [`orders/1@${before.VersionId}`, `orders/2@${during.VersionId}`].sort(), b)
  }
  assert.equal(s.replication.snapshot().backlogOperations, 0)
})

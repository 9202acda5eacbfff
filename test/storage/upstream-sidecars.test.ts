/**
 * The two homes of the upstream sidecar (SQLite for one node, PostgreSQL for a fleet) answer a
 * listing page's look-ups alike: `byEtags` gives every row of a (key, engine ETag), so a key whose
 * same bytes were written twice in a versioned bucket shows both (src/storage/upstream/current-row.ts
 * then asks the engine which is current), and `versions` one row per (key, engine version id).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { migrate } from '../../src/state/postgres/schema.js'
import { PgSidecar } from '../../src/storage/upstream/pg-sidecar.js'
import { type Sidecar, SqliteSidecar, type VersionRow } from '../../src/storage/upstream/sidecar.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'

let cluster: PgCluster
let pool: pg.Pool
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrap-sidecars-'))
  cluster = await startPostgres('sidecars')
  pool = new pg.Pool({ ...cluster.config, max: 2 })
  await migrate(pool)
})
after(async () => {
  await pool?.end()
  await cluster?.destroy()
  rmSync(dir, { recursive: true, force: true })
})

const row = (key: string, engineVid: string, engineEtag: string, owner?: string): VersionRow => ({
  bucket: 'b',
  key,
  engineVid,
  engineEtag,
  mrapVid: null,
  lastModifiedMs: null,
  isMarker: false,
  attrs: owner ? { userMetadata: {}, tags: [], acl: { owner, grants: [] } } : null,
  digests: { etag: engineEtag, checksums: {} },
})

async function check(side: Sidecar): Promise<void> {
  await side.putVersion(row('same', 'v1', 'e1', '444455556666'))
  await side.putVersion(row('same', 'v2', 'e1'))
  await side.putVersion(row('other', 'v3', 'e2', '444455556666'))
  const found = await side.byEtags('b', [
    ['same', 'e1'],
    ['none', 'e1'],
    ['other', 'e2'],
    ['other', 'e1'],
  ])
  assert.deepEqual(
    found.map((rows) => rows.map((r) => [r.engineVid, r.attrs?.acl?.owner ?? null]).sort()),
    [
      [
        ['v1', '444455556666'],
        ['v2', null],
      ],
      [],
      [['v3', '444455556666']],
      [],
    ],
  )
  assert.deepEqual(await side.byEtags('b', []), [])
  const byVid = await side.versions('b', [
    ['same', 'v2'],
    ['same', 'v9'],
    ['same', 'v1'],
  ])
  assert.deepEqual(
    byVid.map((r) => r?.engineVid),
    ['v2', undefined, 'v1'],
  )
}

test('SQLite sidecar: byEtags gives every row of a (key, ETag), versions one per version id', async () => {
  const side = new SqliteSidecar(join(dir, 'upstream.db'))
  try {
    await check(side)
  } finally {
    await side.close()
  }
})

test('PostgreSQL sidecar: the same answers in one query per page', async () => {
  await check(new PgSidecar(pool, 'us-east-1'))
})

/**
 * Upstream store on a real Ceph RGW, seen through a counting pass-through HTTP proxy: how many
 * engine requests each client-level call costs (issue 16, speed). A small PUT is one PUT (its
 * Last-Modified comes from the engine's Date headers, src/storage/upstream/clock.ts, not from a
 * HEAD after the write), a whole GET of a large object is one GET, a small GET is one GET; and
 * the Last-Modified a PUT answers is the one every later read shows, also across second
 * boundaries. S3 behaviour relied on: Last-Modified is "the date the object was last modified"
 * at one-second resolution in HTTP responses (Amazon S3 API Reference, "HeadObject",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { attrs, bytes, failingBody, freshBucket, put, readAll } from '../../src/storage/contract/helpers.js'
import { UpstreamObjectStore } from '../../src/storage/upstream/upstream-object-store.js'
import { type CephCluster, startCeph } from '../helpers/ceph.js'

const MiB = 1024 * 1024
const state = mkdtempSync(join(tmpdir(), 'mrap-upstream-requests-'))
let ceph: CephCluster
let proxy: Server
let store: UpstreamObjectStore
const seen: string[] = []

before(async () => {
  ceph = await startCeph('requests')
  // Forwards each request as it came (Host included, so RGW checks the signature mrap made).
  proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const up = request({ host: '127.0.0.1', port: ceph.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    // A party on the path to an http:// engine: alters a PUT body, same length, for keys named so.
    if (req.method === 'PUT' && req.url?.includes('tamper'))
      req
        .on('data', (c: Buffer) => {
          up.write(Buffer.from(c).fill(0x5a, 0, 1))
        })
        .on('end', () => up.end())
    else req.pipe(up)
  })
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok))
  const port = (proxy.address() as { port: number }).port
  store = new UpstreamObjectStore({ region: 'eu-west-1', engine: { ...ceph.config(), endpoint: `http://127.0.0.1:${port}` }, stateDir: state })
  await store.open()
})
after(async () => {
  await store?.close()
  proxy?.close()
  await ceph?.down()
  rmSync(state, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const count = async (fn: () => Promise<unknown>): Promise<string[]> => {
  const from = seen.length
  await fn()
  return seen.slice(from)
}

test('PUT answers the Last-Modified later reads show, and a small PUT is one engine request once the clock is known', async () => {
  const b = freshBucket()
  await put(store, b, 'warm', 'x') // creates the engine bucket
  // Writes spread over 2.5 s: their answers' Date headers cross second boundaries at varied phases.
  let puts = 0
  let requests = 0
  for (let i = 0; i < 50; i++) {
    const key = `k${i % 5}`
    const calls = await count(async () => {
      const v = await put(store, b, key, bytes(1024, i))
      const got = await store.getObject(b, key)
      assert.equal(
        got.version.lastModified.getTime(),
        v.lastModified.getTime(),
        `PUT ${i} answered ${v.lastModified.toISOString()}, the engine shows ${got.version.lastModified.toISOString()}`,
      )
    })
    if (i >= 10) {
      puts++
      requests += calls.filter((c) => !c.startsWith('GET')).length
    }
    await sleep(50)
  }
  // A HEAD is still asked when a write's window comes within clock.ts's margin of a second
  // boundary: ~5% of writes on a quiet loopback, so at most 15% here, never one per write.
  assert.ok(requests <= puts + Math.ceil(puts * 0.15), `${requests} engine requests for ${puts} PUTs`)
})

test('a whole GET of a large object is one engine GET; a small GET is one too', async () => {
  const b = freshBucket()
  const big = bytes(MiB, 7)
  await put(store, b, 'big', big)
  await put(store, b, 'small', bytes(1024, 8))
  let body: Buffer | undefined
  const bigCalls = await count(async () => {
    const r = await store.getObject(b, 'big', undefined, { readWhole: true })
    body = await readAll(r.open())
  })
  assert.ok(body!.equals(big))
  assert.deepEqual(
    bigCalls.map((c) => c.split(' ')[0]),
    ['GET'],
  )
  const smallCalls = await count(async () => {
    const r = await store.getObject(b, 'small')
    assert.equal(r.inline?.length, 1024)
  })
  assert.deepEqual(
    smallCalls.map((c) => c.split(' ')[0]),
    ['GET'],
  )
})

test('a whole GET opened again, after an overwrite, still reads exactly the version found', async () => {
  const b = freshBucket()
  const old = bytes(MiB, 9)
  await put(store, b, 'k', old, { versioning: 'Enabled' })
  const r = await store.getObject(b, 'k', undefined, { readWhole: true })
  assert.ok((await readAll(r.open())).equals(old))
  // A second open fetches again, pinned to the version found, after an overwrite too.
  await put(store, b, 'k', bytes(MiB, 10), { versioning: 'Enabled' })
  assert.ok((await readAll(r.open({ start: 10, end: 99 }))).equals(old.subarray(10, 100)))
  assert.ok((await readAll(r.open())).equals(old))
})

test('a second open after an unversioned overwrite fails to its reader, never as an uncaught error', async () => {
  const b = freshBucket()
  const old = bytes(MiB, 11)
  await put(store, b, 'k', old)
  const r = await store.getObject(b, 'k', undefined, { readWhole: true })
  assert.ok((await readAll(r.open())).equals(old))
  await put(store, b, 'k', bytes(MiB, 12))
  const second = r.open()
  // The engine answers the re-fetch (412: the ETag found is gone) before anyone reads.
  await sleep(300)
  await assert.rejects(readAll(second), (e: { code?: string }) => e.code === 'PreconditionFailed')
})

test('a client body that fails mid-stream aborts the engine PUT without marking the region down', async () => {
  const b = freshBucket()
  await put(store, b, 'keep', 'old')
  await assert.rejects(
    store.putObject({
      bucket: b,
      key: 'k',
      versioning: 'Unversioned',
      attributes: attrs(),
      size: MiB,
      body: failingBody(bytes(200_000, 13)),
      finalize: () => ({ etag: 'x', checksums: {} }),
    }),
    /client disconnected/,
  )
  // listUploads answers from mrap's records only while the engine is not known down.
  assert.deepEqual((await store.listUploads(b, { maxUploads: 10 })).uploads, [])
  assert.equal(await store.healthy(), true)
})

test('a part body that fails mid-stream aborts the engine UploadPart without marking the region down', async () => {
  const b = freshBucket()
  await put(store, b, 'keep', 'old')
  const up = await store.createUpload({ bucket: b, key: 'mp', attributes: attrs() })
  await assert.rejects(
    store.uploadPart({
      bucket: b,
      uploadId: up.uploadId,
      partNumber: 1,
      size: 6 * MiB,
      body: failingBody(bytes(200_000, 14)),
      finalize: () => ({ etag: 'x', checksums: {} }),
    }),
    /client disconnected/,
  )
  assert.equal((await store.listUploads(b, { maxUploads: 10 })).uploads.length, 1)
  await store.abortUpload(b, up.uploadId)
})

test('a small PUT body is signed with its hash: one altered on the way to the engine is refused, not stored', async () => {
  const b = freshBucket()
  await put(store, b, 'keep', 'old')
  await assert.rejects(put(store, b, 'tamper', bytes(1024, 15)))
  await assert.rejects(store.getObject(b, 'tamper'), (e: { code?: string }) => e.code === 'NoSuchKey')
})

test('while object requests are answered, the health check asks the engine nothing more; idle, it probes', async () => {
  const b = freshBucket()
  await put(store, b, 'health', 'x')
  await store.healthy()
  await sleep(300) // past the probe's own 250 ms memo
  const busy = await count(async () => {
    await readAll((await store.getObject(b, 'health')).open())
    assert.equal(await store.healthy(), true)
  })
  assert.deepEqual(
    busy.filter((c) => c.includes('ListBuckets')),
    [],
    busy.join(', '),
  )
  await sleep(300)
  const idle = await count(async () => {
    assert.equal(await store.healthy(), true)
  })
  assert.equal(idle.filter((c) => c.includes('ListBuckets')).length, 1, idle.join(', '))
})

test('a listing page is one engine request; only a key whose same bytes have two sidecar rows costs a HEAD more', async () => {
  const b = freshBucket()
  const v = { versioning: 'Enabled' as const }
  const acl = (owner: string) => attrs({ acl: { owner, grants: [{ grantee: { account: owner }, permission: 'FULL_CONTROL' as const }] } })
  await put(store, b, 'plain', 'p', v)
  await put(store, b, 'big', bytes(200 * 1024, 3), v) // a sidecar row for its digests
  await put(store, b, 'theirs', 'x', { ...v, attributes: acl('444455556666') })
  const ordinary = await count(() => store.listObjects(b, { maxKeys: 100 }))
  assert.deepEqual(
    ordinary.map((c) => c.split(' ')[0]),
    ['GET'],
  )
  // The same bytes again by a writer with no ACL of its own: a second row for one (key, ETag).
  await put(store, b, 'theirs', 'x', v)
  let owners: (string | undefined)[] = []
  const twice = await count(async () => {
    owners = (await store.listObjects(b, { maxKeys: 100 })).objects.map((o) => o.acl?.owner)
  })
  assert.deepEqual(
    twice.map((c) => c.split(' ')[0]),
    ['GET', 'HEAD'],
  )
  assert.deepEqual(owners, [undefined, undefined, undefined], 'big, plain, and the rewritten theirs: no ACL, the bucket owner’s')
})

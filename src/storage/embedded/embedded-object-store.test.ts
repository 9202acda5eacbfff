/**
 * @module The embedded store against the shared contract, plus what only it promises: no key
 * becomes a path, crash leftovers are swept on open, and acknowledged writes survive kill -9.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bodyOf, bytes, getBytes, put } from '../contract/helpers.js'
import { runObjectStoreContract } from '../contract/object-store.contract.js'
import { CRASH_BUCKET, contentFor, sha256hex } from './crash-workload.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-embedded-'))
after(() => rmSync(root, { recursive: true, force: true }))

runObjectStoreContract('embedded', () => new EmbeddedObjectStore({ region: 'test-1', dir: join(root, 'contract') }))
runObjectStoreContract('embedded, nothing inline', () => new EmbeddedObjectStore({ region: 'test-2', dir: join(root, 'no-inline'), inlineThreshold: -1 }))

function blobFilesIn(dir: string): string[] {
  const blobs = join(dir, 'blobs')
  return readdirSync(blobs).flatMap((sub) => readdirSync(join(blobs, sub)))
}

const attrs = { userMetadata: {}, tags: [] }

describe('embedded store specifics', () => {
  test('open() wipes tmp/ and sweeps unreferenced blobs, keeping referenced ones', async () => {
    const dir = join(root, 'sweep')
    const s = new EmbeddedObjectStore({ region: 'r', dir })
    await s.open()
    await put(s, 'b', 'big', bytes(200_000))
    await put(s, 'b', 'small', 'inline')
    const up = await s.createUpload({ bucket: 'b', key: 'mp', attributes: attrs })
    await s.uploadPart({ bucket: 'b', uploadId: up.uploadId, partNumber: 1, body: bodyOf('part'), finalize: () => ({ etag: 'p', checksums: {} }) })
    await s.close()
    const kept = blobFilesIn(dir)
    assert.equal(kept.length, 2, 'one file object, one part; the small object is inline')
    writeFileSync(join(dir, 'tmp', 'half-written'), 'x')
    writeFileSync(join(dir, 'blobs', 'ab', 'ab0123456789abcdef0123456789abcd'), 'orphan')
    await s.open()
    assert.deepEqual(readdirSync(join(dir, 'tmp')), [])
    assert.deepEqual(blobFilesIn(dir).sort(), [...kept].sort())
    assert.deepEqual([...s.referencedBlobs()].sort(), [...kept].sort())
    assert.ok((await getBytes(s, 'b', 'big')).bytes.equals(bytes(200_000)))
    assert.equal((await getBytes(s, 'b', 'small')).bytes.toString(), 'inline')
    assert.equal((await s.listParts('b', up.uploadId, { maxParts: 10 })).parts.length, 1)
    await s.close()
  })

  test('keys never name files; deletes and overwrites leave no garbage', async () => {
    const dir = join(root, 'paths')
    const s = new EmbeddedObjectStore({ region: 'r', dir, inlineThreshold: 0 })
    await s.open()
    for (const key of ['../../escape', '/etc/passwd', 'a/../../../b', '..\\..\\win']) await put(s, 'b', key, 'data')
    assert.deepEqual(readdirSync(dir).sort(), ['blobs', 'meta.db', 'meta.db-shm', 'meta.db-wal', 'sealing.key', 'tmp'])
    assert.ok(blobFilesIn(dir).every((f) => /^[0-9a-f]{32}$/.test(f)))
    await put(s, 'b', '../../escape', 'again')
    await s.deleteObject('b', '/etc/passwd', { versioning: 'Unversioned' })
    const up = await s.createUpload({ bucket: 'b', key: 'mp', attributes: attrs })
    for (const n of [1, 2, 2]) await s.uploadPart({ bucket: 'b', uploadId: up.uploadId, partNumber: n, body: bodyOf('p'), finalize: () => ({ etag: `e${n}`, checksums: {} }) })
    await s.completeUpload({
      bucket: 'b',
      uploadId: up.uploadId,
      parts: [{ partNumber: 2, etag: 'e2' }],
      versioning: 'Unversioned',
      finalize: () => ({ etag: 'm-1', checksums: {} }),
    })
    assert.deepEqual(blobFilesIn(dir).sort(), [...s.referencedBlobs()].sort())
    assert.equal(blobFilesIn(dir).length, 4)
    await s.close()
  })

  test('acknowledged writes survive kill -9; nothing partial is visible; leftovers are swept', { timeout: 120_000 }, async (t) => {
    const dir = join(root, 'crash')
    const workload = fileURLToPath(new URL('./crash-workload.ts', import.meta.url))
    for (const [round, target] of [
      [1, 40],
      [2, 120],
    ] as const) {
      const acked = new Map<string, string>()
      let multipartAcks = 0
      const child = spawn(process.execPath, ['--import', 'tsx', workload, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      // The kill normally comes from reaching the target; the deadline only bounds a very slow
      // (shared, loaded) machine, where fewer acknowledgements still make the test meaningful.
      const deadline = setTimeout(() => child.kill('SIGKILL'), 45_000)
      for await (const line of createInterface({ input: child.stdout })) {
        const m = /^ACK (\S+) ([0-9a-f]{64})$/.exec(line)
        if (!m) continue
        acked.set(m[1]!, m[2]!)
        if (m[1]!.startsWith('mp/')) multipartAcks++
        if (acked.size >= target && multipartAcks >= 2) child.kill('SIGKILL')
      }
      await exited
      clearTimeout(deadline)
      assert.ok(acked.size >= 10, `the workload made progress (${acked.size} acks)`)
      const tmpLeft = readdirSync(join(dir, 'tmp')).length
      const blobsBefore = blobFilesIn(dir).length

      const s = new EmbeddedObjectStore({ region: 'crash-1', dir })
      await s.open()
      for (const [key, digest] of acked) {
        assert.equal(sha256hex((await getBytes(s, CRASH_BUCKET, key)).bytes), digest, `acknowledged ${key} intact`)
      }
      let visible = 0
      let keyMarker: string | undefined
      let versionIdMarker: string | undefined
      for (;;) {
        const page = await s.listVersions(CRASH_BUCKET, { maxKeys: 100, ...(keyMarker ? { keyMarker } : {}), ...(versionIdMarker ? { versionIdMarker } : {}) })
        for (const v of page.versions) {
          visible++
          const got = await getBytes(s, CRASH_BUCKET, v.key, v.versionId)
          assert.equal(sha256hex(got.bytes), sha256hex(contentFor(v.key)), `visible ${v.key}@${v.versionId} is whole`)
        }
        if (!page.isTruncated) break
        keyMarker = page.nextKeyMarker
        versionIdMarker = page.nextVersionIdMarker
      }
      assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'tmp/ wiped')
      const onDisk = blobFilesIn(dir)
      assert.deepEqual(onDisk.sort(), [...s.referencedBlobs()].sort(), 'no orphan blobs, no missing blobs')
      t.diagnostic(
        `round ${round}: ${acked.size} acked (${multipartAcks} multipart), ${visible} versions visible and whole, ` +
          `${tmpLeft} tmp files and ${blobsBefore - onDisk.length} orphan blobs swept`,
      )
      await s.close()
    }
  })
})

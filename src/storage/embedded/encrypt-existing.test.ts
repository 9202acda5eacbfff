/**
 * @module A data dir written before encryption at rest (schema 2, plaintext rows and files, as
 * 2278fc1^ wrote them) opens with every object byte-identical, nothing plaintext left on disk, and
 * an interrupted conversion (a step that fails, kill -9 of a child process) finishing on the next open.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { bytes, getBytes } from '../contract/helpers.js'
import { EmbeddedObjectStore, type StoreLog } from './embedded-object-store.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-encrypt-existing-'))
after(() => rmSync(root, { recursive: true, force: true }))

const KiB = 1024
const MiB = 1024 * KiB
const MARK = 'PLAINTEXT-MARK'

/** Schema 1 and 2, verbatim from `git show 2278fc1^:src/storage/embedded/schema.ts`. */
const OLD_SCHEMA = `
  CREATE TABLE buckets (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
  CREATE TABLE versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL,
    is_latest INTEGER NOT NULL DEFAULT 0, is_delete_marker INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL, attrs TEXT NOT NULL, checksums TEXT NOT NULL, checksum_type TEXT,
    inline BLOB, blob TEXT, manifest TEXT);
  CREATE UNIQUE INDEX versions_by_id ON versions (bucket, key, version_id);
  CREATE INDEX versions_by_key ON versions (bucket, key, seq DESC);
  CREATE INDEX versions_current ON versions (bucket, key) WHERE is_latest = 1 AND is_delete_marker = 0;
  CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
    initiated_ms INTEGER NOT NULL, attrs TEXT NOT NULL, checksum_algorithm TEXT, checksum_type TEXT);
  CREATE INDEX uploads_by_key ON uploads (bucket, key, seq);
  CREATE TABLE parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    checksums TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, blob TEXT NOT NULL, PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters VALUES ('upload_seq', 0);
  CREATE TABLE completed_uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
    version_id TEXT NOT NULL, completed_ms INTEGER NOT NULL);
  CREATE INDEX completed_uploads_by_time ON completed_uploads (completed_ms);
  PRAGMA user_version = 2;
`

/** A body that carries the marker (so a raw scan finds any plaintext left) and is otherwise pseudo-random. */
function body(size: number, seed: number): Buffer {
  const b = bytes(size, seed)
  for (let at = 0; at + MARK.length <= size; at += 4 * KiB) b.write(MARK, at)
  return b
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

interface Expected {
  key: string
  versionId: string
  etag: string
  bytes: Buffer
  checksums: string
}

/** An old-format data dir: `inline` small objects, `files` file objects, one multipart object, one open upload. */
function writeOldDataDir(dir: string, n: { inline: number; files: number; manifestParts?: number }): { objects: Expected[]; uploadId: string; parts: Buffer[] } {
  mkdirSync(join(dir, 'blobs'), { recursive: true })
  const db = new Database(join(dir, 'meta.db'))
  db.pragma('journal_mode = WAL')
  db.exec(OLD_SCHEMA)
  db.prepare('INSERT INTO buckets VALUES (?, ?)').run('b', 1)
  const insert = db.prepare(`INSERT INTO versions (bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified_ms,
    attrs, checksums, checksum_type, inline, blob, manifest) VALUES ('b', ?, ?, 1, 0, ?, ?, 1700000000000, ?, ?, 'FULL_OBJECT', ?, ?, ?)`)
  const blobFile = (data: Buffer): string => {
    const id = createHash('sha256').update(data).update(String(Math.random())).digest('hex').slice(0, 32)
    mkdirSync(join(dir, 'blobs', id.slice(0, 2)), { recursive: true })
    writeFileSync(join(dir, 'blobs', id.slice(0, 2), id), data)
    return id
  }
  const objects: Expected[] = []
  const add = (key: string, data: Buffer, where: { inline?: Buffer; blob?: string; manifest?: string }, etag = md5(data)): void => {
    const versionId = `v-${objects.length}`.padEnd(32, '0')
    const checksums = JSON.stringify({ SHA256: createHash('sha256').update(data).digest('base64') })
    insert.run(
      key,
      versionId,
      data.length,
      etag,
      JSON.stringify({ userMetadata: { k: key }, tags: [] }),
      checksums,
      where.inline ?? null,
      where.blob ?? null,
      where.manifest ?? null,
    )
    objects.push({ key, versionId, etag, bytes: data, checksums })
  }
  db.transaction(() => {
    add('empty', Buffer.alloc(0), { inline: Buffer.alloc(0) })
    for (let i = 0; i < n.inline; i++) {
      const data = body(i % 2 === 0 ? 100 + i : 60 * KiB, i + 10)
      add(`inline/${i}`, data, { inline: data })
    }
    for (let i = 0; i < n.files; i++) {
      const data = body(i === 0 ? MiB + 5 : 70 * KiB + i, i + 1000)
      add(`file/${i}`, data, { blob: blobFile(data) })
    }
    const ps = n.manifestParts === undefined ? [body(5 * MiB, 7), body(3000, 8)] : Array.from({ length: n.manifestParts }, (_, i) => body(1000, 100 + i))
    const manifest = ps.map((p, i) => ({ partNumber: i + 1, size: p.length, etag: md5(p), checksums: {}, blob: blobFile(p) }))
    add('multipart', Buffer.concat(ps), { manifest: JSON.stringify(manifest) }, `${md5(Buffer.concat(ps.map((p) => Buffer.from(md5(p), 'hex'))))}-${ps.length}`)
  })()
  const uploadId = 'open-upload-id'
  const parts = [body(5 * MiB, 21), body(1234, 22)]
  db.prepare("INSERT INTO uploads VALUES (?, 1, 'b', 'open', 1700000000000, ?, NULL, NULL)").run(uploadId, JSON.stringify({ userMetadata: {}, tags: [] }))
  parts.forEach((p, i) => {
    db.prepare('INSERT INTO parts VALUES (?, ?, ?, ?, ?, 1700000000000, ?)').run(uploadId, i + 1, p.length, md5(p), '{}', blobFile(p))
  })
  db.close()
  return { objects, uploadId, parts }
}

const quiet: StoreLog = { info: () => {} }

async function assertAllReadable(store: EmbeddedObjectStore, objects: Expected[]): Promise<void> {
  for (const o of objects) {
    const got = await getBytes(store, 'b', o.key)
    assert.ok(got.bytes.equals(o.bytes), `${o.key}: bytes`)
    assert.equal(got.version.etag, o.etag, `${o.key}: ETag`)
    assert.equal(got.version.versionId, o.versionId, `${o.key}: version id`)
    assert.equal(got.version.size, o.bytes.length, `${o.key}: size`)
    assert.equal(JSON.stringify(got.version.checksums), o.checksums, `${o.key}: checksums`)
    assert.deepEqual(got.version.userMetadata, { k: o.key }, `${o.key}: metadata`)
  }
}

/** Every file of the data dir (meta.db, its WAL, blobs): none may hold the marker any more. */
function plaintextFiles(dir: string): string[] {
  const found: string[] = []
  const walkDir = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walkDir(p)
      else if (readFileSync(p).includes(MARK)) found.push(p)
    }
  }
  walkDir(dir)
  return found
}

describe('a data dir from before encryption at rest', () => {
  test('opens with every body encrypted in place: bytes, ETags, ids, checksums unchanged; no plaintext on disk', async () => {
    const dir = join(root, 'upgrade')
    const old = writeOldDataDir(dir, { inline: 6, files: 3 })
    assert.ok(plaintextFiles(dir).length > 0, 'the old format holds plaintext (the scan can fail)')
    const logged: unknown[] = []
    const store = new EmbeddedObjectStore({ region: 'r', dir, log: { info: (fields) => logged.push(fields) } })
    await store.open()
    assert.deepEqual([...logged], [{ region: 'r', rows: 7, files: 3 + 2 + 2, missing: 0 }], 'converted bodies logged: 7 inline; 3 files, 2 manifest parts, 2 open parts')
    await assertAllReadable(store, old.objects)
    const range = await getBytes(store, 'b', 'multipart', undefined, { start: 5 * MiB - 10, end: 5 * MiB + 9 })
    assert.ok(range.bytes.equals(old.objects.at(-1)!.bytes.subarray(5 * MiB - 10, 5 * MiB + 10)), 'a range across the parts')
    // The open upload's parts were converted too: completing it gives the original bytes.
    await store.completeUpload({
      bucket: 'b',
      uploadId: old.uploadId,
      versioning: 'Unversioned',
      parts: old.parts.map((p, i) => ({ partNumber: i + 1, etag: md5(p) })),
      finalize: () => ({ etag: 'done-2', checksums: {} }),
    })
    assert.ok((await getBytes(store, 'b', 'open')).bytes.equals(Buffer.concat(old.parts)))
    await store.close()
    assert.deepEqual(plaintextFiles(dir), [], 'no file of the data dir holds plaintext')
    // A second open has nothing left to convert and reads the same.
    const again = new EmbeddedObjectStore({ region: 'r', dir, log: { info: (fields) => logged.push(fields) } })
    await again.open()
    assert.equal(logged.length, 1, 'nothing converted twice')
    await assertAllReadable(again, old.objects)
    await again.close()
  })

  test('a manifest of more parts than one group, and a file already missing before the upgrade', async () => {
    const dir = join(root, 'many-parts')
    const old = writeOldDataDir(dir, { inline: 1, files: 2, manifestParts: 150 })
    const db = new Database(join(dir, 'meta.db'))
    const lost = db.prepare<[], { blob: string }>("SELECT blob FROM versions WHERE key = 'file/1'").get()!.blob
    db.close()
    rmSync(join(dir, 'blobs', lost.slice(0, 2), lost))
    const logged: unknown[] = []
    const store = new EmbeddedObjectStore({ region: 'r', dir, log: { info: (fields) => logged.push(fields) } })
    await store.open()
    assert.deepEqual([...logged], [{ region: 'r', rows: 2, files: 1 + 150 + 2, missing: 1 }])
    await assertAllReadable(
      store,
      old.objects.filter((o) => o.key !== 'file/1'),
    )
    await assert.rejects(getBytes(store, 'b', 'file/1'), 'a body lost before the upgrade stays an error, never other bytes')
    await store.close()
    assert.deepEqual(plaintextFiles(dir), [])
  })

  test('a conversion stopped after some steps finishes on the next open, never encrypting twice', async () => {
    const dir = join(root, 'stopped')
    const old = writeOldDataDir(dir, { inline: 600, files: 8 })
    const crash = new Error('stopped here')
    const first = new EmbeddedObjectStore({
      region: 'r',
      dir,
      log: quiet,
      onEncryptStep: (n) => {
        if (n >= 300) throw crash
      },
    })
    await assert.rejects(first.open(), crash)
    const second = new EmbeddedObjectStore({
      region: 'r',
      dir,
      log: quiet,
      onEncryptStep: (n) => {
        if (n >= 3) throw crash
      },
    })
    await assert.rejects(second.open(), crash, 'resumed with the rest, stopped again part way through the files')
    const done = new EmbeddedObjectStore({ region: 'r', dir, log: quiet })
    await done.open()
    await assertAllReadable(done, old.objects)
    await done.close()
    assert.deepEqual(plaintextFiles(dir), [])
  })

  test('kill -9 of a process mid-conversion: the next open completes it, everything readable', async () => {
    const dir = join(root, 'killed')
    const old = writeOldDataDir(dir, { inline: 300, files: 60 })
    const store = fileURLToPath(new URL('./embedded-object-store.ts', import.meta.url))
    const child = `import(${JSON.stringify(store)}).then(async ({ EmbeddedObjectStore }) => {
      const s = new EmbeddedObjectStore({ region: 'r', dir: ${JSON.stringify(dir)}, log: { info() {} }, onEncryptStep: (n) => process.stdout.write('STEP ' + n + '\\n') })
      await s.open()
      process.stdout.write('OPEN\\n')
    })`
    // Killed at a file step in the first round (after the 301 rows), again in the second (which counts anew).
    for (const killAt of [302, 20]) {
      const proc = spawn(process.execPath, ['--import', 'tsx', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] })
      let last = 0
      for await (const line of createInterface({ input: proc.stdout! })) {
        assert.notEqual(line, 'OPEN', 'killed before the conversion finished')
        last = Number(line.split(' ')[1])
        if (last >= killAt) {
          proc.kill('SIGKILL')
          break
        }
      }
      await new Promise((resolve) => proc.once('exit', resolve))
      assert.ok(last >= killAt, `the child got to step ${killAt}`)
    }
    const done = new EmbeddedObjectStore({ region: 'r', dir, log: quiet })
    await done.open()
    await assertAllReadable(done, old.objects)
    assert.equal(done.referencedBlobs().size, 60 + 2 + 2, 'one blob per body: no double conversion left a second copy referenced')
    await done.close()
    assert.deepEqual(plaintextFiles(dir), [])
    const blobs = join(dir, 'blobs')
    assert.equal(readdirSync(blobs).flatMap((s) => readdirSync(join(blobs, s))).length, 60 + 2 + 2, 'the sweep removed what the kills left')
  })
})

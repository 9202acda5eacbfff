/**
 * @module The one-time encryption of bodies an mrap older than encryption at rest wrote in the
 * clear (docs/decisions/encryption.md, "Data dirs from before encryption"). Schema migration 4
 * lists them (`plaintext_rows`, `plaintext_blobs`, schema.ts); `open()` runs this before the store
 * serves, so the read path never has to accept plaintext.
 *
 * Every step is crash-safe and never encrypts twice:
 * - inline rows: a batch is sealed and its listing entries deleted in one transaction.
 * - files: the plaintext is streamed into a NEW blob (stage + publish: temp file, fsync, rename,
 *   directory fsync, as writes do), then one transaction points the owner at the new blob and
 *   drops the listing entry, then the old file is unlinked (a manifest's parts in groups of 64). A crash before the commit leaves an
 *   unreferenced new blob, a crash after it an unreferenced old one: `open()`'s sweep removes
 *   either, and a listed blob id always names a plaintext file.
 */
import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import type Database from 'better-sqlite3'
import type { BlobFiles } from './blob-files.js'
import type { ManifestEntry } from './rows.js'
import type { RegionKey } from './sealed-bytes.js'

/** Rows per transaction: inline bodies are at most the inline threshold (64 KiB by default). */
const ROW_BATCH = 256
const READ_CHUNK = 256 * 1024
/** Files of one manifest converted before its row is rewritten. */
const FILE_GROUP = 64

export interface EncryptedExisting {
  rows: number
  files: number
  /** Listed files that were not on disk (already lost before the upgrade; their reads fail as before). */
  missing: number
}

interface Owner {
  seq: number | null
  upload_id: string | null
  part_number: number | null
}

/**
 * Encrypts every listed body. `step` runs after each committed step with the count so far (a
 * test stops the run there, as a crash would).
 */
export async function encryptExisting(db: Database.Database, key: RegionKey, blobs: BlobFiles, step?: (done: number) => void): Promise<EncryptedExisting> {
  const done: EncryptedExisting = { rows: 0, files: 0, missing: 0 }
  // Overwritten plaintext must not stay in freed pages of meta.db; the WAL is emptied at the end.
  db.pragma('secure_delete = ON')
  const nextRows = db.prepare<[number], { seq: number; inline: Buffer }>('SELECT p.seq, v.inline FROM plaintext_rows p JOIN versions v ON v.seq = p.seq ORDER BY p.seq LIMIT ?')
  const setInline = db.prepare<[Buffer, number]>('UPDATE versions SET inline = ? WHERE seq = ?')
  const dropRow = db.prepare<[number]>('DELETE FROM plaintext_rows WHERE seq = ?')
  // Listed rows whose version is gone have nothing to convert (not reachable before serving, but harmless).
  db.prepare('DELETE FROM plaintext_rows WHERE seq NOT IN (SELECT seq FROM versions)').run()
  for (;;) {
    const batch = nextRows.all(ROW_BATCH)
    if (batch.length === 0) break
    db.transaction(() => {
      for (const r of batch) {
        setInline.run(key.sealWhole(r.inline), r.seq)
        dropRow.run(r.seq)
      }
    })()
    done.rows += batch.length
    step?.(done.rows + done.files)
  }

  const nextBlob = db.prepare<[], { blob: string; seq: number | null }>('SELECT blob, seq FROM plaintext_blobs LIMIT 1')
  const sameRow = db.prepare<[number, number], { blob: string }>('SELECT DISTINCT blob FROM plaintext_blobs WHERE seq = ? LIMIT ?')
  const ownersOf = db.prepare<[string], Owner>('SELECT seq, upload_id, part_number FROM plaintext_blobs WHERE blob = ?')
  const dropBlob = db.prepare<[string]>('DELETE FROM plaintext_blobs WHERE blob = ?')
  const setBlob = db.prepare<[string, number, string]>('UPDATE versions SET blob = ? WHERE seq = ? AND blob = ?')
  const manifestOfSeq = db.prepare<[number], { manifest: string | null }>('SELECT manifest FROM versions WHERE seq = ?')
  const setManifest = db.prepare<[string, number]>('UPDATE versions SET manifest = ? WHERE seq = ?')
  const setPart = db.prepare<[string, string, number, string]>('UPDATE parts SET blob = ? WHERE upload_id = ? AND part_number = ? AND blob = ?')
  for (let next = nextBlob.get(); next; next = nextBlob.get()) {
    // A manifest's parts go in groups, so a 10,000-part object rewrites its manifest per group, not per part.
    const group = next.seq !== null ? sameRow.all(next.seq, FILE_GROUP).map((r) => r.blob) : [next.blob]
    /** old blob id → new one; absent when the file was already missing (its references stay as they were). */
    const moved = new Map<string, string>()
    for (const old of group) {
      const path = blobs.path(old)
      if (!(await exists(path))) continue
      // Streamed: memory stays at a few chunks whatever the file's size.
      const staged = await blobs.stage(createReadStream(path, { highWaterMark: READ_CHUNK }), -1)
      if (staged.kind !== 'file') throw new Error('staging with no inline limit always makes a file')
      await blobs.publish(staged)
      moved.set(old, staged.blobId)
    }
    db.transaction(() => {
      const manifests = new Set<number>()
      for (const old of group) {
        const now = moved.get(old)
        if (now !== undefined) {
          for (const o of ownersOf.all(old)) {
            if (o.seq !== null) {
              setBlob.run(now, o.seq, old)
              manifests.add(o.seq)
            } else if (o.upload_id !== null && o.part_number !== null) {
              setPart.run(now, o.upload_id, o.part_number, old)
            }
          }
        }
        dropBlob.run(old)
      }
      for (const seq of manifests) {
        const m = manifestOfSeq.get(seq)?.manifest
        if (!m) continue
        const entries = (JSON.parse(m) as ManifestEntry[]).map((e) => {
          const now = moved.get(e.blob)
          return now === undefined ? e : { ...e, blob: now }
        })
        setManifest.run(JSON.stringify(entries), seq)
      }
    })()
    await blobs.remove(moved.keys())
    done.files += moved.size
    done.missing += group.length - moved.size
    step?.(done.rows + done.files)
  }
  db.pragma('secure_delete = OFF')
  // Freed pages and the unused space of rebuilt ones can still hold old plaintext; VACUUM writes
  // every page anew and the TRUNCATE checkpoint leaves no WAL frame behind. Recorded in the
  // database, so a crash before it still runs it on the next open.
  if (db.prepare("SELECT 1 FROM counters WHERE name = 'vacuum_after_encrypting'").get()) {
    db.exec('VACUUM')
    db.prepare("DELETE FROM counters WHERE name = 'vacuum_after_encrypting'").run()
    db.pragma('wal_checkpoint(TRUNCATE)')
  }
  return done
}

/** True while any body is still listed as plaintext: the store must not serve. */
export function plaintextLeft(db: Database.Database): boolean {
  return (
    db
      .prepare(`SELECT 1 FROM plaintext_rows UNION ALL SELECT 1 FROM plaintext_blobs
    UNION ALL SELECT 1 FROM counters WHERE name = 'vacuum_after_encrypting' LIMIT 1`)
      .get() !== undefined
  )
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

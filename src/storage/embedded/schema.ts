/**
 * @module The SQLite schema of one region's embedded store, with its version and chained
 * migrations. `PRAGMA user_version` holds the schema version: it is part of the database header,
 * so it commits atomically with the migration that bumps it.
 *
 * Ordering within a key is by `seq` (an AUTOINCREMENT rowid, never reused): newest version first
 * is `seq DESC`, which stays right for replicas that carry a foreign version id. `is_latest` is
 * maintained on every write so ListObjects reads one partial index instead of grouping versions.
 */
import type Database from 'better-sqlite3'

/** `from` is the version the database had when this open began (0 for a new one). */
type Migration = (db: Database.Database, from: number) => void

/** The first version whose bodies are encrypted at rest (the step that added the master key). */
const FIRST_SEALED_VERSION = 3

/** Index i migrates from version i to i + 1. Append only; never edit a released step. */
const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE buckets (
        name TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE versions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        is_latest INTEGER NOT NULL DEFAULT 0,
        is_delete_marker INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        last_modified_ms INTEGER NOT NULL,
        attrs TEXT NOT NULL,
        checksums TEXT NOT NULL,
        checksum_type TEXT,
        -- Exactly one of: inline bytes, one blob file, a manifest of part blobs (JSON), or none
        -- (delete markers).
        inline BLOB,
        blob TEXT,
        manifest TEXT
      );
      CREATE UNIQUE INDEX versions_by_id ON versions (bucket, key, version_id);
      CREATE INDEX versions_by_key ON versions (bucket, key, seq DESC);
      CREATE INDEX versions_current ON versions (bucket, key) WHERE is_latest = 1 AND is_delete_marker = 0;
      CREATE TABLE uploads (
        upload_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        initiated_ms INTEGER NOT NULL,
        attrs TEXT NOT NULL,
        checksum_algorithm TEXT,
        checksum_type TEXT
      );
      CREATE INDEX uploads_by_key ON uploads (bucket, key, seq);
      CREATE TABLE parts (
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        checksums TEXT NOT NULL,
        last_modified_ms INTEGER NOT NULL,
        blob TEXT NOT NULL,
        PRIMARY KEY (upload_id, part_number)
      ) WITHOUT ROWID;
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO counters VALUES ('upload_seq', 0);
    `)
  },
  (db) => {
    // Completed uploads, so a retried CompleteMultipartUpload answers as the first did (AWS does
    // for a while after completion); rows older than COMPLETED_UPLOAD_TTL_MS are pruned.
    db.exec(`
      CREATE TABLE completed_uploads (
        upload_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        completed_ms INTEGER NOT NULL
      );
      CREATE INDEX completed_uploads_by_time ON completed_uploads (completed_ms);
    `)
  },
  (db) => {
    // The region's master key, sealed by the server's sealing key (sealed-bytes.ts).
    db.exec('CREATE TABLE keys (name TEXT PRIMARY KEY, sealed TEXT NOT NULL)')
  },
  (db, from) => {
    // What an mrap older than encryption at rest wrote in the clear, for open() to encrypt before
    // the store serves (encrypt-existing.ts). Listed in the transaction that moves the database
    // past FIRST_SEALED_VERSION, so no plaintext body goes unlisted. A blob has one owner (a version
    // row: its blob or a manifest entry; or an open upload's part); owners are kept to rewrite
    // their reference without scanning every manifest.
    db.exec(`
      CREATE TABLE plaintext_rows (seq INTEGER PRIMARY KEY);
      CREATE TABLE plaintext_blobs (blob TEXT NOT NULL, seq INTEGER, upload_id TEXT, part_number INTEGER);
      CREATE INDEX plaintext_blobs_by_blob ON plaintext_blobs (blob);
      CREATE INDEX plaintext_blobs_by_seq ON plaintext_blobs (seq);
    `)
    if (from >= FIRST_SEALED_VERSION) return
    db.exec(`
      INSERT INTO plaintext_rows SELECT seq FROM versions WHERE inline IS NOT NULL;
      INSERT INTO plaintext_blobs (blob, seq) SELECT blob, seq FROM versions WHERE blob IS NOT NULL;
      INSERT INTO plaintext_blobs (blob, seq) SELECT json_extract(j.value, '$.blob'), seq
        FROM versions, json_each(versions.manifest) AS j WHERE manifest IS NOT NULL;
      INSERT INTO plaintext_blobs (blob, upload_id, part_number) SELECT blob, upload_id, part_number FROM parts;
      INSERT INTO counters VALUES ('vacuum_after_encrypting', 1);
    `)
  },
]

export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings the database to SCHEMA_VERSION; refuses a database written by a newer mrap. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > SCHEMA_VERSION) {
    throw new Error(`metadata schema ${current} is newer than this mrap supports (${SCHEMA_VERSION})`)
  }
  // One transaction for the whole chain: a step that reads `from` (the plaintext listing) must
  // never see a database a crash left half way through the chain.
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v]
      if (!step) throw new Error(`missing migration ${v}`)
      step(db, current)
      db.pragma(`user_version = ${v + 1}`)
    }
  })()
}

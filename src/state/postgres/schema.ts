/**
 * @module Versioned schema migrations, applied on start under a session advisory lock so that
 * nodes starting together migrate one at a time (the others wait, then find nothing to do).
 * Migrations are forward-only SQL kept in the build, each applied in its own transaction with its
 * version row; why this small runner and not node-pg-migrate is in docs/decisions/shared-state.md.
 */
import type pg from 'pg'

/** Arbitrary constants: the advisory-lock keys mrap takes (a 64-bit space shared per database). */
export const MIGRATION_LOCK = 0x6d72_6170_0001n
export const WRITE_LOCK = 0x6d72_6170_0002n

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'control state, change log, lease queue',
    sql: `
      CREATE TABLE mrap_bucket (name text PRIMARY KEY, doc jsonb NOT NULL);
      CREATE TABLE mrap_record (ns text NOT NULL, k text NOT NULL, v text NOT NULL, PRIMARY KEY (ns, k));
      -- One row per changed entity per write: readers re-read the entity, so the row needs no value.
      CREATE TABLE mrap_change (seq bigserial PRIMARY KEY, entity text NOT NULL, ns text NOT NULL, k text NOT NULL,
        at timestamptz NOT NULL DEFAULT now());
      -- Catch-up below this seq is impossible once pruned; a node behind it reloads everything.
      CREATE TABLE mrap_meta (k text PRIMARY KEY, v text NOT NULL);
      INSERT INTO mrap_meta (k, v) VALUES ('pruned_seq', '0');
      CREATE TABLE mrap_task (
        id bigserial PRIMARY KEY, queue text NOT NULL, key text NOT NULL, dedupe text, payload text NOT NULL,
        attempts integer NOT NULL DEFAULT 0, run_after timestamptz NOT NULL DEFAULT now(), last_error text,
        lease_owner text, lease_token uuid, lease_expires_at timestamptz, created_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX mrap_task_key ON mrap_task (queue, key, id);
      CREATE INDEX mrap_task_ready ON mrap_task (queue, run_after, id);
      CREATE UNIQUE INDEX mrap_task_dedupe ON mrap_task (queue, dedupe) WHERE dedupe IS NOT NULL;
      CREATE TABLE mrap_task_dead (id bigint PRIMARY KEY, queue text NOT NULL, key text NOT NULL, payload text NOT NULL,
        attempts integer NOT NULL, last_error text, created_at timestamptz NOT NULL, died_at timestamptz NOT NULL DEFAULT now());
    `,
  },
  {
    version: 2,
    name: 'completed-task counter per queue',
    // Bumped in the statement that deletes a completed task, so the fleet-wide count is exactly
    // the number of fenced completions ("done once" is checkable from any node).
    sql: 'CREATE TABLE mrap_task_done (queue text PRIMARY KEY, n bigint NOT NULL);',
  },
  {
    version: 3,
    name: 'upstream sidecar shared by the fleet',
    // The rows of src/storage/upstream/sidecar.ts, keyed also by region (each node's file was one
    // region's). Keys sort as UTF-8 bytes (COLLATE "C"), the order S3 lists uploads in.
    sql: `
      CREATE TABLE mrap_upstream_version (
        region text NOT NULL, bucket text NOT NULL, key text COLLATE "C" NOT NULL, engine_vid text NOT NULL,
        engine_etag text NOT NULL, mrap_vid text, last_modified_ms bigint, is_marker smallint NOT NULL DEFAULT 0,
        attrs text, digests text, PRIMARY KEY (region, bucket, key, engine_vid));
      CREATE INDEX mrap_upstream_version_mrap_vid ON mrap_upstream_version (region, bucket, key, mrap_vid) WHERE mrap_vid IS NOT NULL;
      CREATE TABLE mrap_upstream_upload (
        region text NOT NULL, upload_id text NOT NULL, seq bigserial NOT NULL, bucket text NOT NULL,
        key text COLLATE "C" NOT NULL, initiated_ms bigint NOT NULL, attrs text NOT NULL, checksum_algorithm text,
        checksum_type text, PRIMARY KEY (region, upload_id));
      CREATE INDEX mrap_upstream_upload_order ON mrap_upstream_upload (region, bucket, key, seq);
      CREATE TABLE mrap_upstream_part (
        region text NOT NULL, upload_id text NOT NULL, part_number integer NOT NULL, etag text NOT NULL,
        engine_etag text NOT NULL, checksums text NOT NULL, PRIMARY KEY (region, upload_id, part_number));
    `,
  },
]

/** Applies what is missing; returns the versions it applied (empty when another node did). */
export async function migrate(pool: pg.Pool, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()])
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS mrap_schema (version integer PRIMARY KEY, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`)
      const have = new Set((await client.query<{ version: number }>('SELECT version FROM mrap_schema')).rows.map((r) => r.version))
      const known = Math.max(0, ...migrations.map((m) => m.version))
      const newest = Math.max(0, ...have)
      // A newer node migrated past what this build knows: running on would misread the tables.
      if (newest > known) throw new Error(`the database schema is version ${newest}, newer than this build knows (${known}); upgrade this node`)
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (have.has(m.version)) continue
        await client.query('BEGIN')
        try {
          await client.query(m.sql)
          await client.query('INSERT INTO mrap_schema (version, name) VALUES ($1, $2)', [m.version, m.name])
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw err
        }
        applied.push(m.version)
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined)
    }
  } finally {
    client.release()
  }
  return applied
}

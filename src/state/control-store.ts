/**
 * @module Persistent control state (buckets and their configuration) in SQLite, WAL, synchronous
 * FULL. Reads are served from an in-memory map loaded at open, because every request looks its
 * bucket up and a SQLite round trip per request is measurable; every write goes through to disk
 * before it is acknowledged.
 */

import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { VersioningState } from '../storage/types.js'

export interface BlockPublicAccess {
  BlockPublicAcls: boolean
  IgnorePublicAcls: boolean
  BlockPublicPolicy: boolean
  RestrictPublicBuckets: boolean
}

export interface BucketRecord {
  name: string
  region: string
  owner: string
  createdAt: Date
  versioning: VersioningState
  /** The stored bucket policy text, exactly as accepted. */
  policy?: string
  tags?: { Key: string; Value: string }[]
  publicAccessBlock?: BlockPublicAccess
  /** Raw XML of the replication configuration, parsed by src/replication. */
  replication?: string
  /** Other stored configurations by subresource name (cors, lifecycle, ...), as raw XML. */
  configs: Record<string, string>
}

type Row = {
  name: string
  region: string
  owner: string
  created_at: number
  versioning: string
  policy: string | null
  tags: string | null
  pab: string | null
  replication: string | null
  configs: string
}

export class ControlStore {
  private readonly db: Database.Database
  private readonly buckets = new Map<string, BucketRecord>()
  /**
   * Inside `transaction`: how to put back each bucket the map changed, newest last. SQLite rolls
   * its rows back when the transaction throws; the map must follow, or the server would serve a
   * bucket that is not on disk (a world apply that fails after its buckets, for example).
   */
  private undo: (() => void)[] | undefined

  constructor(dataDir: string) {
    this.db = new Database(join(dataDir, 'control.db'))
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS buckets (
        name TEXT PRIMARY KEY, region TEXT NOT NULL, owner TEXT NOT NULL, created_at INTEGER NOT NULL,
        versioning TEXT NOT NULL, policy TEXT, tags TEXT, pab TEXT, replication TEXT, configs TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (ns, k));
    `)
    if (!this.db.prepare('SELECT version FROM schema_version').get()) this.db.prepare('INSERT INTO schema_version VALUES (1)').run()
    for (const row of this.db.prepare('SELECT * FROM buckets').all() as Row[]) this.buckets.set(row.name, fromRow(row))
  }

  close(): void {
    this.db.close()
  }

  getBucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name)
  }
  listBuckets(): BucketRecord[] {
    return [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  putBucket(rec: BucketRecord): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO buckets (name, region, owner, created_at, versioning, policy, tags, pab, replication, configs)
      VALUES (@name, @region, @owner, @created_at, @versioning, @policy, @tags, @pab, @replication, @configs)`)
      .run(toRow(rec))
    this.remember(rec.name)
    this.buckets.set(rec.name, rec)
  }

  updateBucket(name: string, patch: Partial<Omit<BucketRecord, 'name'>>): BucketRecord {
    const cur = this.buckets.get(name)
    if (!cur) throw new Error(`bucket ${name} vanished`)
    const next: BucketRecord = { ...cur, ...patch }
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (next as unknown as Record<string, unknown>)[k]
    this.putBucket(next)
    return next
  }

  deleteBucket(name: string): void {
    this.db.prepare('DELETE FROM buckets WHERE name = ?').run(name)
    this.remember(name)
    this.buckets.delete(name)
  }

  /** A small namespaced key/value table for other control records (MRAPs, VPCs, IAM, jobs). */
  kvGet(ns: string, k: string): string | undefined {
    return (this.db.prepare('SELECT v FROM kv WHERE ns = ? AND k = ?').get(ns, k) as { v: string } | undefined)?.v
  }
  kvList(ns: string): { k: string; v: string }[] {
    return this.db.prepare('SELECT k, v FROM kv WHERE ns = ? ORDER BY k').all(ns) as { k: string; v: string }[]
  }
  kvPut(ns: string, k: string, v: string): void {
    this.db.prepare('INSERT OR REPLACE INTO kv (ns, k, v) VALUES (?, ?, ?)').run(ns, k, v)
  }
  kvDelete(ns: string, k: string): void {
    this.db.prepare('DELETE FROM kv WHERE ns = ? AND k = ?').run(ns, k)
  }
  /**
   * Runs `fn` in one SQLite transaction (all-or-nothing world application). A nested call is a
   * savepoint: when it throws and its caller carries on, only its own bucket changes are undone.
   */
  transaction<T>(fn: () => T): T {
    const outer = this.undo === undefined
    const undo = (this.undo ??= [])
    const mark = undo.length
    try {
      return this.db.transaction(fn)()
    } catch (e) {
      while (undo.length > mark) undo.pop()!()
      throw e
    } finally {
      if (outer) this.undo = undefined
    }
  }

  private remember(name: string): void {
    if (!this.undo) return
    const before = this.buckets.get(name)
    this.undo.push(
      before
        ? () => {
            this.buckets.set(name, before)
          }
        : () => {
            this.buckets.delete(name)
          },
    )
  }
}

function toRow(r: BucketRecord): Row {
  return {
    name: r.name,
    region: r.region,
    owner: r.owner,
    created_at: r.createdAt.getTime(),
    versioning: r.versioning,
    policy: r.policy ?? null,
    tags: r.tags ? JSON.stringify(r.tags) : null,
    pab: r.publicAccessBlock ? JSON.stringify(r.publicAccessBlock) : null,
    replication: r.replication ?? null,
    configs: JSON.stringify(r.configs),
  }
}

function fromRow(r: Row): BucketRecord {
  const rec: BucketRecord = {
    name: r.name,
    region: r.region,
    owner: r.owner,
    createdAt: new Date(r.created_at),
    versioning: r.versioning as VersioningState,
    configs: JSON.parse(r.configs) as Record<string, string>,
  }
  if (r.policy !== null) rec.policy = r.policy
  if (r.tags !== null) rec.tags = JSON.parse(r.tags) as BucketRecord['tags']
  if (r.pab !== null) rec.publicAccessBlock = JSON.parse(r.pab) as BlockPublicAccess
  if (r.replication !== null) rec.replication = r.replication
  return rec
}

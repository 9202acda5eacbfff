/**
 * @module An ObjectStore whose buckets live in an upstream S3 engine (Ceph RGW, MinIO, AWS S3...),
 * reached with the AWS SDK v3. Bytes, versions, delete markers, listings and multipart uploads are
 * the engine's; mrap keeps what the engine cannot (metadata.ts, sidecar.ts). The reasons are in
 * docs/decisions/upstream-storage.md. The store holds the engine, the sidecar and the per-key
 * locks; its parts do the work: reads.ts, writes.ts, deletes.ts, listings.ts, multipart.ts.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DeleteBucketCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import { isS3Error, s3Error } from '../../shared/errors.js'
import type {
  ChecksumAlgorithm,
  CompleteUploadInput,
  DeleteResult,
  GetOptions,
  GetResult,
  ListObjectsInput,
  ListObjectsResult,
  ListUploadsInput,
  ListUploadsResult,
  ListVersionsInput,
  ListVersionsResult,
  MultipartUpload,
  ObjectAttributes,
  ObjectStore,
  ObjectVersion,
  PartInfo,
  PutObjectInput,
  UploadPartInput,
  VersioningState,
  WriteCondition,
} from '../types.js'
import { checkCommitCondition, KeyLocks } from '../write-condition.js'
import { EngineBuckets } from './buckets.js'
import { engineBucketName, type UpstreamConfig } from './config.js'
import type { StoreCore } from './core.js'
import { currentRow } from './current-row.js'
import { UpstreamDeletes } from './deletes.js'
import { Engine, errorInfo } from './engine.js'
import { UpstreamListings } from './listings.js'
import { UpstreamMultipart } from './multipart.js'
import { Readers } from './readers.js'
import { UpstreamReads } from './reads.js'
import { type Sidecar, SqliteSidecar, type VersionRow } from './sidecar.js'
import type { EngineResponse } from './wire.js'
import { UpstreamWrites } from './writes.js'

export interface UpstreamObjectStoreOptions {
  region: string
  engine: UpstreamConfig
  /** mrap's own directory for the region: the sidecar database and spooled bodies. */
  stateDir: string
  /** Bodies and objects up to this size travel in one buffer (one round trip, exact length). Default 64 KiB. */
  smallLimit?: number
}

export class UpstreamObjectStore implements ObjectStore, StoreCore {
  readonly region: string
  private readonly cfg: UpstreamConfig
  private readonly stateDir: string
  readonly smallLimit: number
  readonly engine: Engine
  readonly buckets: EngineBuckets
  private sidecarDb: Sidecar | undefined
  /** A fleet's sidecar (PostgreSQL) given before open(), used instead of the node's file. */
  private shared: Sidecar | undefined
  private available = true
  private readonly multipart: UpstreamMultipart
  private readonly readers: Readers
  private readonly keyLocks = new KeyLocks()
  private readonly reads: UpstreamReads
  private readonly writes: UpstreamWrites
  private readonly deletes: UpstreamDeletes
  private readonly listings: UpstreamListings

  constructor(opts: UpstreamObjectStoreOptions) {
    this.region = opts.region
    this.cfg = opts.engine
    this.stateDir = opts.stateDir
    this.smallLimit = opts.smallLimit ?? 64 * 1024
    this.engine = new Engine(opts.region, opts.engine)
    this.buckets = new EngineBuckets(this.engine)
    this.multipart = new UpstreamMultipart(this)
    this.readers = new Readers(this.engine)
    this.reads = new UpstreamReads(this, this.readers)
    this.writes = new UpstreamWrites(this, this.reads)
    this.deletes = new UpstreamDeletes(this)
    this.listings = new UpstreamListings(this)
  }

  pinReaders(engineBucket: string, key: string): Promise<void> {
    return this.readers.pin(engineBucket, key)
  }

  /**
   * Enters a write of `key`; the returned function leaves it. The engine's own If-Match and
   * If-None-Match on PUT are not relied on: Ceph Pacific judges them against the key's head
   * object, which in a versioned bucket is not what S3 calls the current version (a delete marker
   * hides it), and compares the engine's ETag, not mrap's (multipart objects differ). So a
   * conditional write judges its condition and writes under this node's exclusive lock of the
   * key, which every other write of the key on this node takes shared. Another node of a fleet
   * writing the same key through the same engine is not held off: the check is atomic per node.
   */
  async enterKey(bucket: string, key: string, condition: WriteCondition | undefined): Promise<() => void> {
    const release = await this.keyLocks.acquire(`${bucket}/${key}`, condition !== undefined)
    if (condition === undefined) return release
    try {
      let current: string | undefined
      try {
        current = (await this.read(bucket, key, undefined, false)).version.etag
      } catch (e) {
        if (!isS3Error(e) || e.code !== 'NoSuchKey') throw e
      }
      checkCommitCondition(condition, current)
      return release
    } catch (e) {
      release()
      throw e
    }
  }

  /** Before open(): keep the sidecar rows there (every node of a fleet sees them), not in the state dir. */
  shareSidecar(side: Sidecar): void {
    this.shared = side
  }

  async open(): Promise<void> {
    if (this.sidecarDb) return
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 })
    this.sidecarDb = this.shared ?? new SqliteSidecar(join(this.stateDir, 'upstream.db'))
  }

  async close(): Promise<void> {
    await this.sidecarDb?.close()
    this.sidecarDb = undefined
    this.engine.destroy()
  }

  async healthy(): Promise<boolean> {
    return this.available && this.sidecarDb !== undefined && (await this.engine.healthy())
  }

  setAvailable(available: boolean): void {
    this.available = available
  }

  get tmpDir(): string {
    return join(this.stateDir, 'tmp')
  }

  /** The sidecar, or ServiceUnavailable while the store is down (simulated) or not open. */
  live(): Sidecar {
    if (!this.available || !this.sidecarDb) throw s3Error('ServiceUnavailable', { fields: { Region: this.region } })
    return this.sidecarDb
  }

  engineBucket(bucket: string): string {
    return engineBucketName(this.cfg.bucketTemplate, this.region, bucket)
  }

  /** The engine's id for an mrap version id: a preserved (replica) id maps through the sidecar. */
  async engineVid(bucket: string, key: string, versionId: string): Promise<string> {
    return (await this.live().byMrapVid(bucket, key, versionId))?.engineVid ?? versionId
  }

  async createBucket(bucket: string): Promise<void> {
    this.live()
    const eb = this.engineBucket(bucket)
    this.buckets.forget(eb)
    await this.buckets.ensure(eb)
  }

  async deleteBucket(bucket: string): Promise<void> {
    const side = this.live()
    const eb = this.engineBucket(bucket)
    const missing = (e: unknown): undefined => {
      if (errorInfo(e).code === 'NoSuchBucket') return undefined
      throw e
    }
    const vs = await this.engine.call((c) => c.send(new ListObjectVersionsCommand({ Bucket: eb, MaxKeys: 1 })).catch(missing))
    if (vs && (vs.Versions?.length ?? 0) + (vs.DeleteMarkers?.length ?? 0) > 0) throw s3Error('BucketNotEmpty', { fields: { BucketName: bucket } })
    if (vs) {
      await this.multipart.abortAll(bucket)
      await this.engine.call((c) => c.send(new DeleteBucketCommand({ Bucket: eb })).catch(missing))
    }
    this.buckets.forget(eb)
    await side.dropBucket(bucket)
  }

  putObject(input: PutObjectInput): Promise<ObjectVersion> {
    return this.writes.putObject(input)
  }

  /**
   * Last-Modified of a version just written (PutObject answers carry none): the engine second the
   * write fell in when its clock pins it (clock.ts), else a HEAD of the version.
   */
  modifiedAt(eb: string, key: string, engineVid: string, engineEtag: string, put?: { sent: number; received: number; res?: EngineResponse }): Promise<Date> {
    return this.writes.modifiedAt(eb, key, engineVid, engineEtag, put)
  }

  getObject(bucket: string, key: string, versionId?: string, opts?: GetOptions): Promise<GetResult> {
    return this.read(bucket, key, versionId, true, opts?.readWhole === true)
  }

  /** `track` and `whole`: reads.ts. */
  private read(bucket: string, key: string, versionId: string | undefined, track: boolean, whole = false): Promise<GetResult> {
    return this.reads.read(bucket, key, versionId, track, whole)
  }

  /** A sidecar row only while it describes the engine's object (same ETag). */
  current(row: VersionRow | undefined, engineEtag: string): VersionRow | undefined {
    return currentRow(row, engineEtag)
  }

  updateObject(bucket: string, key: string, versionId: string | undefined, patch: Partial<ObjectAttributes>): Promise<ObjectVersion> {
    return this.writes.updateObject(bucket, key, versionId, patch)
  }

  deleteObject(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    return this.deletes.deleteObject(bucket, key, opts)
  }

  putDeleteMarker(input: { bucket: string; key: string; versionId: string; lastModified: Date; attributes?: ObjectAttributes }): Promise<ObjectVersion> {
    return this.deletes.putDeleteMarker(input)
  }

  listObjects(bucket: string, input: ListObjectsInput): Promise<ListObjectsResult> {
    return this.listings.listObjects(bucket, input)
  }

  /** Attributes kept in the engine's metadata (small objects) are not in its listings. */
  readonly listsAttributes = false

  listVersions(bucket: string, input: ListVersionsInput): Promise<ListVersionsResult> {
    return this.listings.listVersions(bucket, input)
  }

  createUpload(input: {
    bucket: string
    key: string
    attributes: ObjectAttributes
    checksumAlgorithm?: ChecksumAlgorithm
    checksumType?: 'FULL_OBJECT' | 'COMPOSITE'
  }): Promise<MultipartUpload> {
    return this.multipart.create(input)
  }
  async getUpload(bucket: string, uploadId: string): Promise<MultipartUpload> {
    return this.multipart.get(bucket, uploadId)
  }
  uploadPart(input: UploadPartInput): Promise<PartInfo> {
    return this.multipart.uploadPart(input)
  }
  listParts(
    bucket: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number }> {
    return this.multipart.listParts(bucket, uploadId, opts)
  }
  listUploads(bucket: string, input: ListUploadsInput): Promise<ListUploadsResult> {
    return this.multipart.listUploads(bucket, input)
  }
  completeUpload(input: CompleteUploadInput): Promise<ObjectVersion> {
    return this.multipart.complete(input)
  }
  abortUpload(bucket: string, uploadId: string): Promise<void> {
    return this.multipart.abort(bucket, uploadId)
  }
}

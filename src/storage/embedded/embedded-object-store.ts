/**
 * @module The embedded default object store of one region: metadata in SQLite (`<dir>/meta.db`,
 * WAL, synchronous=FULL), bytes inline in the row when small, otherwise in random-id files under
 * `<dir>/blobs/`. See blob-files.ts for the crash-safety protocol and meta-db.ts for why the
 * metadata calls are synchronous. Every body is encrypted at rest (sealed-bytes.ts).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { s3Error } from '../../shared/errors.js'
import type {
  ByteRange,
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
} from '../types.js'
import { checkCommitCondition } from '../write-condition.js'
import { BlobFiles, bufferStream } from './blob-files.js'
import { encryptExisting, plaintextLeft } from './encrypt-existing.js'
import { type Position, startAfter, walk } from './listing.js'
import { MetaDb } from './meta-db.js'
import { Multipart } from './multipart.js'
import { cleanAttributes, manifestOf, toVersion, type VersionRow } from './rows.js'
import { type KeySealer, localSealer, OpenedBodies, type RegionKey, regionKeyFrom } from './sealed-bytes.js'
import { addressedVersion, currentEtag, deleteVersion, readableLatest, writeVersion } from './version-writes.js'

export interface EmbeddedObjectStoreOptions {
  region: string
  /** The region's own directory: meta.db, blobs/, tmp/. */
  dir: string
  /**
   * Bodies up to this many bytes are stored in the metadata row: one WAL fsync instead of a
   * file write, two fsyncs and a rename, and a GET without opening a file. Default 64 KiB.
   */
  inlineThreshold?: number
  /**
   * Seals the region's master key: the server's sealing key (app/compose.ts). Without one the
   * store keeps a key file of its own in `dir` (tests, tools).
   */
  sealer?: KeySealer
  /** Where open() reports the one-time encryption of an older data dir; default stderr. */
  log?: StoreLog
  /** Runs after each committed step of that encryption (tests stop it there, as a crash would). */
  onEncryptStep?: (done: number) => void
}

/** The slice of a pino logger the store uses. */
export interface StoreLog {
  info(fields: object, msg: string): void
}

const STDERR_LOG: StoreLog = {
  info: (fields, msg) => {
    process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`)
  },
}

export const DEFAULT_INLINE_THRESHOLD = 64 * 1024

export class EmbeddedObjectStore implements ObjectStore {
  readonly region: string
  readonly dir: string
  readonly customerKeys = true
  private readonly inlineThreshold: number
  private readonly blobs: BlobFiles
  private readonly multipart: Multipart
  private meta: MetaDb | undefined
  private available = true
  private sealer: KeySealer | undefined
  private log: StoreLog
  private readonly onEncryptStep: ((done: number) => void) | undefined
  private key: RegionKey | undefined
  private readonly opened = new OpenedBodies()

  constructor(opts: EmbeddedObjectStoreOptions) {
    this.region = opts.region
    this.dir = opts.dir
    this.inlineThreshold = opts.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD
    this.sealer = opts.sealer
    this.log = opts.log ?? STDERR_LOG
    this.onEncryptStep = opts.onEncryptStep
    this.blobs = new BlobFiles(opts.dir, () => this.regionKey())
    this.multipart = new Multipart(() => this.live(), this.blobs)
  }

  /** The server's sealing key, for a store made before the key was known; before open(). */
  sealWith(sealer: KeySealer, log?: StoreLog): void {
    this.sealer = sealer
    if (log) this.log = log
  }

  /**
   * Opens the database and removes what a crash left: tmp/ files and blobs no row references.
   * Bodies an mrap older than encryption at rest wrote are encrypted here, before the store serves.
   */
  async open(): Promise<void> {
    if (this.meta) return
    await mkdir(this.dir, { recursive: true })
    const meta = new MetaDb(join(this.dir, 'meta.db'))
    try {
      const stored = meta.db.prepare<[string], { sealed: string }>('SELECT sealed FROM keys WHERE name = ?').get('master')
      this.key = regionKeyFrom(stored?.sealed, this.sealer ?? localSealer(this.dir), (sealed) => {
        meta.db.prepare('INSERT INTO keys (name, sealed) VALUES (?, ?)').run('master', sealed)
      })
      const onDisk = await this.blobs.prepare()
      const referenced = meta.referencedBlobs()
      await this.blobs.remove(onDisk.filter((id) => !referenced.has(id)))
      if (plaintextLeft(meta.db)) {
        const done = await encryptExisting(meta.db, this.key, this.blobs, this.onEncryptStep)
        // A store that had nothing to convert (only the finishing vacuum left) says nothing.
        if (done.rows + done.files + done.missing > 0) this.log.info({ region: this.region, ...done }, 'embedded store: encrypted the bodies written before encryption at rest')
      }
    } catch (err) {
      meta.close()
      throw err
    }
    this.meta = meta
  }

  async close(): Promise<void> {
    this.meta?.close()
    this.meta = undefined
  }

  async healthy(): Promise<boolean> {
    return this.available && this.meta !== undefined
  }

  /** Fault injection for failover tests: while false every call throws ServiceUnavailable. */
  setAvailable(available: boolean): void {
    this.available = available
  }

  async createBucket(bucket: string): Promise<void> {
    const meta = this.live()
    await meta.commit(() => meta.insertBucket(bucket))
  }

  async deleteBucket(bucket: string): Promise<void> {
    const meta = this.live()
    const garbage = await meta.commit(() => {
      if (meta.bucketHasVersions(bucket)) throw s3Error('BucketNotEmpty', { fields: { BucketName: bucket } })
      const blobs = this.multipart.abortAllIn(meta, bucket)
      meta.deleteBucket(bucket)
      return blobs
    })
    await this.blobs.remove(garbage)
  }

  async putObject(input: PutObjectInput): Promise<ObjectVersion> {
    this.live()
    const staged = await this.blobs.stage(input.body, this.inlineThreshold, this.customerKey(input.customerKey))
    let published = false
    let committed = false
    try {
      const digests = await input.finalize({ size: staged.size })
      if (staged.kind === 'file') {
        await this.blobs.publish(staged)
        published = true
      }
      const meta = this.live()
      const { row, garbage } = await meta.commit(() => {
        // In the transaction that writes the version: nothing can change the key between check and write.
        checkCommitCondition(input.condition, currentEtag(meta, input.bucket, input.key))
        return writeVersion(meta, {
          bucket: input.bucket,
          key: input.key,
          versioning: input.versioning,
          versionId: input.versionId,
          lastModified: input.lastModified ?? new Date(),
          attributes: cleanAttributes(input.attributes),
          isDeleteMarker: false,
          size: staged.size,
          etag: digests.etag,
          checksums: digests.checksums,
          checksumType: digests.checksumType,
          inline: staged.kind === 'inline' ? staged.bytes : undefined,
          blob: staged.kind === 'file' ? staged.blobId : undefined,
        })
      })
      committed = true
      await this.blobs.remove(garbage)
      return toVersion(row)
    } finally {
      if (!committed) await this.blobs.discard(staged, published)
    }
  }

  async getObject(bucket: string, key: string, versionId?: string, opts?: GetOptions): Promise<GetResult> {
    const meta = this.live()
    let row: VersionRow
    let version: ObjectVersion
    if (versionId === undefined) {
      // The common read: the latest version, usually from the cache (see latest-cache.ts).
      const latest = meta.latestDecoded(bucket, key)
      row = readableLatest(latest?.row, key)
      version = latest!.version
    } else {
      row = addressedVersion(meta, bucket, key, versionId)
      version = toVersion(row)
    }
    if (version.sseCustomerAlgorithm !== undefined || version.sseKmsDataKey !== undefined) {
      // SSE-C (SSE-KMS: the data key KMS decrypts for the caller): opened only with that key, never kept in the opened-bodies cache, and
      // only when asked (a caller after the version alone has no key to give).
      const customer = opts?.customerKey
      const open = (range?: ByteRange): ReturnType<GetResult['open']> => {
        if (customer === undefined)
          throw s3Error('InvalidRequest', {
            message: 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
          })
        const k = this.regionKey().forCustomer(customer)
        if (row.inline === null) return this.opener(row, k)(range)
        const bytes = k.openWhole(row.inline, row.size)
        return bufferStream(range ? bytes.subarray(range.start, range.end + 1) : bytes)
      }
      return { version, open }
    }
    if (row.inline !== null) {
      // Decrypted before any byte is sent: a tampered row is an error response, not a cut one.
      let bytes = this.opened.get(row.seq)
      if (bytes === undefined) {
        bytes = this.regionKey().openWhole(row.inline, row.size)
        this.opened.set(row.seq, bytes)
      }
      return { version, inline: bytes, open: (range) => bufferStream(range ? bytes.subarray(range.start, range.end + 1) : bytes) }
    }
    return { version, open: this.opener(row) }
  }

  async updateObject(bucket: string, key: string, versionId: string | undefined, patch: Partial<ObjectAttributes>): Promise<ObjectVersion> {
    const meta = this.live()
    const row = await meta.commit(() => {
      const r = addressedVersion(meta, bucket, key, versionId)
      const merged = cleanAttributes({ ...(JSON.parse(r.attrs) as ObjectAttributes), ...patch })
      meta.setAttrs(r.seq, JSON.stringify(merged))
      return meta.version(bucket, key, r.version_id)!
    })
    return toVersion(row)
  }

  async deleteObject(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    const meta = this.live()
    const { result, garbage } = await meta.commit(() => deleteVersion(meta, bucket, key, opts))
    await this.blobs.remove(garbage)
    return result
  }

  async putDeleteMarker(input: { bucket: string; key: string; versionId: string; lastModified: Date; attributes?: ObjectAttributes }): Promise<ObjectVersion> {
    const meta = this.live()
    const { row, garbage } = await meta.commit(() =>
      writeVersion(meta, {
        bucket: input.bucket,
        key: input.key,
        versioning: 'Enabled',
        versionId: input.versionId,
        lastModified: input.lastModified,
        attributes: cleanAttributes(input.attributes),
        isDeleteMarker: true,
        size: 0,
        etag: '',
        checksums: {},
      }),
    )
    await this.blobs.remove(garbage)
    return toVersion(row)
  }

  async listObjects(bucket: string, input: ListObjectsInput): Promise<ListObjectsResult> {
    const meta = this.live()
    const prefix = input.prefix ?? ''
    const { entries, isTruncated } = walk({
      prefix,
      delimiter: input.delimiter,
      maxKeys: input.maxKeys,
      start: startAfter(input.after, prefix, input.delimiter),
      fetch: (from, end, limit) => meta.currentFrom(bucket, from, end, limit),
      keyOf: (r) => r.key,
      after: (r) => ({ key: r.key, inclusive: false }),
    })
    const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated }
    for (const e of entries) {
      if ('row' in e) result.objects.push(toVersion(e.row))
      else result.commonPrefixes.push(e.prefix)
    }
    const last = entries[entries.length - 1]
    if (isTruncated && last) result.nextAfter = 'row' in last ? last.row.key : last.prefix
    return result
  }

  async listVersions(bucket: string, input: ListVersionsInput): Promise<ListVersionsResult> {
    const meta = this.live()
    const prefix = input.prefix ?? ''
    let start: Position = startAfter(input.keyMarker, prefix, input.delimiter)
    if (input.keyMarker && input.versionIdMarker) {
      const marker = meta.version(bucket, input.keyMarker, input.versionIdMarker)
      // A marker version deleted since the last page: resume after the whole key.
      if (marker) start = { key: input.keyMarker, inclusive: false, tie: marker.seq }
    }
    const { entries, isTruncated } = walk({
      prefix,
      delimiter: input.delimiter,
      maxKeys: input.maxKeys,
      start,
      fetch: (from, end, limit) => meta.versionsFrom(bucket, from, end, limit),
      keyOf: (r) => r.key,
      after: (r) => ({ key: r.key, inclusive: false, tie: r.seq }),
    })
    const result: ListVersionsResult = { versions: [], commonPrefixes: [], isTruncated }
    for (const e of entries) {
      if ('row' in e) result.versions.push(toVersion(e.row))
      else result.commonPrefixes.push(e.prefix)
    }
    const last = entries[entries.length - 1]
    if (isTruncated && last) {
      if ('row' in last) {
        result.nextKeyMarker = last.row.key
        result.nextVersionIdMarker = last.row.version_id
      } else {
        result.nextKeyMarker = last.prefix
      }
    }
    return result
  }

  async createUpload(input: {
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

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    return this.multipart.uploadPart(input, this.customerKey(input.customerKey))
  }

  async listParts(
    bucket: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts: number },
  ): Promise<{ parts: PartInfo[]; isTruncated: boolean; nextPartNumberMarker?: number }> {
    return this.multipart.listParts(bucket, uploadId, opts)
  }

  async listUploads(bucket: string, input: ListUploadsInput): Promise<ListUploadsResult> {
    return this.multipart.listUploads(bucket, input)
  }

  async completeUpload(input: CompleteUploadInput): Promise<ObjectVersion> {
    return this.multipart.complete(input)
  }

  async completedUpload(bucket: string, uploadId: string): Promise<{ key: string; versionId: string } | undefined> {
    return this.multipart.completed(bucket, uploadId)
  }

  async abortUpload(bucket: string, uploadId: string): Promise<void> {
    return this.multipart.abort(bucket, uploadId)
  }

  /** Diagnostics for tests and `mrap` tooling: blob ids the metadata references. */
  referencedBlobs(): Set<string> {
    return this.live().referencedBlobs()
  }

  /** The key that seals an SSE-C customer's bodies; undefined (the region's key) without one. */
  private customerKey(key: Buffer | undefined): RegionKey | undefined {
    return key === undefined ? undefined : this.regionKey().forCustomer(key)
  }

  private regionKey(): RegionKey {
    if (!this.key) throw s3Error('ServiceUnavailable', { fields: { Region: this.region } })
    return this.key
  }

  /** The database, or ServiceUnavailable when the store is down (simulated) or not open. */
  private live(): MetaDb {
    if (!this.available || !this.meta) {
      throw s3Error('ServiceUnavailable', { fields: { Region: this.region } })
    }
    return this.meta
  }

  /**
   * Builds GetResult.open for a row. File blobs are pinned now, so an overwrite or delete that
   * commits before the caller opens (or while it streams) cannot unlink the bytes under it.
   */
  private opener(row: VersionRow, key?: RegionKey): (range?: ByteRange) => ReturnType<GetResult['open']> {
    const size = row.size
    const parts = row.blob !== null ? [{ blob: row.blob, size }] : (manifestOf(row) ?? [])
    const release = this.blobs.pin(parts.map((p) => p.blob))
    return (range) => {
      const start = range?.start ?? 0
      const end = range?.end ?? size - 1
      const segments: { blobId: string; size: number; start: number; end: number }[] = []
      let offset = 0
      for (const p of parts) {
        const lo = Math.max(start, offset)
        const hi = Math.min(end, offset + p.size - 1)
        if (lo <= hi) segments.push({ blobId: p.blob, size: p.size, start: lo - offset, end: hi - offset })
        offset += p.size
      }
      if (segments.length === 0) {
        release()
        return bufferStream(Buffer.alloc(0))
      }
      return this.blobs.read(segments, release, key)
    }
  }
}

/**
 * @module An ObjectStore whose buckets live in an upstream S3 engine (Ceph RGW, MinIO, AWS S3...),
 * reached with the AWS SDK v3. Bytes, versions, delete markers, listings and multipart uploads are
 * the engine's; mrap keeps what the engine cannot (metadata.ts, sidecar.ts). The reasons are in
 * docs/decisions/upstream-storage.md.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DeleteBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import { isS3Error, s3Error } from '../../shared/errors.js'
import { SEND_TO, type SendsTo } from '../../shared/send-to.js'
import { cleanAttributes } from '../embedded/rows.js'
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
  WriteCondition,
} from '../types.js'
import { checkCommitCondition, KeyLocks } from '../write-condition.js'
import { sendBody } from './body.js'
import { EngineBuckets } from './buckets.js'
import { engineBucketName, type UpstreamConfig } from './config.js'
import type { StoreCore } from './core.js'
import { currentRows, needsOwnRow } from './current-row.js'
import { Engine, errorInfo } from './engine.js'
import { decodeAttributes, type EngineObjectHead, encodeAttributes, fromWireHeaders, toWireHeaders, unquote } from './metadata.js'
import { UpstreamMultipart } from './multipart.js'
import { bufferStream, lazyStream, Readers } from './readers.js'
import { sendTo } from './response.js'
import { type Sidecar, SqliteSidecar, type StoredDigests, type VersionRow } from './sidecar.js'
import { type EngineResponse, readAll } from './wire.js'

export interface UpstreamObjectStoreOptions {
  region: string
  engine: UpstreamConfig
  /** mrap's own directory for the region: the sidecar database and spooled bodies. */
  stateDir: string
  /** Bodies and objects up to this size travel in one buffer (one round trip, exact length). Default 64 KiB. */
  smallLimit?: number
}

/** How long a whole-object GET in flight waits for open() before its connection is given up. */
const UNOPENED_MS = 5000

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** What a read learned about one engine version. */
interface Found {
  version: ObjectVersion
  engineVid: string
  engineEtag: string
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

  constructor(opts: UpstreamObjectStoreOptions) {
    this.region = opts.region
    this.cfg = opts.engine
    this.stateDir = opts.stateDir
    this.smallLimit = opts.smallLimit ?? 64 * 1024
    this.engine = new Engine(opts.region, opts.engine)
    this.buckets = new EngineBuckets(this.engine)
    this.multipart = new UpstreamMultipart(this)
    this.readers = new Readers(this.engine)
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

  async putObject(input: PutObjectInput): Promise<ObjectVersion> {
    const side = this.live()
    const eb = this.engineBucket(input.bucket)
    const attributes = cleanAttributes(input.attributes)
    const leaveKey = await this.enterKey(input.bucket, input.key, input.condition)
    let leave = (): void => {}
    try {
      leave = await this.buckets.enter(eb, input.versioning)
      const mtime = input.lastModified?.getTime()
      let sent = 0
      const { result, digests } = await sendBody({
        body: input.body,
        size: input.size,
        tmpDir: this.tmpDir,
        smallLimit: this.smallLimit,
        // After finalize, before the last byte leaves: the engine cannot show the new object yet.
        finalize: async (staged) => {
          const d = await input.finalize(staged)
          await this.readers.pin(eb, input.key)
          return d
        },
        send: async ({ body, length, digests, signal }) => {
          sent = length
          const headers = toWireHeaders(
            encodeAttributes(attributes, {
              ...(input.versionId !== undefined ? { vid: input.versionId } : {}),
              ...(mtime !== undefined ? { mtime } : {}),
              ...(digests ? { digests } : {}),
            }),
          )
          headers['content-length'] = String(length)
          const r = await this.engine.request({ method: 'PUT', bucket: eb, key: input.key, headers, body, signal })
          r.res.resume()
          return r
        },
      })
      const engineVid = fromWireHeaders(result.res.headers).VersionId ?? 'null'
      const engineEtag = unquote(fromWireHeaders(result.res.headers).ETag)
      const lastModified = input.lastModified ?? (await this.modifiedAt(eb, input.key, engineVid, engineEtag, result))
      const inMetadata = input.size === undefined || sent <= this.smallLimit
      // An ACL is kept in the sidecar, never on the engine (docs/decisions/acls.md): the engine's
      // own ACLs would be another, unenforced, copy of who may read.
      if (
        input.versionId !== undefined ||
        input.lastModified !== undefined ||
        !inMetadata ||
        attributes.acl !== undefined ||
        (await needsOwnRow(side, input.bucket, input.key, engineVid, engineEtag))
      ) {
        await side.putVersion({
          bucket: input.bucket,
          key: input.key,
          engineVid,
          engineEtag,
          mrapVid: input.versionId ?? null,
          lastModifiedMs: input.lastModified?.getTime() ?? null,
          isMarker: false,
          attrs: attributes.acl !== undefined ? attributes : null,
          digests: { etag: digests.etag, checksums: digests.checksums, ...(digests.checksumType ? { checksumType: digests.checksumType } : {}) },
        })
      } else if (engineVid === 'null' && (await side.version(input.bucket, input.key, 'null'))) {
        // Looked up first: a delete is a write transaction, and most keys never had a row.
        await side.dropVersion(input.bucket, input.key, 'null')
      }
      return {
        ...attributes,
        bucket: input.bucket,
        key: input.key,
        versionId: input.versionId ?? engineVid,
        isDeleteMarker: false,
        isLatest: true,
        size: sent,
        etag: digests.etag,
        lastModified,
        checksums: digests.checksums,
        ...(digests.checksumType ? { checksumType: digests.checksumType } : {}),
      }
    } finally {
      leave()
      leaveKey()
    }
  }

  /**
   * Last-Modified of a version just written (PutObject answers carry none): the engine second the
   * write fell in when its clock pins it (clock.ts), else a HEAD of the version.
   */
  async modifiedAt(eb: string, key: string, engineVid: string, engineEtag: string, put?: { sent: number; received: number; res?: EngineResponse }): Promise<Date> {
    const known = put && this.engine.clock.secondOf(put.sent, put.received, put.res?.headers.date)
    if (known !== undefined) return new Date(known)
    try {
      const { res } = await this.engine.request({ method: 'HEAD', bucket: eb, key, ...(engineVid !== 'null' ? { query: { versionId: engineVid } } : {}) })
      res.resume()
      const h = fromWireHeaders(res.headers)
      if (h.LastModified && (!engineEtag || unquote(h.ETag) === engineEtag)) return h.LastModified
    } catch {
      /* overwritten or deleted already: the time of the answer is as good */
    }
    return new Date(Math.floor(Date.now() / 1000) * 1000)
  }

  getObject(bucket: string, key: string, versionId?: string, opts?: GetOptions): Promise<GetResult> {
    return this.read(bucket, key, versionId, true, opts?.readWhole === true)
  }

  /**
   * `track`: false for the store's own metadata reads, which never open the bytes. `whole`: the
   * caller opens the whole object at once, so one GET of all of it serves metadata and bytes
   * (a large object otherwise costs a first GET of `smallLimit` bytes, then a second at open).
   */
  private async read(bucket: string, key: string, versionId: string | undefined, track: boolean, whole = false): Promise<GetResult> {
    this.live()
    const eb = this.engineBucket(bucket)
    const engineVid = versionId === undefined ? undefined : await this.engineVid(bucket, key, versionId)
    const get = async (range: string | undefined): Promise<EngineResponse> =>
      (
        await this.engine
          .request(
            {
              method: 'GET',
              bucket: eb,
              key,
              ...(engineVid !== undefined ? { query: { versionId: engineVid } } : {}),
              ...(range ? { headers: { range } } : {}),
            },
            (e) => this.readError(e, bucket, key, versionId),
          )
          .catch(async (e: unknown) => {
            throw await this.markerVid(e, bucket, key)
          })
      ).res
    // Registered before the GET leaves, so a write racing it pins what this GET found (readers.ts).
    const reader = this.readers.begin(eb, key, track)
    try {
      // One round trip for the common small GET: the first bytes come with the metadata.
      let res: EngineResponse
      try {
        res = await get(whole ? undefined : `bytes=0-${this.smallLimit - 1}`)
      } catch (e) {
        const code = (e as { code?: string }).code
        if (code === 'NoSuchKey' && versionId === undefined && (e as { fields: Record<string, unknown> }).fields.deleteMarker === undefined)
          throw await this.hiddenByMarker(eb, bucket, key, e)
        if (code === 'NoSuchVersion' && engineVid !== undefined && (await this.isMarker(eb, key, engineVid))) {
          throw s3Error('MethodNotAllowed', { fields: { Method: 'GET', ResourceType: 'DeleteMarker' } })
        }
        if (code !== 'InvalidRange') throw e
        res = await get(undefined) // an empty object has no byte 0
      }
      const h = fromWireHeaders(res.headers)
      const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1]
      const length = Number(res.headers['content-length'])
      const size = total !== undefined ? Number(total) : length
      if (!Number.isSafeInteger(size)) {
        res.destroy()
        throw s3Error('InternalError', { message: `The storage engine of region ${this.region} answered a GET without a size` })
      }
      if (whole && size > this.smallLimit) {
        const isLatest =
          versionId === undefined
            ? true
            : await this.isLatest(eb, key, h.VersionId ?? 'null').catch((e: unknown) => {
                res.destroy()
                throw e
              })
        const found = await this.toFound(bucket, key, h, size, isLatest).catch((e: unknown) => {
          res.destroy()
          throw e
        })
        // The GET has started, so the engine serves these bytes even if a write replaces them
        // now (readers.ts): nothing to pin.
        reader.settle(undefined)
        return { version: found.version, open: this.inFlight(res, found) }
      }
      const head = await readAll(res).catch((e: unknown) => {
        throw this.engine.translate(e)
      })
      const isLatest = versionId === undefined ? true : await this.isLatest(eb, key, h.VersionId ?? 'null')
      const found = await this.toFound(bucket, key, h, size, isLatest)
      if (size <= head.length) {
        reader.settle(undefined)
        return { version: found.version, inline: head, open: (r) => bufferStream(r ? head.subarray(r.start, r.end + 1) : head) }
      }
      reader.settle({ engineBucket: eb, key, engineVid: found.engineVid, engineEtag: found.engineEtag, size, offset: head.length }, head)
      return { version: found.version, open: reader.open }
    } catch (e) {
      reader.settle(undefined)
      throw e
    }
  }

  /**
   * open() of a whole-object GET in flight: the first open takes its body; a later open, or one
   * after UNOPENED_MS (the caller decided not to read, e.g. a failed condition), fetches again,
   * pinned to the version found (If-Match, version id), so it never mixes two objects.
   */
  private inFlight(res: EngineResponse, found: Found): (range?: ByteRange) => Readable {
    let body: EngineResponse | undefined = res
    res.on('error', () => {}) // destroyed unopened, or failing before anyone listens
    const timer = setTimeout(() => {
      body?.destroy()
      body = undefined
    }, UNOPENED_MS)
    timer.unref()
    return (range) => {
      // Claimed now (in call order), streamed from the first read (readers.ts lazyStream: a
      // failing re-fetch must reach a reader, never be an 'error' event before anyone listens).
      const mine = body
      body = undefined
      clearTimeout(timer)
      if (mine && range) mine.destroy()
      const start = range?.start ?? 0
      const end = range?.end ?? found.version.size - 1
      let sourced = false
      let lent = false
      const source = async (): Promise<Readable> => {
        sourced = true
        if (mine && !range && !mine.destroyed) return mine
        const { res: again } = await this.engine.request({
          method: 'GET',
          bucket: this.engineBucket(found.version.bucket),
          key: found.version.key,
          headers: { range: `bytes=${start}-${end}`, 'if-match': `"${found.engineEtag}"` },
          ...(found.engineVid !== 'null' ? { query: { versionId: found.engineVid } } : {}),
        })
        return again
      }
      const out = lazyStream(Buffer.alloc(0), source, (e) => this.engine.translate(e))
      // Destroyed before its first read, the stream never took `mine`: give its connection up.
      out.once('close', () => {
        if (mine && !lent && !mine.readableEnded) mine.destroy()
      })
      // The HTTP layer's first choice (respond.ts): the engine's bytes go to the client without a
      // stream between them, so the connection can reuse its read buffers (conn.ts).
      if (mine && !range)
        (out as SendsTo)[SEND_TO] = (dest) => {
          if (sourced || out.destroyed) return undefined
          const sending = sendTo(mine, dest)
          if (!sending) return undefined
          lent = true
          out.destroy()
          return sending
        }
      return out
    }
  }

  /**
   * RGW answers a GET of a key whose latest version is a delete marker with a bare 404 (no
   * x-amz-delete-marker), so a 404 asks the version listing whether a marker is on top.
   */
  private async hiddenByMarker(eb: string, bucket: string, key: string, notFound: unknown): Promise<unknown> {
    const r = await this.engine.call((c) => c.send(new ListObjectVersionsCommand({ Bucket: eb, Prefix: key, MaxKeys: 1 }))).catch(() => undefined)
    const m = r?.DeleteMarkers?.[0]
    if (!m || m.Key !== key || m.IsLatest !== true) return notFound
    const ev = m.VersionId ?? 'null'
    const vid = (await this.live().version(bucket, key, ev))?.mrapVid ?? ev
    return s3Error('NoSuchKey', { fields: { Key: key, deleteMarker: 'true', versionId: vid }, headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': vid } })
  }

  /** RGW answers a GET of a delete marker's id with 404 where S3 says 405 MethodNotAllowed. */
  private async isMarker(eb: string, key: string, engineVid: string): Promise<boolean> {
    const r = await this.engine.call((c) => c.send(new ListObjectVersionsCommand({ Bucket: eb, Prefix: key, MaxKeys: 1000 }))).catch(() => undefined)
    return (r?.DeleteMarkers ?? []).some((m) => m.Key === key && m.VersionId === engineVid)
  }

  private async isLatest(eb: string, key: string, engineVid: string): Promise<boolean> {
    try {
      const h = await this.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: key })))
      return (h.VersionId ?? 'null') === engineVid
    } catch (e) {
      if ((e as { code?: string }).code === 'NoSuchKey') return false
      throw e
    }
  }

  /** Engine read errors as the contract names them (delete markers, missing buckets, ids). */
  private readError(e: unknown, _bucket: string, key: string, versionId: string | undefined): unknown {
    const { code, status, headers } = errorInfo(e)
    if (code === 'NoSuchBucket') return s3Error(versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion', { fields: { Key: key } })
    if (status === 405 || code === 'MethodNotAllowed') return s3Error('MethodNotAllowed', { fields: { Method: 'GET', ResourceType: 'DeleteMarker' } })
    if (status === 404 && versionId !== undefined) return s3Error('NoSuchVersion', { fields: { Key: key, VersionId: versionId } })
    if (status === 404 || code === 'NoSuchKey') {
      if (headers['x-amz-delete-marker'] === 'true') {
        // The engine's id; markerVid maps it to mrap's (a sidecar lookup, which this cannot await).
        const ev = headers['x-amz-version-id'] ?? 'null'
        return s3Error('NoSuchKey', {
          fields: { Key: key, deleteMarker: 'true', versionId: ev, engineVid: ev },
          headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': ev },
        })
      }
      return s3Error('NoSuchKey', { fields: { Key: key } })
    }
    if (status === 400 && code === 'InvalidArgument' && versionId !== undefined) return s3Error('NoSuchVersion', { fields: { Key: key, VersionId: versionId } })
    return e
  }

  /** A delete marker's id in a read error as mrap knows it: a preserved (replica) id when it has one. */
  private async markerVid(e: unknown, bucket: string, key: string): Promise<unknown> {
    const fields = (e as { fields?: Record<string, unknown> }).fields
    const ev = fields?.engineVid
    if (typeof ev !== 'string') return e
    const vid = (await this.live().version(bucket, key, ev))?.mrapVid ?? ev
    return s3Error('NoSuchKey', { fields: { Key: key, deleteMarker: 'true', versionId: vid }, headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': vid } })
  }

  /** An ObjectVersion from engine headers, completed by the metadata blob and the sidecar. */
  private async toFound(
    bucket: string,
    key: string,
    h: EngineObjectHead & { VersionId?: string; ETag?: string; LastModified?: Date },
    size: number,
    isLatest: boolean,
  ): Promise<Found> {
    const engineVid = h.VersionId ?? 'null'
    const engineEtag = unquote(h.ETag)
    const { attributes, blob } = decodeAttributes(h)
    const row = this.current(await this.live().version(bucket, key, engineVid), engineEtag)
    const digests: StoredDigests = row?.digests ?? blob.digests ?? { etag: engineEtag, checksums: {} }
    const version: ObjectVersion = {
      ...(row?.attrs ?? attributes),
      bucket,
      key,
      versionId: row?.mrapVid ?? engineVid,
      isDeleteMarker: false,
      isLatest,
      size,
      etag: digests.etag,
      lastModified: row?.lastModifiedMs != null ? new Date(row.lastModifiedMs) : (h.LastModified ?? new Date(0)),
      checksums: digests.checksums,
      ...(digests.checksumType ? { checksumType: digests.checksumType } : {}),
      ...(digests.parts ? { parts: digests.parts } : {}),
    }
    return { version, engineVid, engineEtag }
  }

  /** A sidecar row only while it describes the engine's object (same ETag). */
  current(row: VersionRow | undefined, engineEtag: string): VersionRow | undefined {
    return row && (row.isMarker || row.engineEtag === engineEtag) ? row : undefined
  }

  async updateObject(bucket: string, key: string, versionId: string | undefined, patch: Partial<ObjectAttributes>): Promise<ObjectVersion> {
    const side = this.live()
    const got = await this.read(bucket, key, versionId, false)
    const v = got.version
    const { bucket: _b, key: _k, versionId: _v, isDeleteMarker: _d, isLatest: _l, size: _s, etag: _e, lastModified: _m, checksums: _c, checksumType: _t, parts: _p, ...current } = v
    const merged = cleanAttributes({ ...current, ...patch })
    const engineVid = await this.engineVid(bucket, key, v.versionId)
    const eb = this.engineBucket(bucket)
    const h = await this.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: key, ...(engineVid !== 'null' ? { VersionId: engineVid } : {}) })))
    const engineEtag = unquote(h.ETag)
    const row = this.current(await side.version(bucket, key, engineVid), engineEtag)
    if (row) await side.setAttrs(bucket, key, engineVid, merged)
    else
      await side.putVersion({
        bucket,
        key,
        engineVid,
        engineEtag,
        mrapVid: null,
        lastModifiedMs: null,
        isMarker: false,
        attrs: merged,
        digests: { etag: v.etag, checksums: v.checksums, ...(v.checksumType ? { checksumType: v.checksumType } : {}), ...(v.parts ? { parts: v.parts } : {}) },
      })
    return { ...v, ...merged }
  }

  async deleteObject(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    this.live()
    const leaveKey = await this.enterKey(bucket, key, undefined)
    try {
      return await this.deleteEntered(bucket, key, opts)
    } finally {
      leaveKey()
    }
  }

  private async deleteEntered(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    const side = this.live()
    const eb = this.engineBucket(bucket)
    if (opts.versionId !== undefined) {
      const engineVid = await this.engineVid(bucket, key, opts.versionId)
      await this.readers.pin(eb, key)
      const r = await this.engine.call((c) =>
        c.send(new DeleteObjectCommand({ Bucket: eb, Key: key, VersionId: engineVid })).catch((e: unknown) => {
          if (errorInfo(e).code === 'NoSuchBucket') return { DeleteMarker: false }
          throw e
        }),
      )
      await side.dropVersion(bucket, key, engineVid)
      return { versionId: opts.versionId, deleteMarker: r.DeleteMarker === true }
    }
    const leave = await this.buckets.enter(eb, opts.versioning)
    try {
      await this.readers.pin(eb, key)
      const r = await this.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: key })))
      if (opts.versioning !== 'Enabled') await side.dropVersion(bucket, key, 'null')
      if (opts.versioning === 'Unversioned') return { deleteMarker: false }
      return { versionId: opts.versioning === 'Suspended' ? 'null' : (r.VersionId ?? 'null'), deleteMarker: true }
    } finally {
      leave()
    }
  }

  async putDeleteMarker(input: { bucket: string; key: string; versionId: string; lastModified: Date; attributes?: ObjectAttributes }): Promise<ObjectVersion> {
    const side = this.live()
    const eb = this.engineBucket(input.bucket)
    const leave = await this.buckets.enter(eb, 'Enabled')
    try {
      const old = await side.byMrapVid(input.bucket, input.key, input.versionId)
      await this.readers.pin(eb, input.key)
      if (old) {
        await this.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: input.key, VersionId: old.engineVid })))
        await side.dropVersion(input.bucket, input.key, old.engineVid)
      }
      const r = await this.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: input.key })))
      const attributes = cleanAttributes(input.attributes)
      await side.putVersion({
        bucket: input.bucket,
        key: input.key,
        engineVid: r.VersionId ?? 'null',
        engineEtag: '',
        mrapVid: input.versionId,
        lastModifiedMs: input.lastModified.getTime(),
        isMarker: true,
        attrs: attributes,
        digests: null,
      })
      return {
        ...attributes,
        bucket: input.bucket,
        key: input.key,
        versionId: input.versionId,
        isDeleteMarker: true,
        isLatest: true,
        size: 0,
        etag: '',
        lastModified: input.lastModified,
        checksums: {},
      }
    } finally {
      leave()
    }
  }

  async listObjects(bucket: string, input: ListObjectsInput): Promise<ListObjectsResult> {
    const side = this.live()
    if (input.maxKeys <= 0) return { objects: [], commonPrefixes: [], isTruncated: false }
    const after = input.after
    // With a delimiter, the common prefix that `after` names can come back (its keys sort after
    // it): ask for one more and drop it, so a page is still full.
    const extra = input.delimiter && after !== undefined ? 1 : 0
    const r = await this.engine.call((c) =>
      c
        .send(
          new ListObjectsV2Command({
            Bucket: this.engineBucket(bucket),
            MaxKeys: input.maxKeys + extra,
            ...(input.prefix ? { Prefix: input.prefix } : {}),
            ...(input.delimiter ? { Delimiter: input.delimiter } : {}),
            ...(after !== undefined ? { StartAfter: after } : {}),
          }),
        )
        .catch((e: unknown) => {
          if (errorInfo(e).code === 'NoSuchBucket') return undefined
          throw e
        }),
    )
    if (!r) return { objects: [], commonPrefixes: [], isTruncated: false }
    type Entry = { name: string; object?: ObjectVersion }
    const entries: Entry[] = []
    const listed = r.Contents ?? []
    const rows = await currentRows(
      this.engine,
      this.engineBucket(bucket),
      listed.map((o) => o.Key ?? ''),
      await side.byEtags(
        bucket,
        listed.map((o) => [o.Key ?? '', unquote(o.ETag)]),
      ),
    )
    for (const [i, o] of (r.Contents ?? []).entries()) {
      const key = o.Key ?? ''
      const engineEtag = unquote(o.ETag)
      const row = rows[i]
      entries.push({
        name: key,
        object: {
          ...(row?.attrs ?? { userMetadata: {}, tags: [] }),
          bucket,
          key,
          versionId: row?.mrapVid ?? 'null',
          isDeleteMarker: false,
          isLatest: true,
          size: o.Size ?? 0,
          etag: row?.digests?.etag ?? engineEtag,
          lastModified: row?.lastModifiedMs != null ? new Date(row.lastModifiedMs) : (o.LastModified ?? new Date(0)),
          checksums: row?.digests?.checksums ?? {},
        },
      })
    }
    for (const p of r.CommonPrefixes ?? []) {
      if (p.Prefix !== undefined && (after === undefined || byteOrder(p.Prefix, after) > 0)) entries.push({ name: p.Prefix })
    }
    entries.sort((a, b) => byteOrder(a.name, b.name))
    const isTruncated = entries.length > input.maxKeys || (r.IsTruncated === true && entries.length > 0)
    const page = entries.slice(0, input.maxKeys)
    const out: ListObjectsResult = {
      objects: page.flatMap((e) => (e.object ? [e.object] : [])),
      commonPrefixes: page.flatMap((e) => (e.object ? [] : [e.name])),
      isTruncated,
    }
    if (isTruncated) out.nextAfter = page[page.length - 1]!.name
    return out
  }

  /** Attributes kept in the engine's metadata (small objects) are not in its listings. */
  readonly listsAttributes = false

  async listVersions(bucket: string, input: ListVersionsInput): Promise<ListVersionsResult> {
    const side = this.live()
    if (input.maxKeys <= 0) return { versions: [], commonPrefixes: [], isTruncated: false }
    const marker = input.keyMarker !== undefined && input.versionIdMarker !== undefined ? await this.engineVid(bucket, input.keyMarker, input.versionIdMarker) : undefined
    const r = await this.engine.call((c) =>
      c
        .send(
          new ListObjectVersionsCommand({
            Bucket: this.engineBucket(bucket),
            MaxKeys: input.maxKeys,
            ...(input.prefix ? { Prefix: input.prefix } : {}),
            ...(input.delimiter ? { Delimiter: input.delimiter } : {}),
            ...(input.keyMarker !== undefined ? { KeyMarker: input.keyMarker } : {}),
            ...(marker !== undefined ? { VersionIdMarker: marker } : {}),
          }),
        )
        .catch((e: unknown) => {
          if (errorInfo(e).code === 'NoSuchBucket') return undefined
          throw e
        }),
    )
    if (!r) return { versions: [], commonPrefixes: [], isTruncated: false }
    const versions: ObjectVersion[] = []
    type Listed = { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date; ETag?: string; Size?: number }
    const add = (o: Listed, isDeleteMarker: boolean, found: VersionRow | undefined): void => {
      const key = o.Key ?? ''
      const engineVid = o.VersionId ?? 'null'
      const engineEtag = unquote(o.ETag)
      const row = this.current(found, isDeleteMarker ? '' : engineEtag)
      versions.push({
        ...(row?.attrs ?? { userMetadata: {}, tags: [] }),
        bucket,
        key,
        versionId: row?.mrapVid ?? engineVid,
        isDeleteMarker,
        isLatest: o.IsLatest === true,
        size: isDeleteMarker ? 0 : (o.Size ?? 0),
        etag: isDeleteMarker ? '' : (row?.digests?.etag ?? engineEtag),
        lastModified: row?.lastModifiedMs != null ? new Date(row.lastModifiedMs) : (o.LastModified ?? new Date(0)),
        checksums: row?.digests?.checksums ?? {},
      })
    }
    // RGW treats a key marker without a version-id marker as inclusive; S3 starts after the key.
    const skip = (o: { Key?: string }): boolean => marker === undefined && input.keyMarker !== undefined && byteOrder(o.Key ?? '', input.keyMarker) <= 0
    const listed: [Listed, boolean][] = [
      ...(r.Versions ?? []).map((v): [Listed, boolean] => [v, false]),
      ...(r.DeleteMarkers ?? []).map((m): [Listed, boolean] => [m, true]),
    ].filter(([o]) => !skip(o))
    const next: [string, string] | undefined =
      r.IsTruncated === true && r.NextKeyMarker !== undefined && r.NextVersionIdMarker !== undefined ? [r.NextKeyMarker, r.NextVersionIdMarker] : undefined
    // The page's rows and the next marker's, in one sidecar query.
    const rows = await side.versions(bucket, [...listed.map(([o]): [string, string] => [o.Key ?? '', o.VersionId ?? 'null']), ...(next ? [next] : [])])
    listed.forEach(([o, isDeleteMarker], i) => {
      add(o, isDeleteMarker, rows[i])
    })
    // The SDK splits versions and markers into two lists; S3's order is keys ascending, newest first.
    versions.sort((a, b) => byteOrder(a.key, b.key) || Number(b.isLatest) - Number(a.isLatest) || b.lastModified.getTime() - a.lastModified.getTime())
    const out: ListVersionsResult = {
      versions,
      commonPrefixes: (r.CommonPrefixes ?? []).flatMap((p) => (p.Prefix !== undefined ? [p.Prefix] : [])),
      isTruncated: r.IsTruncated === true,
    }
    if (out.isTruncated) {
      if (r.NextKeyMarker !== undefined) out.nextKeyMarker = r.NextKeyMarker
      if (r.NextVersionIdMarker !== undefined && r.NextKeyMarker !== undefined) {
        out.nextVersionIdMarker = rows[listed.length]?.mrapVid ?? r.NextVersionIdMarker
      }
    }
    return out
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

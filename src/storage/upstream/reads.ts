/**
 * @module The upstream store's read path: GetObject and HeadObject as one engine GET that brings
 * the metadata with the first `smallLimit` bytes (or, for a caller reading the whole object, all
 * of them), the version it describes (engine headers, the metadata blob, the sidecar), and the
 * engine's read errors in the contract's words (RGW's delete-marker answers differ from S3's).
 * Bytes not read yet are fetched at open(), pinned to the version found (readers.ts).
 */
import type { Readable } from 'node:stream'
import { HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import { s3Error } from '../../shared/errors.js'
import { SEND_TO, type SendsTo } from '../../shared/send-to.js'
import type { ByteRange, GetResult, ObjectVersion } from '../types.js'
import type { StoreCore } from './core.js'
import { currentRow } from './current-row.js'
import { errorInfo } from './engine.js'
import { decodeAttributes, type EngineObjectHead, fromWireHeaders, unquote } from './metadata.js'
import { bufferStream, lazyStream, type Readers } from './readers.js'
import { sendTo } from './response.js'
import type { StoredDigests } from './sidecar.js'
import { type EngineResponse, readAll } from './wire.js'

/** How long a whole-object GET in flight waits for open() before its connection is given up. */
const UNOPENED_MS = 5000

/** What a read learned about one engine version. */
interface Found {
  version: ObjectVersion
  engineVid: string
  engineEtag: string
}

export class UpstreamReads {
  constructor(
    private readonly store: StoreCore,
    private readonly readers: Readers,
  ) {}

  /**
   * `track`: false for the store's own metadata reads, which never open the bytes. `whole`: the
   * caller opens the whole object at once, so one GET of all of it serves metadata and bytes
   * (a large object otherwise costs a first GET of `smallLimit` bytes, then a second at open).
   */
  async read(bucket: string, key: string, versionId: string | undefined, track: boolean, whole = false): Promise<GetResult> {
    this.store.live()
    const eb = this.store.engineBucket(bucket)
    const engineVid = versionId === undefined ? undefined : await this.store.engineVid(bucket, key, versionId)
    const get = async (range: string | undefined): Promise<EngineResponse> =>
      (
        await this.store.engine
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
        res = await get(whole ? undefined : `bytes=0-${this.store.smallLimit - 1}`)
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
        throw s3Error('InternalError', { message: `The storage engine of region ${this.store.region} answered a GET without a size` })
      }
      if (whole && size > this.store.smallLimit) {
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
        throw this.store.engine.translate(e)
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
        const { res: again } = await this.store.engine.request({
          method: 'GET',
          bucket: this.store.engineBucket(found.version.bucket),
          key: found.version.key,
          headers: { range: `bytes=${start}-${end}`, 'if-match': `"${found.engineEtag}"` },
          ...(found.engineVid !== 'null' ? { query: { versionId: found.engineVid } } : {}),
        })
        return again
      }
      const out = lazyStream(Buffer.alloc(0), source, (e) => this.store.engine.translate(e))
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
    const r = await this.store.engine.call((c) => c.send(new ListObjectVersionsCommand({ Bucket: eb, Prefix: key, MaxKeys: 1 }))).catch(() => undefined)
    const m = r?.DeleteMarkers?.[0]
    if (!m || m.Key !== key || m.IsLatest !== true) return notFound
    const ev = m.VersionId ?? 'null'
    const vid = (await this.store.live().version(bucket, key, ev))?.mrapVid ?? ev
    return s3Error('NoSuchKey', { fields: { Key: key, deleteMarker: 'true', versionId: vid }, headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': vid } })
  }

  /** RGW answers a GET of a delete marker's id with 404 where S3 says 405 MethodNotAllowed. */
  private async isMarker(eb: string, key: string, engineVid: string): Promise<boolean> {
    const r = await this.store.engine.call((c) => c.send(new ListObjectVersionsCommand({ Bucket: eb, Prefix: key, MaxKeys: 1000 }))).catch(() => undefined)
    return (r?.DeleteMarkers ?? []).some((m) => m.Key === key && m.VersionId === engineVid)
  }

  private async isLatest(eb: string, key: string, engineVid: string): Promise<boolean> {
    try {
      const h = await this.store.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: key })))
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
    const vid = (await this.store.live().version(bucket, key, ev))?.mrapVid ?? ev
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
    const row = currentRow(await this.store.live().version(bucket, key, engineVid), engineEtag)
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
}

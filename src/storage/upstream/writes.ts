/**
 * @module The upstream store's writes of an object version: PutObject (its body streamed or
 * buffered to the engine, mrap's attributes and digests in the engine's metadata or, when the
 * engine cannot hold them, a sidecar row), the Last-Modified of what was written, and updates of
 * a version's attributes (tags, ACL...), which always go to the sidecar.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { cleanAttributes } from '../embedded/rows.js'
import type { ObjectAttributes, ObjectVersion, PutObjectInput } from '../types.js'
import { sendBody } from './body.js'
import type { StoreCore } from './core.js'
import { currentRow, needsOwnRow } from './current-row.js'
import { encodeAttributes, fromWireHeaders, toWireHeaders, unquote } from './metadata.js'
import type { UpstreamReads } from './reads.js'
import type { EngineResponse } from './wire.js'

export class UpstreamWrites {
  constructor(
    private readonly store: StoreCore,
    private readonly reads: UpstreamReads,
  ) {}

  async putObject(input: PutObjectInput): Promise<ObjectVersion> {
    const side = this.store.live()
    const eb = this.store.engineBucket(input.bucket)
    const attributes = cleanAttributes(input.attributes)
    const leaveKey = await this.store.enterKey(input.bucket, input.key, input.condition)
    let leave = (): void => {}
    try {
      leave = await this.store.buckets.enter(eb, input.versioning)
      const mtime = input.lastModified?.getTime()
      let sent = 0
      const { result, digests } = await sendBody({
        body: input.body,
        size: input.size,
        tmpDir: this.store.tmpDir,
        smallLimit: this.store.smallLimit,
        // After finalize, before the last byte leaves: the engine cannot show the new object yet.
        finalize: async (staged) => {
          const d = await input.finalize(staged)
          await this.store.pinReaders(eb, input.key)
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
          const r = await this.store.engine.request({ method: 'PUT', bucket: eb, key: input.key, headers, body, signal })
          r.res.resume()
          return r
        },
      })
      const engineVid = fromWireHeaders(result.res.headers).VersionId ?? 'null'
      const engineEtag = unquote(fromWireHeaders(result.res.headers).ETag)
      const lastModified = input.lastModified ?? (await this.modifiedAt(eb, input.key, engineVid, engineEtag, result))
      const inMetadata = input.size === undefined || sent <= this.store.smallLimit
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
    const known = put && this.store.engine.clock.secondOf(put.sent, put.received, put.res?.headers.date)
    if (known !== undefined) return new Date(known)
    try {
      const { res } = await this.store.engine.request({ method: 'HEAD', bucket: eb, key, ...(engineVid !== 'null' ? { query: { versionId: engineVid } } : {}) })
      res.resume()
      const h = fromWireHeaders(res.headers)
      if (h.LastModified && (!engineEtag || unquote(h.ETag) === engineEtag)) return h.LastModified
    } catch {
      /* overwritten or deleted already: the time of the answer is as good */
    }
    return new Date(Math.floor(Date.now() / 1000) * 1000)
  }

  async updateObject(bucket: string, key: string, versionId: string | undefined, patch: Partial<ObjectAttributes>): Promise<ObjectVersion> {
    const side = this.store.live()
    const got = await this.reads.read(bucket, key, versionId, false)
    const v = got.version
    const { bucket: _b, key: _k, versionId: _v, isDeleteMarker: _d, isLatest: _l, size: _s, etag: _e, lastModified: _m, checksums: _c, checksumType: _t, parts: _p, ...current } = v
    const merged = cleanAttributes({ ...current, ...patch })
    const engineVid = await this.store.engineVid(bucket, key, v.versionId)
    const eb = this.store.engineBucket(bucket)
    const h = await this.store.engine.call((c) => c.send(new HeadObjectCommand({ Bucket: eb, Key: key, ...(engineVid !== 'null' ? { VersionId: engineVid } : {}) })))
    const engineEtag = unquote(h.ETag)
    const row = currentRow(await side.version(bucket, key, engineVid), engineEtag)
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
}

/**
 * @module The upstream store's deletes: of a version (its sidecar row goes with it), of a key
 * (the engine adds the delete marker, or removes the null version, as the bucket's versioning
 * says), and a replica's delete marker put with its preserved id and time.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { cleanAttributes } from '../embedded/rows.js'
import type { DeleteResult, ObjectAttributes, ObjectVersion, VersioningState } from '../types.js'
import type { StoreCore } from './core.js'
import { errorInfo } from './engine.js'

export class UpstreamDeletes {
  constructor(private readonly store: StoreCore) {}

  async deleteObject(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    this.store.live()
    const leaveKey = await this.store.enterKey(bucket, key, undefined)
    try {
      return await this.deleteEntered(bucket, key, opts)
    } finally {
      leaveKey()
    }
  }

  private async deleteEntered(bucket: string, key: string, opts: { versionId?: string; versioning: VersioningState }): Promise<DeleteResult> {
    const side = this.store.live()
    const eb = this.store.engineBucket(bucket)
    if (opts.versionId !== undefined) {
      const engineVid = await this.store.engineVid(bucket, key, opts.versionId)
      await this.store.pinReaders(eb, key)
      const r = await this.store.engine.call((c) =>
        c.send(new DeleteObjectCommand({ Bucket: eb, Key: key, VersionId: engineVid })).catch((e: unknown) => {
          if (errorInfo(e).code === 'NoSuchBucket') return { DeleteMarker: false }
          throw e
        }),
      )
      await side.dropVersion(bucket, key, engineVid)
      return { versionId: opts.versionId, deleteMarker: r.DeleteMarker === true }
    }
    const leave = await this.store.buckets.enter(eb, opts.versioning)
    try {
      await this.store.pinReaders(eb, key)
      const r = await this.store.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: key })))
      if (opts.versioning !== 'Enabled') await side.dropVersion(bucket, key, 'null')
      if (opts.versioning === 'Unversioned') return { deleteMarker: false }
      return { versionId: opts.versioning === 'Suspended' ? 'null' : (r.VersionId ?? 'null'), deleteMarker: true }
    } finally {
      leave()
    }
  }

  async putDeleteMarker(input: { bucket: string; key: string; versionId: string; lastModified: Date; attributes?: ObjectAttributes }): Promise<ObjectVersion> {
    const side = this.store.live()
    const eb = this.store.engineBucket(input.bucket)
    const leave = await this.store.buckets.enter(eb, 'Enabled')
    try {
      const old = await side.byMrapVid(input.bucket, input.key, input.versionId)
      await this.store.pinReaders(eb, input.key)
      if (old) {
        await this.store.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: input.key, VersionId: old.engineVid })))
        await side.dropVersion(input.bucket, input.key, old.engineVid)
      }
      const r = await this.store.engine.call((c) => c.send(new DeleteObjectCommand({ Bucket: eb, Key: input.key })))
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
}

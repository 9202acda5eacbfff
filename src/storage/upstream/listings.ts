/**
 * @module The upstream store's listings: ListObjects and ListObjectVersions from the engine's,
 * completed by the sidecar's rows (preserved ids and times, attributes, checksums) and put back
 * into S3's order and paging where RGW's differ.
 */
import { ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import type { ListObjectsInput, ListObjectsResult, ListVersionsInput, ListVersionsResult, ObjectVersion } from '../types.js'
import type { StoreCore } from './core.js'
import { currentRow, currentRows } from './current-row.js'
import { errorInfo } from './engine.js'
import { unquote } from './metadata.js'
import type { VersionRow } from './sidecar.js'

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

export class UpstreamListings {
  constructor(private readonly store: StoreCore) {}

  async listObjects(bucket: string, input: ListObjectsInput): Promise<ListObjectsResult> {
    const side = this.store.live()
    if (input.maxKeys <= 0) return { objects: [], commonPrefixes: [], isTruncated: false }
    const after = input.after
    // With a delimiter, the common prefix that `after` names can come back (its keys sort after
    // it): ask for one more and drop it, so a page is still full.
    const extra = input.delimiter && after !== undefined ? 1 : 0
    const r = await this.store.engine.call((c) =>
      c
        .send(
          new ListObjectsV2Command({
            Bucket: this.store.engineBucket(bucket),
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
      this.store.engine,
      this.store.engineBucket(bucket),
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

  async listVersions(bucket: string, input: ListVersionsInput): Promise<ListVersionsResult> {
    const side = this.store.live()
    if (input.maxKeys <= 0) return { versions: [], commonPrefixes: [], isTruncated: false }
    const marker = input.keyMarker !== undefined && input.versionIdMarker !== undefined ? await this.store.engineVid(bucket, input.keyMarker, input.versionIdMarker) : undefined
    const r = await this.store.engine.call((c) =>
      c
        .send(
          new ListObjectVersionsCommand({
            Bucket: this.store.engineBucket(bucket),
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
      const row = currentRow(found, isDeleteMarker ? '' : engineEtag)
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
}

/**
 * @module Which sidecar row describes the current version of a key in a ListObjects page. The
 * engine's ListObjectsV2 names no version ids, so the rows are found by (key, engine ETag), and in
 * a versioned bucket the same bytes written twice under a key share one ETag: the partner's
 * version and the bucket owner's later copy of it must not both read as the partner's (its owner
 * under ObjectWriter, its storage class, its checksums). putObject keeps a row for every version
 * of such a key (`needsOwnRow`), so one row found is the current version's, and only a key with
 * several costs an engine HEAD: the rare case pays, an ordinary listing does not.
 */
import { isS3Error } from '../../shared/errors.js'
import type { Engine } from './engine.js'
import { fromWireHeaders } from './metadata.js'
import type { Sidecar, VersionRow } from './sidecar.js'

/** A sidecar row only while it describes the engine's object (same ETag). */
export function currentRow(row: VersionRow | undefined, engineEtag: string): VersionRow | undefined {
  return row && (row.isMarker || row.engineEtag === engineEtag) ? row : undefined
}

/**
 * A plain write (no row of its own needed) of a versioned key needs one all the same when another
 * version of the key with the same engine ETag has a row: otherwise a listing would take that
 * row for this version. One sidecar point read, only for writes that get an engine version id.
 */
export async function needsOwnRow(side: Sidecar, bucket: string, key: string, engineVid: string, engineEtag: string): Promise<boolean> {
  return engineVid !== 'null' && (await side.byEtag(bucket, key, engineEtag)) !== undefined
}

/** The row of each listed key's current version, from the rows sharing its ETag (`candidates`). */
export async function currentRows(engine: Engine, engineBucket: string, keys: string[], candidates: VersionRow[][]): Promise<(VersionRow | undefined)[]> {
  return Promise.all(
    candidates.map(async (rows, i) => {
      if (rows.length <= 1) return rows[0]
      const current = await currentVid(engine, engineBucket, keys[i]!)
      return rows.find((r) => r.engineVid === current)
    }),
  )
}

/** The engine's id of the key's current version; undefined when it has none now (deleted since the listing). */
async function currentVid(engine: Engine, engineBucket: string, key: string): Promise<string | undefined> {
  try {
    const { res } = await engine.request({ method: 'HEAD', bucket: engineBucket, key })
    res.resume()
    return fromWireHeaders(res.headers).VersionId ?? 'null'
  } catch (e) {
    if (isS3Error(e) && e.code === 'NoSuchKey') return undefined
    throw e
  }
}

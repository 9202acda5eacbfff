/**
 * @module The crash test's child process: writes objects (inline, file-backed) and multipart
 * uploads concurrently into a store, forever, printing `ACK <key> <sha256>` once each write is
 * acknowledged. The test kills it with SIGKILL mid-flight and checks the store it left.
 *
 * Run: node --import tsx crash-workload.ts <dir>
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { EmbeddedObjectStore } from './embedded-object-store.js'

export const CRASH_BUCKET = 'crash'
const MiB = 1024 * 1024
const SIZES = [100, 1024, 60 * 1024, 70 * 1024, 300 * 1024, MiB + 5]

/** The bytes a key must hold, derived from the key alone so the parent can check any key. */
export function contentFor(key: string): Buffer {
  if (key.startsWith('mp/')) return Buffer.concat(partsFor(key))
  const size = Number(key.split('-').pop())
  return pattern(key, size)
}

export function partsFor(key: string): Buffer[] {
  return [pattern(`${key}#1`, 5 * MiB), pattern(`${key}#2`, 3000)]
}

/** A 64 KiB seeded block repeated, each copy stamped with its index so misplaced blocks show. */
function pattern(seed: string, size: number): Buffer {
  const digests: Buffer[] = []
  for (let i = 0; i < 2048; i++) digests.push(createHash('sha256').update(`${seed}:${i}`).digest())
  const block = Buffer.concat(digests)
  const out = Buffer.allocUnsafe(size)
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    block.copy(out, off, 0, Math.min(block.length, size - off))
    if (off + 4 <= size) out.writeUInt32BE(n, off)
  }
  return out
}

export function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

function body(b: Buffer): Readable {
  let off = 0
  return new Readable({
    read() {
      this.push(off < b.length ? b.subarray(off, (off += 16 * 1024)) : null)
    },
  })
}

async function main(dir: string): Promise<void> {
  const store = new EmbeddedObjectStore({ region: 'crash-1', dir })
  await store.open()
  await store.createBucket(CRASH_BUCKET)
  const ack = (key: string, data: Buffer): void => {
    process.stdout.write(`ACK ${key} ${sha256hex(data)}\n`)
  }
  const single = async (w: number): Promise<never> => {
    for (let n = 0; ; n++) {
      const key = `w${w}/n${n}-${SIZES[(w + n) % SIZES.length]}`
      const data = contentFor(key)
      await store.putObject({
        bucket: CRASH_BUCKET,
        key,
        versioning: w % 2 ? 'Enabled' : 'Unversioned',
        attributes: { userMetadata: {}, tags: [] },
        body: body(data),
        finalize: () => ({ etag: sha256hex(data).slice(0, 32), checksums: {} }),
      })
      ack(key, data)
    }
  }
  const multi = async (w: number): Promise<never> => {
    for (let n = 0; ; n++) {
      const key = `mp/w${w}-n${n}`
      const up = await store.createUpload({ bucket: CRASH_BUCKET, key, attributes: { userMetadata: {}, tags: [] } })
      const parts = partsFor(key)
      const infos = await Promise.all(
        parts.map((p, i) =>
          store.uploadPart({
            bucket: CRASH_BUCKET,
            uploadId: up.uploadId,
            partNumber: i + 1,
            body: body(p),
            finalize: () => ({ etag: sha256hex(p).slice(0, 32), checksums: {} }),
          }),
        ),
      )
      await store.completeUpload({
        bucket: CRASH_BUCKET,
        uploadId: up.uploadId,
        versioning: 'Enabled',
        parts: infos.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
        finalize: (ps) => ({ etag: `x-${ps.length}`, checksums: {} }),
      })
      ack(key, Buffer.concat(parts))
    }
  }
  await Promise.all([...Array.from({ length: 8 }, (_, w) => single(w)), multi(0), multi(1)])
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: crash-workload.ts <dir>')
  await main(dir)
}

/**
 * Bench case (issue 14): what SSE-S3 costs a 1 MiB PUT and GET, goal >= 0.8x the same without
 * encryption.
 *
 * Every body is encrypted (docs/decisions/encryption.md): there is no plain store left to run side
 * by side, and a switch to make one would be a way to store plaintext. So this measures, in one
 * process, one operation at a time, in CPU time (the machine's other load does not enter it):
 * (a) the embedded store's own 1 MiB PUT and GET, (b) the encryption work alone on the same bytes,
 * which runs on the request's thread and adds to its cost: the very calls the store makes (sealing:
 * `begin` and the sealer fed 64 KiB pieces, its output left as pieces, as `BlobFiles.stage` writes
 * them; opening: the header and `openChunks`, as `readSealedRange` yields them), minus the file I/O
 * a plain store would do too.
 * Without encryption an operation would cost (a) - (b); `storePutRatio`/`storeGetRatio` are
 * ((a) - (b)) / (a). The store alone is the pessimistic bound: a request also pays HTTP, SigV4 and
 * the MD5 ETag. The goal line itself is run.ts's, measured inside a server over the same requests
 * (mrap_at_rest_cipher_seconds_total against the server's CPU); this file is the cipher's cost
 * with warm caches, for comparing formats and builds.
 *
 * Run: node --import tsx bench/sse.ts. Prints one JSON line. BENCH_SSE_FORMAT=1 measures (b) in the
 * format older bodies are in (sealed-bytes.ts FORMATS), to compare formats under the same load.
 */

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { EmbeddedObjectStore } from '../src/storage/embedded/index.js'
import { FORMATS, HEADER, openChunks, RegionKey, WRITE_FORMAT } from '../src/storage/embedded/sealed-bytes.js'

const MiB = 1024 * 1024
const PHASE_MS = 2500
const SLICES = 5
const GOAL = 0.8
const FORMAT = FORMATS[Number(process.env.BENCH_SSE_FORMAT ?? WRITE_FORMAT.version)] ?? WRITE_FORMAT

function bodyOf(b: Buffer): Readable {
  let off = 0
  return new Readable({
    read() {
      this.push(off < b.length ? b.subarray(off, (off += 64 * 1024)) : null)
    },
  })
}

/**
 * CPU µs per operation (user + system of this process; fsync waits are not CPU): the median of
 * SLICES slices of the phase, as run.ts takes the median of its rounds, so that one slice that
 * pays for another phase's garbage (a major GC of the store's buffers) or for the machine's other
 * load does not decide the figure alone.
 */
async function timed(op: (i: number) => Promise<void> | void): Promise<number> {
  for (let i = 0; i < 5; i++) await op(i) // warm-up
  const slices: number[] = []
  let n = 0
  for (let s = 0; s < SLICES; s++) {
    const start = performance.now()
    const cpu = process.cpuUsage()
    let k = 0
    while (performance.now() - start < PHASE_MS / SLICES) {
      await op(n++)
      k++
    }
    const d = process.cpuUsage(cpu)
    slices.push((d.user + d.system) / k)
  }
  slices.sort((a, b) => a - b)
  return slices[SLICES >> 1]!
}

const root = mkdtempSync(join(tmpdir(), 'mrap-bench-sse-'))
try {
  const store = new EmbeddedObjectStore({ region: 'bench', dir: root })
  await store.open()
  const data = randomBytes(MiB)
  const attributes = { userMetadata: {}, tags: [] }
  const finalize = (): { etag: string; checksums: Record<string, never> } => ({ etag: 'bench', checksums: {} })
  let written = 0
  const putMs = await timed(async (i) => {
    await store.putObject({ bucket: 'b', key: `k/${i % 64}`, versioning: 'Unversioned', attributes, body: bodyOf(data), finalize })
    written = Math.max(written, Math.min(64, i + 1))
  })
  const getMs = await timed(async (i) => {
    const r = await store.getObject('b', `k/${i % written}`)
    for await (const _ of r.open()) {
      /* drain */
    }
  })
  await store.close()

  const key = new RegionKey(randomBytes(32), 'MRE', FORMAT)
  const id = randomBytes(16)
  let sealed: Buffer[] = []
  const sealMs = await timed(() => {
    const { header, sealer } = key.begin(id)
    const out: Buffer[] = [header]
    for (let off = 0; off < data.length; off += 64 * 1024) sealer.push(data.subarray(off, off + 64 * 1024), out)
    sealer.end(out)
    sealed = out
  })
  const body = Buffer.concat(sealed)
  const last = Math.ceil(data.length / FORMAT.chunk) - 1
  const openMs = await timed(() => {
    const h = key.open(body.subarray(0, HEADER), id)
    for (const _ of openChunks(h, body.subarray(HEADER), 0, last, data.length)) {
      /* as the read path yields them */
    }
  })

  const r3 = (n: number): number => Math.round(n * 1000) / 1000
  console.log(
    JSON.stringify({
      bench: 'sse',
      format: `${FORMAT.cipher} ${FORMAT.chunk / 1024} KiB chunks`,
      storePutCpuUs: Math.round(putMs),
      storeGetCpuUs: Math.round(getMs),
      sealCpuUs: Math.round(sealMs),
      openCpuUs: Math.round(openMs),
      storePutRatio: r3((putMs - sealMs) / putMs),
      storeGetRatio: r3((getMs - openMs) / getMs),
      goalRatio: GOAL,
    }),
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}

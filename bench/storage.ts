/**
 * Embedded object store throughput on this machine: PUT and GET of 1 KiB, 64 KiB and 1 MiB
 * objects, 16 in flight, inline (default threshold) and file-backed (threshold -1) so the inline
 * threshold can be judged. Bounded: each phase runs ~0.8 s. Prints one JSON line per phase.
 *
 * Run: node --import tsx bench/storage.ts [--seconds-per-phase 0.8]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { EmbeddedObjectStore } from '../src/storage/embedded/index.js'

const argIndex = process.argv.indexOf('--seconds-per-phase')
const PHASE_MS = 1000 * (argIndex > 0 ? Number(process.argv[argIndex + 1]) : 0.8)
const CONCURRENCY = 16
const KiB = 1024

function bodyOf(b: Buffer): Readable {
  let off = 0
  return new Readable({
    read() {
      this.push(off < b.length ? b.subarray(off, (off += 64 * KiB)) : null)
    },
  })
}

/** Runs `op` with CONCURRENCY workers for PHASE_MS; returns completed ops and elapsed seconds. */
async function phase(op: (i: number) => Promise<void>): Promise<{ ops: number; seconds: number }> {
  const start = performance.now()
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (performance.now() - start < PHASE_MS) {
      await op(next++)
      done++
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { ops: done, seconds: (performance.now() - start) / 1000 }
}

const root = mkdtempSync(join(tmpdir(), 'mrap-bench-storage-'))
try {
  const cases: { size: number; mode: 'inline' | 'file' }[] = [
    { size: KiB, mode: 'inline' },
    { size: KiB, mode: 'file' },
    { size: 64 * KiB, mode: 'inline' },
    { size: 64 * KiB, mode: 'file' },
    { size: 1024 * KiB, mode: 'file' },
  ]
  for (const c of cases) {
    const store = new EmbeddedObjectStore({ region: 'bench', dir: join(root, `${c.size}-${c.mode}`), inlineThreshold: c.mode === 'inline' ? 64 * KiB : -1 })
    await store.open()
    const data = Buffer.alloc(c.size, 7)
    const finalize = (): { etag: string; checksums: Record<string, never> } => ({ etag: 'bench', checksums: {} })
    const attributes = { userMetadata: {}, tags: [] }
    let written = 0
    const puts = await phase(async (i) => {
      await store.putObject({ bucket: 'b', key: `obj/${i}`, versioning: 'Unversioned', attributes, body: bodyOf(data), finalize })
      written = Math.max(written, i + 1)
    })
    const gets = await phase(async (i) => {
      const r = await store.getObject('b', `obj/${i % Math.max(1, Math.min(written, puts.ops))}`)
      for await (const _chunk of r.open()) {
        /* drain */
      }
    })
    for (const [op, r] of [
      ['put', puts],
      ['get', gets],
    ] as const) {
      const opsPerSec = r.ops / r.seconds
      console.log(
        JSON.stringify({
          bench: 'storage',
          op,
          size: c.size,
          mode: c.mode,
          concurrency: CONCURRENCY,
          ops: r.ops,
          seconds: Number(r.seconds.toFixed(2)),
          opsPerSec: Math.round(opsPerSec),
          MiBPerSec: Number(((opsPerSec * c.size) / (1024 * KiB)).toFixed(1)),
        }),
      )
    }
    await store.close()
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}

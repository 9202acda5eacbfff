#!/usr/bin/env node
// The measured process of bench/upstream-big.ts: plays the server for one large object through the
// upstream store (the compiled build, as `mrap serve` runs it, so no TypeScript loader sits in its
// RSS). A streamed PUT of declared size, then getObject/open piped into a Writable, as the HTTP
// layer does. Usage: node bench/servers/upstream-store.mjs '<json: store module, engine config,
// state dir, MiB>'; prints one JSON line: seconds, MiB/s, RSS at start (after a warm-up) and peaks.
import { readFileSync } from 'node:fs'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const MiB = 1024 * 1024
const spec = JSON.parse(process.argv[2])
const { UpstreamObjectStore } = await import(spec.module)
const status = () => {
  const s = readFileSync('/proc/self/status', 'utf8')
  const kb = (f) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN)
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 }
}
const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d
// 64 KiB pieces, as a socket delivers a client's body; one shared zero buffer.
const piece = Buffer.alloc(64 * 1024)

const store = new UpstreamObjectStore({ region: 'bench-1', engine: spec.engine, stateDir: spec.stateDir })

async function transfer(total) {
  const t0 = process.hrtime.bigint()
  await store.putObject({
    bucket: 'big',
    key: 'object',
    versioning: 'Unversioned',
    attributes: { userMetadata: {}, tags: [] },
    size: total,
    body: Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += piece.length) yield piece
      })(),
      { objectMode: false },
    ),
    finalize: ({ size }) => {
      if (size !== total) throw new Error(`staged ${size} of ${total} bytes`)
      return { etag: 'bench', checksums: {} }
    },
  })
  const putS = Number(process.hrtime.bigint() - t0) / 1e9
  const afterPut = status()
  const t1 = process.hrtime.bigint()
  const got = await store.getObject('big', 'object')
  let n = 0
  let zero = true
  await pipeline(
    got.open(),
    new Writable({
      write(b, _enc, cb) {
        n += b.length
        for (let i = 0; zero && i < b.length; i += piece.length) if (!b.subarray(i, i + piece.length).equals(piece.subarray(0, Math.min(piece.length, b.length - i)))) zero = false
        cb()
      },
    }),
  )
  const getS = Number(process.hrtime.bigint() - t1) / 1e9
  if (n !== total || !zero) throw new Error(`GET returned ${n} bytes${zero ? '' : ' with wrong content'}`)
  return { putS, getS, afterPut }
}

try {
  await store.open()
  await store.createBucket('big')
  // Warm-up: the first streamed PUT and GET load code an idle server has already loaded.
  await transfer(4 * MiB)
  const before = status()
  const peak = { heapTotal: 0, external: 0, arrayBuffers: 0 }
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k] / MiB)
  }, 20)
  const { putS, getS, afterPut } = await transfer(spec.sizeMiB * MiB)
  const afterGet = status()
  clearInterval(sampler)
  console.log(
    JSON.stringify({
      putSeconds: round(putS, 2),
      putMiBps: round(spec.sizeMiB / putS, 0),
      getSeconds: round(getS, 2),
      getMiBps: round(spec.sizeMiB / getS, 0),
      rssAtStartMiB: round(before.rssMiB),
      hwmAfterPutMiB: round(afterPut.hwmMiB),
      hwmAfterGetMiB: round(afterGet.hwmMiB),
      peakHeapTotalMiB: round(peak.heapTotal),
      peakExternalMiB: round(peak.external),
      peakArrayBuffersMiB: round(peak.arrayBuffers),
    }),
  )
} finally {
  await store.close()
}

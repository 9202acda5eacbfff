/**
 * The request pipeline in-process, without sockets: a presigned SigV4 GET of a 1 KiB object driven
 * through handleRequest() with an IncomingMessage/ServerResponse pair on a discarding socket.
 * What it costs is the server's own work per request (no kernel, no load generator), stable enough
 * to compare two versions of the code on a shared machine. Standalone:
 *
 *   node --import tsx bench/pipeline.ts          # one JSON line: CPU µs per request
 *   node --cpu-prof --import tsx bench/pipeline.ts
 */

import { writeFileSync } from 'node:fs'
import inspector from 'node:inspector'
import { resolve } from 'node:path'
import { inProcessGet } from './pipeline-harness.js'

// The compiled build by default (what `mrap serve` runs; run `npm run build` first), the sources with BENCH_FROM_SOURCE=1.
const code = resolve(import.meta.dirname, process.env.BENCH_FROM_SOURCE === '1' ? '../src' : '../dist')
const get = await inProcessGet(code)
const run = get.run
try {
  if (process.env.BENCH_RETAINED === '1' && typeof globalThis.gc === 'function') {
    globalThis.gc()
    const h0 = process.memoryUsage().heapUsed
    await run(20000, 16)
    globalThis.gc()
    const h1 = process.memoryUsage().heapUsed
    process.stderr.write(`retained per request: ${((h1 - h0) / 20000).toFixed(0)} bytes\n`)
  }
  if (process.env.BENCH_HEAP_PROFILE) {
    // Where the bytes a request allocates come from (sampled, objects collected since included).
    const session = new inspector.Session()
    session.connect()
    const post = (m: string, p?: object): Promise<any> => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))))
    await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    await run(5000, 16)
    const { profile } = await post('HeapProfiler.getSamplingProfile')
    await post('HeapProfiler.stopSampling')
    writeFileSync(process.env.BENCH_HEAP_PROFILE, JSON.stringify(profile))
    session.disconnect()
  }
  const rounds = [await run(20000, 16), await run(20000, 16), await run(20000, 16)].sort((a, b) => a - b)
  process.stdout.write(
    `${JSON.stringify({ bench: 'pipeline', case: 'presigned GET 1 KiB in-process', cpuUsPerRequest: Math.round(rounds[1]! * 10) / 10, rounds: rounds.map((r) => Math.round(r * 10) / 10), bytesWritten: get.bytes() })}\n`,
  )
} finally {
  await get.close()
}

/**
 * The request pipeline in-process, without sockets: a presigned SigV4 GET of a 1 KiB object driven
 * through handleRequest() with an IncomingMessage/ServerResponse pair on a discarding socket.
 * What it costs is the server's own work per request (no kernel, no load generator), stable enough
 * to compare two versions of the code on a shared machine. Standalone:
 *
 *   node --import tsx bench/pipeline.ts          # one JSON line: CPU µs per request
 *   node --cpu-prof --import tsx bench/pipeline.ts
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { IncomingMessage, ServerResponse } from 'node:http'
import inspector from 'node:inspector'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex } from 'node:stream'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { pino } from 'pino'
import type { Origin } from '../src/core/origin.js'
import { Sha256 } from '../test/helpers/raw.js'

// The compiled build by default (what `mrap serve` runs; run `npm run build` first), the sources with BENCH_FROM_SOURCE=1.
const code = process.env.BENCH_FROM_SOURCE === '1' ? '../src' : '../dist'
const { startServer } = (await import(`${code}/main.js`)) as typeof import('../src/main.js')
const { handleRequest } = (await import(`${code}/pipeline/entry.js`)) as typeof import('../src/pipeline/entry.js')

const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-pipeline-'))
const server = await startServer({ dataDir: dir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'warn' }) })
try {
  const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true })
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }))
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'get-1k', Body: Buffer.alloc(1024, 'a') }))
  s3.destroy()

  const host = new URL(server.endpoint).host
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: ADMIN, sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const signed = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: host.split(':')[0]!,
      port: Number(host.split(':')[1]),
      path: '/bench/get-1k',
      headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    }),
    { expiresIn: 3600 },
  )
  const url = `/bench/get-1k?${Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&')}`
  const origin: Origin = { sourceIp: '127.0.0.1', secure: false }

  let bytes = 0
  let first = ''
  const discard = (): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        bytes += chunk.length
        if (first.length < 4096) first += chunk.toString()
        cb()
      },
      writev(chunks: { chunk: Buffer }[], cb) {
        for (const c of chunks) {
          bytes += c.chunk.length
          if (first.length < 4096) first += c.chunk.toString()
        }
        cb()
      },
    })
  async function one(socket: Duplex): Promise<number> {
    const req = new IncomingMessage(socket as never)
    req.method = 'GET'
    req.url = url
    // What the HTTP parser calls (it also sets the header count that headersDistinct reads).
    ;(req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(['Host', host, 'User-Agent', 'bench'], 4)
    req.push(null)
    const res = new ServerResponse(req)
    res.assignSocket(socket as never)
    await handleRequest(server.app, req, res, origin)
    res.detachSocket(socket as never)
    return res.statusCode
  }

  const status = await one(discard())
  if (status !== 200) throw new Error(`GET answered ${status}: ${first}`)
  // CPU time (user + system) of this process per request: less disturbed than wall time by other work on a shared machine.
  const run = async (n: number, concurrency: number): Promise<number> => {
    const c0 = process.cpuUsage()
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const socket = discard()
        for (let i = 0; i < n / concurrency; i++) await one(socket)
      }),
    )
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / n
  }
  await run(5000, 16) // warm-up
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
    `${JSON.stringify({ bench: 'pipeline', case: 'presigned GET 1 KiB in-process', cpuUsPerRequest: Math.round(rounds[1]! * 10) / 10, rounds: rounds.map((r) => Math.round(r * 10) / 10), bytesWritten: bytes })}\n`,
  )
} finally {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}

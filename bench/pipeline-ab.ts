/**
 * bench/pipeline.ts for two builds in one process: the same presigned GET of 1 KiB driven through
 * each build's handleRequest() (own server, own data dir), in short alternating batches (ABBA order),
 * CPU µs per request per batch. On a shared machine the load of other processes moves a run by
 * ±30%; alternating batches of a few ms put both builds under the same load, so the paired ratio
 * (b / a per batch pair) is what a change is judged by. An A/A run (the same build twice) shows the
 * harness's own spread.
 *
 *   AB_DISTS=<old>/dist,<new>/dist node --import tsx bench/pipeline-ab.ts
 *   AB_N (requests per batch, default 2000), AB_ROUNDS (batch pairs, default 30)
 *
 * Each dist is a compiled build (`npx tsc -p tsconfig.build.json` in a git worktree of the commit).
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Duplex } from 'node:stream'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { pino } from 'pino'
import type { Origin } from '../src/core/origin.js'
import { Sha256 } from '../test/helpers/raw.js'

const dists = (process.env.AB_DISTS ?? '').split(',').filter(Boolean)
if (dists.length !== 2) throw new Error('AB_DISTS must name two compiled builds: <a>/dist,<b>/dist')
const N = Number(process.env.AB_N ?? 2000)
const ROUNDS = Number(process.env.AB_ROUNDS ?? 30)
const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

interface Prepared {
  run(n: number, concurrency: number): Promise<number>
  close(): Promise<void>
}

async function prepare(dist: string): Promise<Prepared> {
  const { startServer } = (await import(join(resolve(dist), 'main.js'))) as typeof import('../src/main.js')
  const { handleRequest } = (await import(join(resolve(dist), 'pipeline', 'entry.js'))) as typeof import('../src/pipeline/entry.js')
  const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-pipeline-ab-'))
  const server = await startServer({ dataDir: dir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'warn' }) })
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

  let first = ''
  const discard = (): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        if (first.length < 4096) first += chunk.toString()
        cb()
      },
      writev(chunks: { chunk: Buffer }[], cb) {
        for (const c of chunks) {
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
  if (status !== 200) throw new Error(`${dist}: GET answered ${status}: ${first}`)
  // CPU time (user + system) of this process per request, as bench/pipeline.ts measures it.
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
  return {
    run,
    close: async () => {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const quantile = (xs: number[], f: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))]!
const r1 = (x: number): number => Math.round(x * 10) / 10
const r3 = (x: number): number => Math.round(x * 1000) / 1000

const builds = [await prepare(dists[0]!), await prepare(dists[1]!)]
const per: number[][] = [[], []]
try {
  for (let r = 0; r < ROUNDS; r++) {
    // ABBA: neither build always runs first after the other's garbage.
    const order = r % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) per[i]!.push(await builds[i]!.run(N, 16))
  }
} finally {
  for (const b of builds) await b.close()
}
for (let i = 0; i < 2; i++) {
  const xs = per[i]!
  process.stdout.write(
    `${JSON.stringify({ bench: 'pipeline-ab', build: dists[i], batches: ROUNDS, perBatch: N, medianUs: r1(quantile(xs, 0.5)), p10Us: r1(quantile(xs, 0.1)), p90Us: r1(quantile(xs, 0.9)) })}\n`,
  )
}
const ratios = per[0]!.map((a, r) => per[1]![r]! / a)
process.stdout.write(
  `${JSON.stringify({ bench: 'pipeline-ab', pairedRatio: { median: r3(quantile(ratios, 0.5)), p25: r3(quantile(ratios, 0.25)), p75: r3(quantile(ratios, 0.75)) } })}\n`,
)

/**
 * Issue 14's SSE-S3 line, in situ: a fresh server with its metrics port open serves 1 MiB GETs and
 * PUTs, and each round divides the time its request thread spent in the at-rest cipher
 * (mrap_at_rest_cipher_seconds_total, counted in process CPU with MRAP_CIPHER_CLOCK=cpu) by the
 * server's CPU over the same requests. Every object is SSE-S3 (docs/decisions/encryption.md), so
 * "without encryption" is a request's CPU less its cipher time. bench/sse.ts measures the cipher
 * alone with warm caches.
 */

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { ADMIN, BUCKET, cpuSeconds, log, type Measured, MiB, median, minorFaults, presign, ROUNDS, round, SECONDS, startMrap, stopChild } from './harness.js'

export interface SseSide {
  /** Median over rounds of 1 - cipher time / server CPU. */
  ratio: number
  rounds: number[]
  cipherUs: number
  cpuUs: number
}
export interface SseInSitu {
  get: SseSide
  put: SseSide
}

/** The at-rest cipher's seconds so far, by op, from a server's /metrics. */
export async function cipherSeconds(metricsUrl: string): Promise<{ seal: number; open: number }> {
  const text = await (await fetch(metricsUrl)).text()
  const of = (op: string): number => Number(new RegExp(`^mrap_at_rest_cipher_seconds_total\\{op="${op}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  return { seal: of('seal'), open: of('open') }
}

export async function measureSseInSitu(
  drive: (urls: string[], method: 'GET' | 'PUT', size: number, seconds: number) => Promise<Measured>,
  putUrlsOf: (tag: string, endpoint: string) => Promise<string[]>,
): Promise<SseInSitu> {
  // The cipher's clock on CPU time: what other processes take from core 0 is not the cipher's.
  const m = await startMrap(['--metrics-port', '0'], { MRAP_CIPHER_CLOCK: 'cpu' })
  try {
    let metricsUrl: string | undefined
    for (let i = 0; i < 50 && !metricsUrl; i++) {
      metricsUrl = /metrics:\s+(http:\/\/\S+)/.exec(m.stderr?.() ?? '')?.[1]
      if (!metricsUrl) await new Promise((r) => setTimeout(r, 100))
    }
    if (!metricsUrl) throw new Error('the server printed no metrics URL')
    const s3 = new S3Client({ endpoint: m.url, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'get-1m', Body: Buffer.alloc(MiB, 'b') }))
    s3.destroy()
    const sides = [
      { op: 'open' as const, method: 'GET' as const, urls: [await presign('GET', m.url, 'get-1m')] },
      { op: 'seal' as const, method: 'PUT' as const, urls: await putUrlsOf('1m', m.url) },
    ]
    for (const x of sides) await drive(x.urls, x.method, MiB, 2) // warm-up
    const rows = new Map(sides.map((x) => [x.op, [] as { ratio: number; cipherUs: number; cpuUs: number }[]]))
    for (let r = 0; r < ROUNDS; r++) {
      for (const x of sides) {
        const c0 = await cipherSeconds(metricsUrl)
        const cpu0 = cpuSeconds(m.pid)
        const f0 = minorFaults(m.pid)
        const res = await drive(x.urls, x.method, MiB, SECONDS)
        const cpu = cpuSeconds(m.pid) - cpu0
        const faults = (minorFaults(m.pid) - f0) / res.requests
        const cipher = (await cipherSeconds(metricsUrl))[x.op] - c0[x.op]
        const row = { ratio: 1 - cipher / cpu, cipherUs: (cipher / res.requests) * 1e6, cpuUs: (cpu / res.requests) * 1e6 }
        rows.get(x.op)!.push(row)
        log(
          `  round ${r + 1} SSE ${x.method} 1 MiB: ${res.rps.toFixed(0)} rps, server CPU ${row.cpuUs.toFixed(0)} µs/req, ${x.op} ${row.cipherUs.toFixed(0)} µs/req, 1 - ${x.op}/CPU = ${row.ratio.toFixed(3)}, ${faults.toFixed(0)} page faults/req`,
        )
      }
    }
    const side = (op: 'open' | 'seal'): SseSide => {
      const rs = rows.get(op)!
      return {
        ratio: round(median(rs.map((x) => x.ratio)), 3),
        rounds: rs.map((x) => round(x.ratio, 3)),
        cipherUs: round(median(rs.map((x) => x.cipherUs)), 0),
        cpuUs: round(median(rs.map((x) => x.cpuUs)), 0),
      }
    }
    return { get: side('open'), put: side('seal') }
  } finally {
    await stopChild(m)
  }
}

/** The goal line: both sides at >= 0.8 of what the same requests would cost without the cipher. */
export function sseGoal(sse: SseInSitu | { error: string } | undefined): { goal: string; value: number; met: boolean }[] {
  if (!sse || 'error' in sse) return sse ? [{ goal: `SSE-S3 line: ${sse.error}`, value: NaN, met: false }] : []
  const { put, get } = sse
  const value = round(Math.min(put.ratio, get.ratio), 3)
  return [
    {
      goal: `SSE-S3 PUT and GET 1 MiB >= 0.8 x without encryption (1 - cipher time / server CPU, same requests; PUT ${put.ratio} (seal ${put.cipherUs} of ${put.cpuUs} µs/req), GET ${get.ratio} (open ${get.cipherUs} of ${get.cpuUs} µs/req))`,
      value,
      met: value >= 0.8,
    },
  ]
}

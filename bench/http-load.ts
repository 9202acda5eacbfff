/**
 * A small keep-alive HTTP load generator, the fallback of bench/run.ts when wrk is unavailable.
 * Run as its own process (so it does not share an event loop with what it measures):
 *
 *   node --import tsx bench/http-load.ts '{"urls":["http://127.0.0.1:9000/x"],"method":"GET",
 *     "bodySize":0,"connections":16,"seconds":4,"maxRequests":2000000}'
 *
 * Each of `connections` loops sends one request at a time on its own keep-alive socket, cycling through
 * `urls`, until `seconds` have passed or `maxRequests` were sent. Prints one JSON line:
 * { requests, non2xx, errors, seconds, rps, p50Ms, p99Ms, bytesRead }.
 */
import { Agent, request } from 'node:http'

export interface LoadSpec {
  urls: string[]
  method: 'GET' | 'PUT'
  bodySize: number
  connections: number
  seconds: number
  maxRequests?: number
}

export interface LoadResult {
  requests: number
  non2xx: number
  errors: number
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  bytesRead: number
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections })
  const body = Buffer.alloc(spec.bodySize, 'x')
  const max = spec.maxRequests ?? 5_000_000
  const latencies = new Float64Array(Math.min(max, 5_000_000))
  let sent = 0
  let done = 0
  let non2xx = 0
  let errors = 0
  let bytesRead = 0
  const start = process.hrtime.bigint()
  const deadline = Date.now() + spec.seconds * 1000
  const targets = spec.urls.map((u) => new URL(u))

  function one(u: URL): Promise<void> {
    return new Promise((resolve) => {
      const t0 = process.hrtime.bigint()
      const req = request(
        {
          agent,
          method: spec.method,
          hostname: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          headers: spec.method === 'PUT' ? { 'content-length': String(body.length) } : {},
        },
        (res) => {
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) non2xx++
          res.on('data', (c: Buffer) => {
            bytesRead += c.length
          })
          res.on('end', () => {
            if (done < latencies.length) latencies[done] = Number(process.hrtime.bigint() - t0) / 1e6
            done++
            resolve()
          })
          res.on('error', () => {
            errors++
            resolve()
          })
        },
      )
      req.on('error', () => {
        errors++
        resolve()
      })
      req.end(spec.method === 'PUT' ? body : undefined)
    })
  }

  await Promise.all(
    Array.from({ length: spec.connections }, async (_, c) => {
      let i = c
      while (Date.now() < deadline && sent < max) {
        sent++
        await one(targets[i++ % targets.length]!)
      }
    }),
  )
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  agent.destroy()
  const n = Math.min(done, latencies.length)
  const sorted = latencies.subarray(0, n).sort()
  const pct = (p: number): number => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor(p * n))]!)
  return { requests: done, non2xx, errors, seconds, rps: done / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), bytesRead }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
  const result = await runLoad(spec)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

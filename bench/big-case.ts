/**
 * bench/run.ts's large-object case: a fresh mrap child takes a BENCH_BIG_MIB (1 GiB) PUT and serves
 * it back, streamed from and to generators (never held in memory); throughput and the server's peak
 * RSS (VmHWM, and RSS sampled every 50 ms).
 */

import { Agent, request } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BIG_MIB, MiB, presign, procStatus, round } from './harness.js'

export async function bigPutGet(endpoint: string, pid: number): Promise<Record<string, number | string>> {
  const total = BIG_MIB * MiB
  const chunk = Buffer.alloc(MiB) // zeros
  const agent = new Agent({ keepAlive: false })
  const putUrl = new URL(await presign('PUT', endpoint, 'big-object'))
  const getUrl = new URL(await presign('GET', endpoint, 'big-object'))
  const before = procStatus(pid)

  let rssPeakSampled = before.rssMiB
  const sampler = setInterval(() => {
    try {
      rssPeakSampled = Math.max(rssPeakSampled, procStatus(pid).rssMiB)
    } catch {
      /* gone */
    }
  }, 50)
  try {
    const t0 = process.hrtime.bigint()
    const putStatus = await new Promise<number>((res, rej) => {
      const req = request(
        {
          agent,
          method: 'PUT',
          hostname: putUrl.hostname,
          port: putUrl.port,
          path: putUrl.pathname + putUrl.search,
          headers: { 'content-length': String(total), 'content-type': 'application/octet-stream' },
        },
        (r) => {
          let text = ''
          r.setEncoding('utf8')
          r.on('data', (d: string) => {
            text += d
          })
          r.on('end', () => (r.statusCode === 200 ? res(200) : rej(new Error(`PUT ${BIG_MIB} MiB: ${r.statusCode} ${text.slice(0, 300)}`))))
        },
      )
      req.on('error', rej)
      pipeline(
        Readable.from(
          (function* () {
            for (let sent = 0; sent < total; sent += MiB) yield chunk
          })(),
        ),
        req,
      ).catch(rej)
    })
    const putS = Number(process.hrtime.bigint() - t0) / 1e9
    const afterPut = procStatus(pid)

    const t1 = process.hrtime.bigint()
    const got = await new Promise<{ n: number; zero: boolean }>((res, rej) => {
      const req = request({ agent, method: 'GET', hostname: getUrl.hostname, port: getUrl.port, path: getUrl.pathname + getUrl.search }, (r) => {
        if (r.statusCode !== 200) {
          rej(new Error(`GET ${BIG_MIB} MiB: ${r.statusCode}`))
          r.resume()
          return
        }
        let n = 0
        let zero = true
        r.on('data', (d: Buffer) => {
          n += d.length
          if (zero && !d.equals(chunk.subarray(0, d.length))) zero = false
        })
        r.on('end', () => res({ n, zero }))
        r.on('error', rej)
      })
      req.on('error', rej)
      req.end()
    })
    const getS = Number(process.hrtime.bigint() - t1) / 1e9
    const afterGet = procStatus(pid)
    if (got.n !== total || !got.zero) throw new Error(`GET ${BIG_MIB} MiB returned ${got.n} bytes${got.zero ? '' : ' with wrong content'}`)
    return {
      sizeMiB: BIG_MIB,
      putStatus,
      putSeconds: round(putS, 2),
      putMiBps: round(BIG_MIB / putS, 0),
      getSeconds: round(getS, 2),
      getMiBps: round(BIG_MIB / getS, 0),
      rssAtStartMiB: round(before.rssMiB, 1),
      hwmAfterPutMiB: round(afterPut.hwmMiB, 1),
      hwmAfterGetMiB: round(afterGet.hwmMiB, 1),
      rssPeakSampledMiB: round(rssPeakSampled, 1),
    }
  } finally {
    clearInterval(sampler)
    agent.destroy()
  }
}

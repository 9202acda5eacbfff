/**
 * Load for one signed request through a forward proxy (bench/run.ts, "MRAP GET via VPC endpoint"
 * vs "via internet"): each connection is an HTTP CONNECT tunnel through the proxy, TLS to the AWS
 * name inside it (mrap's CA), then the same SigV4A-signed GET sent again and again with keep-alive
 * (a signature stays valid for 15 minutes; the server verifies it every time: SigV4A cannot be
 * cached). wrk cannot tunnel through a proxy, so this small generator does.
 * Usage: node --import tsx bench/vpc-load.ts '<json spec>'; prints one JSON line.
 */

import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'

interface Spec {
  proxy: string
  host: string
  caPath: string
  request: string
  connections: number
  seconds: number
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec
const ca = readFileSync(spec.caPath)
const raw = Buffer.from(spec.request, 'base64')
const latencies: number[] = []
let ok = 0
let bad = 0

function tunnel(): Promise<TLSSocket> {
  const u = new URL(spec.proxy)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(`CONNECT ${spec.host}:443 HTTP/1.1\r\nHost: ${spec.host}:443\r\n\r\n`))
    let buf: Buffer = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      sock.off('data', onData)
      if (!buf.subarray(0, 12).toString().startsWith('HTTP/1.1 200')) {
        reject(new Error(`proxy refused: ${buf.toString().slice(0, 200)}`))
        sock.destroy()
        return
      }
      const tls = tlsConnect({ socket: sock, servername: spec.host, ca }, () => resolve(tls))
      tls.on('error', reject)
    }
    sock.on('data', onData)
    sock.on('error', reject)
  })
}

/** Sends the request, waits for one complete response (Content-Length framing), repeats until the deadline. */
async function worker(deadline: number): Promise<void> {
  const tls = await tunnel()
  let buf: Buffer = Buffer.alloc(0)
  let waiting: (() => void) | undefined
  tls.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d
    waiting?.()
  })
  while (Date.now() < deadline) {
    const t0 = process.hrtime.bigint()
    tls.write(raw)
    for (;;) {
      const end = buf.indexOf('\r\n\r\n')
      if (end >= 0) {
        const head = buf.subarray(0, end).toString('latin1')
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
        if (buf.length >= end + 4 + len) {
          if (head.startsWith('HTTP/1.1 200')) ok++
          else bad++
          buf = buf.subarray(end + 4 + len)
          break
        }
      }
      await new Promise<void>((r) => {
        waiting = r
      })
      waiting = undefined
    }
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  tls.destroy()
}

const started = Date.now()
const deadline = started + spec.seconds * 1000
await Promise.all(Array.from({ length: spec.connections }, () => worker(deadline)))
const secs = (Date.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN
process.stdout.write(`${JSON.stringify({ rps: (ok + bad) / secs, requests: ok + bad, non2xx: bad, errors: 0, p50Ms: pct(0.5), p99Ms: pct(0.99) })}\n`)

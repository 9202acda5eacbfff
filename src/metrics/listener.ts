/**
 * @module The metrics listener: GET /metrics in the Prometheus text format, nothing else. It has its
 * own port so the S3 key space (a bucket may well be called `metrics`) stays untouched.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FrontDoor } from '../http/server.js'
import { listen } from '../http/server.js'
import type { Metrics } from './metrics.js'

export async function listenMetrics(metrics: Metrics, front: FrontDoor, host: string, port: number): Promise<number> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('mrap metrics: GET /metrics\n')
      return
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    )
  })
  await listen(server, host, port)
  front.track(server)
  metrics.enabled = true
  return (server.address() as AddressInfo).port
}

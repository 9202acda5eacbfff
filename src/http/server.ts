/**
 * @module Listeners: the plain-HTTP front door (the internet origin). Each connection is tagged
 * with its network origin before the pipeline sees the request.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { handleRequest } from '../pipeline.js'
import type { Services } from '../services.js'

export interface Listening {
  server: Server
  port: number
  host: string
  close(): Promise<void>
}

export async function listenFrontDoor(s: Services, host: string, port: number): Promise<Listening> {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    void handleRequest(s, req, res, { sourceIp: req.socket.remoteAddress ?? '', secure: false }).catch((err: unknown) => {
      s.log.error({ err }, 'request failed outside the pipeline')
      if (!res.headersSent) { res.statusCode = 500; res.end() } else res.destroy()
    })
  })
  // Oversize headers and malformed HTTP get a plain 400 and a closed connection, never a crash.
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    else socket.destroy()
    void err
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const addr = server.address() as AddressInfo
  return {
    server, port: addr.port, host,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/**
 * @module Forward proxies (HTTP CONNECT, and absolute-URI plain HTTP): how a client "sits" in a
 * network. With HTTPS_PROXY pointing at one, unmodified clients call the real AWS host names and
 * land on mrap, and mrap knows which network the connection came from (the internet, or a VPC and
 * the endpoint its DNS resolves the name to). A proxy never connects anywhere outside mrap.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Origin } from '../core/origin.js'
import { type FrontDoor, type Listening, listen } from '../http/server.js'
import { httpServerOptions, setBodyIdleLimit } from '../http/timeouts.js'

export type ProxyVerdict = { kind: 'serve'; origin: Origin } | { kind: 'refuse'; status: number; reason: string }

/** A network as a proxy sees it: what a host name resolves to from inside it. */
export interface ProxyNetwork {
  readonly name: string
  /** `clientPort` is the client's local port (a VPC derives aws:VpcSourceIp from it). */
  resolve(hostname: string, port: number, clientIp: string, clientPort?: number): ProxyVerdict
  /** Told of every tunnel it serves (a VPC closes its tunnels when an endpoint changes). */
  tunnel?(socket: Socket, verdict: ProxyVerdict & { kind: 'serve' }): void
}

function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = authority.match(/^\[?([^\]]+?)\]?:(\d+)$/)
  if (!m) return undefined
  return { host: m[1]!.toLowerCase(), port: Number(m[2]) }
}

export async function listenProxy(front: FrontDoor, network: ProxyNetwork, host: string, port: number): Promise<Listening> {
  const s = front.core
  const timeouts = s.config.timeouts
  const server = createServer(httpServerOptions(timeouts), (req: IncomingMessage, res: ServerResponse) => {
    // Plain HTTP through the proxy: the request line carries an absolute URI.
    let url: URL
    try {
      url = new URL(req.url ?? '')
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('mrap proxy: absolute URI expected\n')
      return
    }
    const verdict = network.resolve(url.hostname, Number(url.port || 80), (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), req.socket.remotePort)
    if (verdict.kind === 'refuse') {
      res.writeHead(verdict.status, { 'content-type': 'text/plain' }).end(`mrap proxy (${network.name}): ${verdict.reason}\n`)
      return
    }
    req.url = url.pathname + url.search
    // The verdict is for the request line's host; the pipeline holds the Host header to it.
    front.handle(req, res, { ...verdict.origin, secure: false, host: url.hostname })
  })
  // Absolute-URI requests are served on this server's own connections: their bodies are watched too.
  server.on('connection', (socket: Socket) => setBodyIdleLimit(socket, timeouts.bodyIdleMs))
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const target = parseAuthority(req.url ?? '')
    const clientIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    const verdict: ProxyVerdict = target
      ? network.resolve(target.host, target.port, clientIp, socket.remotePort)
      : { kind: 'refuse', status: 400, reason: 'CONNECT needs host:port' }
    if (verdict.kind === 'refuse') {
      s.log.info({ network: network.name, target: req.url, reason: verdict.reason }, 'proxy refused a connection')
      socket.end(
        `HTTP/1.1 ${verdict.status} ${verdict.status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nmrap proxy (${network.name}): ${verdict.reason}\n`,
      )
      return
    }
    // No byte either way for this long: the tunnel goes (inside it, HTTP keep-alive and the body
    // watch apply their own, shorter limits once requests flow).
    socket.setTimeout(timeouts.tunnelIdleMs)
    socket.once('timeout', () => socket.destroy())
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) socket.unshift(head)
    network.tunnel?.(socket, verdict)
    // Every request in the tunnel must name the host the verdict was for (src/network/tunnel-host.ts).
    front.serveSocket(socket, { ...verdict.origin, host: target!.host }, target!.port !== 80)
  })
  server.on('clientError', (_e, socket) => socket.destroy())
  await listen(server, host, port)
  front.track(server)
  return {
    host,
    port: (server.address() as AddressInfo).port,
    // Stops accepting; tunnels already handed to the front door are the network's to close.
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

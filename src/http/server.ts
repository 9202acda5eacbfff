/**
 * @module Listeners. One HTTP request handler serves every way in: the plain-HTTP front door, the
 * TLS front door, and connections handed over by the forward proxies (internet or a VPC), which
 * arrive as sockets tagged with their network origin. The pipeline reads the origin from the socket.
 */
import { createServer, type IncomingMessage, maxHeaderSize, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls'
import type { Core } from '../core/core.js'
import type { Origin } from '../core/origin.js'
import { type Frontage, handleRequest } from '../pipeline/entry.js'
import { s3Error } from '../shared/errors.js'
import { deferContinue } from './continue.js'
import { errorBody } from './respond.js'
import { httpServerOptions, setBodyIdleLimit } from './timeouts.js'

export interface Listening {
  port: number
  host: string
  close(): Promise<void>
}

const origins = new WeakMap<object, Origin>()

/** Tags a connection with where it came from (a VPC endpoint, the internet proxy, ...). */
export function tagOrigin(socket: object, origin: Origin): void {
  origins.set(socket, origin)
}

function originOf(socket: Socket): Origin {
  const tagged = origins.get(socket)
  if (tagged) return tagged
  return { sourceIp: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''), secure: socket instanceof TLSSocket }
}

/** The application: an http.Server that is also fed sockets by the TLS and proxy listeners. */
export class FrontDoor {
  readonly app: Server
  private secureContext?: SecureContext
  /** A context for a server name the server certificate does not cover (network/region-certs.ts). */
  private sni?: (servername: string) => Promise<SecureContext | undefined>
  private readonly listeners: (Server | NetServer)[] = []

  readonly core: Core

  constructor(private readonly frontage: Frontage) {
    const s = frontage.core
    this.core = s
    const t = s.config.timeouts
    this.app = createServer(httpServerOptions(t), (req, res) => this.handle(req, res, originOf(req.socket)))
    // Authenticate and authorize before the client sends a body (http/continue.ts).
    this.app.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      deferContinue(req, res)
      this.handle(req, res, originOf(req.socket))
    })
    // Every way in (plain, TLS, proxied) arrives here once per connection; the body watch reads it.
    this.app.on('connection', (socket: Socket) => setBodyIdleLimit(socket, t.bodyIdleMs))
    // No count limit of its own: Node would drop the headers past the 2000th without a word (an
    // x-amz-server-side-encryption among them would be silently ignored); the size limit bounds them.
    this.app.maxHeadersCount = 0
    // Oversize headers get S3's XML error, other malformed HTTP a plain 400; the connection closes, never a crash.
    this.app.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy()
        return
      }
      if (err.code === 'HPE_HEADER_OVERFLOW') {
        socket.end(headerSectionTooLarge(s))
        return
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    })
  }

  /** Runs one request through the pipeline (also for a proxy's absolute-URI requests). */
  handle(req: IncomingMessage, res: ServerResponse, origin: Origin): void {
    handleRequest(this.frontage, req, res, origin).catch((err: unknown) => {
      this.core.log.error({ err }, 'request failed outside the pipeline')
      if (!res.headersSent) {
        res.statusCode = 500
        res.end()
      } else res.destroy()
    })
  }

  setTls(certPem: string, keyPem: string, sni?: (servername: string) => Promise<SecureContext | undefined>): void {
    this.secureContext = createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' })
    if (sni) this.sni = sni
  }

  /** Serves HTTP over a socket that is already connected (a proxied tunnel), optionally with TLS. */
  serveSocket(raw: Duplex, origin: Origin, tls: boolean): void {
    if (tls) {
      if (!this.secureContext) {
        raw.destroy()
        return
      }
      const main = this.secureContext
      const sni = this.sni
      const sock = new TLSSocket(raw as Socket, {
        isServer: true,
        secureContext: main,
        ...(sni
          ? {
              SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
                sni(name).then(
                  (c) => cb(null, c ?? main),
                  () => cb(null, main),
                )
              },
            }
          : {}),
      })
      sock.on('error', () => sock.destroy())
      // A client that never finishes the handshake must not hold the socket until HTTP's own timers.
      const handshake = setTimeout(() => {
        sock.destroy()
        raw.destroy()
      }, this.core.config.timeouts.tlsHandshakeMs)
      sock.once('secure', () => clearTimeout(handshake))
      sock.once('close', () => clearTimeout(handshake))
      tagOrigin(sock, { ...origin, secure: true })
      this.app.emit('connection', sock)
    } else {
      tagOrigin(raw, { ...origin, secure: false })
      this.app.emit('connection', raw)
    }
  }

  /** The plain-HTTP front door. */
  async listenHttp(host: string, port: number): Promise<Listening> {
    await listen(this.app, host, port)
    this.listeners.push(this.app)
    return { host, port: (this.app.address() as AddressInfo).port, close: async () => {} }
  }

  /** The TLS front door, for clients that reach AWS names by DNS or /etc/hosts instead of a proxy. */
  async listenTls(host: string, port: number): Promise<Listening> {
    const server = createNetServer((raw) => this.serveSocket(raw, originOf(raw), true))
    await listen(server, host, port)
    this.listeners.push(server)
    return { host, port: (server.address() as AddressInfo).port, close: async () => {} }
  }

  track(server: Server | NetServer): void {
    this.listeners.push(server)
  }

  async close(): Promise<void> {
    this.app.closeAllConnections()
    await Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))))
  }
}

/** S3's answer to a header section (with the request line) over the limit, as raw bytes. */
function headerSectionTooLarge(s: Core): string {
  const { requestId, hostId } = s.requestIds.next()
  const body = errorBody(s3Error('RequestHeaderSectionTooLarge', { fields: { MaxSizeAllowed: maxHeaderSize } }), requestId, hostId, 's3')
  return (
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nx-amz-request-id: ${requestId}\r\nx-amz-id-2: ${hostId}\r\n` +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  )
}

export function listen(server: Server | NetServer, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * @module Keep-alive HTTP/1.1 connections to one engine for the hand-signed hot calls (wire.ts).
 *
 * Why not node:http's client: profiled under bench/upstream.ts (perf, mrap and RGW on one core),
 * its per-request machinery (ClientRequest, the Agent's socket hand-over in next ticks,
 * IncomingMessage, llhttp callbacks) was a fifth of mrap's CPU on a 1 KiB GET, and its parser
 * copies every body chunk out of the socket's buffer (`Buffer::Copy` in `on_body`): on a 1 MiB GET
 * that memmove alone was 11% of mrap's CPU, plus the page faults of the fresh buffers. Here a
 * body chunk is a slice of the buffer the socket read into, passed on as it is.
 *
 * Reads of plain-TCP connections land in 64 KiB slabs the pool reuses (`onread`), not in a fresh
 * buffer per read: on a 1 MiB GET those fresh buffers were 1 MiB of young backing stores per
 * request, and V8 answers every ~16-32 MiB of them with a scavenge or a mark-compact of mrap's whole
 * heap (bench/upstream.ts, perf: 20-45% of mrap's CPU in GC). A slab is reused only when nothing
 * can still see its bytes: a small chunk is copied out of it, a large one takes the slab with it
 * (never reused), and a lent body (response.ts `lend`) hands out views that its sink releases once
 * the bytes are written on (the write callback), so only then does the slab go back to the pool.
 *
 * Scope: one request at a time per connection (no pipelining); answers framed by Content-Length,
 * chunked transfer coding, or the end of the connection; interim 1xx answers skipped. A connection
 * goes back to the pool only when both the request and the answer are complete and the engine did
 * not ask to close it; anything else (an error, an abort, an answer before the body was sent, a
 * body its reader gave up) destroys it.
 */
import { connect as netConnect, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { EngineResponse } from './response.js'

export { EngineResponse }

export interface ConnOptions {
  url: URL
  maxSockets: number
  connectTimeoutMs: number
  requestTimeoutMs: number
}

const MAX_HEAD = 64 * 1024
const SLAB = 64 * 1024
/** Reads up to this size are copied out of their slab (from Buffer's shared pool), larger ones take it. */
const COPY_MAX = 16 * 1024
/** Free slabs a pool keeps (4 MiB); more are left to the GC. */
const FREE_SLABS = 64

/** A read buffer; `refs` counts lent views not yet released, `given` means a chunk owns it now. */
interface Slab {
  buf: Buffer
  refs: number
  given: boolean
}
const CRLF2 = Buffer.from('\r\n\r\n')

/** Where a connection's answer parser is. */
type Phase = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'until-close' | 'done'

class Conn {
  readonly socket: Socket
  busy = false
  private phase: Phase = 'done'
  private head: Buffer[] = []
  private headBytes = 0
  private left = 0
  private method = ''
  private res: EngineResponse | undefined
  private onHead: ((res: EngineResponse) => void) | undefined
  private onFail: ((e: Error) => void) | undefined
  private requestSent = false
  private keepAlive = true
  private lineBuf = ''
  private status = 0
  /** The slab the socket reads into next (plain TCP only; TLS sockets deliver fresh buffers). */
  private slab: Slab | undefined

  constructor(
    socket: Socket,
    private readonly pool: Pool,
    slab?: Slab,
  ) {
    this.socket = socket
    this.slab = slab
    socket.setNoDelay(true)
    if (!slab) socket.on('data', (d: Buffer) => this.data(d))
    socket.on('error', (e) => this.fail(e))
    socket.on('end', () => {
      if (this.phase === 'until-close' && this.res) {
        this.finishBody()
        return
      }
      this.fail(new Error('engine closed the connection'))
    })
    socket.on('close', () => {
      this.fail(new Error('engine connection closed'))
      this.pool.drop(this)
    })
    socket.on('timeout', () => socket.destroy(new Error('engine request timed out')))
  }

  /** onread: `n` bytes arrived in the current slab. */
  read(n: number): boolean {
    this.data(this.slab!.buf.subarray(0, n))
    return !this.socket.isPaused()
  }

  /** onread: the buffer of the next read, the same slab when nothing kept a view of it. */
  nextBuffer(): Buffer {
    const s = this.slab!
    if (s.refs > 0 || s.given) this.slab = this.pool.takeSlab()
    return this.slab!.buf
  }

  /** Starts one exchange; `onHead` gets the answer once its head arrived. */
  start(method: string, onHead: (res: EngineResponse) => void, onFail: (e: Error) => void): void {
    this.busy = true
    this.method = method
    this.phase = 'head'
    this.head = []
    this.headBytes = 0
    this.res = undefined
    this.onHead = onHead
    this.onFail = onFail
    this.requestSent = false
    this.keepAlive = true
    this.status = 0
    this.socket.setTimeout(this.pool.opts.requestTimeoutMs)
    if (this.socket.isPaused()) this.socket.resume()
  }

  /** The whole request left (headers and body). */
  sent(): void {
    this.requestSent = true
    this.maybeRelease()
  }

  private fail(e: Error): void {
    const onFail = this.onFail
    const res = this.res
    this.onFail = undefined
    this.onHead = undefined
    this.res = undefined
    if (this.phase !== 'done' || !this.requestSent) this.keepAlive = false
    if (!this.socket.destroyed) this.socket.destroy()
    if (onFail) onFail(e)
    else if (res) res.fail(e)
  }

  private data(d: Buffer): void {
    let at = 0
    while (at < d.length) {
      if (this.phase === 'done') {
        // Bytes nobody asked for: the connection's framing is lost.
        this.socket.destroy(new Error('engine sent bytes after its answer'))
        return
      }
      if (this.phase === 'head') {
        at = this.readHead(d, at)
        if (at < 0) return
        continue
      }
      if (this.phase === 'fixed' || this.phase === 'chunk-data') {
        const n = Math.min(this.left, d.length - at)
        this.push(at === 0 && n === d.length ? d : d.subarray(at, at + n))
        at += n
        this.left -= n
        if (this.left === 0) {
          if (this.phase === 'fixed') this.finishBody()
          else this.phase = 'chunk-crlf'
        }
        continue
      }
      if (this.phase === 'until-close') {
        this.push(at === 0 ? d : d.subarray(at))
        return
      }
      // chunk-size, chunk-crlf, trailer: line by line.
      const nl = d.indexOf(10, at)
      const end = nl < 0 ? d.length : nl + 1
      this.lineBuf += d.toString('latin1', at, end)
      at = end
      if (nl < 0) {
        if (this.lineBuf.length > 4096) this.socket.destroy(new Error('engine sent a malformed chunk'))
        return
      }
      const line = this.lineBuf.replace(/\r?\n$/, '')
      this.lineBuf = ''
      if (this.phase === 'chunk-crlf') {
        if (line !== '') {
          this.socket.destroy(new Error('engine sent a malformed chunk'))
          return
        }
        this.phase = 'chunk-size'
      } else if (this.phase === 'chunk-size') {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line)
        if (!size) {
          this.socket.destroy(new Error('engine sent a malformed chunk'))
          return
        }
        this.left = parseInt(size[1]!, 16)
        this.phase = this.left === 0 ? 'trailer' : 'chunk-data'
      } else if (line === '') {
        this.finishBody()
      }
    }
  }

  /** Consumes head bytes from `d` at `at`; returns where the body starts, or -1 (wait, or failed). */
  private readHead(d: Buffer, at: number): number {
    const chunk = at === 0 ? d : d.subarray(at)
    this.head.push(chunk)
    this.headBytes += chunk.length
    const all = this.head.length === 1 ? chunk : Buffer.concat(this.head)
    // Search from a little before this chunk, in case the blank line straddles two reads.
    const end = all.indexOf(CRLF2, Math.max(0, this.headBytes - chunk.length - 3))
    if (end < 0) {
      if (this.headBytes > MAX_HEAD) this.socket.destroy(new Error('engine answer head too large'))
      // Kept past this read, so not a view of a slab the next read may overwrite.
      this.head = [this.slab && all.buffer === this.slab.buf.buffer ? Buffer.from(all) : all]
      return -1
    }
    const lines = all.toString('latin1', 0, end).split('\r\n')
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '')
    if (!status) {
      this.socket.destroy(new Error('engine sent a malformed answer'))
      return -1
    }
    const code = Number(status[2])
    this.status = code
    const headers: Record<string, string> = {}
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const consumed = end + 4 - (this.headBytes - chunk.length)
    this.head = []
    this.headBytes = 0
    if (code >= 100 && code < 200) return at + consumed // interim answer: the real one follows
    const conn = (headers.connection ?? '').toLowerCase()
    this.keepAlive = status[1] === '1' ? !conn.includes('close') : conn.includes('keep-alive')
    const res = new EngineResponse({ highWaterMark: 64 * 1024 })
    res.statusCode = code
    res.headers = headers
    res.onDemand = () => {
      if (this.res === res && this.socket.isPaused()) this.socket.resume()
    }
    res.onAbandon = () => {
      if (this.res === res) {
        this.res = undefined
        this.keepAlive = false
        this.phase = 'done'
        this.socket.destroy()
      }
    }
    this.res = res
    const te = (headers['transfer-encoding'] ?? '').toLowerCase()
    const length = headers['content-length']
    if (this.method === 'HEAD' || code === 204 || code === 304) {
      this.phase = 'fixed'
      this.left = 0
    } else if (te.includes('chunked')) {
      this.phase = 'chunk-size'
      this.lineBuf = ''
    } else if (length !== undefined && /^\d{1,15}$/.test(length)) {
      this.phase = 'fixed'
      this.left = Number(length)
    } else if (length !== undefined) {
      this.socket.destroy(new Error('engine sent a malformed Content-Length'))
      return -1
    } else {
      this.phase = 'until-close'
      this.keepAlive = false
    }
    const onHead = this.onHead
    this.onHead = undefined
    this.onFail = undefined
    onHead?.(res)
    if (this.phase === 'fixed' && this.left === 0) this.finishBody()
    return at + consumed
  }

  private push(c: Buffer): void {
    const res = this.res
    if (!res || res.destroyed) return
    const slab = this.slab
    let ok: boolean
    if (!slab || slab.given) ok = res.deliver(c)
    else if (res.lent) {
      slab.refs++
      let released = false
      ok = res.deliver(c, () => {
        if (released) return
        released = true
        if (--slab.refs === 0 && slab !== this.slab && !slab.given) this.pool.giveSlab(slab)
      })
    } else if (c.length <= COPY_MAX) ok = res.deliver(Buffer.from(c))
    else {
      slab.given = true
      ok = res.deliver(c)
    }
    if (!ok) this.socket.pause()
  }

  private finishBody(): void {
    const res = this.res
    this.phase = 'done'
    this.res = undefined
    if (res && !res.destroyed) res.finish()
    this.maybeRelease()
  }

  /** Back to the pool once both directions are complete, or closed when it cannot be reused. */
  private maybeRelease(): void {
    if (!this.busy || this.phase !== 'done' || this.res) return
    // An error answered before the body was all sent: stop sending (the engine will not read it).
    if (!this.requestSent && this.status >= 300) {
      this.busy = false
      this.socket.destroy()
      return
    }
    if (!this.requestSent) return
    this.busy = false
    if (!this.keepAlive || this.socket.destroyed) {
      this.socket.destroy()
      return
    }
    this.socket.setTimeout(0)
    // Paused by a slow reader of the last answer: an idle socket must still see the engine close it.
    if (this.socket.isPaused()) this.socket.resume()
    this.pool.release(this)
  }
}

/** The connections to one engine: idle ones reused newest first, at most `maxSockets` open. */
export class Pool {
  private readonly idle: Conn[] = []
  private readonly slabs: Slab[] = []
  private open = 0
  private readonly waiting: ((c: Conn | Error) => void)[] = []

  constructor(readonly opts: ConnOptions) {}

  /**
   * Sends `head` (the request line and headers) and `body`, and resolves with the answer once its
   * head arrived. `signal` aborts at any point (the connection is destroyed).
   */
  async request(method: string, head: string, body: Buffer | Readable | undefined, signal?: AbortSignal): Promise<EngineResponse> {
    const conn = await this.take()
    return new Promise<EngineResponse>((resolve, reject) => {
      let settled = false
      const onAbort = (): void => {
        conn.socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
      }
      conn.start(
        method,
        (res) => {
          settled = true
          resolve(res)
          res.once('close', done)
        },
        (e) => {
          done()
          if (!settled) {
            settled = true
            reject(e)
          }
        },
      )
      if (signal?.aborted) {
        onAbort()
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const s = conn.socket
      if (body === undefined) {
        s.write(head)
        conn.sent()
      } else if (Buffer.isBuffer(body)) {
        s.cork()
        s.write(head)
        if (body.length) s.write(body)
        s.uncork()
        conn.sent()
      } else {
        s.write(head)
        // pipe() does not forward a source error: the caller aborts through `signal` instead. It
        // unpipes by itself at the body's end or the socket's close (a listener added here for
        // that stayed on the reused socket, one per request).
        body.once('end', () => conn.sent())
        body.pipe(s, { end: false })
      }
    })
  }

  private take(): Promise<Conn> {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) if (!c.socket.destroyed) return Promise.resolve(c)
    if (this.open < this.opts.maxSockets) return this.connect()
    return new Promise((ok, fail) => this.waiting.push((c) => (c instanceof Error ? fail(c) : ok(c))))
  }

  private connect(): Promise<Conn> {
    this.open++
    const u = this.opts.url
    const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80)
    const host = u.hostname.replace(/^\[|\]$/g, '')
    return new Promise((ok, fail) => {
      const tls = u.protocol === 'https:'
      const slab = tls ? undefined : this.takeSlab()
      let conn: Conn | undefined
      // net.Socket asks for the first buffer while it is being constructed, before `conn` exists.
      const onread = slab && { buffer: () => (conn ? conn.nextBuffer() : slab.buf), callback: (n: number) => conn!.read(n) }
      const socket = tls ? tlsConnect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host }) : netConnect({ host, port, ...(onread ? { onread } : {}) })
      conn = new Conn(socket, this, slab)
      const t = setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs)
      const ready = (): void => {
        clearTimeout(t)
        socket.off('error', early)
        ok(conn)
      }
      const early = (e: Error): void => {
        clearTimeout(t)
        fail(e)
      }
      socket.once(tls ? 'secureConnect' : 'connect', ready)
      socket.once('error', early)
    })
  }

  takeSlab(): Slab {
    const s = this.slabs.pop()
    if (s) return s
    return { buf: Buffer.allocUnsafeSlow(SLAB), refs: 0, given: false }
  }

  /** A slab no view can reach any more. */
  giveSlab(s: Slab): void {
    if (this.slabs.length < FREE_SLABS) this.slabs.push(s)
  }

  release(c: Conn): void {
    const next = this.waiting.shift()
    if (next) next(c)
    else this.idle.push(c)
  }

  /** A closed connection leaves the pool and makes room for a waiting request. */
  drop(c: Conn): void {
    const i = this.idle.indexOf(c)
    if (i >= 0) this.idle.splice(i, 1)
    this.open--
    const next = this.waiting.shift()
    if (next) this.connect().then(next, next)
  }

  destroy(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy()
  }
}

/**
 * @module How long a connection may hold server resources without moving. Without limits, a stalled
 * request body, a TLS connection that never handshakes and an idle proxy tunnel each pin a socket
 * (and an upload's temp file) forever, and a few hundred exhaust a small fd limit.
 *
 * A request body is watched where it is read (src/auth/body.ts): the listener registers its limit
 * per connection here, and the reader fails with S3's RequestTimeout when the client sends nothing
 * for that long while the server is waiting for bytes, so the upload is aborted through the same
 * path as any other body error (no partial object, the temp file removed) and the XML error is sent.
 */
import type { Readable, Transform } from 'node:stream'
import { s3Error } from '../shared/errors.js'

export interface Timeouts {
  /** A request body that sends no byte for this long (while the server waits for one) fails. */
  bodyIdleMs: number
  /** A TLS handshake (front door or a proxy tunnel) not done in this long: the connection is dropped. */
  tlsHandshakeMs: number
  /** A proxy tunnel with no byte in either direction for this long is closed. */
  tunnelIdleMs: number
  /** An idle keep-alive connection between requests is closed after this long (Node's keepAliveTimeout). */
  keepAliveMs: number
  /** All request headers must arrive within this long (Node's headersTimeout; also an idle new connection). */
  headersMs: number
}

/**
 * S3 closes a stalled upload after about 20 s; keep-alive outlives the 60 s idle timeout of common
 * load balancers and SDK pools so the server is not the side that races a reused connection.
 */
export const DEFAULT_TIMEOUTS: Timeouts = {
  bodyIdleMs: 20_000,
  tlsHandshakeMs: 10_000,
  tunnelIdleMs: 120_000,
  keepAliveMs: 65_000,
  headersMs: 60_000,
}

export function resolveTimeouts(t: Partial<Timeouts> | undefined): Timeouts {
  const out = { ...DEFAULT_TIMEOUTS }
  for (const k of Object.keys(out) as (keyof Timeouts)[]) {
    const v = t?.[k]
    if (v !== undefined) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`timeout ${k} must be a positive number of milliseconds`)
      out[k] = v
    }
  }
  return out
}

/**
 * Node's own limits for an http.Server. No total request time (requestTimeout 0): a large upload may
 * take as long as it keeps moving; stalls are the body watch's. Node checks headersTimeout only every
 * connectionsCheckingInterval, so that follows a short limit.
 */
export function httpServerOptions(t: Timeouts): { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  return {
    keepAliveTimeout: t.keepAliveMs,
    headersTimeout: t.headersMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(t.headersMs / 4))),
  }
}

/** Body idle limit of each connection, set by the listener that accepted it (once per connection). */
const bodyIdle = new WeakMap<object, number>()

export function setBodyIdleLimit(socket: object, ms: number): void {
  bodyIdle.set(socket, ms)
}

/** The AWS wording: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (RequestTimeout). */
export function requestTimeout(): ReturnType<typeof s3Error> {
  return s3Error('RequestTimeout', {
    message: 'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
    // The rest of the body may still come; the connection cannot carry another request.
    headers: { connection: 'close' },
  })
}

/**
 * Fails `into` (the first stream `source` is piped to) with RequestTimeout when `source` delivers
 * nothing for its connection's limit. A request that is not from a listener (tests feeding streams)
 * has no limit. Time spent with `into` backed up is the server's own (a slow disk), not a stall.
 */
export function watchBodyIdle(source: Readable, into: Transform): void {
  const socket = (source as { socket?: object }).socket
  const ms = socket === undefined ? undefined : bodyIdle.get(socket)
  if (ms === undefined) return
  const timer = setTimeout(() => {
    if (into.destroyed) return
    if (into.writableNeedDrain || into.writableLength > 0) {
      timer.refresh()
      return
    }
    into.destroy(requestTimeout())
  }, ms)
  // refresh() re-arms the same timer: no allocation per chunk on the upload path.
  const onData = (): void => {
    timer.refresh()
  }
  const stop = (): void => {
    clearTimeout(timer)
    source.off('data', onData)
  }
  source.on('data', onData)
  source.once('end', stop)
  into.once('close', stop)
}

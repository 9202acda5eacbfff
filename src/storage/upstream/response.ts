/**
 * @module An engine answer (conn.ts), read as a stream or lent to one writer.
 *
 * Lent (`lend`, through `sendTo`): the body's chunks go straight to a sink, not through the
 * Readable's buffer, and may be views of a read slab the connection will reuse (conn.ts). The sink
 * calls each chunk's `release` once nothing holds the chunk any more: for `sendTo`, the callback
 * of the destination's write(), which Node calls once the bytes left for the kernel (or the
 * write failed), so the slab is never overwritten while a queued write still points at it. A
 * release never called only keeps a slab out of reuse.
 */
import { Readable, type Writable } from 'node:stream'

export interface Sink {
  /** A body chunk; false asks for a pause until `EngineResponse.onDemand` runs again. */
  chunk(c: Buffer, release: () => void): boolean
  end(): void
  error(e: Error): void
}

const noop = (): void => {}

/** An engine answer: status and headers (lower-case names, repeats joined with ", "), and its body. */
export class EngineResponse extends Readable {
  statusCode = 0
  headers: Record<string, string> = {}
  /** Called when the reader wants more: the connection resumes reading. */
  onDemand: () => void = () => {}
  /** Called when the reader destroys the body before its end: the connection cannot be reused. */
  onAbandon: () => void = () => {}
  private sink: Sink | undefined
  private finished = false

  /** Whether chunks go to a sink, which releases them (conn.ts may then hand out slab views). */
  get lent(): boolean {
    return this.sink !== undefined
  }

  override _read(): void {
    this.onDemand()
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.finished) this.onAbandon()
    cb(err)
  }

  /** From the connection: a body chunk. False: stop reading until onDemand. */
  deliver(c: Buffer, release?: () => void): boolean {
    if (this.sink) return this.sink.chunk(c, release ?? noop)
    // A Readable keeps the chunk until it is read: never a view of a slab (conn.ts copies).
    return this.push(c)
  }

  /** From the connection: the body is complete. */
  finish(): void {
    this.finished = true
    if (this.sink) this.sink.end()
    else this.push(null)
  }

  /** From the connection: it failed before the body was complete. */
  fail(e: Error): void {
    if (this.finished || this.destroyed) return
    if (this.sink) this.sink.error(e)
    this.destroy(e)
  }

  /**
   * Sends the rest of the body to `sink` from now on. False (and nothing taken) when it cannot:
   * read from already, destroyed, or lent before.
   */
  /** Nobody read from it yet, it is not destroyed, and it was not lent before. */
  get lendable(): boolean {
    return !this.sink && !this.destroyed && this.readableFlowing === null && this.listenerCount('data') === 0 && this.listenerCount('readable') === 0
  }

  lend(sink: Sink): boolean {
    if (!this.lendable) return false
    this.sink = sink
    // Bytes that arrived with the head were pushed (copied) before anyone lent the body.
    if (this.readableLength > 0) {
      const buffered = this.read() as Buffer | null
      if (buffered && !sink.chunk(buffered, noop)) {
        if (this.finished) sink.end()
        return true
      }
    }
    if (this.finished) sink.end()
    else this.onDemand()
    return true
  }
}

/**
 * Writes the body of `src` to `dest` (an HTTP response), with backpressure, and ends `dest`; a
 * failure on either side cuts the other. Resolves when `dest` finished or closed; never rejects.
 * Undefined when `src` cannot be lent (the caller pipes it instead).
 */
export function sendTo(src: EngineResponse, dest: Writable): Promise<void> | undefined {
  if (!src.lendable) return undefined
  return new Promise<void>((resolve) => {
    let settled = false
    const onDrain = (): void => src.onDemand()
    const settle = (): void => {
      if (settled) return
      settled = true
      dest.off('drain', onDrain)
      resolve()
    }
    // Failures end as a cut connection (below), never as an unheard 'error' event.
    src.on('error', noop)
    dest.on('drain', onDrain)
    dest.once('finish', settle)
    dest.once('close', () => {
      if (!src.destroyed) src.destroy()
      settle()
    })
    src.lend({
      chunk: (c, release) => dest.write(c, release),
      end: () => {
        dest.end()
        src.destroy()
      },
      error: () => {
        // The status is sent: cutting the connection is all that is left to say.
        dest.destroy()
        settle()
      },
    })
  })
}

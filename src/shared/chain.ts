/**
 * @module `stream.pipeline(first, ...rest, () => {})` for the request path, without its per-call
 * cost: Node 20's pipeline makes an AbortController for every call and aborts it when the pipeline
 * ends, which builds an AbortError (a DOMException with a captured stack) each time, about 5% of
 * a small PUT's CPU in a profile of mrap over an engine. The contract the callers rely on is kept:
 * the bytes flow with backpressure (pipe), and an error or a premature close of any stream
 * destroys every stream with that error, so whoever reads the returned stream sees it.
 */
import { type Duplex, finished, type Readable } from 'node:stream'

export function chain(first: Readable, ...rest: Duplex[]): Readable {
  const all: Readable[] = [first, ...rest]
  let failed = false
  const fail = (e: Error): void => {
    if (failed) return
    failed = true
    for (const s of all) if (!s.destroyed) s.destroy(e)
  }
  let prev = first
  for (const s of rest) {
    prev.pipe(s)
    prev = s
  }
  // finished() also listens for 'error', so no stream's error goes uncaught.
  for (const s of all) finished(s, (e) => e && fail(e))
  return prev
}

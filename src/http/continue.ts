/**
 * @module `Expect: 100-continue`, answered only once the pipeline wants the body.
 *
 * Node answers 100 Continue by itself as soon as the headers arrive, so a client would send a body
 * that authentication or authorization is about to refuse. With a 'checkContinue' listener the
 * server holds the 100 back; this module sends it when the request is first read, which the
 * pipeline does only after it has authenticated and authorized the request. A request refused
 * before that gets its final answer with no 100, and Node closes the connection after it (RFC 9110
 * §10.1.1: the client then need not send the body).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Holds `req`'s 100 Continue back until something reads its body. */
export function deferContinue(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read
  let waiting = true
  req._read = function (this: IncomingMessage, n: number): void {
    // After a final answer a 100 would be a second status line. The pipeline's drain of a refused
    // upload (resume(), which reads on the next tick, after the answer is written) and Node's own
    // drain on finish come here once the headers are out, and so never ask for the body.
    if (waiting) {
      waiting = false
      if (!res.headersSent) res.writeContinue()
    }
    read.call(this, n)
  }
}

/**
 * @module A response body that can write itself to the HTTP response, for a store whose bytes
 * need not pass through a Readable on their way out (storage/upstream/response.ts: the engine's
 * read buffers are reused once the response's writes are done with them, which a pipe() cannot
 * tell). The HTTP layer asks first and pipes when the answer is undefined.
 */
import type { Writable } from 'node:stream'

export const SEND_TO = Symbol('mrap.sendTo')

export interface SendsTo {
  /** Writes the whole body to `dest` and ends it; undefined when it cannot (the caller pipes). Never rejects. */
  [SEND_TO]?: (dest: Writable) => Promise<void> | undefined
}

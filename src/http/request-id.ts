/**
 * @module Request ids: 16 upper-case hex digits like S3's, unique per process run (a random prefix
 * and a counter), and the x-amz-id-2 host id. Random bytes per request cost ~5% of a small GET.
 */
import { randomBytes } from 'node:crypto'

export class RequestIds {
  private readonly prefix = randomBytes(4).toString('hex').toUpperCase()
  private readonly hostSuffix = randomBytes(18).toString('base64')
  private counter = randomBytes(4).readUInt32BE(0)

  next(): { requestId: string; hostId: string } {
    this.counter = (this.counter + 1) >>> 0
    const requestId = this.prefix + this.counter.toString(16).toUpperCase().padStart(8, '0')
    // Opaque to clients, as S3's is; a string join rather than a base64 round trip per request.
    return { requestId, hostId: this.hostSuffix + requestId }
  }
}

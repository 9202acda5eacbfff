/**
 * @module The server's memory of its last requests (the console's Requests page): a fixed ring,
 * newest last. Recording is on every request's path, so it keeps what the pipeline already has
 * (the per-request `info` record, not a copy) and derives everything else when someone reads.
 */

export interface RecentRequest {
  /** Epoch milliseconds when the answer was written. */
  time: number
  requestId: string
  method: string
  host: string | undefined
  path: string
  status: number
  /** The service that answered: `s3`, `mrap`, `control`, `iam`, `sts`, `ec2`. */
  service: string
  /** The pipeline's per-request facts (op, bucket, key, mrap, principal ARN, served region, error code). */
  info: Readonly<Record<string, string | undefined>>
}

export class RecentRequests {
  private readonly ring: (RecentRequest | undefined)[]
  private next = 0
  private count = 0

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }

  record(r: RecentRequest): void {
    this.ring[this.next] = r
    this.next = (this.next + 1) % this.capacity
    if (this.count < this.capacity) this.count += 1
  }

  /** Every remembered request, newest first. */
  newestFirst(): RecentRequest[] {
    const out: RecentRequest[] = []
    for (let i = 1; i <= this.count; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity]
      if (r) out.push(r)
    }
    return out
  }
}

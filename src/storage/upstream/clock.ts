/**
 * @module The engine's clock as seen through its answers' `Date` headers, so a PUT's Last-Modified
 * can be known without a HEAD after the write.
 *
 * A PUT answer carries no Last-Modified (RGW, checked on 16.2.15), and its `Date` alone is wrong
 * when the object's mtime and the answer straddle a second boundary. But every answer bounds the
 * offset between the engine's clock and ours: the engine was in second `Date` at some local
 * instant between sending and receiving, so offset ∈ [Date − received, Date + 1 s − sent].
 * Intersecting those intervals over many answers narrows the offset to a few milliseconds (their
 * sub-second phases differ). The engine stamps a PUT's mtime between receiving and answering it,
 * so when [sent + low, received + high] lies within one engine second, that second is the
 * Last-Modified every later HEAD, GET and listing shows; only when it straddles one (a few
 * percent of PUTs on a busy loopback) does the store still ask with a HEAD.
 *
 * Bounds widen with time at 500 ppm (the most NTP slews a clock) so drift never leaves the true
 * offset outside them, and an answer that contradicts them (a stepped clock, or engine nodes
 * behind one endpoint that disagree) starts the estimate over; until TRUST answers agree, and
 * while the bounds are wider than MAX_WIDTH_MS, the HEAD is asked.
 */

const SLEW = 0.0005
/**
 * Kept off each edge of a pinned second. It was 2 ms: a loaded clean-clone CI run (2026-12-07)
 * and a loaded helper run each saw one PUT in fifty pinned to the second before the one the engine
 * then showed, a case the bounds above should exclude and that could not be reproduced alone. What
 * breaks them (the host's clock adjusted between a request's two readings, or the engine stamping
 * its Date before the object's mtime) would be milliseconds. 20 ms more leaves ~4% more PUTs to a
 * HEAD, where a wrong Last-Modified would be wrong everywhere that version is listed.
 */
const MARGIN_MS = 20
const TRUST = 8
const MAX_WIDTH_MS = 250

export class EngineClock {
  private low = -Infinity
  private high = Infinity
  private at = 0
  private agreeing = 0

  /** An answer that left the engine in second `date` (an HTTP date), asked at `sent`, heard at `received` (local ms). */
  observe(sent: number, received: number, date: string | undefined): void {
    const d = date ? Date.parse(date) : NaN
    if (!Number.isFinite(d) || received < sent) return
    // Concurrent answers arrive in any order: bounds only ever widen with time.
    const widen = Math.max(0, received - this.at) * SLEW
    this.at = Math.max(this.at, received)
    const lo = d - received
    const hi = d + 1000 - sent
    const curLo = this.low - widen
    const curHi = this.high + widen
    if (lo > curHi || hi < curLo) {
      this.low = lo
      this.high = hi
      this.agreeing = 1
      return
    }
    this.low = Math.max(curLo, lo)
    this.high = Math.min(curHi, hi)
    this.agreeing++
  }

  /**
   * The engine second (ms since the epoch) of an event the engine placed between `sent` and
   * `received`, or undefined when the bounds do not pin it to one second. `answered`: the Date
   * of the answer that reported the event. The engine stamps that Date when it sends the answer,
   * after the event (a PUT whose body crossed a second boundary: its Date and Last-Modified are
   * both the later second, checked on RGW 16.2.15), so the event's second is at most the Date's.
   * That bound drops everything after the answer left (the way back, mrap's own event-loop delay),
   * which under load was most of the window: without it ~40% of a loaded bench's PUTs straddled.
   */
  secondOf(sent: number, received: number, answered?: string): number | undefined {
    if (this.agreeing < TRUST || this.high - this.low > MAX_WIDTH_MS) return undefined
    const widen = Math.max(0, received - this.at) * SLEW + MARGIN_MS
    const first = Math.floor((sent + this.low - widen) / 1000)
    let last = Math.floor((received + this.high + widen) / 1000)
    const d = answered ? Date.parse(answered) : NaN
    if (Number.isFinite(d)) last = Math.min(last, Math.floor(d / 1000))
    return first === last ? first * 1000 : undefined
  }
}

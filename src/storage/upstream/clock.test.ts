/**
 * EngineClock: the engine second of a write, from the Date headers of earlier answers. A Date is
 * the engine's clock truncated to the second (RFC 9110 §5.6.7 IMF-fixdate, as S3 and RGW send it).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EngineClock } from './clock.js'

const httpDate = (ms: number): string => new Date(ms).toUTCString()

/** Answers from an engine whose clock runs `offset` ms ahead of ours, `rtt` ms round trips, spread over time. */
function feed(clock: EngineClock, offset: number, from: number, n: number, step: number, rtt = 2): number {
  let t = from
  for (let i = 0; i < n; i++) {
    const engineAt = t + rtt / 2 + offset
    clock.observe(t, t + rtt, httpDate(Math.floor(engineAt / 1000) * 1000))
    t += step
  }
  return t
}

test('answers spread over time pin the engine second of a write, with any clock offset', () => {
  for (const offset of [0, 437, -1234, 59_999]) {
    const clock = new EngineClock()
    const base = Date.UTC(2026, 0, 1, 12, 0, 0)
    const t = feed(clock, offset, base, 40, 73)
    let pinned = 0
    for (let s = t; s < t + 2000; s += 37) {
      const got = clock.secondOf(s, s + 2)
      // The engine stamped the write somewhere in [s, s+2] of our time.
      const lo = Math.floor((s + offset) / 1000) * 1000
      const hi = Math.floor((s + 2 + offset) / 1000) * 1000
      if (got !== undefined) {
        pinned++
        assert.ok(got === lo && got === hi, `offset ${offset}: ${got} for a write in [${lo}, ${hi}]`)
      }
    }
    assert.ok(pinned > 40, `offset ${offset}: only ${pinned} of 55 writes pinned`)
  }
})

test('a write that straddles a second boundary is not pinned', () => {
  const clock = new EngineClock()
  const base = Date.UTC(2026, 0, 1, 12, 0, 0)
  feed(clock, 0, base, 40, 73)
  const boundary = Date.UTC(2026, 0, 1, 12, 0, 10)
  assert.equal(clock.secondOf(boundary - 1, boundary + 1), undefined)
  assert.equal(clock.secondOf(boundary - 300, boundary + 300), undefined)
})

test("the write's own answer bounds its second: a late-heard answer still pins the earlier second", () => {
  const clock = new EngineClock()
  const base = Date.UTC(2026, 0, 1, 12, 0, 0)
  feed(clock, 0, base, 40, 73)
  const boundary = Date.UTC(2026, 0, 1, 12, 0, 10)
  // Sent 60 ms before a boundary, heard 40 ms after it (a busy event loop): the engine stamped
  // the write and answered before the boundary, and its Date says so.
  assert.equal(clock.secondOf(boundary - 60, boundary + 40), undefined, "without the answer's Date")
  assert.equal(clock.secondOf(boundary - 60, boundary + 40, httpDate(boundary - 1000)), boundary - 1000)
  // Answered after the boundary: the write may be on either side, so it is still not pinned.
  assert.equal(clock.secondOf(boundary - 60, boundary + 40, httpDate(boundary)), undefined)
  // A Date before the write could have happened contradicts the bounds: not pinned either.
  assert.equal(clock.secondOf(boundary + 200, boundary + 260, httpDate(boundary - 1000)), undefined)
})

test('too few answers, or answers close together, are not trusted', () => {
  const clock = new EngineClock()
  const base = Date.UTC(2026, 0, 1, 12, 0, 0, 400)
  feed(clock, 0, base, 7, 73)
  assert.equal(clock.secondOf(base + 5000, base + 5001), undefined, 'seven answers')
  const burst = new EngineClock()
  feed(burst, 0, base, 50, 1)
  assert.equal(burst.secondOf(base + 5000, base + 5001), undefined, 'fifty answers within 50 ms leave the offset ~950 ms wide')
})

test('an engine clock that steps starts the estimate over instead of answering a wrong second', () => {
  const clock = new EngineClock()
  const base = Date.UTC(2026, 0, 1, 12, 0, 0)
  const t = feed(clock, 0, base, 40, 73)
  // The engine's clock jumps 3.5 s ahead: the next answer contradicts the bounds.
  clock.observe(t, t + 2, httpDate(Math.floor((t + 1 + 3500) / 1000) * 1000))
  assert.equal(clock.secondOf(t + 10, t + 12), undefined)
  const t2 = feed(clock, 3500, t + 20, 40, 73)
  const got = clock.secondOf(t2 + 600, t2 + 602)
  if (got !== undefined) assert.equal(got, Math.floor((t2 + 600 + 3500) / 1000) * 1000)
})

test('unparseable Date headers are ignored', () => {
  const clock = new EngineClock()
  for (let i = 0; i < 20; i++) clock.observe(i * 100, i * 100 + 1, i % 2 ? 'not a date' : undefined)
  assert.equal(clock.secondOf(5000, 5001), undefined)
})

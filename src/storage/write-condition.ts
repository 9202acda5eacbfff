/**
 * @module Conditional writes as every store judges them (types.ts WriteCondition), and the per-key
 * lock a store that cannot judge them in one step with the write holds around both.
 */
import { s3Error } from '../shared/errors.js'
import type { WriteCondition } from './types.js'

/** RFC 7232 entity-tag list match: `*`, or any listed tag (quotes and W/ ignored) equal to `etag`. */
export function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const s = t.trim()
    return s === '*' || s.replace(/^W\//, '').replace(/^"|"$/g, '') === etag
  })
}

/** Whether `c` holds for a key whose current version has ETag `current` (undefined: none, or a delete marker). */
export function conditionHolds(c: WriteCondition, current: string | undefined): boolean {
  if (c.ifNoneMatch && current !== undefined) return false
  if (c.ifMatch !== undefined && (current === undefined || !etagMatches(c.ifMatch, current))) return false
  return true
}

/** The store's check, made atomically with the write: a miss here means a concurrent write won. */
export function checkCommitCondition(c: WriteCondition | undefined, current: string | undefined): void {
  if (c !== undefined && !conditionHolds(c, current)) throw s3Error('ConditionalRequestConflict')
}

interface Waiter {
  exclusive: boolean
  go: () => void
}
interface Entry {
  shared: number
  exclusive: boolean
  waiting: Waiter[]
}

/**
 * A readers-writer lock per key, first come first served: conditional writes hold it exclusively
 * (check, then write), other writes of the key share it, so a plain write cannot land between a
 * conditional write's check and its write, while plain writes still run side by side. An entry
 * lives only while held or awaited.
 */
export class KeyLocks {
  private readonly entries = new Map<string, Entry>()

  acquire(key: string, exclusive: boolean): Promise<() => void> {
    let entry = this.entries.get(key)
    if (!entry) {
      entry = { shared: 0, exclusive: false, waiting: [] }
      this.entries.set(key, entry)
    }
    const e = entry
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      if (exclusive) e.exclusive = false
      else e.shared--
      this.pump(key, e)
    }
    if (e.waiting.length === 0 && free(e, exclusive)) {
      take(e, exclusive)
      return Promise.resolve(release)
    }
    return new Promise((resolve) => e.waiting.push({ exclusive, go: () => resolve(release) }))
  }

  /** Keys held or awaited now (tests: nothing leaks). */
  get size(): number {
    return this.entries.size
  }

  private pump(key: string, e: Entry): void {
    while (e.waiting.length > 0 && free(e, e.waiting[0]!.exclusive)) {
      const w = e.waiting.shift()!
      take(e, w.exclusive)
      w.go()
    }
    if (!e.exclusive && e.shared === 0 && e.waiting.length === 0) this.entries.delete(key)
  }
}

const free = (e: Entry, exclusive: boolean): boolean => !e.exclusive && (!exclusive || e.shared === 0)
const take = (e: Entry, exclusive: boolean): void => {
  if (exclusive) e.exclusive = true
  else e.shared++
}

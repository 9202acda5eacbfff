/**
 * @module Engine buckets as mrap's writes need them. The store contract passes a bucket's
 * versioning state with each write, while an engine keeps it per bucket: before a write, the
 * engine bucket exists and is in the matching state. Writes in one state run together; a write
 * that needs another state waits until they end, so no write lands under the wrong state.
 */
import { CreateBucketCommand, GetBucketVersioningCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3'
import type { VersioningState } from '../types.js'
import { type Engine, errorInfo } from './engine.js'

type EngineState = 'Unversioned' | 'Enabled' | 'Suspended'

interface Slot {
  ready: Promise<void> | undefined
  state: EngineState
  active: number
  switching: boolean
  waiters: (() => void)[]
}

/** The engine state a write needs: a bucket once enabled can only be suspended, as on S3. */
function wanted(v: VersioningState, current: EngineState): EngineState {
  if (v === 'Enabled') return 'Enabled'
  return current === 'Enabled' ? 'Suspended' : current
}

export class EngineBuckets {
  private readonly slots = new Map<string, Slot>()

  constructor(private readonly engine: Engine) {
    // An engine back from an outage may be a rebuilt one: learn its buckets again.
    engine.onRecover = () => this.slots.clear()
  }

  /** Creates the engine bucket if needed (idempotent) and learns its versioning state. */
  async ensure(engineBucket: string): Promise<void> {
    const s = this.slot(engineBucket)
    s.ready ??= (async () => {
      await this.engine.call((c) =>
        c.send(new CreateBucketCommand({ Bucket: engineBucket })).catch((e: unknown) => {
          const code = errorInfo(e).code
          if (code === 'BucketAlreadyOwnedByYou') return undefined
          throw e
        }),
      )
      const v = await this.engine.call((c) => c.send(new GetBucketVersioningCommand({ Bucket: engineBucket })))
      s.state = v.Status === 'Enabled' ? 'Enabled' : v.Status === 'Suspended' ? 'Suspended' : 'Unversioned'
    })().catch((e: unknown) => {
      s.ready = undefined
      throw e
    })
    await s.ready
  }

  /** Waits until writes of `versioning` may run on the bucket; call the result when the write ends. */
  async enter(engineBucket: string, versioning: VersioningState): Promise<() => void> {
    await this.ensure(engineBucket)
    const s = this.slot(engineBucket)
    for (;;) {
      const target = wanted(versioning, s.state)
      if (!s.switching && target === s.state) {
        s.active++
        let done = false
        return () => {
          if (!done) {
            done = true
            s.active--
            if (s.active === 0) this.wake(s)
          }
        }
      }
      if (!s.switching && s.active === 0) {
        s.switching = true
        try {
          await this.engine.call((c) =>
            c.send(new PutBucketVersioningCommand({ Bucket: engineBucket, VersioningConfiguration: { Status: target === 'Enabled' ? 'Enabled' : 'Suspended' } })),
          )
          s.state = target
        } finally {
          s.switching = false
          this.wake(s)
        }
        continue
      }
      await new Promise<void>((r) => s.waiters.push(r))
    }
  }

  /** Forgets a bucket (deleted, or found missing): the next write creates it again. */
  forget(engineBucket: string): void {
    this.slots.delete(engineBucket)
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name)
    if (!s) this.slots.set(name, (s = { ready: undefined, state: 'Unversioned', active: 0, switching: false, waiters: [] }))
    return s
  }

  private wake(s: Slot): void {
    const w = s.waiters.splice(0)
    for (const r of w) r()
  }
}

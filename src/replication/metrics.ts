/**
 * @module Replication metrics per rule, the ones S3 publishes to CloudWatch when a rule's Metrics
 * are enabled (OperationsPendingReplication, BytesPendingReplication, ReplicationLatency,
 * OperationsFailedReplication), as a plain object from `snapshot()`; a Prometheus exporter can
 * read the same snapshot later. Backlog figures come from the queue itself, so they are right after
 * a restart; counters and latencies are since the start of this process.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html
 */
import type { BacklogGroup, FleetFigures, Task } from './queue.js'

export interface RuleMetrics {
  sourceBucket: string
  ruleId: string
  destinationBucket: string
  /** OperationsPendingReplication / BytesPendingReplication. */
  backlogOperations: number
  backlogBytes: number
  /** Age of the oldest queued operation, ms (0 when none). */
  oldestPendingMs: number
  completedOperations: number
  completedBytes: number
  /** OperationsFailedReplication: versions given up on (status FAILED). */
  failedOperations: number
  /** Attempts that will be retried (destination or source unavailable). */
  retries: number
  /** ReplicationLatency: acknowledgement to replica written, ms, over the last 1000 operations. */
  lagMs: { last: number; p50: number; p99: number; max: number }
}

export interface ReplicationSnapshot {
  backlogOperations: number
  backlogBytes: number
  completedOperations: number
  failedOperations: number
  rules: RuleMetrics[]
  /**
   * With PostgreSQL state: counts in the shared database, the same on every node. The counters
   * above are this node's since it started; `fleet.completedOperations` is every node's, ever.
   */
  fleet?: FleetFigures
}

interface Counters {
  dest: string
  completed: number
  bytes: number
  failed: number
  retries: number
  lags: number[]
  last: number
  max: number
}

const WINDOW = 1000

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

export class ReplicationMetrics {
  private readonly rules = new Map<string, Counters>()

  private of(t: Pick<Task, 'srcBucket' | 'ruleId' | 'destBucket'>): Counters {
    const k = `${t.srcBucket}\u0000${t.ruleId}`
    let c = this.rules.get(k)
    if (!c) {
      c = { dest: t.destBucket, completed: 0, bytes: 0, failed: 0, retries: 0, lags: [], last: 0, max: 0 }
      this.rules.set(k, c)
    }
    return c
  }

  completed(t: Task, nowMs: number): void {
    const c = this.of(t)
    c.completed++
    c.bytes += t.size
    const lag = Math.max(0, nowMs - t.enqueuedMs)
    c.last = lag
    if (lag > c.max) c.max = lag
    c.lags.push(lag)
    if (c.lags.length > WINDOW) c.lags.splice(0, c.lags.length - WINDOW)
  }

  failed(t: Task): void {
    this.of(t).failed++
  }
  /** Forgets counters and latencies (benchmarks measure one phase at a time). */
  reset(): void {
    this.rules.clear()
  }
  retried(t: Task): void {
    this.of(t).retries++
  }

  snapshot(queued: readonly BacklogGroup[], nowMs: number, fleet?: FleetFigures): ReplicationSnapshot {
    const backlog = new Map<string, { ops: number; bytes: number; oldest: number }>()
    for (const g of queued) {
      this.of({ srcBucket: g.srcBucket, ruleId: g.ruleId, destBucket: g.destBucket })
      const k = `${g.srcBucket}\u0000${g.ruleId}`
      const b = backlog.get(k) ?? { ops: 0, bytes: 0, oldest: nowMs }
      b.ops += g.ops
      b.bytes += g.bytes
      b.oldest = Math.min(b.oldest, g.oldestMs)
      backlog.set(k, b)
    }
    const rules: RuleMetrics[] = []
    for (const [k, c] of [...this.rules].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const [sourceBucket, ruleId] = k.split('\u0000') as [string, string]
      const b = backlog.get(k)
      const sorted = [...c.lags].sort((x, y) => x - y)
      rules.push({
        sourceBucket,
        ruleId,
        destinationBucket: c.dest,
        backlogOperations: b?.ops ?? 0,
        backlogBytes: b?.bytes ?? 0,
        oldestPendingMs: b ? nowMs - b.oldest : 0,
        completedOperations: c.completed,
        completedBytes: c.bytes,
        failedOperations: c.failed,
        retries: c.retries,
        lagMs: { last: c.last, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: c.max },
      })
    }
    return {
      backlogOperations: queued.reduce((n, g) => n + g.ops, 0),
      backlogBytes: queued.reduce((n, g) => n + g.bytes, 0),
      completedOperations: rules.reduce((n, r) => n + r.completedOperations, 0),
      failedOperations: rules.reduce((n, r) => n + r.failedOperations, 0),
      rules,
      ...(fleet ? { fleet } : {}),
    }
  }
}

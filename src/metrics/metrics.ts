/**
 * @module Prometheus metrics (prom-client), served on `--metrics-port` at /metrics: requests by
 * service, operation and status with their latency; region health; MRAPs; replication backlog,
 * completions, failures and lag per rule (S3's replication metrics, from the replication snapshot).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** One replication rule's figures, as the replication snapshot gives them. */
export interface RuleFigures {
  sourceBucket: string
  ruleId: string
  destinationBucket: string
  backlogOperations: number
  backlogBytes: number
  oldestPendingMs: number
  completedOperations: number
  failedOperations: number
  lagMs: { p99: number }
}

/** What the gauges read at scrape time: a narrow view, so metrics depend on no feature. */
export interface MetricSources {
  regions(): Iterable<string>
  isUp(region: string): boolean
  mrapCount(): number
  replicationRules(): readonly RuleFigures[]
  /** Seconds spent sealing and opening stored bytes since start (the embedded store's at-rest cipher). */
  cipherSeconds(): { seal: number; open: number }
}

export class Metrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'service' | 'operation' | 'status'>
  private readonly duration: Histogram<'service'>

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mrap_process_' })
    this.requests = new Counter({
      name: 'mrap_requests_total',
      help: 'Requests answered, by service, operation and HTTP status.',
      labelNames: ['service', 'operation', 'status'],
      registers: [this.registry],
    })
    this.duration = new Histogram({
      name: 'mrap_request_duration_seconds',
      help: 'Time from request to response end, by service.',
      labelNames: ['service'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    })
  }

  /**
   * Off until the metrics listener opens (`--metrics-port`): without a reader, counting would only
   * cost (prom-client hashes the labels on every call, a few percent of a small GET).
   */
  enabled = false

  /** Called once per answered request (the operation is a bounded set of names, never a key). */
  observe(service: string, operation: string, status: number, seconds: number): void {
    if (!this.enabled) return
    this.requests.inc({ service, operation, status: String(status) })
    this.duration.observe({ service }, seconds)
  }

  /** What the gauges read (the console's overview shows the same figures). */
  sources: MetricSources | undefined

  /** Gauges read from the services at scrape time, so the request path pays nothing for them. */
  watch(s: MetricSources): void {
    this.sources = s
    const r = this.registry
    new Gauge({
      name: 'mrap_region_up',
      help: "Whether a region's storage serves (MRAP routing skips regions that are down).",
      labelNames: ['region'],
      registers: [r],
      collect() {
        for (const region of s.regions()) this.set({ region }, s.isUp(region) ? 1 : 0)
      },
    })
    new Gauge({
      name: 'mrap_multi_region_access_points',
      help: 'Multi-Region Access Points held.',
      registers: [r],
      collect() {
        this.set(s.mrapCount())
      },
    })
    new Counter({
      name: 'mrap_at_rest_cipher_seconds_total',
      help: "Time the request thread spent encrypting (seal) and decrypting (open) stored bytes: SSE-S3's share of the server's CPU.",
      labelNames: ['op'],
      registers: [r],
      collect() {
        const c = s.cipherSeconds()
        this.reset()
        this.inc({ op: 'seal' }, c.seal)
        this.inc({ op: 'open' }, c.open)
      },
    })
    const perRule = (name: string, help: string, pick: (x: RuleFigures) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['source_bucket', 'rule', 'destination_bucket'],
        registers: [r],
        collect() {
          this.reset()
          for (const x of s.replicationRules()) this.set({ source_bucket: x.sourceBucket, rule: x.ruleId, destination_bucket: x.destinationBucket }, pick(x))
        },
      })
    }
    perRule('mrap_replication_pending_operations', 'Operations waiting to replicate (OperationsPendingReplication).', (x) => x.backlogOperations)
    perRule('mrap_replication_pending_bytes', 'Bytes waiting to replicate (BytesPendingReplication).', (x) => x.backlogBytes)
    perRule('mrap_replication_oldest_pending_seconds', 'Age of the oldest waiting operation.', (x) => x.oldestPendingMs / 1000)
    perRule('mrap_replication_completed_operations', 'Operations replicated since start.', (x) => x.completedOperations)
    perRule('mrap_replication_failed_operations', 'Versions given up on (OperationsFailedReplication).', (x) => x.failedOperations)
    perRule('mrap_replication_latency_p99_seconds', 'Acknowledgement to replica written, p99 of the last 1000 (ReplicationLatency).', (x) => x.lagMs.p99 / 1000)
  }
}

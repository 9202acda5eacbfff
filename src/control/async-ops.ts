/**
 * @module The asynchronous MRAP operations of S3 Control (Create, Delete, PutPolicy): records in
 * the shared state, the ClientToken idempotency index, and the runner that moves each one
 * NEW → IN_PROGRESS → SUCCEEDED | FAILED (docs/aws/mrap.md §Where AWS is silent). S3 authorizes and validates the request
 * synchronously and does the work later; failures found then are reported only through
 * DescribeMultiRegionAccessPointOperation.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_DescribeMultiRegionAccessPointOperation.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html
 *
 * Across nodes (docs/decisions/shared-state.md §Leases): the record is a state record, so any node
 * answers Describe from memory. A step is one guarded batch (the record as this node saw it, the
 * MRAP change, the next record), so it is atomic with its MRAP change and a node with stale
 * knowledge cannot overwrite a newer step. With PostgreSQL state the steps are lease-queue tasks
 * (queue `mrap-async`, key = the operation's token): a node that dies holding one leaves it to
 * another once the lease expires. With SQLite state one process runs them on timers.
 */

import { randomBytes, randomInt } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { S3Error, s3Error } from '../shared/errors.js'
import type { BlockPublicAccess } from '../state/control-store.js'
import { unavailable } from '../state/postgres/errors.js'
import { type Lease, LeaseQueue } from '../state/postgres/lease-queue.js'
import type { PgStateStore } from '../state/postgres/pg-state.js'
import type { StateOp, StateStore } from '../state/state-store.js'
import type { ControlConfig } from './config.js'

export type AsyncOperationName = 'CreateMultiRegionAccessPoint' | 'DeleteMultiRegionAccessPoint' | 'PutMultiRegionAccessPointPolicy'
export type AsyncStatus = 'NEW' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED'

export interface CreateParams {
  name: string
  publicAccessBlock: BlockPublicAccess
  regions: { bucket: string; bucketAccountId?: string }[]
}

export type AsyncParams =
  | { operation: 'CreateMultiRegionAccessPoint'; create: CreateParams }
  | { operation: 'DeleteMultiRegionAccessPoint'; name: string }
  | { operation: 'PutMultiRegionAccessPointPolicy'; name: string; policy: string }

export interface AsyncErrorDetails {
  code: string
  message: string
  resource?: string
}

export interface AsyncOperationRecord {
  token: string
  arn: string
  account: string
  clientToken: string
  createdAt: string
  status: AsyncStatus
  params: AsyncParams
  /** The request id of the call that started it (ErrorDetails/RequestId). */
  requestId: string
  /** The alias the operation created or acts on, once known. */
  alias?: string
  /** Per-region progress (ResponseDetails/MultiRegionAccessPointDetails). */
  regions?: { name: string; status: string }[]
  error?: AsyncErrorDetails
}

/** What a step of the work decided: go on to the next step, or end. */
export type StepOutcome = { next: 'continue' } | { next: 'done' } | { next: 'failed'; error: AsyncErrorDetails }

/** A step's decision and the state changes (with their guards) that carry it out. */
export interface StepPlan {
  outcome: StepOutcome
  ops: StateOp[]
}

/**
 * Does the work of one operation in two steps. A step reads the in-memory state and returns the
 * ops to write; it writes nothing itself, so the runner can commit it in one batch with the
 * operation's own transition.
 */
export interface AsyncWorker {
  /** NEW → IN_PROGRESS: checks against the current state, and the first visible change (CREATING, DELETING, a proposed policy). */
  begin(op: AsyncOperationRecord): StepPlan
  /** IN_PROGRESS → SUCCEEDED: the change takes effect. */
  finish(op: AsyncOperationRecord): StepPlan
}

/** Where the steps run when the state is shared (PostgreSQL). */
export interface LeaseOptions {
  /** The state's pool: the queue lives in the same database. */
  pool: PgStateStore['pool']
  /** A step is one short write, far inside the lease; the lease only bounds how long a dead node holds one. */
  leaseMs: number
  /** How often an idle node looks for ready steps. */
  pollMs: number
}

const NS = 'mrap-async'
/** `<account> <operation> <ClientToken>` → token: a guarded record, so one token starts one operation on any node. */
const BY_CLIENT = 'mrap-async-client'
const QUEUE = 'mrap-async'
/** A step that keeps losing its guard (a busy MRAP) or cannot reach the database is retried this often. */
const RETRY_MS = 500
const MAX_ATTEMPTS = 50
const KIND: Record<AsyncOperationName, string> = {
  CreateMultiRegionAccessPoint: 'create',
  DeleteMultiRegionAccessPoint: 'delete',
  PutMultiRegionAccessPointPolicy: 'put-policy',
}

/** `arn:aws:s3:us-west-2:<acct>:async-request/mrap/<create|delete|put-policy>/<token>` (Service Authorization Reference, multiregionaccesspointrequestarn). */
export function requestTokenArn(partition: string, account: string, operation: AsyncOperationName, token: string): string {
  return `arn:${partition}:s3:us-west-2:${account}:async-request/mrap/${KIND[operation]}/${token}`
}

type Task = { token: string; status: AsyncStatus }

/**
 * Shared state: waits until this node has seen every change committed so far (another node's step,
 * ClientToken or route flip), after a guarded write told it its view was stale.
 */
export async function catchUp(state: StateStore): Promise<void> {
  if (state.backend !== 'postgres') return
  try {
    await (state as PgStateStore).sync()
  } catch (err) {
    throw unavailable(err)
  }
}

export class AsyncOperations {
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly queue: LeaseQueue | undefined
  private poller: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private closed = false
  /**
   * Tests: runs between claiming a step and doing it, as a node that stops mid-operation would
   * pause there (the lease stays held until it expires).
   */
  holdClaimed: ((token: string) => Promise<void>) | undefined

  constructor(
    private readonly state: StateStore,
    private readonly worker: AsyncWorker,
    private readonly opts: { config: ControlConfig; clock: () => Date; log: Logger; partition: string; lease?: LeaseOptions },
  ) {
    if (opts.lease) {
      this.queue = new LeaseQueue(opts.lease.pool, { queue: QUEUE, owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, leaseMs: opts.lease.leaseMs })
    }
  }

  /**
   * Operations left NEW or IN_PROGRESS carry on: on timers in this process, or (shared state) by
   * making sure each has a queued step, then taking part in running the queue.
   */
  resume(): void {
    if (!this.queue) {
      for (const op of this.all()) if (op.status === 'NEW' || op.status === 'IN_PROGRESS') this.schedule(op.token)
      return
    }
    void (async () => {
      for (const op of this.all()) {
        if (this.closed) return
        if (op.status === 'NEW' || op.status === 'IN_PROGRESS') await this.enqueue({ token: op.token, status: op.status }).catch(() => undefined)
      }
    })()
    this.poll()
  }

  get(token: string): AsyncOperationRecord | undefined {
    const v = this.state.get(NS, token)
    return v !== undefined ? (JSON.parse(v) as AsyncOperationRecord) : undefined
  }

  findByClientToken(account: string, operation: AsyncOperationName, clientToken: string): AsyncOperationRecord | undefined {
    const token = this.state.get(BY_CLIENT, clientKey(account, operation, clientToken))
    if (token !== undefined) return this.get(token)
    // Records written before the index existed.
    return this.all().find((op) => op.account === account && op.params.operation === operation && op.clientToken === clientToken)
  }

  /**
   * Starts an operation, or returns the one this ClientToken already started (on any node). The
   * same token with different parameters is refused: the token names one request.
   */
  async submit(account: string, clientToken: string, params: AsyncParams, requestId: string): Promise<AsyncOperationRecord> {
    const key = clientKey(account, params.operation, clientToken)
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = this.findByClientToken(account, params.operation, clientToken)
      if (existing) {
        if (JSON.stringify(existing.params) !== JSON.stringify(params)) {
          throw s3Error('InvalidRequest', { message: 'The ClientToken was already used with different request parameters.' })
        }
        // A retry after a 503 may find the record written but its step never queued.
        if (this.queue && (existing.status === 'NEW' || existing.status === 'IN_PROGRESS')) await this.enqueue({ token: existing.token, status: existing.status })
        return existing
      }
      const token = randomBytes(16).toString('hex')
      const op: AsyncOperationRecord = {
        token,
        arn: requestTokenArn(this.opts.partition, account, params.operation, token),
        account,
        clientToken,
        createdAt: this.opts.clock().toISOString(),
        status: 'NEW',
        params,
        requestId,
      }
      const ok = await this.state.write([
        { op: 'expect', ns: BY_CLIENT, key, value: undefined },
        { op: 'put', ns: BY_CLIENT, key, value: token },
        { op: 'put', ns: NS, key: token, value: JSON.stringify(op) },
      ])
      if (ok) {
        if (this.queue) await this.enqueue({ token, status: 'NEW' })
        else this.schedule(token)
        return op
      }
      // Another node took this ClientToken first: learn its record, then answer with it.
      await this.catchUp()
    }
    throw s3Error('ServiceUnavailable', { message: 'The operation could not be recorded; retry the request.' })
  }

  /** Stops the timers and the queue poller (the server is closing); unfinished work resumes elsewhere or on the next start. */
  close(): void {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    clearTimeout(this.poller)
  }

  /** Resolves when a queue poll in flight has finished (tests, orderly shutdown). */
  async idle(): Promise<void> {
    await this.polling
  }

  private all(): AsyncOperationRecord[] {
    return this.state.list(NS).map(({ value }) => JSON.parse(value) as AsyncOperationRecord)
  }

  private delay(): number {
    const { min, max } = this.opts.config.asyncDelayMs
    return max <= min ? min : min + randomInt(max - min + 1)
  }

  private catchUp(): Promise<void> {
    return catchUp(this.state)
  }

  // ---- one process: timers -------------------------------------------------------------

  private schedule(token: string): void {
    if (this.closed) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      this.step(token).then(
        (status) => {
          if (status === 'IN_PROGRESS') this.schedule(token)
        },
        (err: unknown) => this.failed(token, err),
      )
    }, this.delay())
    t.unref()
    this.timers.add(t)
  }

  /** A step that threw is a bug (the embedded store does not go away while open): the operation fails visibly. */
  private failed(token: string, err: unknown): void {
    if (this.closed || /not open/i.test((err as Error).message)) return
    this.opts.log.error({ err, token }, 'mrap async operation step failed')
    const seen = this.state.get(NS, token)
    if (seen === undefined) return
    const failed: AsyncOperationRecord = {
      ...(JSON.parse(seen) as AsyncOperationRecord),
      status: 'FAILED',
      error: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
    }
    this.state
      .write([
        { op: 'expect', ns: NS, key: token, value: seen },
        { op: 'put', ns: NS, key: token, value: JSON.stringify(failed) },
      ])
      .catch(() => undefined)
  }

  // ---- shared state: the lease queue ---------------------------------------------------

  private async enqueue(task: Task): Promise<void> {
    await this.queue!.enqueue(task.token, JSON.stringify(task), { dedupe: `${task.token} ${task.status}`, delayMs: this.delay() })
  }

  private poll(): void {
    if (this.closed || this.polling) return
    let wait = this.opts.lease!.pollMs
    this.polling = this.drain()
      .catch((err: unknown) => {
        // The database is away: look again less often, and say so once a second at most.
        wait = Math.max(wait, RETRY_MS * 2)
        if (!this.closed) this.opts.log.warn({ err }, 'mrap async queue poll failed')
      })
      .finally(() => {
        this.polling = undefined
        if (this.closed) return
        this.poller = setTimeout(() => this.poll(), wait)
        this.poller.unref()
      })
  }

  /** Runs ready steps one at a time until none is left. */
  private async drain(): Promise<void> {
    const q = this.queue!
    while (!this.closed) {
      const [lease] = await q.claim(1)
      if (!lease) return
      await this.run(lease)
    }
  }

  private async run(lease: Lease): Promise<void> {
    const q = this.queue!
    const task = JSON.parse(lease.payload) as Task
    if (this.holdClaimed) await this.holdClaimed(task.token)
    // A stopped node drops the claim as a dead one would: the lease expires and another node runs it.
    if (this.closed) return
    try {
      await this.catchUp()
      const status = await this.step(task.token, task.status)
      if (status === undefined) {
        await q.fail(lease, 'the step lost its guard repeatedly', { retryMs: RETRY_MS, maxAttempts: MAX_ATTEMPTS })
        return
      }
      // The next step is queued before this one is finished, so a crash between the two loses nothing.
      if (status === 'NEW' || status === 'IN_PROGRESS') await this.enqueue({ token: task.token, status })
      if (!(await q.complete(lease))) this.opts.log.info({ token: task.token }, 'mrap async step finished after its lease was lost')
    } catch (err) {
      if (err instanceof S3Error && err.code === 'ServiceUnavailable') {
        await q.fail(lease, String((err as Error).message), { retryMs: RETRY_MS, maxAttempts: MAX_ATTEMPTS }).catch(() => undefined)
        return
      }
      this.failed(task.token, err)
      await q.complete(lease).catch(() => undefined)
    }
  }

  // ---- a step, wherever it runs --------------------------------------------------------

  /**
   * Moves the operation one step on, if it is still at `from` (any non-final status when not
   * given). Resolves to its status afterwards (whoever moved it), or undefined when this node
   * kept losing the race to other writers.
   */
  private async step(token: string, from?: AsyncStatus): Promise<AsyncStatus | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.closed) return undefined
      const seen = this.state.get(NS, token)
      if (seen === undefined) return undefined
      const op = JSON.parse(seen) as AsyncOperationRecord
      if (op.status === 'SUCCEEDED' || op.status === 'FAILED' || (from !== undefined && op.status !== from)) return op.status
      const work = JSON.parse(seen) as AsyncOperationRecord
      const plan = op.status === 'NEW' ? this.worker.begin(work) : this.worker.finish(work)
      const outcome = plan.outcome
      if (outcome.next === 'failed') {
        work.status = 'FAILED'
        work.error = outcome.error
        markRegions(work, 'FAILED')
      } else if (outcome.next === 'done' || op.status === 'IN_PROGRESS') {
        work.status = 'SUCCEEDED'
        markRegions(work, 'SUCCEEDED')
      } else work.status = 'IN_PROGRESS'
      // A failed step changes no MRAP: only the operation's record moves.
      const ops = outcome.next === 'failed' ? [] : plan.ops
      const ok = await this.state.write([{ op: 'expect', ns: NS, key: token, value: seen }, ...ops, { op: 'put', ns: NS, key: token, value: JSON.stringify(work) }])
      if (ok) {
        this.opts.log.debug({ token, operation: op.params.operation, status: work.status }, 'mrap async operation')
        return work.status
      }
      // This node's view was stale (another node moved the operation or changed the MRAP): re-read, carry on.
      await this.catchUp()
    }
    return undefined
  }
}

function clientKey(account: string, operation: AsyncOperationName, clientToken: string): string {
  return `${account} ${operation} ${clientToken}`
}

function markRegions(op: AsyncOperationRecord, status: string): void {
  if (op.regions) op.regions = op.regions.map((r) => ({ name: r.name, status }))
}

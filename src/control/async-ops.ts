/**
 * @module The asynchronous MRAP operations of S3 Control (Create, Delete, PutPolicy): persisted
 * records, the ClientToken idempotency index, and the scheduler that moves each one
 * NEW → IN_PROGRESS → SUCCEEDED | FAILED (docs/aws/mrap.md §Where AWS is silent). S3 authorizes and validates the request
 * synchronously and does the work later; failures found then are reported only through
 * DescribeMultiRegionAccessPointOperation.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_DescribeMultiRegionAccessPointOperation.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import type { BlockPublicAccess, ControlStore } from '../state/control-store.js'
import { s3Error } from '../shared/errors.js'
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

export interface AsyncErrorDetails { code: string; message: string; resource?: string }

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

/** Does the work of one operation in two steps; each runs inside one control-store transaction. */
export interface AsyncWorker {
  /** NEW → IN_PROGRESS: checks against the current state, and the first visible change (CREATING, DELETING, a proposed policy). */
  begin(op: AsyncOperationRecord): StepOutcome
  /** IN_PROGRESS → SUCCEEDED: the change takes effect. */
  finish(op: AsyncOperationRecord): StepOutcome
}

const NS = 'mrap-async'
const KIND: Record<AsyncOperationName, string> = {
  CreateMultiRegionAccessPoint: 'create',
  DeleteMultiRegionAccessPoint: 'delete',
  PutMultiRegionAccessPointPolicy: 'put-policy',
}

/** `arn:aws:s3:us-west-2:<acct>:async-request/mrap/<create|delete|put-policy>/<token>` (Service Authorization Reference, multiregionaccesspointrequestarn). */
export function requestTokenArn(partition: string, account: string, operation: AsyncOperationName, token: string): string {
  return `arn:${partition}:s3:us-west-2:${account}:async-request/mrap/${KIND[operation]}/${token}`
}

export class AsyncOperations {
  private readonly ops = new Map<string, AsyncOperationRecord>()
  /** `<account> <operation> <ClientToken>` → token. */
  private readonly byClientToken = new Map<string, string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private closed = false

  constructor(
    private readonly store: ControlStore,
    private readonly worker: AsyncWorker,
    private readonly opts: { config: ControlConfig; clock: () => Date; log: Logger; partition: string },
  ) {
    for (const { v } of store.kvList(NS)) {
      const op = JSON.parse(v) as AsyncOperationRecord
      this.ops.set(op.token, op)
      this.byClientToken.set(clientKey(op.account, op.params.operation, op.clientToken), op.token)
    }
  }

  /** Operations left NEW or IN_PROGRESS by a previous run carry on where they stopped. */
  resume(): void {
    for (const op of this.ops.values()) if (op.status === 'NEW' || op.status === 'IN_PROGRESS') this.schedule(op.token)
  }

  get(token: string): AsyncOperationRecord | undefined { return this.ops.get(token) }

  findByClientToken(account: string, operation: AsyncOperationName, clientToken: string): AsyncOperationRecord | undefined {
    const token = this.byClientToken.get(clientKey(account, operation, clientToken))
    return token !== undefined ? this.ops.get(token) : undefined
  }

  /**
   * Starts an operation, or returns the one this ClientToken already started. The same token with
   * different parameters is refused: the token names one request.
   */
  submit(account: string, clientToken: string, params: AsyncParams, requestId: string): AsyncOperationRecord {
    const key = clientKey(account, params.operation, clientToken)
    const existing = this.byClientToken.get(key)
    if (existing !== undefined) {
      const op = this.ops.get(existing)
      if (op && JSON.stringify(op.params) === JSON.stringify(params)) return op
      throw s3Error('InvalidRequest', { message: 'The ClientToken was already used with different request parameters.' })
    }
    const token = randomBytes(16).toString('hex')
    const op: AsyncOperationRecord = {
      token, arn: requestTokenArn(this.opts.partition, account, params.operation, token), account, clientToken,
      createdAt: this.opts.clock().toISOString(), status: 'NEW', params, requestId,
    }
    this.save(op)
    this.byClientToken.set(key, token)
    this.schedule(token)
    return op
  }

  /** Stops the timers (the server is closing); unfinished operations resume on the next start. */
  close(): void {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  private save(op: AsyncOperationRecord): void {
    this.store.kvPut(NS, op.token, JSON.stringify(op))
    this.ops.set(op.token, op)
  }

  private delay(): number {
    const { min, max } = this.opts.config.asyncDelayMs
    return max <= min ? min : min + randomInt(max - min + 1)
  }

  private schedule(token: string): void {
    if (this.closed) return
    const t = setTimeout(() => { this.timers.delete(t); this.step(token) }, this.delay())
    t.unref()
    this.timers.add(t)
  }

  private step(token: string): void {
    if (this.closed) return
    const op = this.ops.get(token)
    if (!op || op.status === 'SUCCEEDED' || op.status === 'FAILED') return
    try {
      const next = this.store.transaction(() => {
        const work = { ...op }
        const outcome = op.status === 'NEW' ? this.worker.begin(work) : this.worker.finish(work)
        if (outcome.next === 'failed') { work.status = 'FAILED'; work.error = outcome.error; markRegions(work, 'FAILED') }
        else if (outcome.next === 'done' || op.status === 'IN_PROGRESS') { work.status = 'SUCCEEDED'; markRegions(work, 'SUCCEEDED') }
        else work.status = 'IN_PROGRESS'
        this.save(work)
        return work.status
      })
      this.opts.log.debug({ token, operation: op.params.operation, status: next }, 'mrap async operation')
      if (next === 'IN_PROGRESS') this.schedule(token)
    } catch (err) {
      // A store closed under a timer (server shutting down) is expected; anything else is a bug.
      if (this.closed || /not open/i.test((err as Error).message)) return
      this.opts.log.error({ err, token }, 'mrap async operation step failed')
      const failed: AsyncOperationRecord = { ...op, status: 'FAILED', error: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' } }
      try { this.save(failed) } catch { /* nothing more to do */ }
    }
  }
}

function clientKey(account: string, operation: AsyncOperationName, clientToken: string): string {
  return `${account} ${operation} ${clientToken}`
}

function markRegions(op: AsyncOperationRecord, status: string): void {
  if (op.regions) op.regions = op.regions.map((r) => ({ name: r.name, status }))
}

/**
 * @module The seam between the front door and the services other than S3's data plane (S3 Control,
 * MRAP data plane, IAM, STS, EC2): each registers a handler; the pipeline picks one by target and
 * renders its errors in the handler's envelope.
 */
import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import type { HttpRequestView } from '../auth/index.js'
import type { Origin } from '../core/origin.js'
import type { ErrorEnvelope, WireResult } from './respond.js'
import type { Target } from './target.js'

export interface HandlerContext {
  req: IncomingMessage
  view: HttpRequestView
  target: Target
  origin: Origin
  requestId: string
  log: Logger
  /** Fields the access log line should carry (operation, principal, ...). */
  info: Record<string, string | undefined>
}

export interface ServiceHandler {
  /** How this service's errors look on the wire. */
  envelope: ErrorEnvelope
  handle(ctx: HandlerContext): Promise<WireResult>
}

export type QueryService = 'iam' | 'sts' | 'ec2'

/**
 * Every service beside S3's data plane has a handler: the table is complete by type, so the front
 * door never meets a service without one.
 */
export type HandlerTable = Record<'mrap' | 'control' | QueryService | 'kms', ServiceHandler>

/** A JSON-protocol call to KMS on a custom endpoint: the target header names the service. */
export function isKmsCall(req: IncomingMessage): boolean {
  const t = req.headers['x-amz-target']
  return req.method === 'POST' && typeof t === 'string' && t.startsWith('TrentService.')
}

/**
 * Query-protocol calls (IAM, STS, EC2) sent to a custom endpoint carry no service in the host:
 * the credential scope names it (`.../us-east-1/sts/aws4_request`).
 */
export function queryServiceOf(req: IncomingMessage): QueryService | undefined {
  if (req.method !== 'POST') return undefined
  const ct = req.headers['content-type'] ?? ''
  if (!ct.startsWith('application/x-www-form-urlencoded')) return undefined
  const authz = req.headers.authorization ?? ''
  const m = authz.match(/Credential=[^/]+\/\d{8}\/[^/]+\/(iam|sts|ec2)\/aws4_request/)
  return m ? (m[1] as QueryService) : undefined
}

/**
 * @module Stage "respond": the only place where results and errors become bytes. S3 errors are a bare
 * `<Error>`; S3 Control wraps them in `<ErrorResponse>`; HEAD responses carry no body.
 */
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { S3Error, s3Error } from '../shared/errors.js'
import { esc } from '../s3/xml.js'

/** s3: bare <Error>; control and iam: <ErrorResponse> (iam/sts add <Type>); ec2: <Response><Errors>. */
export type ErrorEnvelope = 's3' | 'control' | 'iam' | 'ec2'

export interface WireResult {
  status: number
  headers: Record<string, string>
  body?: string | Buffer | Readable
}

/** Any thrown value → an S3Error; unknown errors become InternalError (never leak internals). */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err
  return s3Error('InternalError')
}

export function errorBody(err: S3Error, requestId: string, hostId: string, envelope: ErrorEnvelope, resource?: string): string {
  let fields = ''
  for (const [k, v] of Object.entries(err.fields)) if (v !== undefined) fields += `<${k}>${esc(String(v))}</${k}>`
  const res = resource !== undefined && envelope === 's3' ? `<Resource>${esc(resource)}</Resource>` : ''
  const inner = `<Code>${esc(err.code)}</Code><Message>${esc(err.message)}</Message>${fields}`
  if (envelope === 'control') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>${inner}</Error><RequestId>${requestId}</RequestId><HostId>${esc(hostId)}</HostId></ErrorResponse>`
  }
  if (envelope === 'iam') {
    const type = err.status >= 500 ? 'Receiver' : 'Sender'
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${type}</Type>${inner}</Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  }
  if (envelope === 'ec2') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${inner}</Error></Errors><RequestID>${requestId}</RequestID></Response>`
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${inner}${res}<RequestId>${requestId}</RequestId><HostId>${esc(hostId)}</HostId></Error>`
}

export function errorResult(err: S3Error, ctx: { requestId: string; hostId: string; method: string; envelope: ErrorEnvelope; resource?: string }): WireResult {
  const headers: Record<string, string> = { ...err.headers }
  // 304 and HEAD carry no body; clients map HEAD errors by status alone.
  if (ctx.method === 'HEAD' || err.status === 304) return { status: err.status, headers }
  headers['content-type'] = 'application/xml'
  return { status: err.status, headers, body: errorBody(err, ctx.requestId, ctx.hostId, ctx.envelope, ctx.resource) }
}

/**
 * Writes a result. One headers object handed to writeHead() is Node's fast path (no per-header
 * setHeader bookkeeping); a stream body returns a promise that settles when it is sent or cut.
 */
export function writeResult(res: ServerResponse, result: WireResult, ids: { requestId: string; hostId: string }, method: string): Promise<void> | undefined {
  const headers: Record<string, string> = { 'x-amz-request-id': ids.requestId, 'x-amz-id-2': ids.hostId, server: 'mrap' }
  let length: string | undefined
  for (const k in result.headers) {
    const lower = k.toLowerCase()
    if (lower === 'content-length') length = result.headers[k]
    else headers[lower] = result.headers[k]!
  }
  const body = result.body
  if (body === undefined || method === 'HEAD') {
    if (body instanceof Readable) body.destroy()
    if (length !== undefined) headers['content-length'] = length
    else if (method !== 'HEAD') headers['content-length'] = '0'
    res.writeHead(result.status, headers)
    res.end()
    return undefined
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    headers['content-length'] = String(Buffer.byteLength(body))
    res.writeHead(result.status, headers)
    res.end(body)
    return undefined
  }
  if (length !== undefined) headers['content-length'] = length
  res.writeHead(result.status, headers)
  // A failure mid-body cannot become an S3 error any more: the status is sent, so cut the connection.
  // (Plain pipe rather than stream.pipeline, which builds an AbortSignal per call: ~7% of a small GET.)
  return new Promise<void>((resolve) => {
    const done = (): void => resolve()
    body.once('error', () => { res.destroy(); resolve() })
    res.once('close', () => { if (!body.destroyed) body.destroy(); done() })
    res.once('finish', done)
    body.pipe(res)
  })
}

/**
 * @module Stage "respond": the only place where results and errors become bytes. S3 errors are a bare
 * `<Error>`; S3 Control wraps them in `<ErrorResponse>`; HEAD responses carry no body.
 */
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { esc } from '../s3/xml.js'
import { S3Error, s3Error } from '../shared/errors.js'
import { SEND_TO, type SendsTo } from '../shared/send-to.js'

/** s3: bare <Error>; control and iam: <ErrorResponse> (iam/sts add <Type>); ec2: <Response><Errors>. */
export type ErrorEnvelope = 's3' | 'control' | 'iam' | 'ec2' | 'json'

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

// Characters XML 1.0 forbids even as references: a client's bytes echoed in an error (ArgumentValue,
// Resource) must not make the error itself unparsable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the control characters XML 1.0 forbids
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

function text(s: string): string {
  return esc(s).replace(NOT_XML, '\ufffd')
}

export function errorBody(err: S3Error, requestId: string, hostId: string, envelope: ErrorEnvelope, resource?: string): string {
  let fields = ''
  for (const [k, v] of Object.entries(err.fields)) if (v !== undefined) fields += `<${k}>${text(String(v))}</${k}>`
  const res = resource !== undefined && envelope === 's3' ? `<Resource>${text(resource)}</Resource>` : ''
  const inner = `<Code>${esc(err.code)}</Code><Message>${text(err.message)}</Message>${fields}`
  if (envelope === 'control') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>${inner}</Error><RequestId>${requestId}</RequestId><HostId>${esc(hostId)}</HostId></ErrorResponse>`
  }
  if (envelope === 'iam') {
    const type = err.status >= 500 ? 'Receiver' : 'Sender'
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${type}</Type>${inner}</Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  }
  // The AWS JSON protocol (KMS): the exception's name in `__type`, its text in `message`.
  if (envelope === 'json') return JSON.stringify({ __type: err.code, message: err.message })
  if (envelope === 'ec2') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${inner}</Error></Errors><RequestID>${requestId}</RequestID></Response>`
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${inner}${res}<RequestId>${requestId}</RequestId><HostId>${esc(hostId)}</HostId></Error>`
}

export function errorResult(err: S3Error, ctx: { requestId: string; hostId: string; method: string; envelope: ErrorEnvelope; resource?: string }): WireResult {
  const headers: Record<string, string> = { ...err.headers }
  // 304 and HEAD carry no body; clients map HEAD errors by status alone.
  if (ctx.method === 'HEAD' || err.status === 304) return { status: err.status, headers }
  headers['content-type'] = ctx.envelope === 'json' ? 'application/x-amz-json-1.1' : 'application/xml'
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
    if (!writeHead(res, result.status, headers, ids, method)) return undefined
    res.end()
    return undefined
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    headers['content-length'] = String(Buffer.byteLength(body))
    if (!writeHead(res, result.status, headers, ids, method)) return undefined
    res.end(body)
    return undefined
  }
  if (length !== undefined) headers['content-length'] = length
  if (!writeHead(res, result.status, headers, ids, method)) {
    body.destroy()
    return undefined
  }
  const direct = (body as SendsTo)[SEND_TO]?.(res)
  if (direct) return direct
  // A failure mid-body cannot become an S3 error any more: the status is sent, so cut the connection.
  // (Plain pipe rather than stream.pipeline, which builds an AbortSignal per call: ~7% of a small GET.)
  return new Promise<void>((resolve) => {
    const done = (): void => resolve()
    body.once('error', () => {
      res.destroy()
      resolve()
    })
    res.once('close', () => {
      if (!body.destroyed) body.destroy()
      done()
    })
    res.once('finish', done)
    body.pipe(res)
  })
}

// What Node's header validation accepts in a value (ISO-8859-1 text and tab, no other control character).
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * writeHead, with a last guard: a header value Node refuses to send (a client's string that no check
 * upstream caught) becomes S3's InvalidArgument naming the header instead of an exception that would
 * end as a bare 500. Node validates before it writes anything, so the error response can still go out.
 * Returns false when it answered with that error (the caller must not write the body).
 */
function writeHead(res: ServerResponse, status: number, headers: Record<string, string>, ids: { requestId: string; hostId: string }, method: string): boolean {
  try {
    res.writeHead(status, headers)
    return true
  } catch (err) {
    let bad: string | undefined
    for (const k in headers)
      if (BAD_VALUE.test(headers[k]!)) {
        bad = k
        break
      }
    if (bad === undefined) throw err
    const e = s3Error('InvalidArgument', { message: 'Header value cannot be represented using ISO-8859-1.', fields: { ArgumentName: bad, ArgumentValue: headers[bad] } })
    const out = errorResult(e, { ...ids, method, envelope: 's3' })
    const body = typeof out.body === 'string' ? out.body : ''
    res.writeHead(out.status, { 'x-amz-request-id': ids.requestId, 'x-amz-id-2': ids.hostId, server: 'mrap', ...out.headers, 'content-length': String(Buffer.byteLength(body)) })
    res.end(method === 'HEAD' ? undefined : body)
    return false
  }
}

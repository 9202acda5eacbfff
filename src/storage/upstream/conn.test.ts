/**
 * The engine connections of the hand-signed calls (conn.ts through wire.ts), against a raw TCP
 * server standing in for an engine, so that the answers' framing can be what RGW never sends but
 * another engine or a proxy in front of one may: chunked bodies split anywhere, a body ended by
 * closing the connection, an interim 100, an answer before the request body was all sent, an idle
 * connection closed by the engine. RFC 9112 (HTTP/1.1) §6 (message body length), §7.1 (chunked),
 * §9.3 (persistence).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, test } from 'node:test'
import { type EngineResponse, readAll, Wire } from './wire.js'

interface Seen {
  method: string
  path: string
  headers: Record<string, string>
  body: Buffer
  socket: Socket
}
type Handler = (req: Seen) => void

let server: Server
let port = 0
const handlers: Handler[] = []
let connections = 0

/** Parses requests off each connection (Content-Length bodies only) and answers with the next handler. */
function serve(socket: Socket): void {
  connections++
  let buf = Buffer.alloc(0)
  let want: { head: Omit<Seen, 'body' | 'socket'>; length: number } | undefined
  socket.on('error', () => {})
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d])
    for (;;) {
      if (!want) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const [line, ...rest] = buf.toString('latin1', 0, end).split('\r\n')
        const [method, path] = line!.split(' ')
        const headers: Record<string, string> = {}
        for (const h of rest) {
          const i = h.indexOf(':')
          headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim()
        }
        buf = buf.subarray(end + 4)
        want = { head: { method: method!, path: path!, headers }, length: Number(headers['content-length'] ?? 0) }
        // An early answer is the handler's to send, before the body arrived.
        if (headers['x-test-early'] !== undefined) {
          const h = handlers.shift()!
          h({ ...want.head, body: Buffer.alloc(0), socket })
          want = undefined
          buf = Buffer.alloc(0)
          return
        }
      }
      if (buf.length < want.length) return
      const body = buf.subarray(0, want.length)
      buf = buf.subarray(want.length)
      const h = handlers.shift()
      if (!h) {
        socket.destroy()
        return
      }
      h({ ...want.head, body, socket })
      want = undefined
    }
  })
}

const cfg = () => ({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  forcePathStyle: true,
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  bucketTemplate: '{bucket}',
  connectTimeoutMs: 1000,
  requestTimeoutMs: 5000,
})
const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

before(async () => {
  server = createServer(serve)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  port = (server.address() as { port: number }).port
})
after(() => {
  server.close()
})

test('a chunked answer split at every byte reads whole, and its connection is reused', async () => {
  const wire = new Wire(cfg())
  connections = 0
  const wireBytes = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Amz-Meta-A: 1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n')
  handlers.push((r) => {
    // One byte per write, each after the last left (setNoDelay: one segment each).
    r.socket.setNoDelay(true)
    let i = 0
    const next = (): void => {
      if (i < wireBytes.length) r.socket.write(wireBytes.subarray(i, ++i), () => setImmediate(next))
    }
    next()
  })
  handlers.push((r) => r.socket.write(ok('again')))
  const res = await wire.request({ method: 'GET', bucket: 'b', key: 'k' })
  assert.equal(res.headers['x-amz-meta-a'], '1')
  assert.equal((await readAll(res)).toString(), 'hello world')
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'again')
  assert.equal(connections, 1)
  wire.destroy()
})

test('a body ended by closing the connection reads whole; the next request opens another connection', async () => {
  const wire = new Wire(cfg())
  connections = 0
  handlers.push((r) => {
    r.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ')
    setTimeout(() => r.socket.end('part two'), 20)
  })
  handlers.push((r) => r.socket.write(ok('next')))
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'part one, part two')
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'next')
  assert.equal(connections, 2)
  wire.destroy()
})

test('HEAD answers carry a Content-Length and no body; an interim 100 is skipped; errors keep their code', async () => {
  const wire = new Wire(cfg())
  connections = 0
  handlers.push((r) => r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nETag: "e"\r\n\r\n'))
  handlers.push((r) => r.socket.write(`HTTP/1.1 100 Continue\r\n\r\n${ok('after 100')}`))
  const xml = '<Error><Code>NoSuchKey</Code></Error>'
  handlers.push((r) => r.socket.write(`HTTP/1.1 404 Not Found\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`))
  handlers.push((r) => r.socket.write(ok('still usable')))
  const head = await wire.request({ method: 'HEAD', bucket: 'b', key: 'k' })
  assert.equal(head.headers['content-length'], '12345')
  assert.equal((await readAll(head)).length, 0)
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'after 100')
  await assert.rejects(
    wire.request({ method: 'GET', bucket: 'b', key: 'k' }),
    (e: { Code?: string; $metadata?: { httpStatusCode?: number } }) => e.Code === 'NoSuchKey' && e.$metadata?.httpStatusCode === 404,
  )
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'still usable')
  assert.equal(connections, 1)
  wire.destroy()
})

test('an error answered while a streamed body is still going out rejects, and that connection is not reused', async () => {
  const wire = new Wire(cfg())
  connections = 0
  const closed = new Promise<void>((resolve) => {
    const xml = '<Error><Code>AccessDenied</Code></Error>'
    handlers.push((r) => {
      r.socket.once('close', () => resolve())
      r.socket.write(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`)
    })
  })
  const body = new PassThrough()
  body.write(Buffer.alloc(1000, 1))
  await assert.rejects(
    wire.request({ method: 'PUT', bucket: 'b', key: 'k', headers: { 'content-length': '100000', 'x-test-early': '1' }, body }),
    (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 403,
  )
  await closed
  handlers.push((r) => r.socket.write(ok('fresh')))
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'fresh')
  assert.equal(connections, 2)
  wire.destroy()
})

test('a body its reader destroys midway closes that connection; an idle connection the engine closed is not reused', async () => {
  const wire = new Wire(cfg())
  connections = 0
  handlers.push((r) => r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`))
  const res: EngineResponse = await wire.request({ method: 'GET', bucket: 'b', key: 'k' })
  await new Promise<void>((r) => res.once('data', () => r()))
  res.destroy()
  handlers.push((r) => {
    r.socket.write(ok('one'))
    setTimeout(() => r.socket.end(), 10)
  })
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'one')
  await new Promise((r) => setTimeout(r, 100))
  handlers.push((r) => r.socket.write(ok('two')))
  assert.equal((await readAll(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }))).toString(), 'two')
  assert.equal(connections, 3)
  wire.destroy()
})

test('a PUT from memory sends its exact bytes, signed with their hash', async () => {
  const wire = new Wire(cfg())
  let seen: Seen | undefined
  handlers.push((r) => {
    seen = r
    r.socket.write(ok(''))
  })
  const body = Buffer.from('exact bytes')
  const res = await wire.request({ method: 'PUT', bucket: 'b', key: 'a b/c', headers: { 'content-type': 'text/plain' }, body })
  res.resume()
  assert.equal(seen!.body.toString(), 'exact bytes')
  assert.equal(seen!.path, '/b/a%20b/c')
  assert.equal(seen!.headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'))
  assert.match(seen!.headers.authorization!, /SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/)
  wire.destroy()
})

test('a header value that would end its line is refused before anything is sent, as InvalidArgument', async () => {
  const wire = new Wire(cfg())
  connections = 0
  await assert.rejects(
    wire.request({ method: 'GET', bucket: 'b', key: 'k', headers: { 'x-amz-meta-a': 'v\r\nx-injected: 1' } }),
    (e: { code?: string }) => e.code === 'InvalidArgument',
  )
  assert.equal(connections, 0)
  wire.destroy()
})

test('streamed bodies one after another on one connection leave no listeners behind', async () => {
  const wire = new Wire(cfg())
  connections = 0
  const warnings: string[] = []
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`)
  }
  process.on('warning', onWarning)
  try {
    for (let i = 0; i < 15; i++) {
      handlers.push((r) => r.socket.write(ok(String(r.body.length))))
      const body = new PassThrough()
      body.end(Buffer.alloc(70_000, i))
      const res = await wire.request({ method: 'PUT', bucket: 'b', key: `k${i}`, headers: { 'content-length': '70000' }, body })
      assert.equal((await readAll(res)).toString(), '70000')
    }
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(warnings, [])
    assert.equal(connections, 1)
  } finally {
    process.off('warning', onWarning)
    wire.destroy()
  }
})

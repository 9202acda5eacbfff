/**
 * Reused read buffers of the engine connections (conn.ts, response.ts): whatever a reader still
 * holds keeps its bytes while later reads, of the same answer or the next one, land in the slabs.
 * Against a raw TCP server standing in for an engine, which sends bodies in pieces of chosen sizes
 * (small ones are copied out of a slab, large ones take it, lent ones wait for their release).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { after, before, test } from 'node:test'
import { sendTo } from './response.js'
import { type EngineResponse, Wire } from './wire.js'

let server: Server
let port = 0
/** What the next request on any connection is answered with: a body, in writes of `piece` bytes. */
const answers: { body: Buffer; piece: number }[] = []
const closed: Promise<void>[] = []

function serve(socket: Socket): void {
  socket.setNoDelay(true)
  socket.on('error', () => {})
  closed.push(new Promise((resolve) => socket.once('close', () => resolve())))
  let buf = ''
  socket.on('data', (d) => {
    buf += d.toString('latin1')
    while (buf.includes('\r\n\r\n')) {
      buf = buf.slice(buf.indexOf('\r\n\r\n') + 4)
      const a = answers.shift()
      if (!a) {
        socket.destroy()
        return
      }
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${a.body.length}\r\n\r\n`)
      // Each piece after the last one left, so the client's reads are about `piece` bytes.
      let at = 0
      const next = (): void => {
        if (at >= a.body.length || socket.destroyed) return
        const end = Math.min(at + a.piece, a.body.length)
        socket.write(a.body.subarray(at, end), () => setImmediate(next))
        at = end
      }
      next()
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
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

before(async () => {
  server = createServer(serve)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  port = (server.address() as { port: number }).port
})
after(() => {
  server.close()
})

/** Reads a body as a stream, keeping every chunk as it came (no copy), until its end. */
function hold(res: EngineResponse): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.once('end', () => resolve(chunks))
    res.once('error', reject)
  })
}

test('chunks a stream reader holds keep their bytes while later reads land, small pieces and large', async () => {
  const wire = new Wire(cfg())
  const small = randomBytes(300 * 1000)
  const large = randomBytes(3 << 20)
  answers.push({ body: small, piece: 1000 }, { body: large, piece: 256 * 1024 })
  const a = await hold(await wire.request({ method: 'GET', bucket: 'b', key: 'small' }))
  const b = await hold(await wire.request({ method: 'GET', bucket: 'b', key: 'large' }))
  assert.ok(a.length > 100, `the small answer came in many reads (${a.length})`)
  // Compared only now: a chunk that was a view of a reused slab would show a later read's bytes.
  assert.equal(md5(Buffer.concat(a)), md5(small))
  assert.equal(md5(Buffer.concat(b)), md5(large))
  wire.destroy()
})

test('a lent body hands out chunks that keep their bytes until released; released slabs serve the next answer', async () => {
  const wire = new Wire(cfg())
  const first = randomBytes(2 << 20)
  const second = randomBytes(2 << 20)
  answers.push({ body: first, piece: 64 * 1024 }, { body: second, piece: 64 * 1024 })
  const lendAll = async (res: EngineResponse, releaseNow: boolean): Promise<{ chunks: Buffer[]; copies: Buffer[]; releases: (() => void)[] }> => {
    const chunks: Buffer[] = []
    const copies: Buffer[] = []
    const releases: (() => void)[] = []
    await new Promise<void>((resolve, reject) => {
      assert.ok(
        res.lend({
          chunk: (c, release) => {
            chunks.push(c)
            copies.push(Buffer.from(c))
            if (releaseNow) release()
            else releases.push(release)
            return true
          },
          end: resolve,
          error: reject,
        }),
      )
    })
    return { chunks, copies, releases }
  }
  const held = await lendAll(await wire.request({ method: 'GET', bucket: 'b', key: 'first' }), false)
  assert.ok(held.chunks.length > 4, `several reads (${held.chunks.length})`)
  assert.equal(md5(Buffer.concat(held.chunks)), md5(first), 'nothing overwrote a chunk not yet released')
  for (const r of held.releases) r()
  // Released twice by a confused sink: still counted once.
  for (const r of held.releases) r()
  const next = await lendAll(await wire.request({ method: 'GET', bucket: 'b', key: 'second' }), true)
  assert.equal(md5(Buffer.concat(next.copies)), md5(second))
  // The first answer's slabs went back to the pool and took the second's reads: proof they are reused.
  const firstBuffers = new Set(held.chunks.map((c) => c.buffer))
  assert.ok(
    next.chunks.some((c) => firstBuffers.has(c.buffer)),
    'a released slab was read into again',
  )
  assert.notEqual(md5(Buffer.concat(held.chunks)), md5(first), 'and so the released views no longer hold the first answer')
  wire.destroy()
})

test('sendTo writes a lent body through a slow writer exactly, and a writer that closes midway drops the engine connection', async () => {
  const wire = new Wire(cfg())
  const body = randomBytes(3 << 20)
  answers.push({ body, piece: 128 * 1024 })
  const got: Buffer[] = []
  // A writer slower than the engine: backpressure must pause the connection, not lose or reuse bytes.
  const slow = new Writable({
    highWaterMark: 16 * 1024,
    write(c: Buffer, _e, cb) {
      got.push(Buffer.from(c))
      setTimeout(cb, 1)
    },
  })
  const sending = sendTo(await wire.request({ method: 'GET', bucket: 'b', key: 'k' }), slow)
  assert.ok(sending, 'a fresh answer can be lent')
  await sending
  assert.equal(md5(Buffer.concat(got)), md5(body))

  closed.length = 0
  answers.push({ body: randomBytes(4 << 20), piece: 64 * 1024 })
  let seen = 0
  const quitter = new Writable({
    write(c: Buffer, _e, cb) {
      seen += c.length
      if (seen > 256 * 1024) quitter.destroy()
      cb()
    },
  })
  const res = await wire.request({ method: 'GET', bucket: 'b', key: 'k' })
  await sendTo(res, quitter)
  assert.ok(res.destroyed)
  // The answer was not read to its end, so its connection cannot carry another request.
  await Promise.race([Promise.all(closed), new Promise((_r, fail) => setTimeout(() => fail(new Error('engine connection left open')), 2000))])
  // A lent answer cannot be read or lent again.
  answers.push({ body: Buffer.from('again'), piece: 5 })
  const again = await wire.request({ method: 'GET', bucket: 'b', key: 'k' })
  assert.ok(sendTo(again, new Writable({ write: (_c, _e, cb) => cb() })))
  assert.equal(sendTo(again, new Writable({ write: (_c, _e, cb) => cb() })), undefined)
  wire.destroy()
})

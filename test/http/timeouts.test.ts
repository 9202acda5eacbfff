/**
 * Timeouts (issue 12, item 8), with short limits so each case takes well under a second:
 * - a request body that stops: S3's RequestTimeout (400, "Your socket connection to the server was not
 *   read from or written to within the timeout period. Idle connections will be closed.", as listed
 *   under RequestTimeout in "Error responses", Amazon S3 API Reference,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), the connection closed, no
 *   object and no temp file left; the same for an IAM form body;
 * - an upload that is slow but keeps moving is not cut, however long it takes in total;
 * - a TLS connection that never handshakes, an idle CONNECT tunnel (plain, and TLS after its
 *   handshake) and an idle keep-alive connection are closed.
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { pino } from 'pino'
import { type RunningServer, startServer } from '../../src/main.js'
import { codeOf, rawRequest } from '../helpers/raw.js'
import { testWorld } from '../helpers/server.js'
import { openPut } from '../helpers/slow-body.js'

const BODY_IDLE = 400
const LIMITS = { bodyIdleMs: BODY_IDLE, tlsHandshakeMs: 300, tunnelIdleMs: 600, keepAliveMs: 500, headersMs: 5_000 }
const KiB = 1024
/** Each case's own bound, so one that hangs (a limit missing) does not take the others with it. */
const T = { timeout: 15_000 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: RunningServer
let dataDir: string
const bucket = 'timeouts-test'

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mrap-timeouts-'))
  server = await startServer({ dataDir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' }), world: testWorld(), timeouts: LIMITS })
  assert.equal((await rawRequest(server.endpoint, { method: 'PUT', path: `/${bucket}` })).status, 200)
})
after(async () => {
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** Resolves with the ms until `socket` closes, or rejects after `within` ms. */
function closedWithin(socket: Socket, within: number): Promise<number> {
  const t0 = Date.now()
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve(0)
      return
    }
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`still open after ${within} ms`))
    }, within)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(Date.now() - t0)
    })
  })
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })
}

const tmpFiles = () => readdirSync(join(dataDir, 'regions', 'us-east-1', 'tmp'))

describe('timeouts', { timeout: 120_000 }, () => {
  for (const [what, size] of [
    ['file-backed', 200 * KiB],
    ['inline', 8 * KiB],
  ] as const) {
    test(`a stalled PUT body (${what}): RequestTimeout, connection closed, no object, no temp file`, T, async () => {
      const key = `stalled-${what}`
      const put = await openPut(server.endpoint, `/${bucket}/${key}`, size)
      await put.write(randomBytes(size / 2))
      const t0 = Date.now()
      const closed = new Promise<void>((r) => put.req.socket?.once('close', () => r()) ?? put.req.once('socket', (s) => s.once('close', () => r())))
      const res = await put.response
      const waited = Date.now() - t0
      assert.equal(res.status, 400)
      assert.equal(codeOf(res.body), 'RequestTimeout')
      assert.match(
        res.body,
        /<Message>Your socket connection to the server was not read from or written to within the timeout period\. Idle connections will be closed\.<\/Message>/,
      )
      assert.equal(res.headers.connection, 'close')
      assert.ok(waited >= BODY_IDLE - 50 && waited < BODY_IDLE + 3_000, `answered after ${waited} ms`)
      await closed
      const get = await rawRequest(server.endpoint, { method: 'GET', path: `/${bucket}/${key}` })
      assert.equal(get.status, 404)
      assert.equal(codeOf(get.body), 'NoSuchKey')
      assert.deepEqual(tmpFiles(), [])
    })
  }

  test('a slow upload that keeps moving is not cut (total time many times the idle limit)', T, async () => {
    const chunk = 32 * KiB,
      n = 16
    const body = randomBytes(chunk * n)
    const put = await openPut(server.endpoint, `/${bucket}/slow-but-moving`, body.length)
    const t0 = Date.now()
    for (let i = 0; i < n; i++) {
      await put.write(body.subarray(i * chunk, (i + 1) * chunk))
      await sleep(BODY_IDLE / 2)
    }
    const res = await put.finish()
    assert.ok(Date.now() - t0 > BODY_IDLE * 6, 'the upload took many idle periods')
    assert.equal(res.status, 200, res.body)
    const head = await rawRequest(server.endpoint, { method: 'HEAD', path: `/${bucket}/slow-but-moving` })
    assert.equal(head.headers['content-length'], String(body.length))
  })

  test('a stalled IAM form body: RequestTimeout in the IAM envelope', T, async () => {
    const sock = await rawConnect(server.port)
    let text = ''
    sock.on('data', (d: Buffer) => {
      text += d.toString()
    })
    sock.write('POST / HTTP/1.1\r\nHost: iam.amazonaws.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=List')
    await closedWithin(sock, BODY_IDLE + 3_000)
    assert.match(text, /^HTTP\/1\.1 400 /)
    assert.match(text, /<ErrorResponse><Error><Type>Sender<\/Type><Code>RequestTimeout<\/Code>/)
  })

  test('a TLS connection that never handshakes is dropped', T, async () => {
    const sock = await rawConnect(server.tlsPort)
    const ms = await closedWithin(sock, 3_000)
    assert.ok(ms >= 200, `closed after ${ms} ms`)
  })

  test('an idle CONNECT tunnel is closed: to :443 (no handshake) and to :80 (no request)', T, async () => {
    const proxyPort = Number(new URL(server.proxy).port)
    for (const target of ['s3.amazonaws.com:443', 's3.amazonaws.com:80']) {
      const sock = await rawConnect(proxyPort)
      let text = ''
      sock.on('data', (d: Buffer) => {
        text += d.toString()
      })
      sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`)
      const ms = await closedWithin(sock, 3_000)
      assert.match(text, /^HTTP\/1\.1 200 /, target)
      assert.ok(ms >= 200, `${target}: closed after ${ms} ms`)
    }
  })

  test('a TLS tunnel that handshakes and then sends nothing is closed', T, async () => {
    const proxyPort = Number(new URL(server.proxy).port)
    const raw = await rawConnect(proxyPort)
    raw.write('CONNECT s3.amazonaws.com:443 HTTP/1.1\r\nHost: s3.amazonaws.com:443\r\n\r\n')
    await new Promise<void>((resolve) => raw.once('data', () => resolve()))
    const tls = tlsConnect({ socket: raw, servername: 's3.amazonaws.com', ca: readFileSync(server.caPath) })
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', () => resolve())
      tls.once('error', reject)
    })
    tls.on('error', () => {})
    // Headers may take 5 s on this server; the tunnel's own idle limit (600 ms) closes it first.
    const ms = await closedWithin(raw, 3_000)
    assert.ok(ms >= 400, `closed after ${ms} ms`)
  })

  test('an idle keep-alive connection is closed after the keep-alive limit', T, async () => {
    const sock = await rawConnect(server.port)
    let text = ''
    sock.on('data', (d: Buffer) => {
      text += d.toString()
    })
    sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`)
    // Node adds one second of grace to keepAliveTimeout.
    const ms = await closedWithin(sock, 4_000)
    assert.match(text, /^HTTP\/1\.1 403 /)
    assert.ok(ms >= LIMITS.keepAliveMs, `closed after ${ms} ms`)
  })
})

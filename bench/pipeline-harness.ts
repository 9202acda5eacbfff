/**
 * The in-process request harness of bench/pipeline.ts and bench/pipeline-ab.ts: a server of one
 * build (its own data dir) holding a 1 KiB object, and a presigned SigV4 GET of it driven through
 * that build's handleRequest() with an IncomingMessage/ServerResponse pair on a discarding socket.
 * No kernel and no load generator: what `run` measures is the server's own CPU per request.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex } from 'node:stream'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { pino } from 'pino'
import type { Origin } from '../src/core/origin.js'
import { Sha256 } from '../test/helpers/raw.js'

const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

export interface InProcessGet {
  /** CPU µs (user + system of this process) per request over n requests, `concurrency` at a time. */
  run(n: number, concurrency: number): Promise<number>
  /** Bytes the server has written so far. */
  bytes(): number
  close(): Promise<void>
}

/** `code`: a build's root module folder (`…/dist`, or `…/src` under tsx). Checks one GET answers 200, then warms up. */
export async function inProcessGet(code: string): Promise<InProcessGet> {
  const { startServer } = (await import(join(code, 'main.js'))) as typeof import('../src/main.js')
  const { handleRequest } = (await import(join(code, 'pipeline', 'entry.js'))) as typeof import('../src/pipeline/entry.js')
  const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-pipeline-'))
  const server = await startServer({ dataDir: dir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'warn' }) })
  const close = async (): Promise<void> => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true })
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }))
    await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'get-1k', Body: Buffer.alloc(1024, 'a') }))
    s3.destroy()

    const host = new URL(server.endpoint).host
    const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: ADMIN, sha256: Sha256, uriEscapePath: false, applyChecksum: false })
    const signed = await signer.presign(
      new HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: host.split(':')[0]!,
        port: Number(host.split(':')[1]),
        path: '/bench/get-1k',
        headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      }),
      { expiresIn: 3600 },
    )
    const url = `/bench/get-1k?${Object.entries(signed.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&')}`
    const origin: Origin = { sourceIp: '127.0.0.1', secure: false }

    let bytes = 0
    let first = ''
    const discard = (): Duplex =>
      new Duplex({
        read() {},
        write(chunk: Buffer, _e, cb) {
          bytes += chunk.length
          if (first.length < 4096) first += chunk.toString()
          cb()
        },
        writev(chunks: { chunk: Buffer }[], cb) {
          for (const c of chunks) {
            bytes += c.chunk.length
            if (first.length < 4096) first += c.chunk.toString()
          }
          cb()
        },
      })
    async function one(socket: Duplex): Promise<number> {
      const req = new IncomingMessage(socket as never)
      req.method = 'GET'
      req.url = url
      // What the HTTP parser calls (it also sets the header count that headersDistinct reads).
      ;(req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(['Host', host, 'User-Agent', 'bench'], 4)
      req.push(null)
      const res = new ServerResponse(req)
      res.assignSocket(socket as never)
      await handleRequest(server.app, req, res, origin)
      res.detachSocket(socket as never)
      return res.statusCode
    }

    const status = await one(discard())
    if (status !== 200) throw new Error(`${code}: GET answered ${status}: ${first}`)
    // CPU time, not wall time: less disturbed by other work on a shared machine.
    const run = async (n: number, concurrency: number): Promise<number> => {
      const c0 = process.cpuUsage()
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          const socket = discard()
          for (let i = 0; i < n / concurrency; i++) await one(socket)
        }),
      )
      const c = process.cpuUsage(c0)
      return (c.user + c.system) / n
    }
    await run(5000, 16) // warm-up
    return { run, bytes: () => bytes, close }
  } catch (e) {
    await close()
    throw e
  }
}

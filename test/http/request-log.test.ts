/**
 * The request's logger: bound to its request id wherever a request logs, and made only when a
 * request logs something (at the default level an answered GET logs nothing, and a pino child per
 * request was about 2% of a small GET's CPU, docs/benchmarks.md).
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, PutBucketLoggingCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { type Logger, pino } from 'pino'
import { type RunningServer, startServer } from '../../src/main.js'
import { ADMIN, bucketName, PARTNER_ADMIN, testWorld } from '../helpers/server.js'

async function withServer(
  level: string,
  fn: (s: { endpoint: string; lines: Record<string, unknown>[]; childCalls: () => number; server: RunningServer }) => Promise<void>,
): Promise<void> {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  const logger: Logger = pino({ level }, sink)
  // Counted on the real logger: how many children the server makes of it.
  let calls = 0
  const child = logger.child.bind(logger)
  logger.child = ((...a: Parameters<Logger['child']>) => {
    calls++
    return child(...a)
  }) as Logger['child']
  const dataDir = mkdtempSync(join(tmpdir(), 'mrap-reqlog-'))
  const s = await startServer({ dataDir, port: 0, tlsPort: 0, proxyPort: 0, logger, world: testWorld() })
  try {
    await fn({ endpoint: s.endpoint, lines, childCalls: () => calls, server: s })
  } finally {
    await s.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const client = (endpoint: string, creds = ADMIN): S3Client => new S3Client({ endpoint, region: 'us-east-1', credentials: creds, forcePathStyle: true, maxAttempts: 1 })

test('answered requests at the default level (warn) make no per-request logger', async () => {
  await withServer('warn', async ({ endpoint, childCalls }) => {
    const s3 = client(endpoint)
    const bucket = bucketName('reqlog')
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello' }))
    const before = childCalls()
    for (let i = 0; i < 20; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
      assert.equal(await got.Body!.transformToString(), 'hello')
    }
    assert.equal(childCalls() - before, 0, 'a GET that logs nothing made a child logger')
    s3.destroy()
  })
})

test('what a request logs carries its request id (the access line, and a denial)', async () => {
  await withServer('info', async ({ endpoint, lines }) => {
    const s3 = client(endpoint)
    const bucket = bucketName('reqlog')
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello' }))
    // Another account's administrator has no grant on ADMIN's bucket: the pipeline's logger logs the denial.
    const reader = client(endpoint, PARTNER_ADMIN)
    const err = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })).then(
      () => undefined,
      (e: { name?: string; $metadata?: { extendedRequestId?: string }; $response?: { headers?: Record<string, string> } }) => e,
    )
    assert.equal(err?.name, 'AccessDenied')
    const requestId = err?.$response?.headers?.['x-amz-request-id']
    assert.ok(requestId, 'no x-amz-request-id on the denial')
    const denial = lines.find((l) => l.msg === 'access denied' && l.reqId === requestId)
    assert.ok(denial, `no 'access denied' line with reqId ${requestId}`)
    assert.match(String(denial.why), /s3:GetObject/)
    const access = lines.find((l) => l.msg === 'request' && l.reqId === requestId)
    assert.ok(access, `no access line with reqId ${requestId}`)
    assert.equal(access.status, 403)
    assert.equal(access.op, 'GetObject')
    reader.destroy()
    s3.destroy()
  })
})

test('access-log records are built for a bucket that logs, and for no other', async () => {
  await withServer('warn', async ({ endpoint, server }) => {
    const log = server.app.accessLog
    const recorded: string[] = []
    const record = log.record.bind(log)
    log.record = (e) => {
      recorded.push(e.bucket)
      record(e)
    }
    const s3 = client(endpoint)
    const quiet = bucketName('quiet')
    const logged = bucketName('logged')
    const target = bucketName('logs')
    for (const b of [quiet, logged, target]) await s3.send(new CreateBucketCommand({ Bucket: b }))
    await s3.send(new PutBucketLoggingCommand({ Bucket: logged, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'l/' } } }))
    recorded.length = 0
    for (const b of [quiet, logged]) {
      await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
      await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))
    }
    assert.deepEqual(recorded, [logged, logged])
    s3.destroy()
  })
})

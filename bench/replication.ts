/**
 * Replication between two regions of one server (in-process, embedded stores):
 * 1. throughput: N objects are written while the destination region is down, then it comes back and
 *    the backlog drains; objects/s and MB/s of the drain (one-way, 16 tasks in flight);
 * 2. lag: objects written through the S3 API at a fixed rate with replication running; the lag from
 *    acknowledgement to replica written (the metric behind COMPLETED), p50 / p99 / max.
 * Prints one JSON line per case.
 *
 * Run: node --import tsx bench/replication.ts [--objects 600] [--size 65536] [--rate 100] [--seconds 4]
 */

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { pino } from 'pino'
import { startServer } from '../src/main.js'
import { rawRequest } from '../test/helpers/raw.js'
import { ADMIN } from '../test/helpers/server.js'
import { ROLE_ARN, replicationWorld, replicationXml } from '../test/replication/helpers.js'

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const OBJECTS = arg('objects', 600),
  SIZE = arg('size', 64 * 1024),
  RATE = arg('rate', 100),
  SECONDS = arg('seconds', 4)

const dir = mkdtempSync(join(tmpdir(), 'mrap-bench-repl-'))
const srv = await startServer({ dataDir: dir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'silent' }), world: replicationWorld() })
try {
  const s = srv.services
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  const client = (region: string) =>
    new S3Client({ endpoint: srv.endpoint, region, credentials: ADMIN, forcePathStyle: true, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpAgent: agent }) })
  const east = client('us-east-1'),
    west = client('eu-west-1')
  await east.send(new CreateBucketCommand({ Bucket: 'bench-src' }))
  await west.send(new CreateBucketCommand({ Bucket: 'bench-dst', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
  for (const [c, b] of [
    [east, 'bench-src'],
    [west, 'bench-dst'],
  ] as const)
    await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }))
  const put = await rawRequest(srv.endpoint, {
    method: 'PUT',
    path: '/bench-src',
    query: { replication: '' },
    body: replicationXml(ROLE_ARN, [{ dest: 'bench-dst', id: 'bench' }]),
  })
  if (put.status !== 200) throw new Error(`PutBucketReplication: ${put.status} ${put.body}`)
  const body = randomBytes(SIZE)
  const repl = srv.replication

  // 1. Throughput: build a backlog with the destination down, then drain it.
  const dst = s.stores.get('eu-west-1')!
  dst.setAvailable!(false)
  s.health.markDown('eu-west-1')
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < OBJECTS) await east.send(new PutObjectCommand({ Bucket: 'bench-src', Key: `tp/${next++}`, Body: body }))
    }),
  )
  const backlog = repl.snapshot()
  dst.setAvailable!(true)
  const t0 = performance.now()
  await s.health.probe()
  await repl.idle()
  const secs = (performance.now() - t0) / 1000
  console.log(
    JSON.stringify({
      bench: 'replication',
      case: 'drain',
      objects: backlog.backlogOperations,
      objectBytes: SIZE,
      seconds: Math.round(secs * 1000) / 1000,
      objectsPerSecond: Math.round(backlog.backlogOperations / secs),
      mbPerSecond: Math.round((backlog.backlogBytes / secs / 1e6) * 10) / 10,
    }),
  )

  // 2. Lag at a fixed write rate (the snapshot's window holds the last 1000 operations).
  const small = randomBytes(16 * 1024)
  const total = RATE * SECONDS
  repl.metrics.reset()
  const start = performance.now()
  const inflight: Promise<unknown>[] = []
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    inflight.push(east.send(new PutObjectCommand({ Bucket: 'bench-src', Key: `lag/${i}`, Body: small })))
  }
  await Promise.all(inflight)
  const achieved = total / ((performance.now() - start) / 1000)
  await repl.idle()
  const rule = repl.snapshot().rules.find((r) => r.ruleId === 'bench')!
  console.log(
    JSON.stringify({
      bench: 'replication',
      case: 'lag',
      targetRate: RATE,
      achievedRate: Math.round(achieved),
      objects: rule.completedOperations,
      objectBytes: small.length,
      lagMs: rule.lagMs,
      note: 'PutObject acknowledged (task enqueued) to replica written',
    }),
  )
} finally {
  await srv.close()
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Crash safety of `mrap serve`: a child server takes concurrent PutObjects (inline and file-backed
 * sizes) and multipart uploads, is killed with SIGKILL mid-flight, and is restarted on the same data
 * directory. Every acknowledged object must then read back byte-identical; every listed key must be
 * acknowledged or have been in flight at the kill (and, if present, hold exactly the bytes sent); no
 * listed object may be partial; and no staging file may be left in regions/<region>/tmp.
 */

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { ADMIN } from '../helpers/server.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'mrap.mjs')
const BUCKET = 'crash-test-bucket'
const MiB = 1024 * 1024

const children = new Set<ChildProcess>()
const dataDir = mkdtempSync(join(tmpdir(), 'mrap-kill9-'))

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** Starts `mrap serve` on an ephemeral port and resolves with its endpoint once it says it is ready. */
async function startChild(): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MRAP_LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
  })
  children.add(child)
  let stderr = ''
  const endpoint = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`mrap serve did not become ready in 20 s; stderr:\n${stderr}`)), 20_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      stderr += d
      const m = /mrap ready: S3 front door (http:\/\/\S+)/.exec(stderr)
      if (m) {
        clearTimeout(timer)
        res(m[1]!)
      }
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      rej(new Error(`mrap serve exited (${code ?? sig}) before ready; stderr:\n${stderr}`))
    })
  })
  child.stderr!.resume()
  return { child, endpoint }
}

function clientFor(endpoint: string, agent: Agent): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: ADMIN,
    forcePathStyle: true,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent, requestTimeout: 30_000, connectionTimeout: 5_000 }),
  })
}

async function readAll(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

interface Sent {
  sha: string
  size: number
}

test('kill -9 mid-flight loses no acknowledged object and leaves no partial object or tmp file', { timeout: 150_000 }, async () => {
  const started = Date.now()
  const first = await startChild()
  const agent1 = new Agent({ keepAlive: true, maxSockets: 32 })
  const s3 = clientFor(first.endpoint, agent1)
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))

  const acked = new Map<string, Sent>()
  const inflight = new Map<string, Sent>()
  let stopping = false
  let putErrorsBeforeKill = 0
  let mpuAcked = 0
  let mpuInflight = 0

  async function putWorker(w: number): Promise<void> {
    for (let n = 0; !stopping && n < 5000; n++) {
      // Mostly small (inline, < 64 KiB), a good share above 64 KiB (file-backed), some empty.
      const size = n % 10 === 0 ? 0 : n % 3 === 0 ? randomInt(64 * 1024 + 1, 300 * 1024 + 1) : randomInt(1, 300 * 1024 + 1)
      const body = randomBytes(size)
      const key = `obj/w${w}/${n}`
      const sent = { sha: sha256(body), size }
      inflight.set(key, sent)
      try {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
        inflight.delete(key)
        acked.set(key, sent)
      } catch (e) {
        if (!stopping) {
          putErrorsBeforeKill++
          throw e
        }
        return // the server is gone; the key stays "in flight"
      }
    }
  }

  async function mpuWorker(w: number): Promise<void> {
    for (let n = 0; !stopping && n < 200; n++) {
      const key = `mpu/w${w}/${n}`
      const parts = [randomBytes(5 * MiB), randomBytes(randomInt(1, 2 * MiB))]
      const sent = { sha: sha256(Buffer.concat(parts)), size: parts[0]!.length + parts[1]!.length }
      inflight.set(key, sent)
      mpuInflight++
      try {
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))
        const etags = await Promise.all(parts.map(async (p, i) => (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: p }))).ETag!))
        await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        )
        inflight.delete(key)
        acked.set(key, sent)
        mpuAcked++
      } catch (e) {
        if (!stopping) {
          putErrorsBeforeKill++
          throw e
        }
        return
      } finally {
        mpuInflight--
      }
    }
  }

  const workers = [...Array.from({ length: 8 }, (_, w) => putWorker(w)), ...Array.from({ length: 2 }, (_, w) => mpuWorker(w))].map((p) => p.catch((e: unknown) => e))

  // Let the load run, then kill at a moment with PUTs and a multipart upload in flight.
  const loadStart = Date.now()
  await sleep(2500)
  while (Date.now() - loadStart < 15_000 && !(acked.size >= 30 && mpuAcked >= 1 && mpuInflight >= 1 && inflight.size >= 4)) await sleep(10)
  const inflightAtKill = inflight.size
  const killedAfter = Date.now() - loadStart
  stopping = true
  first.child.kill('SIGKILL')
  await new Promise<void>((res) => (first.child.exitCode !== null || first.child.signalCode !== null ? res() : first.child.once('exit', () => res())))
  assert.equal(first.child.signalCode, 'SIGKILL')
  const results = await Promise.all(workers)
  agent1.destroy()
  s3.destroy()

  assert.equal(
    putErrorsBeforeKill,
    0,
    `no request failed before the kill: ${results
      .filter((r) => r instanceof Error)
      .map(String)
      .join('; ')}`,
  )
  assert.ok(acked.size >= 20, `enough acknowledged objects to mean something (got ${acked.size})`)
  assert.ok(inflightAtKill >= 1, 'the kill happened with requests in flight')
  const ackedSizes = [...acked.values()].map((s) => s.size)
  assert.ok(
    ackedSizes.some((s) => s > 64 * 1024),
    'some acknowledged objects are file-backed (> 64 KiB)',
  )
  assert.ok(
    ackedSizes.some((s) => s > 0 && s <= 64 * 1024),
    'some acknowledged objects are inline (<= 64 KiB)',
  )

  // Restart on the same data directory.
  const second = await startChild()
  const agent2 = new Agent({ keepAlive: true, maxSockets: 8 })
  const s3b = clientFor(second.endpoint, agent2)
  try {
    // No staging leftovers after recovery.
    const regionsDir = join(dataDir, 'regions')
    for (const region of readdirSync(regionsDir)) {
      const tmp = join(regionsDir, region, 'tmp')
      if (existsSync(tmp)) assert.deepEqual(readdirSync(tmp), [], `${tmp} is empty after restart`)
    }

    // Every listed key is acknowledged or was in flight, and its listed size is whole.
    const listed = new Map<string, number>()
    let token: string | undefined
    do {
      const page = await s3b.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }))
      for (const o of page.Contents ?? []) listed.set(o.Key!, o.Size ?? -1)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    for (const [key, size] of listed) {
      const sent = acked.get(key) ?? inflight.get(key)
      assert.ok(sent, `listed key ${key} was neither acknowledged nor in flight`)
      assert.equal(size, sent.size, `listed size of ${key}`)
    }

    // Every acknowledged object is listed and byte-identical; every surviving in-flight one too.
    const toCheck = [...acked.keys(), ...[...inflight.keys()].filter((k) => listed.has(k))]
    for (const key of acked.keys()) assert.ok(listed.has(key), `acknowledged ${key} is listed`)
    let i = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (i < toCheck.length) {
          const key = toCheck[i++]!
          const sent = acked.get(key) ?? inflight.get(key)!
          const got = await s3b.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
          const bytes = await readAll(got.Body)
          assert.equal(bytes.length, sent.size, `size of ${key}`)
          assert.equal(sha256(bytes), sent.sha, `bytes of ${key}`)
        }
      }),
    )

    // The recovered server still takes writes.
    await s3b.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after-restart', Body: 'still alive' }))
    const back = await readAll((await s3b.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'after-restart' }))).Body)
    assert.equal(back.toString(), 'still alive')

    const survivors = [...inflight.keys()].filter((k) => listed.has(k)).length
    console.log(
      `# kill9: killed after ${killedAfter} ms of load with ${inflightAtKill} requests in flight; ` +
        `${acked.size} acknowledged (${mpuAcked} multipart), ${inflight.size} unacknowledged ` +
        `(${survivors} survived), ${listed.size} listed, ${Date.now() - started} ms`,
    )
  } finally {
    s3b.destroy()
    agent2.destroy()
    second.child.kill('SIGTERM')
    await new Promise<void>((res) => {
      if (second.child.exitCode !== null || second.child.signalCode !== null) return res()
      const t = setTimeout(() => {
        second.child.kill('SIGKILL')
        res()
      }, 5000)
      second.child.once('exit', () => {
        clearTimeout(t)
        res()
      })
    })
  }
})

/**
 * Surviving a region outage, with a child `mrap serve`: while a client writes a stream of objects
 * through the MRAP, us-east-1's storage is stopped (fault file, MRAP_FAULT_INJECTION=1) and the
 * server is killed with SIGKILL once and restarted on the same data directory. Routing fails over
 * to eu-west-1; when us-east-1's storage returns it rejoins and the backlog drains. Then every
 * acknowledged object exists, byte-identical, in both buckets (one copy COMPLETED, the other
 * REPLICA), and the persisted queue is empty. The buckets' two-way replication comes from the
 * world file (`buckets[].replication`).
 */

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { CreateMultiRegionAccessPointCommand, GetMultiRegionAccessPointCommand } from '@aws-sdk/client-s3-control'
import Database from 'better-sqlite3'
import { stringify } from 'yaml'
import { controlClient, waitForOperation } from '../control/helpers.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, type TestServer } from '../helpers/server.js'
import { OWNER, ROLE_POLICY } from './helpers.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'mrap.mjs')
const EAST = 'fault-east-bucket',
  WEST = 'fault-west-bucket'
const dataDir = mkdtempSync(join(tmpdir(), 'mrap-fault-'))
const children = new Set<ChildProcess>()

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

const rule = (dest: string) => ({
  role: `arn:aws:iam::${OWNER}:role/s3-replication`,
  rules: [{ id: `to-${dest}`, destination: dest, deleteMarkerReplication: true, replicaModifications: true, replicationTime: true }],
})

function writeWorld(): string {
  const world = {
    frontDoorRegion: 'us-east-1',
    regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
    accounts: [
      {
        id: OWNER,
        users: [
          {
            name: 'admin',
            accessKeys: [{ id: ADMIN.accessKeyId, secret: ADMIN.secretAccessKey }],
            policies: [{ name: 'all', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
          },
        ],
        roles: [
          {
            name: 's3-replication',
            trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
            policies: [{ name: 'replicate', document: ROLE_POLICY }],
          },
        ],
      },
    ],
    buckets: [
      { name: EAST, region: 'us-east-1', owner: OWNER, versioning: 'Enabled', replication: rule(WEST) },
      { name: WEST, region: 'eu-west-1', owner: OWNER, versioning: 'Enabled', replication: rule(EAST) },
    ],
  }
  const file = join(dataDir, 'world.yaml')
  writeFileSync(file, stringify(world))
  return file
}

interface Child {
  child: ChildProcess
  endpoint: string
  port: number
  proxy: string
  caPath: string
}

async function startChild(world: string): Promise<Child> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(dataDir, 'data'), '--world', world, '--port', '0', '--tls-port', '0', '--proxy-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MRAP_LOG_LEVEL: 'error', NODE_OPTIONS: '', MRAP_FAULT_INJECTION: '1' },
  })
  children.add(child)
  let stderr = ''
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`mrap serve not ready in 45 s:\n${stderr}`)), 45_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      stderr += d
      if (stderr.includes('mrap ready')) {
        clearTimeout(timer)
        res()
      }
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      rej(new Error(`mrap serve exited (${code ?? sig}):\n${stderr}`))
    })
  })
  child.stderr!.resume()
  const info = JSON.parse(readFileSync(join(dataDir, 'data', 'server.json'), 'utf8')) as { endpoint: string; proxy: string; caPath: string }
  return { child, ...info, port: Number(new URL(info.endpoint).port) }
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const faultFile = join(dataDir, 'data', 'faults', 'us-east-1')

function backlog(): number {
  const db = new Database(join(dataDir, 'data', 'replication.db'), { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n
  } finally {
    db.close()
  }
}

test('a region outage and a kill -9 during a write stream lose nothing; both buckets converge', { timeout: 85_000 }, async () => {
  const world = writeWorld()
  let srv = await startChild(world)
  const control = controlClient({ port: srv.port } as TestServer)
  const created = await control.send(new CreateMultiRegionAccessPointCommand({ AccountId: OWNER, Details: { Name: 'fault-mrap', Regions: [{ Bucket: EAST }, { Bucket: WEST }] } }))
  assert.equal((await waitForOperation(control, created.RequestTokenARN!, OWNER, 10_000)).op.RequestStatus, 'SUCCEEDED')
  const alias = (await control.send(new GetMultiRegionAccessPointCommand({ AccountId: OWNER, Name: 'fault-mrap' }))).AccessPoint!.Alias!
  const arn = mrapArnOf(OWNER, alias)

  let client: S3Client = proxiedS3Client({ proxy: srv.proxy, caPath: srv.caPath } as TestServer)
  const acked = new Map<string, string>()
  let stop = false
  let failures = 0
  async function writer(w: number): Promise<void> {
    for (let n = 0; !stop; n++) {
      const key = `w${w}/${n}`
      const body = randomBytes(randomInt(1, 120_000))
      // Unacknowledged writes are retried with the same bytes until one is acknowledged.
      for (;;) {
        try {
          await client.send(new PutObjectCommand({ Bucket: arn, Key: key, Body: body }))
          acked.set(key, sha(body))
          break
        } catch {
          failures++
          if (stop) return
          await sleep(50)
        }
      }
    }
  }
  const writers = Array.from({ length: 4 }, (_, w) => writer(w))
  const waitAcked = async (n: number): Promise<void> => {
    const until = Date.now() + 20_000
    while (acked.size < n && Date.now() < until) await sleep(20)
  }

  await waitAcked(20)
  mkdirSync(join(dataDir, 'data', 'faults'), { recursive: true })
  writeFileSync(faultFile, 'down')
  const atFault = acked.size
  await waitAcked(atFault + 30) // failed over to eu-west-1
  assert.ok(acked.size >= atFault + 30, `writes continue during the outage (${acked.size - atFault} after it)`)

  // kill -9 with eu-west-1 holding a backlog for us-east-1.
  srv.child.kill('SIGKILL')
  await new Promise((r) => srv.child.once('exit', r))
  srv = await startChild(world)
  client = proxiedS3Client({ proxy: srv.proxy, caPath: srv.caPath } as TestServer)
  const afterKill = acked.size
  await waitAcked(afterKill + 20)
  assert.ok(backlog() > 0, 'the backlog to us-east-1 survived the kill')

  // us-east-1 returns: it rejoins routing and its backlog drains.
  rmSync(faultFile)
  const back = acked.size
  await waitAcked(back + 20)
  stop = true
  await Promise.all(writers)
  const until = Date.now() + 30_000
  while (backlog() > 0 && Date.now() < until) await sleep(100)
  assert.equal(backlog(), 0, 'the backlog is empty')

  const direct = (region: string) => new S3Client({ endpoint: srv.endpoint, region, credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 })
  const east = direct('us-east-1'),
    west = direct('eu-west-1')
  let fromEast = 0
  for (const [key, digest] of acked) {
    const a = await east.send(new GetObjectCommand({ Bucket: EAST, Key: key }))
    const b = await west.send(new GetObjectCommand({ Bucket: WEST, Key: key }))
    assert.equal(sha(await a.Body!.transformToByteArray()), digest, `${EAST}/${key}`)
    assert.equal(sha(await b.Body!.transformToByteArray()), digest, `${WEST}/${key}`)
    const statuses = [a.ReplicationStatus, b.ReplicationStatus].sort()
    assert.deepEqual(statuses, ['COMPLETED', 'REPLICA'], `${key}: ${statuses.join(',')}`)
    if (a.ReplicationStatus === 'COMPLETED') fromEast++
  }
  assert.ok(fromEast > 0 && fromEast < acked.size, `writes landed in both regions (${fromEast} of ${acked.size} in us-east-1)`)
  assert.ok(failures > 0, 'the outage and the kill were visible to the client')
  assert.ok(existsSync(join(dataDir, 'data', 'replication.db')))
})

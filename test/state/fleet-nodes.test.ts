/**
 * Two mrap nodes on one PostgreSQL (`startServer` and `mrap serve --state`), as a fleet runs them:
 * one sealing key file, one CA (both TLS front doors verify against node A's ca.pem, and a key
 * sealed by one node signs a request the other accepts), a node with another key refused, a
 * second node on a world with an embedded region refused until the claim is released, and a world
 * whose regions are all upstream served by both. The upstream region points at a closed port: no
 * request here reaches the engine (ListBuckets is answered from the control state).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { pino } from 'pino'
import { StartupError } from '../../src/app/compose.js'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { parseWorld } from '../../src/world/load.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)
const ENGINE_ENV = { MRAP_FLEET_TEST_KEY_ID: 'engine-key', MRAP_FLEET_TEST_SECRET: 'engine-secret' }
Object.assign(process.env, ENGINE_ENV)

const worldText = (storage: string): string =>
  [
    'regions:',
    `  - name: us-east-1${storage}`,
    'accounts:',
    '  - id: "123456789012"',
    '    name: fleet',
    '    users:',
    '      - name: admin',
    `        accessKeys: [{ id: ${ADMIN.accessKeyId}, secret: ${ADMIN.secretAccessKey} }]`,
    '        policies:',
    '          - { name: Admin, document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "*", Resource: "*" }] } }',
    '',
  ].join('\n')
const UPSTREAM = worldText('\n    storage: { kind: s3, endpoint: "http://127.0.0.1:1", accessKeyIdEnv: MRAP_FLEET_TEST_KEY_ID, secretAccessKeyEnv: MRAP_FLEET_TEST_SECRET }')
const EMBEDDED = worldText('')

let cluster: PgCluster
const dirs: string[] = []
const running: RunningServer[] = []
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'mrap-fleet-nodes-'))
  dirs.push(d)
  return d
}
let dbs = 0
async function database(): Promise<string> {
  const name = `nodes${++dbs}`
  await cluster.sql(`CREATE DATABASE ${name}`)
  return cluster.url.replace(/\/mrap$/, `/${name}`)
}
function keyFile(): string {
  const f = join(scratch(), 'sealing.key')
  writeSealingKeyFile(f)
  return f
}

async function node(state: string, sealingKeyFile: string, text: string, dataDir = join(scratch(), 'data')): Promise<RunningServer> {
  const s = await startServer({ dataDir, state, sealingKeyFile, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'silent' }), world: parseWorld(text, 'fleet.yaml') })
  running.push(s)
  return s
}

/** `mrap serve` that must fail: its exit code and stderr. */
async function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await run(process.execPath, [BIN, 'serve', '--port', '0', '--tls-port', '0', '--proxy-port', '0', ...args], {
    timeout: 60_000,
    env: { ...process.env, ...ENGINE_ENV },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  )
  return r
}

before(async () => {
  cluster = await startPostgres('fleet-nodes')
})
after(async () => {
  for (const s of running) await s.close().catch(() => undefined)
  await cluster?.destroy()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('a fleet of two nodes', { timeout: 180_000 }, () => {
  it("one key file, one CA: both TLS front doors verify against node A's ca.pem; another key is refused", async () => {
    const url = await database()
    const key = keyFile()
    const a = await node(url, key, UPSTREAM)
    const b = await node(url, key, UPSTREAM)
    const caA = readFileSync(a.caPath, 'utf8')
    assert.equal(readFileSync(b.caPath, 'utf8'), caA)
    // TLS verified against A's CA alone (not the system store), a request signed with a key that
    // one node sealed and both opened.
    const agent = new Agent({ ca: caA, keepAlive: false })
    for (const n of [a, b]) {
      const client = new S3Client({
        endpoint: `https://127.0.0.1:${n.tlsPort}`,
        region: 'us-east-1',
        credentials: ADMIN,
        forcePathStyle: true,
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
      })
      const out = await client.send(new ListBucketsCommand({}))
      assert.equal(out.$metadata.httpStatusCode, 200)
      client.destroy()
    }
    const wrongKey = keyFile()
    const r = await serveFails(['--data-dir', join(scratch(), 'data'), '--world', writeWorld(UPSTREAM), '--state', url, '--sealing-key-file', wrongKey])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^mrap: the sealing key \(.*\) differs from the one the fleet's secrets were sealed with/m)
    const none = await serveFails(['--data-dir', join(scratch(), 'data'), '--world', writeWorld(UPSTREAM), '--state', url])
    assert.equal(none.code, 1)
    assert.match(none.stderr, /^mrap: shared \(PostgreSQL\) state needs --sealing-key-file/m)
  })

  it('a second node on a world with an embedded region is refused until the claim is released', async () => {
    const url = await database()
    const key = keyFile()
    const dirA = join(scratch(), 'data')
    const a = await node(url, key, EMBEDDED, dirA)
    const idA = readFileSync(join(dirA, 'node-id'), 'utf8').trim()
    const dirB = join(scratch(), 'data')
    const r = await serveFails(['--data-dir', dirB, '--world', writeWorld(EMBEDDED), '--state', url, '--sealing-key-file', key])
    assert.equal(r.code, 1)
    assert.ok(r.stderr.startsWith(`mrap: region us-east-1 keeps its objects in the data dir of node ${idA} `), r.stderr)
    assert.match(r.stderr, /a fleet needs upstream storage \(docs\/deploy\.md\) for every region served by more than one node/)
    const claims = (await run(process.execPath, [BIN, 'fleet', 'claims', '--state', url])).stdout
    assert.match(claims, new RegExp(`^us-east-1\\tnode ${idA}\\t`, 'm'))
    await a.close()
    running.splice(running.indexOf(a), 1)
    const released = (await run(process.execPath, [BIN, 'fleet', 'release', 'us-east-1', '--state', url])).stdout
    assert.match(released, new RegExp(`released us-east-1 \\(was node ${idA}`))
    const b = await node(url, key, EMBEDDED, dirB)
    assert.equal(readFileSync(b.caPath, 'utf8'), readFileSync(join(dirA, 'tls', 'ca.pem'), 'utf8'))
  })

  it('in-process start refuses the same way, with a StartupError, before opening its stores', async () => {
    const url = await database()
    const key = keyFile()
    await node(url, key, EMBEDDED)
    const dirB = join(scratch(), 'data')
    await assert.rejects(node(url, key, EMBEDDED, dirB), (e: Error) => e instanceof StartupError && /^region us-east-1 keeps its objects in the data dir of node /.test(e.message))
    // Refused before its region stores were opened (an embedded store's open cleans its directory up).
    assert.equal(existsSync(join(dirB, 'regions')), false)
  })
})

function writeWorld(text: string): string {
  const f = join(scratch(), 'world.yaml')
  writeFileSync(f, text)
  return f
}

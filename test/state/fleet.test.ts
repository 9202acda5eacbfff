/**
 * What each fleet node needs, on a real PostgreSQL (test/helpers/postgres.ts): the sealing key file
 * (refused when loose or malformed, required with shared state, the same on every node), one CA in
 * the state, and claims that keep a second node off a region stored in one node's data dir.
 */
import assert from 'node:assert/strict'
import { randomBytes, X509Certificate } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { SecretBox, sealingKeyFor, writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { ensureTls } from '../../src/network/ca.js'
import { StartupError } from '../../src/shared/startup-error.js'
import { claimEmbeddedRegions, listClaims, nodeId, releaseClaim } from '../../src/state/fleet.js'
import { PgStateStore } from '../../src/state/postgres/pg-state.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'

let cluster: PgCluster
const stores: PgStateStore[] = []
const dirs: string[] = []
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'mrap-fleet-'))
  dirs.push(d)
  return d
}
/** A fresh database per test, so one test's first node is really first. */
let dbs = 0
async function database(): Promise<string> {
  const name = `fleet${++dbs}`
  await cluster.sql(`CREATE DATABASE ${name}`)
  return cluster.url.replace(/\/mrap$/, `/${name}`)
}
const node = async (url: string): Promise<PgStateStore> => {
  const s = await PgStateStore.open({ connection: url, backstopMs: 60_000 })
  stores.push(s)
  return s
}
const keyFile = (dir: string, name = 'sealing.key'): string => {
  const f = join(dir, name)
  writeSealingKeyFile(f)
  return f
}

before(async () => {
  cluster = await startPostgres('fleet')
})
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined)
  await cluster?.destroy()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the sealing key file', () => {
  it('keygen writes 64 hex digits, mode 0600, and never overwrites', () => {
    const d = scratch()
    const f = keyFile(d)
    assert.match(readFileSync(f, 'utf8'), /^[0-9a-f]{64}\n$/)
    assert.equal(statSync(f).mode & 0o777, 0o600)
    assert.throws(() => writeSealingKeyFile(f), /EEXIST/)
  })

  it("raw, hex and base64 forms of one key open each other's secrets", () => {
    const d = scratch()
    const key = randomBytes(32)
    const forms = { raw: key, hex: Buffer.from(key.toString('hex') + '\n'), b64: Buffer.from(`  ${key.toString('base64')}\r\n`) }
    const boxes = Object.entries(forms).map(([n, bytes]) => {
      const f = join(d, n)
      writeFileSync(f, bytes, { mode: 0o600 })
      return SecretBox.fromKeyFile(f)
    })
    const sealed = boxes[0]!.seal('s3cret', 'AKIA1')
    for (const b of boxes) assert.equal(b.open(sealed, 'AKIA1'), 's3cret')
  })

  it('refuses a file open to group or others, of the wrong size, or missing', () => {
    const d = scratch()
    const f = keyFile(d)
    chmodSync(f, 0o640)
    assert.throws(
      () => SecretBox.fromKeyFile(f),
      (e: Error) => e instanceof StartupError && /open to other users \(mode 640\); `chmod 600/.test(e.message),
    )
    const short = join(d, 'short')
    writeFileSync(short, randomBytes(31), { mode: 0o600 })
    assert.throws(
      () => SecretBox.fromKeyFile(short),
      (e: Error) => e instanceof StartupError && /must hold 32 bytes: raw, 64 hex digits or base64 \(it holds 31 bytes/.test(e.message),
    )
    const hex63 = join(d, 'hex63')
    writeFileSync(hex63, 'a'.repeat(63) + '\n', { mode: 0o600 })
    assert.throws(() => SecretBox.fromKeyFile(hex63), /must hold 32 bytes/)
    assert.throws(
      () => SecretBox.fromKeyFile(join(d, 'none')),
      (e: Error) => e instanceof StartupError && /no such file \(make one with `mrap keygen/.test(e.message),
    )
  })

  it('shared state requires a key file', async () => {
    const s = await node(await database())
    await assert.rejects(sealingKeyFor(s, { dataDir: scratch() }), (e: Error) => e instanceof StartupError && /needs --sealing-key-file/.test(e.message))
  })

  it('nodes with the same key start; a node with another key is refused', async () => {
    const url = await database()
    const d = scratch()
    const shared = keyFile(d)
    const [a, b, c] = [await node(url), await node(url), await node(url)]
    // Two first nodes at once: one check value is stored, and both keys open it.
    const [boxA, boxB] = await Promise.all([sealingKeyFor(a, { dataDir: scratch(), keyFile: shared }), sealingKeyFor(b, { dataDir: scratch(), keyFile: shared })])
    assert.equal(boxB.open(boxA.seal('x', 'k'), 'k'), 'x')
    assert.ok(a.get('seal', 'check'))
    const other = keyFile(d, 'other.key')
    await assert.rejects(
      sealingKeyFor(c, { dataDir: scratch(), keyFile: other }),
      (e: Error) => e instanceof StartupError && e.message.includes(`the sealing key (${other}) differs from the one the fleet's secrets were sealed with`),
    )
  })
})

describe('one CA for the fleet', () => {
  it('two first nodes get server certificates from one CA kept sealed in the state', async () => {
    const url = await database()
    const key = keyFile(scratch())
    const [a, b] = [await node(url), await node(url)]
    const [boxA, boxB] = [SecretBox.fromKeyFile(key), SecretBox.fromKeyFile(key)]
    const [dirA, dirB] = [scratch(), scratch()]
    const [tlsA, tlsB] = await Promise.all([
      ensureTls(dirA, 'amazonaws.com', ['us-east-1'], { state: a, sealer: boxA }),
      ensureTls(dirB, 'amazonaws.com', ['us-east-1'], { state: b, sealer: boxB }),
    ])
    assert.equal(tlsA.caPem, tlsB.caPem)
    assert.equal(readFileSync(join(dirB, 'tls', 'ca.pem'), 'utf8'), readFileSync(join(dirA, 'tls', 'ca.pem'), 'utf8'))
    const ca = new X509Certificate(tlsA.caPem)
    for (const t of [tlsA, tlsB]) assert.ok(new X509Certificate(t.certPem).verify(ca.publicKey), 'server certificate signed by the fleet CA')
    assert.notEqual(tlsA.keyPem, tlsB.keyPem, 'each node has its own server key')
    // The CA key is in the state only sealed.
    const rec = JSON.parse(a.get('tls', 'ca')!) as { cert: string; key: string }
    assert.equal(rec.cert, tlsA.caPem)
    assert.doesNotMatch(rec.key, /PRIVATE KEY/)
    assert.match(boxB.open(rec.key, 'tls/ca'), /BEGIN PRIVATE KEY/)
  })

  it("a node that ran alone brings its CA to a new fleet; a later node replaces its own CA with the fleet's", async () => {
    const url = await database()
    const key = keyFile(scratch())
    const [dirA, dirB] = [scratch(), scratch()]
    const aloneA = await ensureTls(dirA, 'amazonaws.com', ['us-east-1'])
    const aloneB = await ensureTls(dirB, 'amazonaws.com', ['us-east-1'])
    assert.notEqual(aloneA.caPem, aloneB.caPem)
    const fleetA = await ensureTls(dirA, 'amazonaws.com', ['us-east-1'], { state: await node(url), sealer: SecretBox.fromKeyFile(key) })
    assert.equal(fleetA.caPem, aloneA.caPem, 'clients of the first node keep trusting it')
    const fleetB = await ensureTls(dirB, 'amazonaws.com', ['us-east-1'], { state: await node(url), sealer: SecretBox.fromKeyFile(key) })
    assert.equal(fleetB.caPem, aloneA.caPem)
    assert.equal(readFileSync(join(dirB, 'tls', 'ca.pem'), 'utf8'), aloneA.caPem)
    assert.ok(new X509Certificate(fleetB.certPem).verify(new X509Certificate(aloneA.caPem).publicKey))
  })
})

describe("a region stored in one node's data dir", () => {
  const world = (embedded: boolean): { name: string; embedded: boolean }[] => [
    { name: 'us-east-1', embedded },
    { name: 'eu-west-1', embedded: false },
  ]

  it('the node id is made once and kept', () => {
    const d = scratch()
    const id = nodeId(d)
    assert.match(id, /^[0-9a-f-]{36}$/)
    assert.equal(nodeId(d), id)
  })

  it('a second node serving an embedded region is refused, naming the region and the owner', async () => {
    const url = await database()
    const [dirA, dirB] = [scratch(), scratch()]
    const [a, b] = [await node(url), await node(url)]
    const idA = nodeId(dirA)
    await claimEmbeddedRegions(a, { id: idA, dataDir: dirA }, world(true))
    // Restarting the owner is fine.
    await claimEmbeddedRegions(a, { id: idA, dataDir: dirA }, world(true))
    for (const embedded of [true, false]) {
      await assert.rejects(
        claimEmbeddedRegions(b, { id: nodeId(dirB), dataDir: dirB }, world(embedded)),
        (e: Error) =>
          e instanceof StartupError &&
          e.message.includes(`region us-east-1 keeps its objects in the data dir of node ${idA}`) &&
          e.message.includes(dirA) &&
          e.message.includes('a fleet needs upstream storage (docs/deploy.md) for every region served by more than one node') &&
          e.message.includes('mrap fleet release us-east-1'),
      )
    }
    assert.deepEqual(
      listClaims(b).map((c) => [c.region, c.node]),
      [['us-east-1', idA]],
    )
    // Released (node A stopped), node B may take the region.
    assert.equal((await releaseClaim(b, 'us-east-1'))?.node, idA)
    await claimEmbeddedRegions(b, { id: nodeId(dirB), dataDir: dirB }, world(true))
    await a.sync()
    assert.deepEqual(
      listClaims(a).map((c) => [c.region, c.node]),
      [['us-east-1', nodeId(dirB)]],
    )
  })

  it('two first nodes racing for one embedded region: exactly one starts', async () => {
    const url = await database()
    const [dirA, dirB] = [scratch(), scratch()]
    const [a, b] = [await node(url), await node(url)]
    const r = await Promise.allSettled([
      claimEmbeddedRegions(a, { id: nodeId(dirA), dataDir: dirA }, world(true)),
      claimEmbeddedRegions(b, { id: nodeId(dirB), dataDir: dirB }, world(true)),
    ])
    assert.deepEqual(r.map((x) => x.status).sort(), ['fulfilled', 'rejected'])
  })

  it('nodes whose regions are all upstream are not refused, and leave no claim', async () => {
    const url = await database()
    const [dirA, dirB] = [scratch(), scratch()]
    const [a, b] = [await node(url), await node(url)]
    await claimEmbeddedRegions(a, { id: nodeId(dirA), dataDir: dirA }, world(false))
    await claimEmbeddedRegions(b, { id: nodeId(dirB), dataDir: dirB }, world(false))
    assert.deepEqual(listClaims(a), [])
  })

  it('a node that moves its region upstream drops its own claim', async () => {
    const url = await database()
    const [dirA, dirB] = [scratch(), scratch()]
    const [a, b] = [await node(url), await node(url)]
    await claimEmbeddedRegions(a, { id: nodeId(dirA), dataDir: dirA }, world(true))
    await claimEmbeddedRegions(a, { id: nodeId(dirA), dataDir: dirA }, world(false))
    assert.deepEqual(listClaims(a), [])
    await claimEmbeddedRegions(b, { id: nodeId(dirB), dataDir: dirB }, world(false))
  })
})

/**
 * KMS keys in the state seam on PostgreSQL: a key made through a server on shared state is seen, and
 * its material opened, through another state store on the same database (what another node of a
 * fleet holds), a change made there reaches the server, and the material in the database is sealed.
 * docs/decisions/encryption.md §KMS.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
import pg from 'pg'
import { pino } from 'pino'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { KmsKeys } from '../../src/kms/keys.js'
import { type RunningServer, startServer } from '../../src/main.js'
import { PgStateStore } from '../../src/state/postgres/pg-state.js'
import { type PgCluster, startPostgres } from '../helpers/postgres.js'
import { ADMIN, READER, testWorld } from '../helpers/server.js'

let cluster: PgCluster
let dir: string
let a: RunningServer
let stateB: PgStateStore

before(async () => {
  cluster = await startPostgres('kms')
  dir = mkdtempSync(join(tmpdir(), 'mrap-kms-fleet-'))
  writeSealingKeyFile(join(dir, 'sealing.key'))
  const start = (name: string) =>
    startServer({
      dataDir: join(dir, name),
      port: 0,
      tlsPort: 0,
      proxyPort: 0,
      world: testWorld(),
      logger: pino({ level: 'silent' }),
      state: cluster.url,
      sealingKeyFile: join(dir, 'sealing.key'),
    })
  a = await start('a')
  stateB = await PgStateStore.open({ connection: cluster.config, backstopMs: 500 })
})
after(async () => {
  await a?.close()
  await stateB?.close()
  await cluster?.destroy()
  rmSync(dir, { recursive: true, force: true })
})

const kms = (s: RunningServer, credentials = ADMIN) => new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 })

async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn()
    } catch (e) {
      if (i >= 50) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

test('a key made through the server opens through another state store; disabling it there refuses it on the server; no material in the clear', async () => {
  assert.equal(a.services.state.backend, 'postgres')
  const key = (await kms(a).send(new CreateKeyCommand({}))).KeyMetadata!
  const blob = (await kms(a).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('fleet secret') }))).CiphertextBlob!
  // Another node: its own state store on the database, the fleet's sealing key.
  const keysB = new KmsKeys(stateB, a.services.sealer)
  const rec = await eventually(async () => keysB.byId(key.KeyId!) ?? Promise.reject(new Error('not seen yet')))
  assert.equal(keysB.decrypt(rec, Buffer.from(blob))?.toString(), 'fleet secret')
  await keysB.save({ ...rec, keyState: 'Disabled' })
  await eventually(async () => {
    const e = await kms(a)
      .send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))
      .then(
        () => undefined,
        (err: Error) => err,
      )
    if (e?.name !== 'DisabledException') throw new Error(`node A still encrypts (${e?.name ?? 'ok'})`)
  })
  // The stored record: its material is sealed (not 32 bytes of base64 key).
  const client = new pg.Client(cluster.config)
  await client.connect()
  try {
    const rows = (await client.query('SELECT v AS value FROM mrap_record WHERE ns = $1 AND k = $2', ['kms-key', key.KeyId])).rows as { value: string }[]
    assert.equal(rows.length, 1)
    const rec = JSON.parse(rows[0]!.value) as { material: string }
    assert.notEqual(Buffer.from(rec.material, 'base64').length, 32)
  } finally {
    await client.end()
  }
})

/**
 * Grants are records of the same state seam (namespace `kms-grant`): one made through the server is
 * read, and its token opened, by another node; one another node writes or deletes allows, then no
 * longer allows, on the server (docs/decisions/encryption.md §KMS decision 10).
 */
test('grants on PostgreSQL: made on one node, seen and opened by another; written and removed by another, honoured by the server', async () => {
  const reader = 'arn:aws:iam::123456789012:user/reader'
  const key = (await kms(a).send(new CreateKeyCommand({}))).KeyMetadata!
  const made = await kms(a).send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: reader, Operations: ['Decrypt'] }))
  const keysB = new KmsKeys(stateB, a.services.sealer)
  const seen = await eventually(async () => keysB.grantsOf(key.KeyId!)[0] ?? Promise.reject(new Error('grant not seen yet')))
  assert.equal(seen.grantId, made.GrantId)
  assert.equal(seen.granteePrincipal, reader)
  assert.deepEqual(keysB.openGrantToken(made.GrantToken!), { keyId: key.KeyId, grantId: made.GrantId })

  // A grant another node writes: reader decrypts through it on the server; removed there, refused here.
  const other = (await kms(a).send(new CreateKeyCommand({}))).KeyMetadata!
  const blob = (await kms(a).send(new EncryptCommand({ KeyId: other.KeyId, Plaintext: Buffer.from('fleet grant') }))).CiphertextBlob!
  const denied = (e: unknown) => (e as Error).name === 'AccessDeniedException'
  assert.ok(
    await kms(a, READER)
      .send(new DecryptCommand({ CiphertextBlob: blob }))
      .then(() => false, denied),
    'no grant yet: refused',
  )
  const g = {
    grantId: 'ab'.repeat(32),
    keyId: other.KeyId!,
    keyArn: other.Arn!,
    region: 'us-east-1',
    creationDate: Date.now(),
    granteePrincipal: reader,
    issuingAccount: 'arn:aws:iam::123456789012:root',
    operations: ['Decrypt'],
  }
  await keysB.putGrant(g)
  const plain = await eventually(() => kms(a, READER).send(new DecryptCommand({ CiphertextBlob: blob })))
  assert.equal(Buffer.from(plain.Plaintext!).toString(), 'fleet grant')
  await keysB.deleteGrant(g)
  await eventually(async () => {
    const refused = await kms(a, READER)
      .send(new DecryptCommand({ CiphertextBlob: blob }))
      .then(() => false, denied)
    if (!refused) throw new Error('node A still honours the removed grant')
  })
})

/**
 * KMS keys in the world file (accounts[].kmsKeys): made once with their alias, their policy and
 * enabled state following the file, the same key (id, material) after a restart on the same data
 * dir. docs/decisions/encryption.md §KMS.
 */
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms'
import { ADMIN, failure, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const OWNER = '123456789012'

function worldWithKeys() {
  const world = testWorld()
  const owner = world.accounts.find((a) => a.id === OWNER)!
  owner.kmsKeys = [
    { alias: 'alias/world-app', region: 'us-east-1', description: 'from the world file', enabled: true },
    {
      alias: 'alias/world-locked',
      region: 'us-east-1',
      enabled: false,
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:user/admin` }, Action: 'kms:DescribeKey', Resource: '*' }] },
    },
  ]
  return world
}

test('world kmsKeys: made with their alias, state and policy; the same key after a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mrap-kms-world-'))
  let s: TestServer = await startTestServer({ world: worldWithKeys(), dataDir })
  const kms = () => new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
  let blob: Uint8Array
  let keyId: string
  try {
    const app = (await kms().send(new DescribeKeyCommand({ KeyId: 'alias/world-app' }))).KeyMetadata!
    assert.equal(app.Description, 'from the world file')
    assert.equal(app.KeyState, 'Enabled')
    keyId = app.KeyId!
    blob = (await kms().send(new EncryptCommand({ KeyId: 'alias/world-app', Plaintext: Buffer.from('survives restarts') }))).CiphertextBlob!
    const locked = (await kms().send(new DescribeKeyCommand({ KeyId: 'alias/world-locked' }))).KeyMetadata!
    assert.equal(locked.KeyState, 'Disabled')
    // Its policy allows DescribeKey only: GetKeyPolicy is refused although the admin's IAM allows everything.
    const denied = await failure(() => kms().send(new GetKeyPolicyCommand({ KeyId: 'alias/world-locked', PolicyName: 'default' })))
    assert.equal(denied.name, 'AccessDeniedException')
  } finally {
    await s.stop()
  }
  s = await startTestServer({ world: worldWithKeys(), dataDir })
  try {
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId: 'alias/world-app' }))).KeyMetadata!.KeyId, keyId)
    const back = await kms().send(new DecryptCommand({ CiphertextBlob: blob }))
    assert.equal(Buffer.from(back.Plaintext!).toString(), 'survives restarts')
  } finally {
    await s.stop()
  }
})

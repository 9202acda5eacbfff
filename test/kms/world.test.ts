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
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { exportWorldYaml } from '../../src/world/export.js'
import { parseWorld } from '../../src/world/load.js'
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

test('world export writes the KMS keys back (alias, description, state, policy, never the material); export, apply round-trips', async () => {
  const a = await startTestServer({ world: worldWithKeys() })
  const onA = () => new KMSClient({ endpoint: a.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
  const apiPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' }] }
  let yaml: string
  try {
    const made = (await onA().send(new CreateKeyCommand({ Description: 'made through the API', Policy: JSON.stringify(apiPolicy) }))).KeyMetadata!
    await onA().send(new CreateAliasCommand({ AliasName: 'alias/api-made', TargetKeyId: made.KeyId }))
    await onA().send(new DisableKeyCommand({ KeyId: made.KeyId }))
    const doomed = (await onA().send(new CreateKeyCommand({}))).KeyMetadata!
    await onA().send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: doomed.KeyId }))
    await onA().send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }))
    yaml = exportWorldYaml(a.services, { includeSecrets: true })
  } finally {
    await a.stop()
  }
  // The sealed material of a key never leaves, not even with --include-secrets.
  assert.doesNotMatch(yaml, /material/i)
  const exported = parseWorld(yaml, 'export.yaml').accounts.find((x) => x.id === OWNER)!.kmsKeys
  assert.deepEqual(exported.map((k) => k.alias).sort(), ['alias/api-made', 'alias/world-app', 'alias/world-locked'])
  const b = await startTestServer({ world: parseWorld(yaml, 'export.yaml') })
  const onB = () => new KMSClient({ endpoint: b.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
  try {
    const app = (await onB().send(new DescribeKeyCommand({ KeyId: 'alias/world-app' }))).KeyMetadata!
    assert.equal(app.Description, 'from the world file')
    assert.equal(app.KeyState, 'Enabled')
    const api = (await onB().send(new DescribeKeyCommand({ KeyId: 'alias/api-made' }))).KeyMetadata!
    assert.equal(api.Description, 'made through the API')
    assert.equal(api.KeyState, 'Disabled')
    assert.deepEqual(JSON.parse((await onB().send(new GetKeyPolicyCommand({ KeyId: 'alias/api-made', PolicyName: 'default' }))).Policy!), apiPolicy)
    assert.equal((await onB().send(new DescribeKeyCommand({ KeyId: 'alias/world-locked' }))).KeyMetadata!.KeyState, 'Disabled')
    const denied = await failure(() => onB().send(new GetKeyPolicyCommand({ KeyId: 'alias/world-locked', PolicyName: 'default' })))
    assert.equal(denied.name, 'AccessDeniedException')
    // A key pending deletion is not exported: applied elsewhere it would come back usable.
    assert.equal((await failure(() => onB().send(new DescribeKeyCommand({ KeyId: 'alias/doomed' })))).name, 'NotFoundException')
  } finally {
    await b.stop()
  }
})

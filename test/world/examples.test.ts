/**
 * The shipped example worlds: each passes every check (with the action catalogue), and the
 * cross-account one works end to end (a group's managed policy lets `ops` assume the partner's role).
 */

import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { loadCatalog } from '../../src/policy/index.js'
import { checkWorld } from '../../src/world/check.js'
import { DEFAULT_WORLD_FILE, loadWorldFile } from '../../src/world/load.js'
import { startTestServer } from '../helpers/server.js'

const EXAMPLES = dirname(DEFAULT_WORLD_FILE)

test('every example world loads and passes the full checks', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'))
  assert.ok(files.includes('seed.yaml') && files.includes('cross-account.yaml') && files.includes('active-passive.yaml'), files.join(', '))
  const catalog = await loadCatalog()
  for (const f of files) {
    const w = loadWorldFile(join(EXAMPLES, f))
    assert.deepEqual(checkWorld(w, catalog ? { catalog } : {}), [], f)
  }
})

test("examples/cross-account.yaml: ops assumes the partner account's role", async () => {
  const s = await startTestServer({ world: loadWorldFile(join(EXAMPLES, 'cross-account.yaml')) })
  try {
    const ops = new STSClient({
      endpoint: s.endpoint,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAOPS0000000EXAMPL', secretAccessKey: 'oPs/K7MDENG/bPxRfiCYEXAMPLEKEYOPS00000' },
    })
    const r = await ops.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::444455556666:role/partner-reader', RoleSessionName: 'ops', DurationSeconds: 7200 }))
    const temp = new STSClient({
      endpoint: s.endpoint,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken! },
    })
    assert.equal((await temp.send(new GetCallerIdentityCommand({}))).Arn, 'arn:aws:sts::444455556666:assumed-role/partner-reader/ops')
    assert.equal(s.services.state.getBucket('partner-west-bucket')?.owner, '444455556666')
  } finally {
    await s.stop()
  }
})

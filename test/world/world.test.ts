/**
 * The world file: mistakes reported with file, line and path; applying is all-or-nothing and
 * idempotent; IAM state survives restarts with secrets sealed at rest; export round-trips.
 */

import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { parse as parseYaml, stringify } from 'yaml'
import { applyWorld } from '../../src/world/apply.js'
import { exportWorldYaml } from '../../src/world/export.js'
import { DEFAULT_WORLD_FILE, loadWorldFile, parseWorld, WorldFileError } from '../../src/world/load.js'
import { ADMIN, failure, PARTNER, READER, startTestServer, testWorld } from '../helpers/server.js'

const SEED_TEXT = readFileSync(DEFAULT_WORLD_FILE, 'utf8')

/** The error message of parsing `text`, which must fail. */
function worldFailure(text: string, file = 'w.yaml'): string {
  try {
    parseWorld(text, file)
  } catch (e) {
    assert.ok(e instanceof WorldFileError, `expected a WorldFileError, got ${String(e)}`)
    return e.message
  }
  throw new Error('expected the world to be refused')
}

const MINI = (accounts: string, extra = '') => `regions:
  - name: us-east-1
accounts:
${accounts}${extra}`

describe('world file mistakes point at the line', () => {
  test('an unknown field names the line, the path and the fields expected there', () => {
    const msg = worldFailure(
      MINI(`  - id: "111122223333"
    users:
      - name: ann
        polices: []
`),
    )
    assert.match(msg, /^w\.yaml:7: accounts\.0\.users\.0\.polices: unknown field "polices" \(expected one of: name, path, accessKeys, policies,/)
  })

  test('an unquoted account id, a bad region name and a missing field', () => {
    const msg = worldFailure(`regions:
  - name: mars-1
accounts:
  - id: 111122223333
buckets:
  - name: b1
    owner: "111122223333"
`)
    assert.match(msg, /w\.yaml:2: regions\.0\.name: a region name looks like us-east-1/)
    assert.match(msg, /w\.yaml:4: accounts\.0\.id: .*string/)
    assert.match(msg, /w\.yaml:6: buckets\.0\.region: region is required/)
  })

  test('references that do not resolve: group, managed policy, region, owner, MRAP bucket', () => {
    const msg = worldFailure(
      MINI(
        `  - id: "111122223333"
    users:
      - name: ann
        groups: [admins]
        managedPolicies: [NoSuchPolicy]
`,
        `buckets:
  - name: bkt1
    region: eu-west-1
    owner: "999999999999"
mraps:
  - name: mrap1
    owner: "111122223333"
    buckets: [bkt1, bkt2]
`,
      ),
    )
    assert.match(msg, /w\.yaml:7: accounts\.0\.users\.0\.groups\.0: group admins is not declared in account 111122223333/)
    assert.match(msg, /w\.yaml:8: accounts\.0\.users\.0\.managedPolicies\.0: managed policy NoSuchPolicy is not declared/)
    assert.match(msg, /w\.yaml:11: buckets\.0\.region: region eu-west-1 is not declared/)
    assert.match(msg, /w\.yaml:12: buckets\.0\.owner: account 999999999999 is not declared/)
    assert.match(msg, /w\.yaml:16: mraps\.0\.buckets\.1: bucket bkt2 is not declared/)
  })

  test('policies are checked by the policy engine for where they are attached', () => {
    const msg = worldFailure(
      MINI(`  - id: "111122223333"
    users:
      - name: ann
        policies:
          - name: p
            document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "s3:GetObject" }] }
    roles:
      - name: r
        trustPolicy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "sts:AssumeRole", Resource: "*" }] }
`),
    )
    assert.match(msg, /w\.yaml:9: accounts\.0\.users\.0\.policies\.0\.document: MalformedPolicyDocument: Missing required field Resource/)
    assert.match(msg, /w\.yaml:12: accounts\.0\.roles\.0\.trustPolicy: MalformedPolicyDocument: .*Principal/)
  })

  test('YAML syntax errors give line and column', () => {
    assert.match(worldFailure('regions:\n  - name: us-east-1\n accounts: [\n'), /^w\.yaml:\d+:\d+: /)
  })

  test('the seed world loads; its refused bucket policy is kept in the world', () => {
    const w = loadWorldFile(DEFAULT_WORLD_FILE)
    assert.deepEqual(
      w.accounts.map((a) => a.users.map((u) => u.name)),
      [['admin', 'reader'], ['partner']],
    )
    const b1 = w.buckets.find((b) => b.name === 'DOC-EXAMPLE-BUCKET1')
    assert.ok(b1?.policy, 'the seed keeps the DOC-EXAMPLE-BUCKET1 policy text for lint')
  })
})

describe('applying a world', () => {
  test('the seed: BUCKET1 runs without the policy S3 would refuse; principals have their keys', async () => {
    const s = await startTestServer()
    try {
      assert.equal(s.services.state.getBucket('DOC-EXAMPLE-BUCKET1')?.policy, undefined)
      assert.ok(s.services.state.getBucket('DOC-EXAMPLE-BUCKET2')?.policy)
      for (const [creds, arn] of [
        [ADMIN, 'user/admin'],
        [READER, 'user/reader'],
        [PARTNER, 'user/partner'],
      ] as const) {
        const sts = new STSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 })
        assert.match((await sts.send(new GetCallerIdentityCommand({}))).Arn!, new RegExp(`:${arn}$`))
      }
      assert.equal(s.services.accountBpaMap()['123456789012']?.BlockPublicPolicy, false)
    } finally {
      await s.stop()
    }
  })

  test('twice changes nothing; a changed world is applied; all-or-nothing on a conflict', async () => {
    const s = await startTestServer()
    try {
      const again = await applyWorld(s.services, parseWorld(stringify(testWorld())))
      assert.equal(again.changed, false)
      // A different world: one more user with a key, and a group.
      const text = SEED_TEXT.replace(
        '  - id: "444455556666"',
        `    groups:
      - name: auditors
        policies:
          - name: read
            document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "s3:GetObject", Resource: "*" }] }
  - id: "444455556666"`,
      ).replace(
        '      - name: reader\n',
        `      - name: zoe
        groups: [auditors]
        accessKeys:
          - { id: AKIAZOEZOEZOEEXAMPLE, secret: zoezoezoe/K7MDENG/bPxRfiCYEXAMPLEKEY0 }
      - name: reader
`,
      )
      const changed = await applyWorld(s.services, parseWorld(text))
      assert.equal(changed.changed, true)
      assert.ok(changed.created.includes('user 123456789012/zoe'), changed.created.join(', '))
      assert.ok(changed.created.includes('group 123456789012/auditors'))
      const zoe = s.services.identities.findKey('AKIAZOEZOEZOEEXAMPLE')
      assert.equal(zoe?.principal.arn, 'arn:aws:iam::123456789012:user/zoe')
      assert.equal(zoe?.principal.identityPolicies.length, 1)
      assert.equal((await applyWorld(s.services, parseWorld(text))).changed, false)

      // zoe's key now claimed by another user, plus a new user: nothing at all is applied.
      const conflicting = text
        .replace('      - name: zoe\n', '      - name: yves\n      - name: zed\n')
        .replace('  - name: zed\n        groups: [auditors]', '  - name: zed\n        groups: [auditors]')
      const e = await failure(() => applyWorld(s.services, parseWorld(conflicting, 'conflict.yaml')))
      assert.match(e.message, /conflict\.yaml:\d+: accounts\.0\.users\.\d\.accessKeys\.0\.id: access key AKIAZOEZOEZOEEXAMPLE already belongs to 123456789012\/zoe/)
      assert.equal(s.services.identities.findPrincipal('yves'), undefined)
      assert.equal(s.services.identities.store.users.size, 5)
    } finally {
      await s.stop()
    }
  })
})

describe('identity state on disk', () => {
  test('survives restarts; API changes are not undone by the world; secrets are sealed at rest', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-world-'))
    try {
      let s = await startTestServer({ dataDir })
      const iam = () => new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
      await iam().send(new CreateUserCommand({ UserName: 'persisted' }))
      const k = await iam().send(new CreateAccessKeyCommand({ UserName: 'persisted' }))
      const secret = k.AccessKey!.SecretAccessKey!
      await iam().send(new DeleteAccessKeyCommand({ UserName: 'reader', AccessKeyId: READER.accessKeyId }))
      await s.stop()

      // Nothing secret in the database files, and the key file is owner-only.
      for (const f of ['control.db', 'control.db-wal']) {
        if (!existsSync(join(dataDir, f))) continue
        const bytes = readFileSync(join(dataDir, f))
        assert.equal(bytes.includes(secret), false, `${f} holds a secret in plaintext`)
        assert.equal(bytes.includes(ADMIN.secretAccessKey), false, `${f} holds the admin secret in plaintext`)
        assert.equal(bytes.includes(k.AccessKey!.AccessKeyId!), true, `${f} should hold the key id`)
      }
      assert.equal(statSync(join(dataDir, 'secrets.key')).mode & 0o777, 0o600)

      s = await startTestServer({ dataDir })
      const sts = new STSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: secret }, maxAttempts: 1 })
      assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, 'arn:aws:iam::123456789012:user/persisted')
      assert.equal((await iam().send(new GetUserCommand({ UserName: 'persisted' }))).User?.UserName, 'persisted')
      // The same world at restart changes nothing: reader's deleted key stays deleted.
      assert.equal(s.services.identities.findKey(READER.accessKeyId), undefined)

      // Export → a world that `mrap serve --world` accepts and that recreates the state.
      const exported = exportWorldYaml(s.services, { includeSecrets: true })
      const w = parseWorld(exported, 'export.yaml')
      const acct = w.accounts.find((a) => a.id === '123456789012')!
      assert.deepEqual(
        acct.users.find((u) => u.name === 'persisted')?.accessKeys.map((x) => x.id),
        [k.AccessKey!.AccessKeyId!],
      )
      assert.equal(
        (parseYaml(exportWorldYaml(s.services)) as { accounts: { users: { accessKeys?: unknown }[] }[] }).accounts.every((a) => a.users.every((u) => u.accessKeys === undefined)),
        true,
      )
      await s.stop()
      const fresh = await startTestServer({ world: w })
      try {
        const sts2 = new STSClient({
          endpoint: fresh.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: secret },
          maxAttempts: 1,
        })
        assert.equal((await sts2.send(new GetCallerIdentityCommand({}))).Arn, 'arn:aws:iam::123456789012:user/persisted')
        assert.equal(fresh.services.state.getBucket('DOC-EXAMPLE-BUCKET2')?.region, 'eu-west-1')
      } finally {
        await fresh.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

/**
 * `mrap explain`'s matrix has a KMS layer: on a bucket whose default encryption is SSE-KMS, the
 * decision of the bucket's default key for the caller (kms:Decrypt for s3:GetObject,
 * kms:GenerateDataKey for s3:PutObject, with kms:ViaService and the encryption context S3 sends),
 * and the key's state. Explain reads the running server over its admin socket (`mrap explain
 * --data-dir`), and the real requests (JS SDK, through the MRAP or on the bucket) must fail the same.
 *
 * AWS: "Protecting data with server-side encryption with AWS KMS keys (SSE-KMS)"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): downloading needs
 * kms:Decrypt, uploading kms:GenerateDataKey, the encryption context is `aws:s3:arn`;
 * "AWS KMS condition keys" (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html):
 * kms:ViaService `s3.<region>.amazonaws.com`; a disabled key is KMS.DisabledException and one pending
 * deletion KMS.KMSInvalidStateException (docs/decisions/encryption.md §SSE-KMS).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { DisableKeyCommand, ScheduleKeyDeletionCommand, TagResourceCommand } from '@aws-sdk/client-kms'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { adminRequest } from '../../src/admin/client.js'
import { runExplain } from '../../src/cli/explain.js'
import type { ExplainResult } from '../../src/explain/evaluate.js'
import type { AuthzModel } from '../../src/explain/model.js'
import { createKey, ensureSeedMrap, kmsClient, kmsDefaultEncryption, noDecryptThroughS3 } from '../helpers/kms-keys.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, bytesOf, failure, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ALIAS = 'mfzwi23gnjvgw.mrap'
const ARN = mrapArnOf(OWNER, ALIAS)
const BUCKET1 = 'DOC-EXAMPLE-BUCKET1'
const BUCKET2 = 'DOC-EXAMPLE-BUCKET2'
const ROOT = resolve(import.meta.dirname, '..', '..')
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`

let s: TestServer
let denyKey: string

const kms = () => kmsClient(s)
const keyWith = (policy?: object) => createKey(s, 'explain kms', policy)
const defaultEncryption = (bucket: string, keyArn: string, region?: string) => kmsDefaultEncryption(s, bucket, keyArn, region)

/** `mrap explain --data-dir` as the CLI runs it (over the admin socket), JSON and text. */
async function explain(opts: { action?: string; mrap?: string; bucket?: string }): Promise<{ result: ExplainResult; text: string; status: number }> {
  const base = { dataDir: s.dataDir, as: 'admin', action: opts.action ?? 's3:GetObject', key: 'k', ...(opts.mrap ? { mrap: opts.mrap } : { bucket: opts.bucket! }) }
  const json = await runExplain({ ...base, json: true }, false)
  const text = await runExplain(base, false)
  return { result: json.results[0]!, text: text.text, status: json.status }
}

function onlyActive(bucket: string): void {
  const m = s.services.mraps.byAlias(ALIAS)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: r.bucket === bucket ? 100 : 0 })) })
}

before(async () => {
  s = await startTestServer()
  await ensureSeedMrap(s)
  // The account delegates to IAM (admin's AdministratorAccess allows kms:*), and denies admin
  // kms:Decrypt only when S3 in us-east-1 asks for an object of BUCKET1: the keys S3 sends.
  denyKey = (await keyWith(noDecryptThroughS3(ADMIN_ARN, BUCKET1))).arn
  await defaultEncryption(BUCKET1, denyKey)
  // kms:GenerateDataKey is allowed: the object is written under the key, then cannot be read.
  await s.client().send(new PutObjectCommand({ Bucket: BUCKET1, Key: 'k', Body: 'one' }))
  await s.client(ADMIN, 'eu-west-1').send(new PutObjectCommand({ Bucket: BUCKET2, Key: 'k', Body: 'two' }))
})
after(async () => {
  await s.stop()
})

describe('a key policy that denies the caller kms:Decrypt', () => {
  test('through the MRAP: the BUCKET1 route is denied by the KMS layer while identity allows; BUCKET2 is allowed; the server agrees', async () => {
    const { result, text, status } = await explain({ mrap: ALIAS })
    const b1 = result.routes.find((r) => r.bucket === BUCKET1)!
    const b2 = result.routes.find((r) => r.bucket === BUCKET2)!
    assert.equal(status, 1)
    assert.equal(result.allAllowed, false)
    assert.equal(b1.cells.identity.result, 'allow')
    assert.ok(!Object.values(b1.cells).some((c) => c.blocking), 'no S3 layer blocks')
    assert.deepEqual({ result: b1.kms?.result, blocking: b1.kms?.blocking, statement: b1.kms?.statement }, { result: 'deny', blocking: true, statement: 'kms:Decrypt' })
    assert.match(b1.kms!.detail!, new RegExp(`kms:Decrypt on ${denyKey}: an explicit Deny in the key policy`))
    assert.deepEqual([b1.effect, b1.status, b1.code], ['ExplicitDeny', 403, 'AccessDenied'])
    assert.match(b1.why, /refused by the KMS layer \(403 AccessDenied\): User: arn:aws:iam::123456789012:user\/admin is not authorized to perform: kms:Decrypt/)
    assert.equal(b2.effect, 'Allow')
    assert.equal(b2.kms, undefined, 'BUCKET2 has no SSE-KMS default: no KMS call')
    // The text matrix grows a KMS column, and the legend says which key it judged.
    assert.match(text, /BPA\s+KMS\s+RESULT/)
    assert.match(text, /✗ deny kms:Decrypt\s+403 AccessDenied \(explicit deny\)/)
    assert.match(text, /judged on each bucket's default encryption key \(PutBucketEncryption\)/)

    const m = s.services.mraps.byAlias(ALIAS)!
    try {
      for (const route of result.routes) {
        onlyActive(route.bucket)
        const c = proxiedS3Client(s, { creds: ADMIN })
        if (route.effect === 'Allow') {
          assert.equal((await bytesOf(await c.send(new GetObjectCommand({ Bucket: ARN, Key: 'k' })))).toString(), 'two')
          continue
        }
        const e = await failure(() => c.send(new GetObjectCommand({ Bucket: ARN, Key: 'k' })))
        assert.equal(e.$metadata.httpStatusCode, route.status)
        assert.equal(e.name, route.code)
        assert.match(e.message, new RegExp(`kms:Decrypt on resource: ${denyKey}`))
      }
    } finally {
      s.services.mraps.put(m)
    }
  })

  test('s3:PutObject asks for kms:GenerateDataKey, which the key allows: allowed on both routes', async () => {
    const { result } = await explain({ mrap: ALIAS, action: 's3:PutObject' })
    const b1 = result.routes.find((r) => r.bucket === BUCKET1)!
    assert.deepEqual([b1.kms?.result, b1.kms?.statement, b1.kms?.blocking], ['allow', 'kms:GenerateDataKey', false])
    assert.equal(result.allAllowed, true)
  })

  test('the mrap command itself: exit status 1 and the KMS column', async () => {
    const out = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'mrap.mjs'), 'explain', '--data-dir', s.dataDir, '--as', 'admin', '--mrap', ALIAS, '--no-color'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).then(
      () => assert.fail('exit status 0 for a route the KMS layer denies'),
      (e: { code: number; stdout: string }) => e,
    )
    assert.equal(out.code, 1)
    assert.match(out.stdout, /DOC-EXAMPLE-BUCKET1 \(us-east-1\) .*✗ deny kms:Decrypt\s+403 AccessDenied/)
    assert.match(out.stdout, /kms: kms:Decrypt on arn:aws:kms:us-east-1:123456789012:key\//)
  })
})

describe('the key state and a key that allows, on a direct bucket request', () => {
  let bucket: string
  let key: { arn: string; id: string }
  before(async () => {
    bucket = bucketName('explain-kms')
    await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
    key = await keyWith()
    await defaultEncryption(bucket, key.arn)
    await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'kms body' }))
  })

  test('a key that allows: allowed, the KMS cell names kms:Decrypt; the real GET answers 200', async () => {
    const { result, status } = await explain({ bucket })
    const r = result.routes[0]!
    assert.equal(status, 0)
    assert.deepEqual([r.effect, r.kms?.result, r.kms?.statement], ['Allow', 'allow', 'kms:Decrypt'])
    assert.match(r.kms!.detail!, /allowed by the key policy and an identity-based policy/)
    assert.equal((await bytesOf(await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))).toString(), 'kms body')
  })

  test('the key disabled: GetObject and PutObject are KMS.DisabledException in explain and on the server', async () => {
    await kms().send(new DisableKeyCommand({ KeyId: key.id }))
    for (const action of ['s3:GetObject', 's3:PutObject']) {
      const { result, text, status } = await explain({ bucket, action })
      const r = result.routes[0]!
      assert.equal(status, 1)
      assert.deepEqual([r.effect, r.status, r.code, r.kms?.result, r.kms?.statement, r.kms?.blocking], ['KeyUnusable', 400, 'KMS.DisabledException', 'unusable', 'Disabled', true])
      assert.equal(r.cells.identity.result, 'allow')
      assert.match(text, /✗ unusable Disabled\s+400 KMS\.DisabledException/)
    }
    const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))
    assert.deepEqual([get.name, get.$metadata.httpStatusCode], ['KMS.DisabledException', 400])
    const put = await failure(() => s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k2', Body: 'x' })))
    assert.deepEqual([put.name, put.$metadata.httpStatusCode], ['KMS.DisabledException', 400])
  })

  test('the key pending deletion: KMS.KMSInvalidStateException in explain and on the server', async () => {
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }))
    const r = (await explain({ bucket })).result.routes[0]!
    assert.deepEqual([r.effect, r.status, r.code, r.kms?.statement], ['KeyUnusable', 400, 'KMS.KMSInvalidStateException', 'PendingDeletion'])
    const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))
    assert.deepEqual([get.name, get.$metadata.httpStatusCode], ['KMS.KMSInvalidStateException', 400])
  })
})

test("a key policy that reads aws:ResourceTag: explain judges the key's tags as the server does", async () => {
  const bucket = bucketName('explain-kms-tag')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  const key = await keyWith({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/frozen': 'yes' } } },
    ],
  })
  await defaultEncryption(bucket, key.arn)
  await s.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'tagged' }))
  assert.equal((await explain({ bucket })).result.routes[0]!.effect, 'Allow')
  await kms().send(new TagResourceCommand({ KeyId: key.id, Tags: [{ TagKey: 'frozen', TagValue: 'yes' }] }))
  const r = (await explain({ bucket })).result.routes[0]!
  assert.deepEqual([r.effect, r.status, r.kms?.result, r.kms?.statement], ['ExplicitDeny', 403, 'deny', 'kms:Decrypt'])
  const get = await failure(() => s.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))
  assert.deepEqual([get.name, get.$metadata.httpStatusCode], ['AccessDenied', 403])
})

test('the model holds the keys and aliases without their material', async () => {
  const model = (await adminRequest(s.dataDir, { op: 'explain.model' })).model as AuthzModel
  assert.ok(model.kmsKeys?.some((k) => k.arn === denyKey))
  assert.ok(Array.isArray(model.kmsAliases))
  assert.ok(!JSON.stringify(model).includes('"material"'))
})

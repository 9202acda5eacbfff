/**
 * The world file's upstream storage shape and the bucket-name template: S3's bucket naming rules
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html, "General purpose
 * bucket naming rules") must hold for every engine bucket mrap names.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { engineBucketName, templateProblem } from '../../src/storage/upstream/config.js'
import { regionSchema } from '../../src/world/schema.js'

test('templates: {bucket} exactly once, known placeholders, bucket-name characters only', () => {
  assert.equal(templateProblem('mrap-{region}-{bucket}'), undefined)
  assert.equal(templateProblem('{bucket}'), undefined)
  assert.match(templateProblem('mrap-{region}')!, /exactly once/)
  assert.match(templateProblem('{bucket}-{bucket}')!, /exactly once/)
  assert.match(templateProblem('{account}-{bucket}')!, /unknown placeholder \{account\}/)
  assert.match(templateProblem('Mrap_{bucket}')!, /a-z 0-9/)
})

test('engine bucket names are checked against S3 naming rules', () => {
  assert.equal(engineBucketName('mrap-{region}-{bucket}', 'eu-west-1', 'photos'), 'mrap-eu-west-1-photos')
  assert.throws(
    () => engineBucketName('mrap-{region}-{bucket}', 'eu-west-1', 'x'.repeat(60)),
    (e: { code?: string }) => e.code === 'InvalidBucketName',
  )
  assert.throws(
    () => engineBucketName('{bucket}.', 'r', 'abc'),
    (e: { code?: string }) => e.code === 'InvalidBucketName',
  )
})

test('world file: storage is embedded by default; upstream names env vars, never secrets', () => {
  assert.equal(regionSchema.parse({ name: 'us-east-1' }).storage, 'embedded')
  const up = regionSchema.parse({
    name: 'eu-west-1',
    storage: { kind: 's3', endpoint: 'http://rgw.site-a:7480', accessKeyIdEnv: 'SITE_A_KEY', secretAccessKeyEnv: 'SITE_A_SECRET' },
  })
  assert.deepEqual(up.storage, {
    kind: 's3',
    endpoint: 'http://rgw.site-a:7480',
    region: 'us-east-1',
    addressing: 'path',
    accessKeyIdEnv: 'SITE_A_KEY',
    secretAccessKeyEnv: 'SITE_A_SECRET',
    bucketTemplate: 'mrap-{region}-{bucket}',
  })
  const bad = (storage: unknown): boolean => !regionSchema.safeParse({ name: 'eu-west-1', storage }).success
  assert.ok(bad({ kind: 's3', endpoint: 'http://x', accessKeyIdEnv: 'K', secretAccessKeyEnv: 'wJalrXUtnFEMI/K7MDENG' }), 'an inline secret is refused')
  assert.ok(bad({ kind: 's3', endpoint: 'http://x', accessKeyIdEnv: 'K', secretAccessKeyEnv: 'S', bucketTemplate: 'mrap-{region}' }))
  assert.ok(bad({ kind: 's3', endpoint: 'http://x', accessKeyIdEnv: 'K', secretAccessKeyEnv: 'S', secretAccessKey: 'inline' }), 'strict: no unknown keys')
})

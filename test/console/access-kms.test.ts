/**
 * The console's Access matrix shows the KMS column `mrap explain` shows: on a bucket whose default
 * encryption is SSE-KMS, the default key's decision for the caller and its state, as the deciding
 * layer when S3's own layers allowed ("Protecting data with server-side encryption with AWS KMS keys
 * (SSE-KMS)", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html:
 * GetObject needs kms:Decrypt). The matrix is rendered from `explainRequest` over a real server's
 * state (the function the page calls); the browser-level checks of the page are in access.test.ts.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DisableKeyCommand } from '@aws-sdk/client-kms'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { createElement } from 'preact'
import { render } from 'preact-render-to-string'
import { Matrix } from '../../src/console/pages/access-matrix.js'
import { explainRequest } from '../../src/explain/evaluate.js'
import { modelFromServices } from '../../src/explain/from-services.js'
import { createKey, ensureSeedMrap, kmsClient, kmsDefaultEncryption } from '../helpers/kms-keys.js'
import { bucketName, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ALIAS = 'mfzwi23gnjvgw.mrap'
const B1 = 'DOC-EXAMPLE-BUCKET1'

let s: TestServer
const kms = () => kmsClient(s)

async function encryptWith(bucket: string, policy?: object): Promise<string> {
  const k = await createKey(s, 'console kms', policy)
  await kmsDefaultEncryption(s, bucket, k.arn)
  return k.id
}

function row(html: string, bucket: string): string {
  const at = html.indexOf(`data-bucket="${bucket}"`)
  assert.ok(at >= 0, `a row for ${bucket}`)
  return html.slice(at, html.indexOf('</tr>', at))
}

before(async () => {
  s = await startTestServer()
  await ensureSeedMrap(s)
})
after(async () => {
  await s.stop()
})

test('a key policy Deny of kms:Decrypt: the KMS key column decides the BUCKET1 row; BUCKET2 has no KMS part', async () => {
  await encryptWith(B1, {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'NoDecrypt', Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${OWNER}:user/admin` }, Action: 'kms:Decrypt', Resource: '*' },
    ],
  })
  const model = modelFromServices(s.services, 'test')
  const r = explainRequest(model, s.services.policies.catalog, { as: 'admin', action: 's3:GetObject', mrap: ALIAS, key: 'k', timeMs: Date.now() }, { verbose: true })
  const html = render(createElement(Matrix, { result: r, expandDenies: true }))
  assert.match(html, /<th scope="col">KMS key<\/th>/)
  assert.match(row(html, B1), /class="xm-cell xm-deny xm-blocking xm-deciding" data-col="kms" data-result="deny" data-blocking="true" data-statement="kms:Decrypt"/)
  assert.match(row(html, B1), /an explicit Deny in the key policy/)
  assert.match(row(html, B1), /data-effect="ExplicitDeny"/)
  assert.match(row(html, 'DOC-EXAMPLE-BUCKET2'), /data-col="kms" data-result="n\/a"/)
  assert.match(html, /judged on each bucket&#39;s default encryption key|judged on each bucket's default encryption key/)
})

test('a disabled key: "Key disabled", and the result is S3\'s 400 KMS.DisabledException', async () => {
  const bucket = bucketName('console-kms')
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }))
  const keyId = await encryptWith(bucket)
  await kms().send(new DisableKeyCommand({ KeyId: keyId }))
  const model = modelFromServices(s.services, 'test')
  const r = explainRequest(model, s.services.policies.catalog, { as: 'admin', action: 's3:GetObject', bucket, key: 'k', timeMs: Date.now() })
  const html = render(createElement(Matrix, { result: r, expandDenies: true }))
  assert.match(row(html, bucket), /data-col="kms" data-result="unusable" data-blocking="true" data-statement="Disabled">.*Key disabled/)
  assert.match(row(html, bucket), /\(400 KMS\.DisabledException\)/)
})

/**
 * CORS on a bucket: Put/Get/DeleteBucketCors with the JS SDK and the AWS CLI, preflights and
 * actual cross-origin requests as raw requests (a browser's own are in test/e2e/browser-post.test.ts).
 *
 * AWS's behaviour, as docs/aws/cors.md records it: "PutBucketCors"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html: the first matching
 * rule; origin, method, requested headers), "Appendix: OPTIONS object"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html), "Troubleshooting CORS"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors-troubleshooting.html: 403 "CORS is not
 * enabled for this bucket" / "This CORS request is not allowed"), "Testing CORS"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/testing-cors.html: the response headers).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type CORSRule, CreateBucketCommand, DeleteBucketCorsCommand, GetBucketCorsCommand, GetObjectCommand, PutBucketCorsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { rawRequest, send } from '../helpers/raw.js'
import { ADMIN, bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

const ORIGIN = 'https://app.example.com'
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method'
const NOT_ALLOWED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

const RULES: CORSRule[] = [
  {
    ID: 'site',
    AllowedOrigins: ['https://*.example.com'],
    AllowedMethods: ['GET', 'PUT'],
    AllowedHeaders: ['x-amz-*', 'content-type'],
    ExposeHeaders: ['ETag', 'x-amz-version-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['HEAD'] },
]
const SITE = {
  'access-control-allow-origin': ORIGIN,
  'access-control-allow-methods': 'GET, PUT',
  'access-control-expose-headers': 'ETag, x-amz-version-id',
  'access-control-max-age': '600',
  'access-control-allow-credentials': 'true',
  vary: VARY,
}
const EVERYONE = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'HEAD', vary: VARY }

let s: TestServer
let bucket: string
let plain: string

/** Status, the CORS headers and the error code and message (or the body) of a raw answer. */
async function cross(method: string, path: string, headers: Record<string, string>, signed = false): Promise<[number, Record<string, string>, Record<string, string> | string]> {
  const r = await rawRequest(s.endpoint, { method, path, headers, creds: signed ? ADMIN : null })
  const cors: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers)) if ((k.startsWith('access-control-') || k === 'vary') && typeof v === 'string') cors[k] = v
  if (!r.body.startsWith('<?xml')) return [r.status, cors, r.body]
  const field = (n: string) => r.body.match(new RegExp(`<${n}>([^<]*)</${n}>`))?.[1]
  const err: Record<string, string> = {}
  for (const n of ['Code', 'Message', 'Method', 'ResourceType']) {
    const v = field(n)
    if (v !== undefined) err[n] = v.replace(/&apos;/g, "'")
  }
  return [r.status, cors, err]
}
const forbidden = (Message: string, Method: string, ResourceType: string) => [403, {}, { Code: 'AccessForbidden', Message, Method, ResourceType }]
const bad = (Message: string) => [400, {}, { Code: 'BadRequest', Message }]

before(async () => {
  s = await startTestServer()
  bucket = bucketName('cors')
  plain = bucketName('nocors')
  const c = s.client()
  await c.send(new CreateBucketCommand({ Bucket: bucket }))
  await c.send(new CreateBucketCommand({ Bucket: plain }))
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'key', Body: 'data' }))
})
after(async () => {
  await s.stop()
})

describe('CORS configuration', () => {
  test('PutBucketCors, GetBucketCors and DeleteBucketCors with the JS SDK', async () => {
    const c = s.client()
    const missing = await failure(() => c.send(new GetBucketCorsCommand({ Bucket: bucket })))
    assert.equal(missing.name, 'NoSuchCORSConfiguration')
    assert.equal(missing.$metadata.httpStatusCode, 404)
    assert.equal(missing.message, 'The CORS configuration does not exist')
    await c.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }))
    const got = await c.send(new GetBucketCorsCommand({ Bucket: bucket }))
    assert.deepEqual(got.CORSRules, RULES)
    await c.send(new DeleteBucketCorsCommand({ Bucket: bucket }))
    assert.equal((await failure(() => c.send(new GetBucketCorsCommand({ Bucket: bucket })))).name, 'NoSuchCORSConfiguration')
    // Deleting what is not there is 204 too.
    await c.send(new DeleteBucketCorsCommand({ Bucket: bucket }))
  })

  test('S3 refuses what CORSConfiguration does not allow', async () => {
    const c = s.client()
    const put = (CORSRules: CORSRule[]) => failure(() => c.send(new PutBucketCorsCommand({ Bucket: plain, CORSConfiguration: { CORSRules } })))
    const method = await put([{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }])
    assert.equal(method.name, 'InvalidRequest')
    assert.equal(method.message, 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH')
    const two = await put([{ AllowedOrigins: ['*example*.com'], AllowedMethods: ['GET'] }])
    assert.equal(two.name, 'InvalidRequest')
    assert.equal(two.message, 'AllowedOrigin "*example*.com" can not have more than one wildcard.')
    const header = await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['x-*-*'] }])
    assert.equal(header.message, 'AllowedHeader "x-*-*" can not have more than one wildcard.')
    assert.equal((await put([])).name, 'MalformedXML')
    const many = Array.from({ length: 101 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }))
    assert.equal((await put(many)).name, 'MalformedXML')
    await c.send(new PutBucketCorsCommand({ Bucket: plain, CORSConfiguration: { CORSRules: many.slice(0, 100) } }))
    await c.send(new DeleteBucketCorsCommand({ Bucket: plain }))
    const noMethod = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${plain}`,
      query: { cors: '' },
      body: '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>',
    })
    assert.equal(noMethod.status, 400)
    assert.match(noMethod.body, /<Code>MalformedXML<\/Code>/)
  })

  test('the configuration calls are authorized as s3:PutBucketCORS and s3:GetBucketCORS', async () => {
    const anon = await rawRequest(s.endpoint, {
      method: 'PUT',
      path: `/${plain}`,
      query: { cors: '' },
      creds: null,
      body: '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
    })
    assert.equal(anon.status, 403)
    assert.match(anon.body, /<Code>AccessDenied<\/Code>/)
    assert.equal((await rawRequest(s.endpoint, { method: 'GET', path: `/${plain}`, query: { cors: '' }, creds: null })).status, 403)
    assert.equal((await failure(() => s.client().send(new GetBucketCorsCommand({ Bucket: plain })))).name, 'NoSuchCORSConfiguration')
  })

  test('the AWS CLI puts, gets and deletes the configuration', async () => {
    const cli = new CliSandbox('mrap-cors-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', ...args, '--bucket', plain], { env })
      const config = { CORSRules: [{ AllowedOrigins: ['http://localhost:3000'], AllowedMethods: ['POST', 'GET'], AllowedHeaders: ['*'], MaxAgeSeconds: 30 }] }
      const put = await aws('put-bucket-cors', '--cors-configuration', cli.fileArg('cors.json', config))
      assert.equal(put.code, 0, put.stderr)
      const got = await aws('get-bucket-cors')
      assert.equal(got.code, 0, got.stderr)
      assert.deepEqual(cliJson(got.stdout), config)
      assert.equal((await aws('delete-bucket-cors')).code, 0)
      const gone = await aws('get-bucket-cors')
      assert.equal(cliErrorCode(gone), 'NoSuchCORSConfiguration')
    } finally {
      cli.dispose()
    }
  })
})

describe('CORS requests', () => {
  before(async () => {
    await s.client().send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }))
  })

  test('a preflight needs no signature and gets the headers of the first rule that matches', async () => {
    const key = `/${bucket}/key`
    const allowed = { ...SITE, 'access-control-allow-headers': 'content-type, x-amz-meta-name' }
    const cases: [path: string, headers: Record<string, string>, expected: unknown][] = [
      [`/${bucket}`, { origin: ORIGIN, 'access-control-request-method': 'GET' }, [200, SITE, '']],
      [key, { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'Content-Type, X-Amz-Meta-Name' }, [200, allowed, '']],
      [`/${bucket}/no/such/key`, { origin: 'null', 'access-control-request-method': 'HEAD' }, [200, EVERYONE, '']],
      [key, { origin: ORIGIN, 'access-control-request-method': 'DELETE' }, forbidden(NOT_ALLOWED, 'DELETE', 'OBJECT')],
      [`/${bucket}`, { origin: 'https://example.org', 'access-control-request-method': 'GET' }, forbidden(NOT_ALLOWED, 'GET', 'BUCKET')],
      [key, { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }, forbidden(NOT_ALLOWED, 'GET', 'OBJECT')],
      // A scheme, host and port must match: "http://" is not "https://" (AWS re:Post, s3-configure-cors).
      [key, { origin: 'http://app.example.com', 'access-control-request-method': 'GET' }, forbidden(NOT_ALLOWED, 'GET', 'OBJECT')],
      [`/${plain}/key`, { origin: ORIGIN, 'access-control-request-method': 'GET' }, forbidden('CORSResponse: CORS is not enabled for this bucket.', 'GET', 'BUCKET')],
      [`/${plain}`, { origin: ORIGIN }, forbidden('CORSResponse: CORS is not enabled for this bucket.', 'OPTIONS', 'BUCKET')],
      [`/${bucketName('missing')}/key`, { origin: ORIGIN, 'access-control-request-method': 'GET' }, forbidden('CORSResponse: Bucket not found', 'GET', 'BUCKET')],
      [key, { 'access-control-request-method': 'GET' }, bad('Insufficient information. Origin request header needed.')],
      [key, { origin: ORIGIN }, bad('Invalid Access-Control-Request-Method: null')],
      [key, { origin: ORIGIN, 'access-control-request-method': 'PATCH' }, bad('Invalid Access-Control-Request-Method: PATCH')],
    ]
    const results = await Promise.all(cases.map(([path, headers]) => cross('OPTIONS', path, headers)))
    assert.deepEqual(
      results,
      cases.map(([, , expected]) => expected),
    )
  })

  test('an actual request with an Origin gets the CORS headers, errors too; an unmatched one none', async () => {
    const key = `/${bucket}/key`
    const denied = { Code: 'AccessDenied', Message: 'Access Denied' }
    const cases: [method: string, path: string, headers: Record<string, string>, signed: boolean, expected: unknown][] = [
      ['GET', key, { origin: ORIGIN }, true, [200, SITE, 'data']],
      ['GET', key, { origin: 'https://example.org' }, true, [200, {}, 'data']],
      ['GET', key, {}, true, [200, {}, 'data']],
      ['HEAD', key, { origin: 'https://example.org' }, true, [200, EVERYONE, '']],
      ['GET', `/${bucket}/missing-key`, { origin: ORIGIN }, true, [404, SITE, { Code: 'NoSuchKey', Message: 'The specified key does not exist.' }]],
      ['GET', key, { origin: ORIGIN }, false, [403, SITE, denied]],
      ['DELETE', key, { origin: ORIGIN }, false, [403, {}, denied]],
      // S3 matches on Access-Control-Request-Method when an actual request carries it.
      ['DELETE', key, { origin: ORIGIN, 'access-control-request-method': 'GET' }, false, [403, SITE, denied]],
      ['GET', `/${plain}`, { origin: ORIGIN }, false, [403, {}, denied]],
    ]
    const results = []
    for (const [method, path, headers, signed] of cases) results.push(await cross(method, path, headers, signed))
    assert.deepEqual(
      results,
      cases.map(([, , , , expected]) => expected),
    )
  })
})

/**
 * AWS documents no CORS for Multi-Region Access Points: "Multi-Region Access Point operations"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MrapOperations.html) lists no OPTIONS and no
 * bucket configuration call, and an MRAP takes SigV4A-signed requests only, which a preflight never
 * is (docs/aws/cors.md §MRAP). So the bucket's rules are not served through it.
 */
describe('CORS through a Multi-Region Access Point', () => {
  test('a preflight to the MRAP is refused even when its bucket allows every origin; a routed answer carries no CORS headers', async () => {
    const open = bucketName('mrapcors')
    const c = s.client()
    await c.send(new CreateBucketCommand({ Bucket: open }))
    await c.send(
      new PutBucketCorsCommand({
        Bucket: open,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'], AllowedHeaders: ['*'] }] },
      }),
    )
    await c.send(new PutObjectCommand({ Bucket: open, Key: 'k', Body: 'via mrap' }))
    const owner = '123456789012'
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'cors-mrap',
      alias,
      owner,
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket: open, bucketAccountId: owner, region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const host = `${alias}.accesspoint.s3-global.${s.services.world.dnsSuffix}`
    const pre = await send(new URL(s.endpoint), 'OPTIONS', '/k', { host, origin: ORIGIN, 'access-control-request-method': 'GET' })
    assert.equal(pre.status, 403, pre.body)
    assert.match(pre.body, /<Code>AccessForbidden<\/Code>/)
    assert.equal(pre.headers['access-control-allow-origin'], undefined)
    // The same preflight to the bucket itself is allowed: the refusal is the MRAP's.
    assert.equal((await cross('OPTIONS', `/${open}/k`, { origin: ORIGIN, 'access-control-request-method': 'GET' }))[0], 200)

    const mrap = proxiedS3Client(s)
    let seen: Record<string, string> = {}
    mrap.middlewareStack.add(
      (next) => async (args) => {
        ;(args.request as { headers: Record<string, string> }).headers.origin = ORIGIN
        const out = await next(args)
        seen = (out.response as { headers: Record<string, string> }).headers
        return out
      },
      { step: 'finalizeRequest', priority: 'low' },
    )
    const got = await mrap.send(new GetObjectCommand({ Bucket: mrapArnOf(owner, alias), Key: 'k' }))
    assert.equal(await got.Body!.transformToString(), 'via mrap')
    assert.equal(seen['x-mrap-served-region'], 'us-east-1')
    assert.equal(seen['access-control-allow-origin'], undefined)
  })
})

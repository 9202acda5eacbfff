/**
 * Put/GetBucketLogging and server access log delivery, with the JS SDK v3 and the AWS CLI.
 * AWS's behaviour:
 * - PutBucketLogging, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html
 *   ("To set the logging status of a bucket, you must be the bucket owner"; logs go to a bucket in
 *   the same Region; an empty BucketLoggingStatus disables logging; TargetGrants cannot be used on
 *   a BucketOwnerEnforced target) and "Error responses" (InvalidTargetBucketForLogging 400,
 *   CrossLocationLoggingProhibited 403), https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html;
 *   S3's wording for a missing target, "The target bucket for logging does not exist", as a
 *   Terraform run against S3 printed it (pastebin.com/7YNtjPXb).
 * - "Amazon S3 server access log format", https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html,
 *   and the object key format `TargetPrefix YYYY-mm-DD-HH-MM-SS-UniqueString`
 *   ("Enabling Amazon S3 server access logging", https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  CreateBucketCommand,
  GetBucketLoggingCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { mrapArnOf, proxiedS3Client } from '../helpers/mrap.js'
import { ADMIN, bucketName, failure, PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const OWNER_ARN = 'arn:aws:iam::123456789012:user/admin'
const KEY_FORMAT = /^batch\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/

/** Splits a log line into its fields: quoted strings and [time] stay whole. */
function fields(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
}

async function logLines(s: TestServer, target: string, prefix = 'logs/'): Promise<{ keys: string[]; lines: string[] }> {
  const c = s.client()
  const list = await c.send(new ListObjectsV2Command({ Bucket: target, Prefix: prefix }))
  const keys = (list.Contents ?? []).map((o) => o.Key!)
  const lines: string[] = []
  for (const k of keys) lines.push(...(await (await c.send(new GetObjectCommand({ Bucket: target, Key: k }))).Body!.transformToString()).trimEnd().split('\n'))
  return { keys, lines }
}

describe('bucket logging', () => {
  let s: TestServer
  let source: string, target: string
  before(async () => {
    s = await startTestServer({ world: testWorld() })
    source = bucketName('logsrc')
    target = bucketName('logdst')
    await s.client().send(new CreateBucketCommand({ Bucket: source }))
    await s.client().send(new CreateBucketCommand({ Bucket: target }))
  })
  after(async () => {
    await s.stop()
  })

  test('PutBucketLogging is recorded and GetBucketLogging shows it; an empty status turns it off', async () => {
    const c = s.client()
    assert.deepEqual((await c.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined)
    await c.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'logs/' } } }))
    const got = await c.send(new GetBucketLoggingCommand({ Bucket: source }))
    assert.deepEqual(got.LoggingEnabled, { TargetBucket: target, TargetPrefix: 'logs/' })
    await c.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: {} }))
    assert.equal((await c.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined)
  })

  test("refusals: a missing target, another account's, another Region's, ACL grants, a caller who is not the owner", async () => {
    const c = s.client()
    const put = (TargetBucket: string, extra: Record<string, unknown> = {}) =>
      failure(() => c.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket, TargetPrefix: 'x/', ...extra } } })))
    const missing = await put(bucketName('nowhere'))
    assert.equal(missing.name, 'InvalidTargetBucketForLogging')
    assert.equal(missing.$metadata.httpStatusCode, 400)
    assert.equal(missing.message, 'The target bucket for logging does not exist')
    const theirs = bucketName('partner-logs')
    await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: theirs }))
    const other = await put(theirs)
    assert.equal(other.name, 'InvalidTargetBucketForLogging')
    assert.equal(other.$metadata.httpStatusCode, 400)
    const west = bucketName('west-logs')
    await s.client(undefined, 'eu-west-1').send(new CreateBucketCommand({ Bucket: west, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))
    const far = await put(west)
    assert.equal(far.name, 'CrossLocationLoggingProhibited')
    assert.equal(far.$metadata.httpStatusCode, 403)
    const grants = await put(target, { TargetGrants: [{ Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' }] })
    assert.equal(grants.name, 'AccessControlListNotSupported')
    // A bucket policy granting another account s3:PutBucketLogging does not make it the owner.
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: source,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 's3:PutBucketLogging', Resource: `arn:aws:s3:::${source}` }],
        }),
      }),
    )
    const notOwner = await failure(() =>
      s.client(PARTNER_ADMIN).send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: theirs, TargetPrefix: 'x/' } } })),
    )
    assert.equal(notOwner.name, 'AccessDenied')
    assert.equal((await c.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined)
  })

  test('requests to a logging bucket become records in S3 log format, one object per batch', async () => {
    const c = s.client()
    const src = bucketName('logsrc2')
    await c.send(new CreateBucketCommand({ Bucket: src }))
    await c.send(new PutBucketLoggingCommand({ Bucket: src, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'batch/' } } }))
    await c.send(new PutObjectCommand({ Bucket: src, Key: 'dir/a b.txt', Body: 'hello' }))
    await c.send(new GetObjectCommand({ Bucket: src, Key: 'dir/a b.txt' }))
    await failure(() => c.send(new GetObjectCommand({ Bucket: src, Key: 'missing' })))
    // Another bucket's requests are not in this bucket's log.
    await c.send(new PutObjectCommand({ Bucket: source, Key: 'not-logged', Body: 'x' }))
    await s.app.accessLog.flush()
    const { keys, lines } = await logLines(s, target, 'batch/')
    assert.equal(keys.length, 1)
    assert.match(keys[0]!, KEY_FORMAT)
    const records = lines.map(fields).filter((f) => f[1] === src)
    assert.equal(records.length, lines.length, 'every record names the logged bucket')
    const put = records.find((f) => f[6] === 'REST.PUT.OBJECT')!
    assert.ok(put, lines.join('\n'))
    // Bucket Owner, Bucket, Time, Remote IP, Requester, Request ID, Operation, Key, Request-URI, HTTP status, Error Code, Bytes Sent ...
    assert.match(put[0]!, /^[0-9a-f]{64}$/)
    assert.match(put[2]!, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/)
    assert.equal(put[4], OWNER_ARN)
    assert.equal(put[7], 'dir/a%20b.txt')
    assert.match(put[8]!, new RegExp(`^PUT /${src}/dir/a%20b.txt(\\?\\S*)? HTTP/1.1$`))
    assert.equal(put[9], '200')
    assert.equal(put[10], '-')
    assert.equal(put.length, 26, `26 fields: ${put.join(' | ')}`)
    const get = records.find((f) => f[6] === 'REST.GET.OBJECT' && f[7] === 'dir/a%20b.txt')!
    assert.equal(get[11], '5', 'bytes sent')
    const miss = records.find((f) => f[7] === 'missing')!
    assert.deepEqual([miss[9], miss[10]], ['404', 'NoSuchKey'])
    assert.ok(
      records.some((f) => f[6] === 'REST.PUT.LOGGING_STATUS'),
      'the PutBucketLogging that turned it on',
    )
    // Nothing new: the next flush writes no object.
    await s.app.accessLog.flush()
    assert.equal((await logLines(s, target, 'batch/')).keys.length, 1)
  })

  test('a request through an MRAP is logged by the bucket that served it, with the MRAP in the Access Point ARN field', async () => {
    const c = s.client()
    const east = bucketName('mraplog')
    await c.send(new CreateBucketCommand({ Bucket: east }))
    await c.send(new PutBucketLoggingCommand({ Bucket: east, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'mrap/' } } }))
    const alias = s.services.mraps.newAlias()
    s.services.mraps.put({
      name: 'log-mrap',
      alias,
      owner: '123456789012',
      createdAt: new Date().toISOString(),
      status: 'READY',
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      regions: [{ bucket: east, bucketAccountId: '123456789012', region: 'us-east-1', trafficDialPercentage: 100 }],
    })
    const arn = mrapArnOf('123456789012', alias)
    await proxiedS3Client(s).send(new PutObjectCommand({ Bucket: arn, Key: 'via-mrap', Body: 'x' }))
    await s.app.accessLog.flush()
    const { lines } = await logLines(s, target, 'mrap/')
    const rec = lines.map(fields).find((f) => f[7] === 'via-mrap')
    assert.ok(rec, lines.join('\n'))
    assert.equal(rec[1], east)
    assert.equal(rec[6], 'REST.PUT.OBJECT')
    assert.equal(rec[24], arn)
  })

  test('the AWS CLI: put-bucket-logging, get-bucket-logging, and its refusal of a missing target', async () => {
    const cli = new CliSandbox('mrap-logging-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', ...args, '--bucket', source], { env })
      const put = await aws('put-bucket-logging', '--bucket-logging-status', cli.fileArg('logging.json', { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'cli/' } }))
      assert.equal(put.code, 0, put.stderr)
      const got = await aws('get-bucket-logging')
      assert.deepEqual(cliJson(got.stdout), { LoggingEnabled: { TargetBucket: target, TargetPrefix: 'cli/' } })
      const bad = await aws(
        'put-bucket-logging',
        '--bucket-logging-status',
        cli.fileArg('bad.json', { LoggingEnabled: { TargetBucket: bucketName('absent'), TargetPrefix: 'cli/' } }),
      )
      assert.equal(cliErrorCode(bad), 'InvalidTargetBucketForLogging')
      assert.equal((await aws('put-bucket-logging', '--bucket-logging-status', '{}')).code, 0)
    } finally {
      cli.dispose()
    }
  })
})

describe('bucket logging across a restart', () => {
  test('records pending at shutdown are delivered before the server stops', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mrap-logging-'))
    try {
      const src = bucketName('rsrc')
      const dst = bucketName('rdst')
      const first = await startTestServer({ dataDir })
      await first.client().send(new CreateBucketCommand({ Bucket: src }))
      await first.client().send(new CreateBucketCommand({ Bucket: dst }))
      await first.client().send(new PutBucketLoggingCommand({ Bucket: src, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: dst, TargetPrefix: 'logs/' } } }))
      await first.client().send(new PutObjectCommand({ Bucket: src, Key: 'before-stop', Body: 'x' }))
      await first.stop()
      const second = await startTestServer({ dataDir })
      try {
        const { keys, lines } = await logLines(second, dst)
        assert.equal(keys.length, 1)
        assert.ok(
          lines.some((l) => fields(l)[7] === 'before-stop'),
          lines.join('\n'),
        )
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('bucket logging on the server clock', () => {
  test("a record's time is the server's clock (which also names the log objects), not the host's", async () => {
    // Seven minutes behind the host: inside SigV4's 15-minute skew, far from the host's time.
    const behind = 7 * 60_000
    const s = await startTestServer({ clock: () => new Date(Date.now() - behind) })
    try {
      const c = s.client()
      const src = bucketName('csrc')
      const dst = bucketName('cdst')
      await c.send(new CreateBucketCommand({ Bucket: src }))
      await c.send(new CreateBucketCommand({ Bucket: dst }))
      await c.send(new PutBucketLoggingCommand({ Bucket: src, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: dst, TargetPrefix: 'logs/' } } }))
      const t0 = Date.now()
      await c.send(new PutObjectCommand({ Bucket: src, Key: 'on-the-clock', Body: 'x' }))
      await s.app.accessLog.flush()
      const { lines } = await logLines(s, dst)
      const rec = lines.map(fields).find((f) => f[7] === 'on-the-clock')
      assert.ok(rec, lines.join('\n'))
      // [03/Feb/2031:04:05:06 +0000]
      const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000$/.exec(rec[2]!)
      assert.ok(m, rec[2])
      const at = Date.parse(`${m[2]} ${m[1]} ${m[3]} ${m[4]}:${m[5]}:${m[6]} GMT`)
      assert.ok(Math.abs(at - (t0 - behind)) < 60_000, `record time ${rec[2]} should be ~7 minutes before ${new Date(t0).toISOString()}`)
    } finally {
      await s.stop()
    }
  })
})

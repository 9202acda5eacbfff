/**
 * PutBucketLogging's TargetGrants and TargetObjectKeyFormat, with the JS SDK v3 and the AWS CLI.
 * AWS's behaviour:
 * - PutBucketLogging, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html:
 *   "The bucket owner is automatically granted FULL_CONTROL to all logs. You use the Grantee request
 *   element to grant access to other people"; a target that is BucketOwnerEnforced takes no grants,
 *   answered 400 AccessControlListNotSupported "Target grants not allowed for bucket owner enforced
 *   buckets" (S3's words in hashicorp/terraform-provider-aws#31771). TargetGrant's Permission is
 *   FULL_CONTROL | READ | WRITE (https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetGrant.html).
 * - GetBucketLogging, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLogging.html:
 *   TargetGrants and TargetObjectKeyFormat in the answer.
 * - "Log object key format" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html#server-log-keyname-format)
 *   and PartitionedPrefix (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html):
 *   `[DestinationPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/[YYYY]/[MM]/[DD]/[YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString]`,
 *   EventTime (the default) a day of events per object with the time 00-00-00, DeliveryTime the delivery's time.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  type BucketLogsPermission,
  CreateBucketCommand,
  GetBucketAclCommand,
  GetBucketLoggingCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  type Grant,
  ListObjectsV2Command,
  type LoggingEnabled,
  PutBucketLoggingCommand,
  PutObjectCommand,
  type TargetGrant,
} from '@aws-sdk/client-s3'
import { PARTNER_ACCOUNT, SEED_ACCOUNT } from '../helpers/accounts.js'
import { CliSandbox, cliErrorCode, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, bucketName, failure, PARTNER_ADMIN, startTestServer, type TestServer, testWorld } from '../helpers/server.js'

const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery'
const PARTNER_EMAIL = 'partner-root@example.com'
const HEX16 = '[0-9A-F]{16}'

const shape = (grants: Grant[] | TargetGrant[] | undefined) => (grants ?? []).map((g) => `${g.Grantee?.Type}:${g.Grantee?.URI ?? g.Grantee?.ID}:${g.Permission}`).sort()
const two = (n: number) => String(n).padStart(2, '0')
const ymd = (d: Date) => [d.getUTCFullYear(), two(d.getUTCMonth() + 1), two(d.getUTCDate())]

describe('bucket logging: TargetGrants and TargetObjectKeyFormat', () => {
  let s: TestServer
  let me: string
  let partner: string
  before(async () => {
    const world = testWorld()
    world.accounts.find((a) => a.id === PARTNER_ACCOUNT)!.email = PARTNER_EMAIL
    s = await startTestServer({ world })
    const mine = bucketName('lo-ids')
    await s.client().send(new CreateBucketCommand({ Bucket: mine }))
    me = (await s.client().send(new GetBucketAclCommand({ Bucket: mine }))).Owner!.ID!
    const theirs = bucketName('lo-ids-p')
    await s.client(PARTNER_ADMIN).send(new CreateBucketCommand({ Bucket: theirs }))
    partner = (await s.client(PARTNER_ADMIN).send(new GetBucketAclCommand({ Bucket: theirs }))).Owner!.ID!
  })
  after(async () => {
    await s.stop()
  })

  async function buckets(name: string, ownership?: 'ObjectWriter' | 'BucketOwnerPreferred'): Promise<{ source: string; target: string }> {
    const source = bucketName(`${name}-s`)
    const target = bucketName(`${name}-t`)
    await s.client().send(new CreateBucketCommand({ Bucket: source }))
    await s.client().send(new CreateBucketCommand({ Bucket: target, ...(ownership ? { ObjectOwnership: ownership } : {}) }))
    return { source, target }
  }
  const putLogging = (Bucket: string, LoggingEnabled: LoggingEnabled) => s.client().send(new PutBucketLoggingCommand({ Bucket, BucketLoggingStatus: { LoggingEnabled } }))
  const getLogging = async (Bucket: string) => (await s.client().send(new GetBucketLoggingCommand({ Bucket }))).LoggingEnabled
  const keysUnder = async (Bucket: string, Prefix: string) => ((await s.client().send(new ListObjectsV2Command({ Bucket, Prefix }))).Contents ?? []).map((o) => o.Key!)

  test('TargetGrants on an ObjectWriter target: shown by GetBucketLogging, carried by every log object, and the grantee reads it', async () => {
    const { source, target } = await buckets('lo-grant', 'ObjectWriter')
    const TargetGrants: TargetGrant[] = [
      { Grantee: { Type: 'CanonicalUser', ID: partner }, Permission: 'READ' },
      { Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: PARTNER_EMAIL }, Permission: 'WRITE' },
      { Grantee: { Type: 'Group', URI: LOG_DELIVERY }, Permission: 'FULL_CONTROL' },
    ]
    await putLogging(source, { TargetBucket: target, TargetPrefix: 'g/', TargetGrants })
    const got = await getLogging(source)
    assert.equal(got?.TargetBucket, target)
    assert.equal(got?.TargetPrefix, 'g/')
    // The email grantee is answered as the CanonicalUser it resolved to, as S3 answers ACLs.
    assert.deepEqual(shape(got?.TargetGrants), [`CanonicalUser:${partner}:READ`, `CanonicalUser:${partner}:WRITE`, `Group:${LOG_DELIVERY}:FULL_CONTROL`])
    assert.equal(got?.TargetObjectKeyFormat, undefined)

    await s.client().send(new PutObjectCommand({ Bucket: source, Key: 'logged', Body: 'x' }))
    await s.client().send(new PutObjectCommand({ Bucket: target, Key: 'not-a-log', Body: 'x' }))
    await s.app.accessLog.flush()
    const [key, ...more] = await keysUnder(target, 'g/')
    assert.ok(key, 'a log object was delivered')
    assert.deepEqual(more, [])
    const acl = await s.client().send(new GetObjectAclCommand({ Bucket: target, Key: key }))
    assert.equal(acl.Owner?.ID, me)
    assert.deepEqual(shape(acl.Grants), [
      `CanonicalUser:${me}:FULL_CONTROL`,
      `CanonicalUser:${partner}:READ`,
      `CanonicalUser:${partner}:WRITE`,
      `Group:${LOG_DELIVERY}:FULL_CONTROL`,
    ])
    // The grant is what lets the other account read: the owner's own object next to it stays shut.
    const body = await (await s.client(PARTNER_ADMIN).send(new GetObjectCommand({ Bucket: target, Key: key }))).Body!.transformToString()
    assert.match(body, / REST\.PUT\.OBJECT logged /)
    const shut = await failure(() => s.client(PARTNER_ADMIN).send(new GetObjectCommand({ Bucket: target, Key: 'not-a-log' })))
    assert.equal(shut.name, 'AccessDenied')
  })

  test('TargetGrants refused on a BucketOwnerEnforced target, before any grantee is judged; bad grants refused on an ACL target', async () => {
    const enforced = await buckets('lo-enf')
    const grant = (ID: string, Permission: BucketLogsPermission = 'READ'): TargetGrant[] => [{ Grantee: { Type: 'CanonicalUser', ID }, Permission }]
    for (const TargetGrants of [grant(partner), grant('0'.repeat(64))]) {
      const e = await failure(() => putLogging(enforced.source, { TargetBucket: enforced.target, TargetPrefix: 'x/', TargetGrants }))
      assert.equal(e.name, 'AccessControlListNotSupported')
      assert.equal(e.$metadata.httpStatusCode, 400)
      assert.equal(e.message, 'Target grants not allowed for bucket owner enforced buckets')
    }
    assert.equal(await getLogging(enforced.source), undefined)
    // TargetPrefix is required (the SDK's type says so too); an empty one is fine.
    const noPrefix = await failure(() => putLogging(enforced.source, { TargetBucket: enforced.target } as LoggingEnabled))
    assert.deepEqual([noPrefix.name, noPrefix.$metadata.httpStatusCode], ['MalformedXML', 400])
    assert.equal(await getLogging(enforced.source), undefined)
    // Without grants the same target is fine.
    await putLogging(enforced.source, { TargetBucket: enforced.target, TargetPrefix: 'x/' })
    assert.equal((await getLogging(enforced.source))?.TargetGrants, undefined)

    const open = await buckets('lo-bad', 'BucketOwnerPreferred')
    const refused = async (TargetGrants: TargetGrant[]) => failure(() => putLogging(open.source, { TargetBucket: open.target, TargetPrefix: 'x/', TargetGrants }))
    const unknownId = await refused(grant('0'.repeat(64)))
    assert.deepEqual([unknownId.name, unknownId.$metadata.httpStatusCode], ['InvalidArgument', 400])
    const unknownEmail = await refused([{ Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'nobody@example.com' }, Permission: 'READ' }])
    assert.deepEqual([unknownEmail.name, unknownEmail.$metadata.httpStatusCode], ['UnresolvableGrantByEmailAddress', 400])
    const unknownGroup = await refused([{ Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/Nobody' }, Permission: 'READ' }])
    assert.deepEqual([unknownGroup.name, unknownGroup.$metadata.httpStatusCode], ['InvalidArgument', 400])
    // READ_ACP is an ACL permission, but not one TargetGrant's schema takes.
    const badPermission = await refused(grant(partner, 'READ_ACP' as BucketLogsPermission))
    assert.deepEqual([badPermission.name, badPermission.$metadata.httpStatusCode], ['MalformedXML', 400])
    assert.equal(await getLogging(open.source), undefined)
  })

  test('TargetObjectKeyFormat: SimplePrefix and PartitionedPrefix are kept and shown; other values are MalformedXML', async () => {
    const { source, target } = await buckets('lo-fmt')
    const roundTrip = async (TargetObjectKeyFormat: LoggingEnabled['TargetObjectKeyFormat']) => {
      await putLogging(source, { TargetBucket: target, TargetPrefix: 'f/', TargetObjectKeyFormat })
      return (await getLogging(source))?.TargetObjectKeyFormat
    }
    assert.deepEqual(await roundTrip({ SimplePrefix: {} }), { SimplePrefix: {} })
    assert.deepEqual(await roundTrip({ PartitionedPrefix: { PartitionDateSource: 'DeliveryTime' } }), { PartitionedPrefix: { PartitionDateSource: 'DeliveryTime' } })
    assert.deepEqual(await roundTrip({ PartitionedPrefix: { PartitionDateSource: 'EventTime' } }), { PartitionedPrefix: { PartitionDateSource: 'EventTime' } })
    assert.deepEqual(await roundTrip({ PartitionedPrefix: {} }), { PartitionedPrefix: {} })
    for (const bad of [{ PartitionedPrefix: { PartitionDateSource: 'Yesterday' as 'EventTime' } }, { SimplePrefix: {}, PartitionedPrefix: {} }]) {
      const e = await failure(() => putLogging(source, { TargetBucket: target, TargetPrefix: 'f/', TargetObjectKeyFormat: bad }))
      assert.deepEqual([e.name, e.$metadata.httpStatusCode], ['MalformedXML', 400])
    }
    assert.deepEqual((await getLogging(source))?.TargetObjectKeyFormat, { PartitionedPrefix: {} }, 'a refused request changes nothing')
  })

  test('partitioned keys: account/region/bucket/date, the events day at 00-00-00 (EventTime, the default) or the delivery time (DeliveryTime)', async () => {
    const c = s.client()
    const ev = await buckets('lo-ev')
    const dt = await buckets('lo-dt')
    const df = await buckets('lo-df')
    await putLogging(ev.source, { TargetBucket: ev.target, TargetPrefix: 'ev/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } } })
    await putLogging(dt.source, { TargetBucket: dt.target, TargetPrefix: 'dt/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'DeliveryTime' } } })
    await putLogging(df.source, { TargetBucket: df.target, TargetPrefix: '', TargetObjectKeyFormat: { PartitionedPrefix: {} } })
    const start = new Date()
    for (const b of [ev, dt, df]) await c.send(new PutObjectCommand({ Bucket: b.source, Key: 'obj', Body: 'x' }))
    await s.app.accessLog.flush()
    const end = new Date()
    const days = new Set([ymd(start).join('/'), ymd(end).join('/')])
    const check = async (b: { source: string; target: string }, prefix: string, stamp: RegExp) => {
      const keys = await keysUnder(b.target, '')
      assert.equal(keys.length, 1, keys.join(' '))
      const m = keys[0]!.match(new RegExp(`^${prefix}${SEED_ACCOUNT}/us-east-1/${b.source}/(\\d{4}/\\d{2}/\\d{2})/(\\d{4})-(\\d{2})-(\\d{2})-(\\d{2}-\\d{2}-\\d{2})-${HEX16}$`))
      assert.ok(m, keys[0])
      assert.ok(days.has(m[1]!), `${m[1]} is the day of the test`)
      assert.equal(`${m[2]}/${m[3]}/${m[4]}`, m[1], 'the folder and the file name give the same date')
      assert.match(m[5]!, stamp)
      const body = await (await c.send(new GetObjectCommand({ Bucket: b.target, Key: keys[0]! }))).Body!.transformToString()
      assert.match(body, / REST\.PUT\.OBJECT obj /)
      return `${m[2]}-${m[3]}-${m[4]}T${m[5]!.replace(/-/g, ':')}Z`
    }
    await check(ev, 'ev/', /^00-00-00$/)
    await check(df, '', /^00-00-00$/)
    const delivered = Date.parse(await check(dt, 'dt/', /^\d{2}-\d{2}-\d{2}$/))
    assert.ok(delivered >= Math.floor(start.getTime() / 1000) * 1000 && delivered <= end.getTime(), 'DeliveryTime: the time of the flush')
  })

  test('EventTime: records of two days go to two objects, each under its own day', async () => {
    const { source, target } = await buckets('lo-days')
    await putLogging(source, { TargetBucket: target, TargetPrefix: 'd/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } } })
    // The PutBucketLogging is itself a record of today's: delivered first, out of the way.
    await s.app.accessLog.flush()
    const earlier = new Set(await keysUnder(target, 'd/'))
    const event = (time: string, key: string) => ({
      bucket: source,
      time: new Date(time),
      remoteIp: '192.0.2.1',
      requestId: 'R',
      hostId: 'H',
      method: 'GET',
      resource: 'OBJECT',
      key,
      uri: `/${source}/${key}`,
      httpVersion: '1.1',
      status: 200,
      totalMs: 1,
    })
    s.app.accessLog.record(event('2026-03-09T23:59:59Z', 'late'))
    s.app.accessLog.record(event('2026-03-10T00:00:01Z', 'early'))
    await s.app.accessLog.flush()
    const keys = (await keysUnder(target, 'd/')).filter((k) => !earlier.has(k)).sort()
    assert.equal(keys.length, 2, keys.join(' '))
    const base = `d/${SEED_ACCOUNT}/us-east-1/${source}`
    assert.match(keys[0]!, new RegExp(`^${base}/2026/03/09/2026-03-09-00-00-00-${HEX16}$`))
    assert.match(keys[1]!, new RegExp(`^${base}/2026/03/10/2026-03-10-00-00-00-${HEX16}$`))
    const first = await (await s.client().send(new GetObjectCommand({ Bucket: target, Key: keys[0]! }))).Body!.transformToString()
    assert.match(first, /09\/Mar\/2026:23:59:59/)
    assert.doesNotMatch(first, /10\/Mar\/2026/)
  })

  test('the AWS CLI: put-bucket-logging with TargetGrants, get-bucket-logging shows them; refused on a BucketOwnerEnforced target', async () => {
    const cli = new CliSandbox('mrap-logging-grants-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (bucket: string, ...args: string[]) => runAws(['--endpoint-url', s.endpoint, 's3api', ...args, '--bucket', bucket], { env })
      const open = await buckets('lo-cli', 'ObjectWriter')
      const status = {
        LoggingEnabled: { TargetBucket: open.target, TargetPrefix: 'cli/', TargetGrants: [{ Grantee: { Type: 'CanonicalUser', ID: partner }, Permission: 'READ' }] },
      }
      const put = await aws(open.source, 'put-bucket-logging', '--bucket-logging-status', cli.fileArg('grants.json', status))
      assert.equal(put.code, 0, put.stderr)
      const got = cliJson((await aws(open.source, 'get-bucket-logging')).stdout)
      assert.deepEqual(shape(got.LoggingEnabled?.TargetGrants), [`CanonicalUser:${partner}:READ`])
      const enforced = await buckets('lo-cli-enf')
      status.LoggingEnabled.TargetBucket = enforced.target
      const refused = await aws(enforced.source, 'put-bucket-logging', '--bucket-logging-status', cli.fileArg('refused.json', status))
      assert.equal(cliErrorCode(refused), 'AccessControlListNotSupported')
    } finally {
      cli.dispose()
    }
  })
})

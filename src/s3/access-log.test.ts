/**
 * Log object keys in both of S3's formats ("Log object key format",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html#server-log-keyname-format;
 * PartitionedPrefix, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html):
 * EventTime keys carry the events' day at 00-00-00, DeliveryTime and simple keys the delivery's time.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { logObjectKey } from './access-log.js'

const source = { account: '123456789012', region: 'eu-west-1', bucket: 'src-bucket' }
const delivered = new Date('2026-03-10T00:00:05Z')
const event = new Date('2026-03-09T00:00:00Z')

test('simple format: prefix and the delivery time, with 16 upper-case hex digits', () => {
  assert.match(logObjectKey({ targetPrefix: 'logs/' }, source, delivered), /^logs\/2026-03-10-00-00-05-[0-9A-F]{16}$/)
  assert.match(logObjectKey({ targetPrefix: 'logs/', keyFormat: 'SimplePrefix' }, source, delivered, event), /^logs\/2026-03-10-00-00-05-[0-9A-F]{16}$/)
})

test('partitioned by EventTime (also the default): the day of the events, time 00-00-00', () => {
  const want = /^p\/123456789012\/eu-west-1\/src-bucket\/2026\/03\/09\/2026-03-09-00-00-00-[0-9A-F]{16}$/
  assert.match(logObjectKey({ targetPrefix: 'p/', keyFormat: 'PartitionedPrefix', partitionDateSource: 'EventTime' }, source, delivered, event), want)
  assert.match(logObjectKey({ targetPrefix: 'p/', keyFormat: 'PartitionedPrefix' }, source, delivered, event), want)
})

test('partitioned by DeliveryTime: the delivery time, to the second', () => {
  assert.match(
    logObjectKey({ targetPrefix: '', keyFormat: 'PartitionedPrefix', partitionDateSource: 'DeliveryTime' }, source, delivered, event),
    /^123456789012\/eu-west-1\/src-bucket\/2026\/03\/10\/2026-03-10-00-00-05-[0-9A-F]{16}$/,
  )
})

test('two keys of the same second differ in their unique string', () => {
  const c = { targetPrefix: 'p/', keyFormat: 'PartitionedPrefix' as const }
  assert.notEqual(logObjectKey(c, source, delivered, event), logObjectKey(c, source, delivered, event))
})

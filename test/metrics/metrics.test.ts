/** Prometheus metrics: requests by service, operation and status; region health; MRAPs; replication per rule. */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { proxiedS3Client } from '../helpers/mrap.js'
import { bucketName, failure, startTestServer, type TestServer } from '../helpers/server.js'

describe('metrics', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer()
  })
  after(async () => {
    await s.stop()
  })

  async function scrape(): Promise<string> {
    const res = await fetch(s.metricsUrl!)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    return res.text()
  }

  function value(text: string, series: string): number {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '))
    return line ? Number(line.slice(series.length + 1)) : 0
  }

  test('requests are counted by service, operation and status', async () => {
    const b = bucketName('metrics')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    const before = value(await scrape(), `mrap_requests_total{service="s3",operation="PutObject",status="200"}`)
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }))
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'k2', Body: 'y' }))
    await failure(() => s.client().send(new GetObjectCommand({ Bucket: b, Key: 'missing' })))
    await proxiedS3Client(s)
      .send(new GetObjectCommand({ Bucket: 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap', Key: 'none' }))
      .catch(() => undefined)
    const text = await scrape()
    assert.equal(value(text, `mrap_requests_total{service="s3",operation="PutObject",status="200"}`), before + 2)
    assert.ok(value(text, `mrap_requests_total{service="s3",operation="GetObject",status="404"}`) >= 1)
    assert.ok(value(text, `mrap_requests_total{service="mrap",operation="GetObject",status="404"}`) >= 1)
    assert.match(text, /mrap_request_duration_seconds_bucket\{le="0\.005",service="s3"\} \d+/)
  })

  test("the at-rest cipher's time is counted: sealing on a PUT, opening on a GET", async () => {
    const b = bucketName('metrics-cipher')
    await s.client().send(new CreateBucketCommand({ Bucket: b }))
    const seal = (t: string) => value(t, 'mrap_at_rest_cipher_seconds_total{op="seal"}')
    const open = (t: string) => value(t, 'mrap_at_rest_cipher_seconds_total{op="open"}')
    const t0 = await scrape()
    await s.client().send(new PutObjectCommand({ Bucket: b, Key: 'big', Body: Buffer.alloc(4 * 1024 * 1024, 'c') }))
    const t1 = await scrape()
    assert.ok(seal(t1) > seal(t0), `seal ${seal(t0)} -> ${seal(t1)}`)
    const got = await s.client().send(new GetObjectCommand({ Bucket: b, Key: 'big' }))
    assert.equal((await got.Body!.transformToByteArray()).length, 4 * 1024 * 1024)
    const t2 = await scrape()
    assert.ok(open(t2) > open(t1), `open ${open(t1)} -> ${open(t2)}`)
    assert.equal(seal(t2), seal(t1))
  })

  test('region health and MRAPs are exported', async () => {
    const text = await scrape()
    assert.equal(value(text, 'mrap_region_up{region="us-east-1"}'), 1)
    assert.ok(value(text, 'mrap_multi_region_access_points') >= 1)
    for (const g of ['mrap_replication_pending_operations', 'mrap_replication_pending_bytes', 'mrap_replication_failed_operations', 'mrap_replication_latency_p99_seconds']) {
      assert.match(text, new RegExp(`# TYPE ${g} gauge`))
    }
    s.services.stores.get('eu-west-1')!.setAvailable!(false)
    await s.services.health.probe()
    assert.equal(value(await scrape(), 'mrap_region_up{region="eu-west-1"}'), 0)
    s.services.stores.get('eu-west-1')!.setAvailable!(true)
    await s.services.health.probe()
    assert.equal(value(await scrape(), 'mrap_region_up{region="eu-west-1"}'), 1)
  })

  test('anything but GET /metrics is 404', async () => {
    assert.equal((await fetch(s.metricsUrl!.replace('/metrics', '/'))).status, 404)
  })
})

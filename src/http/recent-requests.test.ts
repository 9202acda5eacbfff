import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type RecentRequest, RecentRequests } from './recent-requests.js'

const req = (n: number): RecentRequest => ({ time: n, requestId: `R${n}`, method: 'GET', host: 'h', path: '/', status: 200, service: 's3', info: {} })

test('recent requests: newest first, the oldest dropped once full', () => {
  const log = new RecentRequests(3)
  assert.deepEqual(log.newestFirst(), [])
  for (let i = 1; i <= 2; i++) log.record(req(i))
  assert.deepEqual(
    log.newestFirst().map((r) => r.requestId),
    ['R2', 'R1'],
  )
  for (let i = 3; i <= 5; i++) log.record(req(i))
  assert.deepEqual(
    log.newestFirst().map((r) => r.requestId),
    ['R5', 'R4', 'R3'],
  )
})

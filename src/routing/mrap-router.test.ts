import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { MrapRoute } from '../mrap/registry.js'
import { LatencyTable } from './latency.js'
import { chooseRoutes } from './mrap-router.js'

const route = (region: string, dial = 100): MrapRoute => ({ bucket: `b-${region}`, bucketAccountId: '123456789012', region, trafficDialPercentage: dial })

test('nearest active healthy region first; passive and down regions are left out', () => {
  const routes = [route('ap-southeast-2'), route('eu-west-1'), route('us-east-1'), route('us-west-2', 0), route('ca-central-1')]
  const got = chooseRoutes({ routes, originRegion: 'us-east-2', isUp: (r) => r !== 'ca-central-1', latency: new LatencyTable() })
  assert.deepEqual(
    got.map((r) => r.region),
    ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  )
})

test('equal round trips break by region name, whatever the order the routes come in', () => {
  const latency = new LatencyTable({ 'us-east-1': { 'eu-west-1': 50, 'eu-central-1': 50, 'eu-north-1': 50 } })
  const routes = [route('eu-west-1'), route('eu-north-1'), route('eu-central-1')]
  fc.assert(
    fc.property(fc.shuffledSubarray(routes, { minLength: 3 }), (shuffled) => {
      const got = chooseRoutes({ routes: shuffled, originRegion: 'us-east-1', isUp: () => true, latency })
      assert.deepEqual(
        got.map((r) => r.region),
        ['eu-central-1', 'eu-north-1', 'eu-west-1'],
      )
    }),
  )
})

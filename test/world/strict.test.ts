/**
 * The world file is strict: every section is declared, and a key the schema does not know is an
 * error that names the file and line, at every depth. A typo that loaded silently used to leave
 * the world without what the author meant (`buckts:` → no buckets; an endpoint's `polcy:` → the
 * default full-access endpoint policy; `intenet: true` → a VPC without internet access).
 * Also: the `latencies` and `control` sections are typed, checked and carried by `mrap world export`.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { modelFromWorld } from '../../src/explain/from-world.js'
import { exportWorldYaml } from '../../src/world/export.js'
import { parseWorld, WorldFileError } from '../../src/world/load.js'
import { startTestServer, testWorld } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)

function refused(text: string, file = 'w.yaml'): string {
  try {
    parseWorld(text, file)
  } catch (e) {
    assert.ok(e instanceof WorldFileError, `expected a WorldFileError, got ${String(e)}`)
    return e.message
  }
  throw new Error('expected the world to be refused')
}

// Line numbers below count from this text's first line.
const BASE = `regions:
  - name: us-east-1
  - name: eu-west-1
accounts:
  - id: "111122223333"
buckets:
  - name: bucket-one
    region: us-east-1
    owner: "111122223333"
`

describe('unknown keys are refused with file:line', () => {
  test('a misspelt top-level section (buckts:)', () => {
    const msg = refused(`regions:
  - name: us-east-1
accounts:
  - id: "111122223333"
buckts:
  - name: bucket-one
    region: us-east-1
    owner: "111122223333"
`)
    assert.match(msg, /^w\.yaml:5: buckts: unknown field "buckts" \(expected one of: [^)]*\bbuckets\b[^)]*\blatencies\b[^)]*\bcontrol\b/)
  })

  test('a misspelt latencies section (latencys:)', () => {
    const msg = refused(`${BASE}latencys:
  us-east-1: { eu-west-1: 5 }
`)
    assert.match(msg, /^w\.yaml:10: latencys: unknown field "latencys"/)
  })

  test('a VPC with intenet: true', () => {
    const msg = refused(`${BASE}vpcs:
  - owner: "111122223333"
    region: us-east-1
    cidr: 10.0.0.0/16
    intenet: true
`)
    assert.match(msg, /^w\.yaml:14: vpcs\.0\.intenet: unknown field "intenet" \(expected one of: [^)]*\binternet\b/)
  })

  test("policy-bearing sections: an endpoint's polcy:, an MRAP's polciy:, an MRAP bucket's acount:", () => {
    const endpoint = refused(`${BASE}vpcs:
  - owner: "111122223333"
    region: us-east-1
    cidr: 10.0.0.0/16
    endpoints:
      - type: Interface
        service: com.amazonaws.s3-global.accesspoint
        polcy: { Version: "2012-10-17", Statement: [{ Effect: Deny, Principal: "*", Action: "*", Resource: "*" }] }
`)
    assert.match(endpoint, /^w\.yaml:17: vpcs\.0\.endpoints\.0\.polcy: unknown field "polcy" \(expected one of: [^)]*\bpolicy\b/)

    const mrap = refused(`${BASE}mraps:
  - name: my-mrap
    owner: "111122223333"
    buckets: [bucket-one]
    polciy: { Version: "2012-10-17", Statement: [] }
`)
    assert.match(mrap, /^w\.yaml:14: mraps\.0\.polciy: unknown field "polciy"/)

    const ref = refused(`${BASE}mraps:
  - name: my-mrap
    owner: "111122223333"
    buckets:
      - { bucket: bucket-one, acount: "111122223333" }
`)
    assert.match(ref, /^w\.yaml:14: mraps\.0\.buckets\.0\.acount: unknown field "acount" \(expected one of: bucket, account\)/)
  })

  test("the control section and a region's storage are strict too", () => {
    assert.match(
      refused(`${BASE}control:
  asyncDelay: 100
`),
      /^w\.yaml:11: control\.asyncDelay: unknown field "asyncDelay" \(expected one of: [^)]*\basyncDelayMs\b/,
    )
    // A union (a number, or a range) reports the branch the value was written as, not "Invalid input".
    const range = refused(`${BASE}control:
  asyncDelayMs: { min: 1, mx: 5 }
`)
    assert.match(range, /^w\.yaml:11: control\.asyncDelayMs\.mx: unknown field "mx" \(expected one of: min, max\)$/m)
    assert.match(range, /^w\.yaml:11: control\.asyncDelayMs\.max: max is required/m)
    assert.match(
      refused(BASE.replace('  - name: eu-west-1\n', '  - name: eu-west-1\n    storage: { kind: embedded, path: /tmp }\n')),
      /^w\.yaml:4: regions\.1\.storage\.path: unknown field "path"/,
    )
  })

  test('latencies name declared regions and hold non-negative milliseconds', () => {
    const msg = refused(`${BASE}latencies:
  us-east-1: { eu-wset-1: 5 }
  ap-south-1: { us-east-1: 9 }
`)
    assert.match(msg, /w\.yaml:11: latencies\.us-east-1\.eu-wset-1: region eu-wset-1 is not declared in regions/)
    assert.match(msg, /w\.yaml:12: latencies\.ap-south-1: region ap-south-1 is not declared in regions/)
    assert.match(
      refused(`${BASE}latencies:
  us-east-1: { eu-west-1: -3 }
`),
      /^w\.yaml:11: latencies\.us-east-1\.eu-west-1: /,
    )
  })
})

describe('the latencies and control sections are typed and used', () => {
  const WORLD = `${BASE}latencies:
  us-east-1: { eu-west-1: 7 }
control:
  maxMrapsPerAccount: 3
  asyncDelayMs: { min: 0, max: 0 }
`
  test('parsed, read by explain, by the server, and carried by world export', async () => {
    const w = parseWorld(WORLD, 'w.yaml')
    assert.deepEqual(w.latencies, { 'us-east-1': { 'eu-west-1': 7 } })
    assert.deepEqual(w.control, { maxMrapsPerAccount: 3, asyncDelayMs: { min: 0, max: 0 } })
    assert.deepEqual(modelFromWorld(w, { source: 'w.yaml' }).latencies, { 'us-east-1': { 'eu-west-1': 7 } })

    const world = testWorld()
    world.latencies = { 'us-east-1': { 'eu-west-1': 7 } }
    world.control = { maxMrapsPerAccount: 3 }
    const s = await startTestServer({ world })
    try {
      assert.equal(s.services.latency.rtt('eu-west-1', 'us-east-1'), 7)
      const again = parseWorld(exportWorldYaml(s.services), 'export.yaml')
      assert.deepEqual(again.latencies, world.latencies)
      assert.deepEqual(again.control, world.control)
    } finally {
      await s.stop()
    }
  })
})

describe('the CLI refuses a world with a typo: file:line, exit 1', { timeout: 240_000 }, () => {
  const bad = `${BASE}vpcs:
  - owner: "111122223333"
    region: us-east-1
    cidr: 10.0.0.0/16
    intenet: true
`
  test('mrap world check and mrap serve --world', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrap-strict-'))
    try {
      const file = join(dir, 'typo.yaml')
      writeFileSync(file, bad)
      for (const args of [
        ['world', 'check', file],
        ['serve', '--world', file, '--data-dir', join(dir, 'data'), '--port', '0', '--tls-port', '0', '--proxy-port', '0'],
      ]) {
        const r = await run(process.execPath, [BIN, ...args], { timeout: 120_000 }).then(
          (ok) => ({ code: 0, stderr: ok.stderr }),
          (e: { code: number; stderr: string }) => e,
        )
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
        assert.ok(r.stderr.includes(`${file}:14: vpcs.0.intenet: unknown field "intenet"`), `${args[0]}: ${r.stderr}`)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

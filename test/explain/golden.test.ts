/**
 * Golden output of `mrap explain` and `mrap lint` on the seed world (examples/seed.yaml), compared
 * exactly. UPDATE_GOLDEN=1 rewrites the files; review the diff by hand: the explain tables must
 * show docs/aws/authorization.md §The seed page (via the seed's VPC endpoint: admin allowed on both buckets; reader and
 * partner 403 on DOC-EXAMPLE-BUCKET1, whose policy grants nothing on objects, allowed on BUCKET2).
 */

import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { runExplain } from '../../src/cli/explain.js'
import { runLintCli } from '../../src/cli/lint.js'

const DIR = new URL('../fixtures/golden/', import.meta.url)
const TIME = '2025-01-01T00:00:00Z'
const SEED = 'examples/seed.yaml'

function golden(name: string, actual: string): void {
  const file = new URL(name, DIR)
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(DIR, { recursive: true })
    writeFileSync(file, actual)
    return
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_GOLDEN=1 regenerates it)`)
}

for (const who of ['admin', 'reader', 'partner']) {
  test(`explain ${who} through the seed VPC endpoint: table and JSON`, async () => {
    const opts = { world: SEED, as: who, action: 's3:GetObject', mrap: 'mfzwi23gnjvgw.mrap', key: 'k', vpc: 'seed-vpc', time: TIME }
    const table = await runExplain(opts, false)
    golden(`explain-${who}-vpc.txt`, table.text)
    const json = await runExplain({ ...opts, json: true }, false)
    golden(`explain-${who}-vpc.json`, json.text)
    // The seed page's table, checked here as well so a regenerated golden file cannot silently change it.
    const routes = Object.fromEntries(json.results[0]!.routes.map((r) => [r.bucket, r.effect]))
    const expected =
      who === 'admin' ? { 'DOC-EXAMPLE-BUCKET1': 'Allow', 'DOC-EXAMPLE-BUCKET2': 'Allow' } : { 'DOC-EXAMPLE-BUCKET1': 'ImplicitDeny', 'DOC-EXAMPLE-BUCKET2': 'Allow' }
    assert.deepEqual(routes, expected)
    assert.equal(table.status, who === 'admin' ? 0 : 1)
  })
}

test('explain every principal from the internet (no --as): table', async () => {
  const out = await runExplain({ world: SEED, action: 's3:GetObject', mrap: 'seed-mrap', key: 'k', time: TIME }, false)
  golden('explain-all-internet.txt', out.text)
  assert.equal(out.results.length, 3)
  assert.equal(out.status, 1)
})

test('explain --verbose prints every statement and condition key', async () => {
  const out = await runExplain({ world: SEED, as: 'partner', action: 's3:GetObject', mrap: 'seed-mrap', key: 'k', vpc: 'vpc-0seed0000000000001', time: TIME, verbose: true }, false)
  golden('explain-partner-vpc-verbose.txt', out.text)
  assert.match(out.text, /aws:sourcevpce = vpce-0seed00000000000a1/)
  assert.match(out.text, /statement Open-read-MRAP-policy \[0\] Allow: applies/)
})

test('lint on the seed world: text and JSON', async () => {
  const text = await runLintCli({ world: SEED }, false)
  golden('lint-seed.txt', text.text)
  const json = await runLintCli({ world: SEED, format: 'json' }, false)
  golden('lint-seed.json', json.text)
  assert.equal(text.status, 1, 'error-level findings make the exit status non-zero')
})

/**
 * The wiring's promises (docs/ARCHITECTURE.md "Wiring"): the import graph of src/ has no cycle, and a
 * core cannot be built without the checks and hooks features rely on. The second is a compile-time
 * promise: `npm test` typechecks this file, and each `@ts-expect-error` below fails the typecheck the
 * day the type starts accepting what it marks.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { type Core, NO_REPLICATION, type PolicyChecks } from '../../src/core/core.js'
import type { HandlerTable } from '../../src/http/handler.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const CHECK = join(ROOT, 'scripts', 'import-cycles.mjs')

test('src/ has no import cycle (type-only imports included)', () => {
  const r = spawnSync(process.execPath, [CHECK], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /import cycles: none/)
})

test('the cycle check finds a cycle, type-only imports too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrap-cycle-'))
  try {
    writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.js'\nexport interface A { b?: B }\n")
    writeFileSync(join(dir, 'b.ts'), "import type { A } from './a.js'\nexport interface B { a?: A }\n")
    writeFileSync(join(dir, 'c.ts'), 'export const c = 1\n')
    const r = spawnSync(process.execPath, [CHECK, dir], { encoding: 'utf8' })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /import cycle of 2 modules/)
    assert.doesNotMatch(r.stderr, /c\.ts/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a core without its policy checks, or a handler table without a service, does not compile', () => {
  const checks: PolicyChecks = { bucketPolicyProblem: () => undefined, isPublic: () => true, accountBpa: () => undefined }
  // @ts-expect-error: isPublic is required; BlockPublicPolicy can never be skipped for want of it.
  const partial: PolicyChecks = { bucketPolicyProblem: () => undefined, accountBpa: () => undefined }
  // @ts-expect-error: `checks` is required on the core, as are the replication hooks.
  const noChecks: Pick<Core, 'checks' | 'replication'> = { replication: NO_REPLICATION }
  // @ts-expect-error: every service beside S3's data plane has a handler.
  const noEc2: HandlerTable = { mrap: undefined as never, control: undefined as never, iam: undefined as never, sts: undefined as never }
  assert.ok(checks && partial && noChecks && noEc2 !== null)
})

test('without replication running, a replication configuration is refused, not stored unhonoured', () => {
  const e = NO_REPLICATION.validate(undefined as never, {})
  assert.equal(e?.code, 'NotImplemented')
  assert.equal(e?.status, 501)
})

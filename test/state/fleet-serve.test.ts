/**
 * `mrap serve --sealing-key-file` end to end: the key file seals the secrets instead of the data
 * dir's `secrets.key`, a restart with another key is refused before anything is unsealed, and the
 * command refuses a loose key file given by flag or by MRAP_SEALING_KEY_FILE with exit 1.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { pino } from 'pino'
import { StartupError } from '../../src/app/compose.js'
import { writeSealingKeyFile } from '../../src/iam/secret-box.js'
import { startServer } from '../../src/main.js'
import { ADMIN, testWorld } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/mrap.mjs', import.meta.url))
const run = promisify(execFile)
const dirs: string[] = []
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'mrap-seal-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const start = (dataDir: string, sealingKeyFile: string) =>
  startServer({
    dataDir,
    sealingKeyFile,
    port: 0,
    tlsPort: 0,
    proxyPort: 0,
    logger: pino({ level: 'silent' }),
    world: testWorld(),
  })

describe('mrap serve --sealing-key-file', { timeout: 120_000 }, () => {
  it('seals with the key file; a restart with another key refuses to start', async () => {
    const keys = scratch(),
      dataDir = join(scratch(), 'data')
    const k1 = join(keys, 'k1'),
      k2 = join(keys, 'k2')
    writeSealingKeyFile(k1)
    writeSealingKeyFile(k2)
    let s = await start(dataDir, k1)
    try {
      const out = await new S3Client({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, forcePathStyle: true, maxAttempts: 1 }).send(new ListBucketsCommand({}))
      assert.ok((out.Buckets ?? []).length > 0)
      assert.equal(existsSync(join(dataDir, 'secrets.key')), false, 'the data dir makes no key of its own')
    } finally {
      await s.close()
    }
    await assert.rejects(
      start(dataDir, k2),
      (e: Error) => e instanceof StartupError && e.message.includes(`the sealing key (${k2}) differs from the one the stored secrets were sealed with`),
    )
    s = await start(dataDir, k1)
    await s.close()
  })

  it('mrap keygen writes a key file (64 hex digits, 0600) once, never over an existing one', async () => {
    const f = join(scratch(), 'fleet.key')
    const made = await run(process.execPath, [BIN, 'keygen', f])
    assert.match(made.stderr, /wrote .*fleet\.key \(mode 0600\)/)
    assert.equal(statSync(f).mode & 0o777, 0o600)
    const first = readFileSync(f, 'utf8')
    assert.match(first, /^[0-9a-f]{64}\n$/)
    const again = await run(process.execPath, [BIN, 'keygen', f]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    )
    assert.equal(again.code, 1)
    assert.match(again.stderr, /exists; a sealing key is never overwritten/)
    assert.equal(readFileSync(f, 'utf8'), first)
  })

  it('the command refuses a key file open to others, by flag or by environment', async () => {
    const keys = scratch(),
      dataDir = join(scratch(), 'data')
    const k = join(keys, 'k')
    writeSealingKeyFile(k)
    chmodSync(k, 0o644)
    const args = [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--tls-port', '0', '--proxy-port', '0']
    for (const [extra, env] of [
      [['--sealing-key-file', k], {}],
      [[], { MRAP_SEALING_KEY_FILE: k }],
    ] as const) {
      const r = await run(process.execPath, [...args, ...extra], { timeout: 60_000, env: { ...process.env, ...env } }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      )
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`^mrap: sealing key file ${k} is open to other users \\(mode 644\\); \`chmod 600 ${k}\``, 'm'))
    }
  })
})

/**
 * The access log line of a refused request names the error, and for a feature mrap does not
 * implement (501 NotImplemented) what was refused: the subresource or the header, so an operator can
 * see what clients ask for.
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { pino } from 'pino'
import { startServer } from '../../src/main.js'
import { rawRequest } from '../helpers/raw.js'
import { testWorld } from '../helpers/server.js'

test('a 501 access-log line names the refused subresource and the error code', async () => {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  const dataDir = mkdtempSync(join(tmpdir(), 'mrap-log-'))
  const s = await startServer({ dataDir, port: 0, tlsPort: 0, proxyPort: 0, logger: pino({ level: 'info' }, sink), world: testWorld() })
  try {
    // Static website hosting is not served (CORS was the example until mrap served it).
    await rawRequest(s.endpoint, { method: 'PUT', path: '/DOC-EXAMPLE-BUCKET1', query: { website: '' }, body: '<WebsiteConfiguration/>' })
    const line = lines.find((l) => l.msg === 'request' && l.status === 501)
    assert.ok(line, 'no access-log line with status 501')
    assert.equal(line.error, 'NotImplemented')
    assert.match(String(line.refused), /website/)
  } finally {
    await s.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

/** The state contract on the embedded store (ControlStore behind the seam). */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { SqliteStateStore } from '../../src/state/sqlite-state.js'
import { runStateContract } from './contract.js'

const dir = mkdtempSync(join(tmpdir(), 'mrap-state-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

runStateContract('sqlite', async () => SqliteStateStore.open(dir))

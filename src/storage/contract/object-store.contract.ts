/**
 * @module The behavioural contract every ObjectStore backend must meet. A backend's test file
 * calls `runObjectStoreContract('embedded', () => new EmbeddedObjectStore(...))`; the suite opens
 * the store, runs every case on it (cases use their own buckets), and closes it.
 */
import { after, before, describe } from 'node:test'
import type { ObjectStore } from '../types.js'
import { conditionalCases } from './conditional-cases.js'
import type { MakeStore } from './helpers.js'
import { listingCases } from './listing-cases.js'
import { multipartCases } from './multipart-cases.js'
import { objectCases } from './objects-cases.js'
import { versioningCases } from './versioning-cases.js'

export type { MakeStore } from './helpers.js'

export function runObjectStoreContract(name: string, makeStore: MakeStore): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore | undefined
    const ctx = {
      store: (): ObjectStore => {
        if (!store) throw new Error('store not opened')
        return store
      },
    }
    before(async () => {
      store = await makeStore()
      await store.open()
    })
    after(async () => {
      await store?.close()
    })
    describe('objects', () => objectCases(ctx))
    describe('versioning', () => versioningCases(ctx))
    describe('listing', () => listingCases(ctx))
    describe('multipart', () => multipartCases(ctx))
    describe('conditional writes', () => conditionalCases(ctx))
  })
}

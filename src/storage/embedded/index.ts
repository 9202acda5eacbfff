/** @module The embedded object store's public surface. */
export { EmbeddedObjectStore, DEFAULT_INLINE_THRESHOLD, type EmbeddedObjectStoreOptions } from './embedded-object-store.js'

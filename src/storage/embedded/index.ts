/** @module The embedded object store's public surface. */
export { DEFAULT_INLINE_THRESHOLD, EmbeddedObjectStore, type EmbeddedObjectStoreOptions } from './embedded-object-store.js'

/**
 * @module The error a server cannot start with: `mrap serve` prints its message alone (no stack),
 * so the message must say what is wrong and what to do. A leaf so that every module that checks a
 * start-up condition (the sealing key, fleet claims, the world) can throw it without importing the
 * composition root.
 */
export class StartupError extends Error {}

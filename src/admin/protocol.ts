/**
 * @module The admin channel's protocol: one JSON request line, one JSON response line, then the
 * server closes the connection. The channel is a Unix socket `<data-dir>/admin.sock` with mode
 * 0600: whoever can open it is the operator (file permissions are the authorization), which is
 * why it may hand out credentials and accept whole worlds. See docs/decisions/admin-socket-and-exec.md.
 */
export type AdminRequest =
  | { op: 'ping' }
  | { op: 'world.apply'; text: string; file: string }
  | { op: 'world.export'; includeSecrets?: boolean }
  /** A principal's long-term credentials, for `mrap exec --as` (user name or `account/name`). */
  | { op: 'credentials'; principal: string }
  /** The evaluation model of the running state, for `mrap explain` and `mrap lint` (src/explain). */
  | { op: 'explain.model' }
  /** One question's object on the buckets it may be routed to, read as the server reads it before authorizing (src/explain/objects.ts). */
  | { op: 'explain.objects'; key: string; versionId?: string; buckets: string[] }
  /** A recent decision, replayed with its full explanation, for `mrap explain --request-id`. */
  | { op: 'explain.request'; requestId: string }
  /** A one-time sign-in link to the web console for a principal, for `mrap console-url --as`. */
  | { op: 'console.link'; principal: string }

export type AdminResponse = { ok: true; [k: string]: unknown } | { ok: false; error: string }

export const ADMIN_SOCKET = 'admin.sock'
/** Worlds are small; this bounds a misbehaving client. */
export const MAX_ADMIN_REQUEST_BYTES = 16 * 1024 * 1024

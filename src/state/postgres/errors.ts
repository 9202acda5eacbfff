/**
 * @module What a PostgreSQL failure means to a client: when the database cannot be reached (down,
 * restarting, out of connections, a timeout) a state change is refused with 503
 * ServiceUnavailable, which S3 clients retry; anything else is a bug and stays an internal error.
 */
import type pg from 'pg'
import { type ServiceError, s3Error } from '../../shared/errors.js'

/** SQLSTATE classes that mean "not now" (connection exceptions, shutdown, resources). */
const TRANSIENT = [/^08/, /^57P0[1-4]$/, /^53/, /^40001$/, /^40P01$/]

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  // pg's DatabaseError, known by its shape (a value import of pg would load the driver into every
  // node, fleet or not): the server's severity and SQLSTATE.
  const db = err as { severity?: unknown; code?: unknown }
  if (typeof db.severity === 'string' && typeof db.code === 'string') return TRANSIENT.some((re) => re.test(db.code as string))
  // Socket errors (ECONNREFUSED, ECONNRESET, ...), and pg's own words for a lost or slow server.
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true
  return /Connection terminated|timeout|not queryable|Connection ended/i.test(err.message)
}

export function unavailable(err: unknown): ServiceError | unknown {
  if (!isUnavailable(err)) return err
  return s3Error('ServiceUnavailable', { message: 'The control state database is unavailable; retry the request.' })
}

const guarded = new WeakSet<pg.Pool>()

/**
 * pg emits 'error' on a client whose server went away; on an idle pooled client the pool catches
 * it, but a checked-out client between two queries has no listener, and an unheard 'error' event
 * kills the process. The next query on that client fails anyway (and is reported as 503), so the
 * event itself only needs hearing.
 */
export function guardPool(pool: pg.Pool, onError: (err: unknown) => void = () => undefined): void {
  if (guarded.has(pool)) return
  guarded.add(pool)
  pool.on('error', onError)
  pool.on('connect', (client) => {
    client.on('error', onError)
  })
}

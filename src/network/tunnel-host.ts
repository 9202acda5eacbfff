/**
 * @module The Host of a request that came through a forward proxy must be the name the proxy
 * resolved: the CONNECT target of a tunnel, or the host of an absolute-URI request line. The proxy
 * chose the network path (endpoint, internet, refusal) from that name; a request naming another
 * host would take that path to a service the network never let it reach. On AWS the connection
 * goes to the address the tunnel's name resolved to, and TLS (SNI, certificate) binds it to that
 * name. Why the rule is "refuse", not "re-resolve": docs/decisions/vpc-network.md.
 */

import { stripPort } from '../http/target.js'
import { type S3Error, s3Error } from '../shared/errors.js'

/**
 * Undefined when `hostHeader` names `proxiedHost` (case and port aside), else the error to answer.
 * The caller has already compared the two strings: clients send the name as they resolved it, so
 * the common case never gets here.
 */
export function misdirected(hostHeader: string | undefined, proxiedHost: string): S3Error | undefined {
  if (hostHeader !== undefined && stripPort(hostHeader.trim().toLowerCase()) === proxiedHost) return undefined
  // 421 Misdirected Request (RFC 9110 §15.5.20): this connection cannot serve that host; a client
  // may retry on a new connection, which the proxy then resolves from the right name.
  return s3Error('InvalidRequest', {
    status: 421,
    message: `The Host header ${JSON.stringify(hostHeader ?? '')} does not name ${proxiedHost}, the host this connection was opened to through the proxy; open a connection to that host instead.`,
  })
}

/**
 * @module The internet as a network: from it, every AWS name mrap serves resolves to the public
 * front door, and requests carry aws:SourceIp.
 */

import type { Core } from '../core/core.js'
import { servesHost } from '../http/target.js'
import type { ProxyNetwork } from './proxy.js'

export function internetNetwork(s: Core): ProxyNetwork {
  const cfg = () => ({ dnsSuffix: s.world.dnsSuffix, endpointHosts: s.config.endpointHosts })
  return {
    name: 'internet',
    resolve(hostname, port, clientIp) {
      if (!servesHost(hostname, cfg())) {
        return { kind: 'refuse', status: 403, reason: `${hostname} is not a name mrap serves (this proxy never connects outside mrap)` }
      }
      if (port !== 443 && port !== 80) return { kind: 'refuse', status: 403, reason: `only ports 80 and 443 are served, not ${port}` }
      return { kind: 'serve', origin: { sourceIp: clientIp, secure: port === 443 } }
    },
  }
}

/**
 * @module Where a request came from, as the listener that accepted it knows: the internet, or a VPC
 * and the endpoint its DNS resolved the name to. Below every module that reads it (the pipeline, the
 * handlers, authorization, `mrap explain`), so none of them imports another for a type.
 */
import type { CompiledPolicy } from '../policy/index.js'

export interface Origin {
  sourceIp: string
  secure: boolean
  /** Set when the request came through a VPC endpoint. */
  vpc?: { endpointId: string; vpcId: string; sourceIp: string }
  /** The endpoint's policy (a limit on everything that passes through it). */
  endpointPolicy?: CompiledPolicy
  /** The region the request originates from, for MRAP proximity routing (a VPC's region). */
  region?: string
  /** Set by a forward proxy: the host it resolved (CONNECT target, absolute URI); Host must name it. */
  host?: string
}

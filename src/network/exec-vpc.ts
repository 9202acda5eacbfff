/**
 * @module `mrap exec --vpc <vpc-id or Name tag>`: the environment of a process "on an instance in
 * that VPC". The VPC's forward proxy becomes the process's HTTPS_PROXY / HTTP_PROXY, so clients
 * call the real AWS names (no endpoint override: the VPC's DNS and routes decide where each name
 * goes), and mrap's CA is trusted (AWS_CA_BUNDLE for the CLI and botocore, NODE_EXTRA_CA_CERTS for
 * Node, SSL_CERT_FILE / CURL_CA_BUNDLE for OpenSSL tools). The proxy never connects outside mrap,
 * so trusting only mrap's CA loses nothing. Node programs follow the proxy through the preload
 * `mrap exec` puts in NODE_OPTIONS (bin/node-proxy.cjs).
 */
import type { RuntimeInfo } from '../state/runtime-file.js'

export interface VpcProxyRef {
  vpcId: string
  proxy: string
  region: string
  name?: string
}

/** The VPC (by id or Name tag) among the running server's `vpcProxies`. */
export function findVpcProxy(info: RuntimeInfo, ref: string): VpcProxyRef | undefined {
  const all = (info.vpcProxies ?? {}) as Record<string, { proxy: string; region: string; name?: string }>
  const hit = Object.entries(all).find(([id, v]) => id === ref || v.name === ref)
  if (!hit) return undefined
  const [vpcId, v] = hit
  return { vpcId, proxy: v.proxy, region: v.region, ...(v.name !== undefined ? { name: v.name } : {}) }
}

export function knownVpcs(info: RuntimeInfo): string {
  const all = (info.vpcProxies ?? {}) as Record<string, { name?: string }>
  const list = Object.entries(all).map(([id, v]) => (v.name ? `${id} (${v.name})` : id))
  return list.length ? list.join(', ') : 'none'
}

/** `env` for a process inside the VPC (applied on top of the principal's environment). */
export function vpcEnv(env: NodeJS.ProcessEnv, vpc: VpcProxyRef, caPath: string | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env }
  // The real AWS names, resolved by the VPC: no custom endpoint (neither the global one nor a
  // service's, AWS_ENDPOINT_URL_<SERVICE>), nothing bypasses the proxy.
  for (const k of Object.keys(out)) if (k.startsWith('AWS_ENDPOINT_URL')) delete out[k]
  for (const k of ['NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']) delete out[k]
  for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) out[k] = vpc.proxy
  if (caPath) {
    out.AWS_CA_BUNDLE = caPath
    out.NODE_EXTRA_CA_CERTS = caPath
    out.SSL_CERT_FILE = caPath
    out.CURL_CA_BUNDLE = caPath
  }
  out.MRAP_VPC = vpc.vpcId
  out.MRAP_PROXY = vpc.proxy
  return out
}

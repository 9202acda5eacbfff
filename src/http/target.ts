/**
 * @module Stage "resolve target": which service and resource a request names, from its Host header
 * alone (the path is read later by the classifier). AWS host names are recognised under the world's
 * DNS suffix; any other host is a custom endpoint (`--endpoint-url`): path style, or
 * `<bucket>.<endpoint host>` virtual-host style.
 */

export type Target =
  | { kind: 'service'; region?: string }
  | { kind: 'bucket'; bucket: string; region?: string }
  | { kind: 'mrap'; alias: string }
  | { kind: 'control'; accountId: string; region?: string }
  | { kind: 'api'; service: 'iam' | 'sts' | 'ec2' | 'kms'; region?: string }

export interface HostConfig {
  dnsSuffix: string
  /** Host names (no port) that are this server's own custom endpoints, e.g. `localhost`. */
  endpointHosts: string[]
}

const IP_V4 = /^\d{1,3}(\.\d{1,3}){3}$/

export function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const i = host.lastIndexOf(':')
  return i >= 0 ? host.slice(0, i) : host
}

export function resolveTarget(hostHeader: string | undefined, cfg: HostConfig): Target {
  const host = stripPort((hostHeader ?? '').trim().toLowerCase())
  if (!host || IP_V4.test(host) || host.startsWith('[')) return { kind: 'service' }
  const suffix = '.' + cfg.dnsSuffix
  if (host.endsWith(suffix)) {
    const aws = resolveAwsHost(host.slice(0, -suffix.length))
    if (aws) return aws
  }
  for (const base of cfg.endpointHosts) {
    if (host === base) return { kind: 'service' }
    if (host.endsWith('.' + base)) {
      const label = host.slice(0, -(base.length + 1))
      if (label.endsWith('.mrap')) return { kind: 'mrap', alias: label }
      return { kind: 'bucket', bucket: label }
    }
  }
  return { kind: 'service' }
}

/** The shape of an AWS Region name (us-east-1, us-gov-west-1, ap-southeast-2). */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/

/**
 * Whether mrap answers for this host name at all (the forward proxies never connect anywhere else):
 * an AWS name of a service mrap serves, in any Region (a region the world lacks gets the service's
 * own answer, docs/decisions/unserved-regions.md), or one of its own endpoint names.
 */
export function servesHost(hostname: string, cfg: HostConfig): boolean {
  const host = hostname.toLowerCase()
  if (cfg.endpointHosts.includes(host) || IP_V4.test(host)) return IP_V4.test(host) ? host.startsWith('127.') : true
  const suffix = '.' + cfg.dnsSuffix
  if (!host.endsWith(suffix)) return false
  const t = resolveAwsHost(host.slice(0, -suffix.length))
  return t !== undefined && (!('region' in t) || t.region === undefined || REGION_NAME.test(t.region))
}

/** `rest` is the host without the DNS suffix, e.g. `mybucket.s3.eu-west-1`. */
function resolveAwsHost(rest: string): Target | undefined {
  const labels = rest.split('.')
  // <alias>.mrap.accesspoint.s3-global: the alias itself holds a dot.
  const ap = rest.match(/^([a-z0-9]+\.mrap)\.accesspoint\.s3-global$/)
  if (ap) return { kind: 'mrap', alias: ap[1]! }
  const n = labels.length
  if (n === 1) {
    if (labels[0] === 'iam') return { kind: 'api', service: 'iam' }
    if (labels[0] === 'sts') return { kind: 'api', service: 'sts', region: 'us-east-1' }
    if (labels[0] === 's3') return { kind: 'service', region: 'us-east-1' }
    const legacy = labels[0]!.match(/^s3-(.+)$/)
    if (legacy) return { kind: 'service', region: legacy[1]! }
    return undefined
  }
  // <service>.<region>
  if (n === 2 && (labels[0] === 'sts' || labels[0] === 'ec2' || labels[0] === 'kms')) return { kind: 'api', service: labels[0], region: labels[1]! }
  if (n === 2 && labels[0] === 's3') return { kind: 'service', region: labels[1]! }
  // <account>.s3-control.<region>
  if (n === 3 && labels[1] === 's3-control' && /^\d{12}$/.test(labels[0]!)) return { kind: 'control', accountId: labels[0]!, region: labels[2]! }
  // s3.dualstack.<region>
  if (n === 3 && labels[0] === 's3' && labels[1] === 'dualstack') return { kind: 'service', region: labels[2]! }
  // <bucket...>.s3.<region> | <bucket...>.s3 | <bucket...>.s3-<region>
  const s3At = labels.lastIndexOf('s3')
  if (s3At > 0 && s3At >= n - 2) {
    const bucket = labels.slice(0, s3At).join('.')
    const region = s3At === n - 2 ? labels[n - 1]! : 'us-east-1'
    return { kind: 'bucket', bucket, region }
  }
  const last = labels[n - 1]!.match(/^s3-([a-z0-9-]+)$/)
  if (last && n >= 2) return { kind: 'bucket', bucket: labels.slice(0, n - 1).join('.'), region: last[1]! }
  return undefined
}

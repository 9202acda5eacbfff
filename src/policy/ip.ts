/**
 * @module IPv4 / IPv6 addresses and CIDR blocks for IpAddress / NotIpAddress.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
 */
import type { Cidr } from './types.js'

/** Parses `a.b.c.d`, an IPv6 address, either with an optional `/prefix`. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const addr = slash === -1 ? text : text.slice(0, slash)
  const bytes = parseIp(addr.trim())
  if (!bytes) return undefined
  const max = bytes.length * 8
  let prefix = max
  if (slash !== -1) {
    const p = text.slice(slash + 1).trim()
    if (!/^\d{1,3}$/.test(p)) return undefined
    prefix = Number(p)
    if (prefix > max) return undefined
  }
  const masked = maskBytes(bytes, prefix)
  return { v6: bytes.length === 16, bytes: masked, prefix }
}

/** Parses an address to 4 or 16 bytes; undefined when malformed. */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.includes(':')) return parseV6(text)
  return parseV4(text)
}

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string
    if (!/^\d{1,3}$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    out[i] = n
  }
  return out
}

function parseV6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  let tail: Uint8Array | undefined
  // Embedded IPv4 in the last 32 bits (e.g. ::ffff:192.0.2.1).
  const lastColon = text.lastIndexOf(':')
  if (text.indexOf('.', lastColon) !== -1) {
    tail = parseV4(text.slice(lastColon + 1))
    if (!tail) return undefined
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const dbl = text.indexOf('::')
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return undefined
  const head =
    dbl === -1
      ? text.split(':')
      : text
          .slice(0, dbl)
          .split(':')
          .filter((x) => x !== '')
  const rest =
    dbl === -1
      ? []
      : text
          .slice(dbl + 2)
          .split(':')
          .filter((x) => x !== '')
  const groups = dbl === -1 ? head : [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest]
  if (groups.length !== 8) return undefined
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    const n = parseInt(g, 16)
    out[i * 2] = n >> 8
    out[i * 2 + 1] = n & 0xff
  }
  if (tail) out.set(tail, 12)
  return out
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8))
    out[i] = (out[i] as number) & ((0xff << (8 - bits)) & 0xff)
  }
  return out
}

/** True when the address lies in the block (an IPv4 address never matches an IPv6 block). */
export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== c.bytes.length) return false
  let bits = c.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((ip[i] as number) & m) !== c.bytes[i]) return false
  }
  return true
}

/** Renders a CIDR back (for explanations). */
export function cidrText(c: Cidr): string {
  if (!c.v6) return `${Array.from(c.bytes).join('.')}/${c.prefix}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((c.bytes[i] as number) << 8) | (c.bytes[i + 1] as number)).toString(16))
  return `${groups.join(':')}/${c.prefix}`
}

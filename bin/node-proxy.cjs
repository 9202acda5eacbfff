// Preloaded by `mrap exec` into the Node programs it runs (NODE_OPTIONS=--require), so that they
// reach the real AWS names through HTTPS_PROXY as botocore, the AWS CLI and curl do. Node's https
// ignores HTTPS_PROXY (NODE_USE_ENV_PROXY reaches only the global agent, and the AWS SDK for
// JavaScript v3 makes its own), and the SDK's answer, a proxy agent in the program ("Configure
// proxies for Node.js", AWS SDK for JavaScript v3 Developer Guide), would be code a developer must
// write for mrap. Without it an MRAP ARN or S3 Control request goes to the real AWS name directly
// (src/cli/exec.ts, docs/decisions/admin-socket-and-exec.md).
//
// Every https.Agent (the SDK's included) opens its sockets by a CONNECT through the proxy; plain
// HTTP (mrap's front door) is untouched, and so are loopback hosts (the TLS front door, which the
// proxy refuses: it tunnels only to the names mrap serves). An agent class with its own createConnection or
// createSocket (https-proxy-agent, hpagent) keeps its own way, and a TLS socket laid over an
// existing one (`socket` given) is left alone, so nothing is tunnelled twice.
'use strict'
const https = require('node:https')
const net = require('node:net')
const tls = require('node:tls')

const proxyUrl = process.env.https_proxy || process.env.HTTPS_PROXY
function loopback(host) {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

if (proxyUrl && !https.Agent.prototype.mrapTunnelled) {
  const proxy = new URL(proxyUrl)
  const direct = https.Agent.prototype.createConnection
  https.Agent.prototype.mrapTunnelled = true
  https.Agent.prototype.createConnection = function createConnection(options, callback) {
    const host = options.host || options.hostname || 'localhost'
    if (options.socket || typeof callback !== 'function' || loopback(host)) return direct.call(this, options, callback)
    const port = Number(options.port) || 443
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`
    const sock = net.connect(Number(proxy.port) || 80, proxy.hostname.replace(/^\[|\]$/g, ''))
    let head = Buffer.alloc(0)
    const fail = (err) => {
      sock.destroy()
      callback(err)
    }
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        if (head.length > 16 * 1024) fail(new Error(`proxy ${proxyUrl}: no answer to CONNECT ${target}`))
        return
      }
      sock.off('data', onData)
      sock.off('error', fail)
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1')
      if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) return fail(new Error(`proxy ${proxyUrl} refused CONNECT ${target}: ${status}`))
      // A proxy does not speak before the tunnel's first bytes: anything after the head is TLS.
      if (head.length > end + 4) sock.unshift(head.subarray(end + 4))
      const tlsSock = tls.connect({ ...options, socket: sock, servername: options.servername ?? (net.isIP(host) ? undefined : host) })
      callback(null, tlsSock)
    }
    sock.on('error', fail)
    sock.on('data', onData)
    sock.once('connect', () => sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`))
    return undefined
  }
}

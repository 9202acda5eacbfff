#!/usr/bin/env node
// The bare Node `http` reference for bench/run.ts: GET /1k answers a fixed 1 KiB body, GET /1m a
// fixed 1 MiB body; PUT (any path) drains the request body and answers 200 with an empty body.
// Usage: node bench/servers/bare-http.mjs [--port N] [--host H]; prints "bare-http ready: <url>" on stderr.
import { createServer } from 'node:http'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : dflt
}
const host = arg('--host', '127.0.0.1')
const port = Number(arg('--port', '0'))

const small = Buffer.alloc(1024, 'a')
const large = Buffer.alloc(1024 * 1024, 'b')

const server = createServer((req, res) => {
  if (req.method === 'PUT') {
    req.on('data', () => {})
    req.on('end', () => {
      res.writeHead(200, { 'content-length': '0' })
      res.end()
    })
    return
  }
  const body = req.url === '/1m' ? large : small
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(port, host, () => {
  const a = server.address()
  process.stderr.write(`bare-http ready: http://${host}:${a.port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

/**
 * @module A pass-through relay between an `mrap exec` command and mrap's forward proxy, so a
 * proxy refusal reaches the user: clients report a refused CONNECT only as "Failed to connect to
 * proxy URL" / "CONNECT tunnel failed, response 403" and drop the proxy's body, which is where mrap
 * says why (`mrap proxy (<network>): <reason>`). The relay copies bytes both ways unchanged and
 * reads only the first response of each connection (a CONNECT's answer, or a plain-HTTP request's):
 * when it is an error whose body is the proxy's own refusal, that line is printed on exec's stderr.
 * After the first response the connection is a plain pipe (inside a tunnel it is TLS anyway).
 * The proxy still sees a loopback client, as it did before, so its verdicts do not change.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

const REFUSAL = Buffer.from('mrap proxy (')
/** A response head larger than this is not the proxy's: stop looking. */
const MAX_HEAD = 16 * 1024

export interface Relay {
  url: string
  close(): void
}

export async function startRelay(upstream: string, report: (line: string) => void): Promise<Relay> {
  const u = new URL(upstream)
  const server = createServer((client) => relay(client, u.hostname, Number(u.port || 80), report))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  server.unref()
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }
}

function relay(client: Socket, host: string, port: number, report: (line: string) => void): void {
  const up = connect(port, host)
  const drop = (): void => {
    client.destroy()
    up.destroy()
  }
  client.on('error', drop)
  up.on('error', drop)
  client.pipe(up)
  let buf = Buffer.alloc(0)
  const handOver = (): void => {
    up.off('data', onData)
    up.off('end', onEnd)
    if (buf.length > 0) client.write(buf)
    buf = Buffer.alloc(0)
    up.pipe(client)
  }
  const refusal = (final: boolean): 'yes' | 'no' | 'wait' => {
    const end = buf.indexOf('\r\n\r\n')
    if (end < 0) return buf.length > MAX_HEAD || final ? 'no' : 'wait'
    if (!/^HTTP\/1\.[01] [45]\d\d /.test(buf.subarray(0, 16).toString('latin1'))) return 'no'
    const body = buf.subarray(end + 4)
    const n = Math.min(body.length, REFUSAL.length)
    if (!body.subarray(0, n).equals(REFUSAL.subarray(0, n))) return 'no'
    if (body.length < REFUSAL.length || body.indexOf('\n') < 0) return final ? (body.length >= REFUSAL.length ? 'yes' : 'no') : 'wait'
    return 'yes'
  }
  const decide = (final: boolean): boolean => {
    const r = refusal(final)
    if (r === 'wait') return false
    if (r === 'yes') {
      const body = buf.subarray(buf.indexOf('\r\n\r\n') + 4).toString('utf8')
      report(body.split('\n')[0]!.trim())
    }
    return true
  }
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk])
    if (decide(false)) handOver()
  }
  const onEnd = (): void => {
    decide(true)
    if (buf.length > 0) client.write(buf)
    client.end()
  }
  up.on('data', onData)
  up.on('end', onEnd)
}

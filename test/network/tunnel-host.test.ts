/**
 * A forward proxy decides the network path from the name it is asked for (CONNECT target, or an
 * absolute URI's host); the Host header of each request must then name that same host, or a
 * tunnel opened to one service would carry calls to another one that the network never let through
 * (issue 12, item 5). On AWS the tunnel's TCP connection goes to the address its name resolved to
 * and TLS binds it to that name (SNI and certificate), so a request cannot change endpoint with its
 * Host. PrivateLink for S3 (Amazon S3 User Guide, "AWS PrivateLink for Amazon S3",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/privatelink-interface-endpoints.html) and
 * MRAPs ("Configuring a Multi-Region Access Point for use with AWS PrivateLink",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointsPrivateLink.html)
 * decide reachability by the name resolved. Every endpoint kind is tried with a smuggled Host over
 * raw sockets: the request is refused with 421 (docs/decisions/vpc-network.md) and an honest request
 * in the same tunnel is served (anonymous, so S3 answers AccessDenied: what matters is who answers).
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { CreateVpcCommand, CreateVpcEndpointCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { codeOf } from '../helpers/raw.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { BUCKET1, ec2Client, ensureSeedMrap, proxyOf, rawConnect, SEED_ALIAS } from './helpers.js'

const MRAP_HOST = `${SEED_ALIAS}.accesspoint.s3-global.amazonaws.com`
const S3_EAST = 's3.us-east-1.amazonaws.com'
const SMUGGLED = {
  sts: 'sts.amazonaws.com',
  iam: 'iam.amazonaws.com',
  otherRegionBucket: 'some-bucket.s3.eu-west-1.amazonaws.com',
  mrap: MRAP_HOST,
  s3East: S3_EAST,
}

interface Reply {
  status: number
  body: string
}

/** One HTTP/1.1 connection written and read by hand, so the Host header is exactly what the test says. */
class Conn {
  private buf = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  private ended = false
  constructor(readonly sock: Duplex) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      this.wake()
    })
    sock.on('end', () => {
      this.ended = true
      this.wake()
    })
    sock.on('close', () => {
      this.ended = true
      this.wake()
    })
    sock.on('error', () => {
      this.ended = true
      this.wake()
    })
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
  private async until(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.ended) throw new Error(`connection ended; got ${JSON.stringify(this.buf.toString('latin1'))}`)
      await new Promise<void>((r) => this.waiters.push(r))
    }
  }
  /** Sends a request; `target` is the request line's target (a path, or an absolute URI for a proxy). */
  async request(host: string | undefined, target = '/', method = 'GET'): Promise<Reply> {
    this.sock.write(`${method} ${target} HTTP/1.1\r\n${host !== undefined ? `Host: ${host}\r\n` : ''}Content-Length: 0\r\n\r\n`)
    await this.until(() => this.buf.includes('\r\n\r\n'))
    const end = this.buf.indexOf('\r\n\r\n')
    const head = this.buf.subarray(0, end).toString('latin1')
    const status = Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1])
    const len = method === 'HEAD' ? 0 : Number(head.match(/\r\ncontent-length: *(\d+)/i)?.[1] ?? 0)
    await this.until(() => this.buf.length >= end + 4 + len)
    const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8')
    this.buf = this.buf.subarray(end + 4 + len)
    return { status, body }
  }
  close(): void {
    this.sock.destroy()
  }
}

/** A CONNECT tunnel through `proxy` to `host:port`; TLS (trusting mrap's CA, SNI = host) on 443. */
function tunnel(s: TestServer, proxy: string, host: string, port: 443 | 80): Promise<Conn> {
  const u = new URL(proxy)
  return new Promise((resolve, reject) => {
    const raw: Socket = connect(Number(u.port), u.hostname, () => raw.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`))
    let got = ''
    const onData = (d: Buffer): void => {
      got += d.toString('latin1')
      if (!got.includes('\r\n\r\n')) return
      raw.off('data', onData)
      if (!/^HTTP\/1\.1 200/.test(got)) {
        raw.destroy()
        reject(new Error(`CONNECT ${host}:${port} refused: ${got}`))
        return
      }
      if (port === 80) {
        resolve(new Conn(raw))
        return
      }
      const t = tlsConnect({ socket: raw, servername: host, ca: readFileSync(s.caPath) }, () => resolve(new Conn(t)))
      t.on('error', reject)
    }
    raw.on('data', onData)
    raw.on('error', reject)
  })
}

/** A plain connection to the proxy itself, for absolute-URI requests. */
function toProxy(proxy: string): Promise<Conn> {
  const u = new URL(proxy)
  return new Promise((resolve, reject) => {
    const raw = connect(Number(u.port), u.hostname, () => resolve(new Conn(raw)))
    raw.on('error', reject)
  })
}

function assertMisdirected(r: Reply, what: string): void {
  assert.equal(r.status, 421, `${what}: ${r.status} ${r.body}`)
  assert.equal(codeOf(r.body), 'InvalidRequest', what)
  assert.match(r.body, /^<\?xml[^>]*>\s*<Error>/, what)
}

describe('the Host inside a proxied connection must be the host the proxy resolved', () => {
  let s: TestServer
  const vpcs: Record<'gateway' | 'interface' | 'internet', string> = { gateway: '', interface: '', internet: '' }

  before(async () => {
    s = await startTestServer()
    ensureSeedMrap(s)
    const ec2 = ec2Client(s)
    const vpc = async (name: string, internet = false): Promise<string> => {
      const id = (
        await ec2.send(
          new CreateVpcCommand({
            CidrBlock: '10.30.0.0/16',
            TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }, ...(internet ? [{ Key: 'mrap:internet', Value: 'true' }] : [])] }],
          }),
        )
      ).Vpc!.VpcId!
      // Private DNS needs DNS hostnames, off in a new VPC.
      await ec2.send(new ModifyVpcAttributeCommand({ VpcId: id, EnableDnsHostnames: { Value: true } }))
      return id
    }
    vpcs.gateway = await vpc('tunnel-gateway')
    vpcs.interface = await vpc('tunnel-interface')
    vpcs.internet = await vpc('tunnel-internet', true)
    await ec2.send(new CreateVpcEndpointCommand({ VpcId: vpcs.gateway, ServiceName: 'com.amazonaws.us-east-1.s3', VpcEndpointType: 'Gateway' }))
    await ec2.send(new CreateVpcEndpointCommand({ VpcId: vpcs.interface, ServiceName: 'com.amazonaws.us-east-1.s3', VpcEndpointType: 'Interface', PrivateDnsEnabled: true }))
    ec2.destroy()
  })
  after(async () => {
    await s.stop()
  })

  test('gateway endpoint (private VPC): a tunnel to regional S3 carries no STS, IAM, other-region or MRAP call', async () => {
    const proxy = await proxyOf(s, vpcs.gateway)
    // The names themselves are refused at CONNECT (a private subnet with only the gateway endpoint)...
    for (const name of [SMUGGLED.sts, SMUGGLED.otherRegionBucket, MRAP_HOST]) assert.equal((await rawConnect(proxy, `${name}:443`)).status, 403, name)
    // ...so they must not ride in a tunnel opened to S3, in TLS or plain.
    for (const port of [443, 80] as const) {
      const c = await tunnel(s, proxy, S3_EAST, port)
      try {
        const honest = await c.request(S3_EAST, `/${BUCKET1}/k`)
        assert.notEqual(honest.status, 421, honest.body)
        assert.equal(codeOf(honest.body), 'AccessDenied') // served by S3 (anonymous, private bucket)
        assertMisdirected(await c.request(SMUGGLED.sts, '/?Action=GetCallerIdentity&Version=2011-06-15'), `sts over ${port}`)
        assertMisdirected(await c.request(SMUGGLED.iam, '/?Action=ListUsers&Version=2010-05-08'), `iam over ${port}`)
        assertMisdirected(await c.request(SMUGGLED.otherRegionBucket, '/k'), `eu-west-1 bucket over ${port}`)
        assertMisdirected(await c.request(MRAP_HOST, '/k'), `MRAP over ${port}`)
        // Case and port do not make a name another one.
        assert.equal(codeOf((await c.request(`S3.US-EAST-1.amazonaws.com:${port}`, `/${BUCKET1}/k`)).body), 'AccessDenied')
        // HTTP/1.1 without Host is node's own 400 (and the end of the connection), never served.
        assert.equal((await c.request(undefined, '/k')).status, 400)
      } finally {
        c.close()
      }
    }
  })

  test('virtual-hosted names: a tunnel to a bucket host carries only that host', async () => {
    const proxy = await proxyOf(s, vpcs.gateway)
    const bucketHost = `some-bucket.${S3_EAST}`
    const c = await tunnel(s, proxy, bucketHost, 443)
    try {
      assert.notEqual((await c.request(bucketHost, '/k')).status, 421)
      assertMisdirected(await c.request(S3_EAST, `/${BUCKET1}/k`), 'path-style host in a bucket-host tunnel')
      assertMisdirected(await c.request(`other-bucket.${S3_EAST}`, '/k'), 'another bucket host')
    } finally {
      c.close()
    }
  })

  test('regional interface endpoint: a tunnel to regional S3 carries no MRAP or STS call', async () => {
    const c = await tunnel(s, await proxyOf(s, vpcs.interface), S3_EAST, 443)
    try {
      assert.equal(codeOf((await c.request(S3_EAST, `/${BUCKET1}/k`)).body), 'AccessDenied')
      assertMisdirected(await c.request(MRAP_HOST, '/k'), 'MRAP')
      assertMisdirected(await c.request(SMUGGLED.sts, '/?Action=GetCallerIdentity&Version=2011-06-15'), 'sts')
    } finally {
      c.close()
    }
  })

  test('s3-global interface endpoint (seed VPC): a tunnel to the MRAP carries only MRAP calls', async () => {
    const c = await tunnel(s, await proxyOf(s, 'seed-vpc'), MRAP_HOST, 443)
    try {
      // Served by the MRAP data plane (which wants SigV4A; anonymous is refused there).
      assert.match((await c.request(MRAP_HOST, '/k')).body, /Multi-Region Access Point requests must be signed/)
      assertMisdirected(await c.request(S3_EAST, `/${BUCKET1}/k`), 'regional S3')
      assertMisdirected(await c.request(SMUGGLED.sts, '/?Action=GetCallerIdentity&Version=2011-06-15'), 'sts')
    } finally {
      c.close()
    }
  })

  test('the internet path (a VPC with an internet gateway, and the internet proxy): same rule', async () => {
    for (const proxy of [await proxyOf(s, vpcs.internet), s.proxy]) {
      const c = await tunnel(s, proxy, S3_EAST, 443)
      try {
        assert.equal(codeOf((await c.request(S3_EAST, `/${BUCKET1}/k`)).body), 'AccessDenied')
        assertMisdirected(await c.request(MRAP_HOST, '/k'), `MRAP via ${proxy}`)
        assertMisdirected(await c.request(SMUGGLED.iam, '/?Action=ListUsers&Version=2010-05-08'), `iam via ${proxy}`)
      } finally {
        c.close()
      }
    }
  })

  test("absolute-URI requests: the Host header must name the request line's host", async () => {
    for (const proxy of [await proxyOf(s, vpcs.gateway), s.proxy]) {
      const c = await toProxy(proxy)
      try {
        const honest = await c.request(S3_EAST, `http://${S3_EAST}/${BUCKET1}/k`)
        assert.equal(codeOf(honest.body), 'AccessDenied', `${proxy}: ${honest.body}`)
        assertMisdirected(await c.request(MRAP_HOST, `http://${S3_EAST}/k`), `MRAP Host via ${proxy}`)
        assertMisdirected(await c.request(SMUGGLED.sts, `http://${S3_EAST}/?Action=GetCallerIdentity&Version=2011-06-15`), `sts Host via ${proxy}`)
        assert.notEqual((await c.request(`${S3_EAST}:80`, `http://${S3_EAST}:80/${BUCKET1}/k`)).status, 421)
      } finally {
        c.close()
      }
    }
  })
})

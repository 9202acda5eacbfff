/**
 * The bench case of issue 6: the seed's GetObject through the MRAP from inside the seed VPC (its
 * forward proxy, the s3-global interface endpoint and the endpoint policy in both authorization
 * contexts), against the same GetObject on the internet path (the internet proxy), in the same run,
 * on the same `mrap serve` child. Goal: the VPC path at >= 80% of the internet path's rps.
 *
 * Setup, through the APIs: the seed MRAP `seed-mrap` is used when the world has it; otherwise it
 * is created through S3 Control (Block Public Access off, the seed's MRAP policy) and the seed
 * endpoint's policy is pointed at its alias with EC2 ModifyVpcEndpoint. A 1 KiB object `k` goes
 * into DOC-EXAMPLE-BUCKET1 (us-east-1, the nearest bucket from the seed VPC and the front door).
 */

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { EC2Client, ModifyVpcEndpointCommand } from '@aws-sdk/client-ec2'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import {
  CreateMultiRegionAccessPointCommand,
  DescribeMultiRegionAccessPointOperationCommand,
  GetMultiRegionAccessPointCommand,
  PutMultiRegionAccessPointPolicyCommand,
  S3ControlClient,
} from '@aws-sdk/client-s3-control'
import { SignatureV4a } from '@aws-sdk/signature-v4a'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { HttpsProxyAgent } from 'https-proxy-agent'

const ACCOUNT = '123456789012'
const SEED_VPC = 'vpc-0seed0000000000001'
const SEED_VPCE = 'vpce-0seed00000000000a1'
const CREDS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

class CaProxyAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: string,
    private readonly caPem: Buffer,
  ) {
    super(proxy, { keepAlive: true })
  }
  override connect(req: Parameters<HttpsProxyAgent<string>['connect']>[0], opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    return super.connect(req, { ...opts, ca: this.caPem } as typeof opts)
  }
}

class NodeSha256 {
  private readonly h: Hash | Hmac
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
  }
  update(d: string | Uint8Array): void {
    this.h.update(d)
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
}

export interface VpcCaseSetup {
  /** Load specs for bench/vpc-load.ts: the same signed GET via each proxy. */
  vpc: { proxy: string; host: string; caPath: string; request: string }
  internet: { proxy: string; host: string; caPath: string; request: string }
  /** A SigV4 GET of the same object from its bucket's regional endpoint, same proxy, same TLS: the baseline of issue 5's goal. */
  direct: { proxy: string; host: string; caPath: string; request: string }
  alias: string
}

export async function setupVpcCase(dataDir: string, frontUrl: string): Promise<VpcCaseSetup> {
  const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { proxy: string; caPath: string; vpcProxies?: Record<string, { proxy: string }> }
  const vpcProxy = info.vpcProxies?.[SEED_VPC]?.proxy
  if (!vpcProxy) throw new Error(`the server has no proxy for the seed VPC ${SEED_VPC}`)
  const ca = readFileSync(info.caPath)
  const agent = new CaProxyAgent(info.proxy, ca)
  const control = new S3ControlClient({ region: 'us-west-2', credentials: CREDS, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent: agent, httpAgent: agent }) })
  let alias: string
  try {
    alias = (await control.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'seed-mrap' }))).AccessPoint!.Alias!
  } catch {
    const wait = async (token: string): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const op = (await control.send(new DescribeMultiRegionAccessPointOperationCommand({ AccountId: ACCOUNT, RequestTokenARN: token }))).AsyncOperation!
        if (op.RequestStatus === 'SUCCEEDED') return
        if (op.RequestStatus === 'FAILED') throw new Error(`S3 Control operation failed: ${JSON.stringify(op.ResponseDetails)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error('S3 Control operation did not end')
    }
    const off = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false }
    const created = await control.send(
      new CreateMultiRegionAccessPointCommand({
        AccountId: ACCOUNT,
        Details: { Name: 'seed-mrap', PublicAccessBlock: off, Regions: [{ Bucket: 'DOC-EXAMPLE-BUCKET1' }, { Bucket: 'DOC-EXAMPLE-BUCKET2' }] },
      }),
    )
    await wait(created.RequestTokenARN!)
    alias = (await control.send(new GetMultiRegionAccessPointCommand({ AccountId: ACCOUNT, Name: 'seed-mrap' }))).AccessPoint!.Alias!
    const arn = `arn:aws:s3::${ACCOUNT}:accesspoint/${alias}`
    const policy = { Version: '2012-10-17', Statement: [{ Sid: 'Open-read-MRAP-policy', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: `${arn}/object/*` }] }
    await wait(
      (await control.send(new PutMultiRegionAccessPointPolicyCommand({ AccountId: ACCOUNT, Details: { Name: 'seed-mrap', Policy: JSON.stringify(policy) } }))).RequestTokenARN!,
    )
    const vpce = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Read-buckets-and-MRAP-VPCE-policy',
          Principal: '*',
          Action: ['s3:GetObject'],
          Effect: 'Allow',
          Resource: ['arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET2/*', `${arn}/object/*`],
        },
      ],
    }
    const ec2 = new EC2Client({ endpoint: frontUrl, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 })
    await ec2.send(new ModifyVpcEndpointCommand({ VpcEndpointId: SEED_VPCE, PolicyDocument: JSON.stringify(vpce) }))
    ec2.destroy()
  }
  control.destroy()
  agent.destroy()
  const s3 = new S3Client({ endpoint: frontUrl, region: 'us-east-1', credentials: CREDS, forcePathStyle: true, maxAttempts: 1 })
  await s3.send(new PutObjectCommand({ Bucket: 'DOC-EXAMPLE-BUCKET1', Key: 'k', Body: Buffer.alloc(1024, 'k') }))
  s3.destroy()
  const host = `${alias}.accesspoint.s3-global.amazonaws.com`
  const request = await signedGet(host, '/k')
  return {
    alias,
    vpc: { proxy: vpcProxy, host, caPath: info.caPath, request },
    internet: { proxy: info.proxy, host, caPath: info.caPath, request },
    direct: { proxy: info.proxy, host: DIRECT_HOST, caPath: info.caPath, request: await signedDirectGet() },
  }
}

/** The same object straight from its bucket: regional endpoint, path style, SigV4, through the same proxy and TLS. */
const DIRECT_HOST = 's3.us-east-1.amazonaws.com'
const DIRECT_PATH = '/DOC-EXAMPLE-BUCKET1/k'
export async function signedDirectGet(): Promise<string> {
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: CREDS, sha256: NodeSha256 as never, uriEscapePath: false, applyChecksum: false })
  const req = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: DIRECT_HOST,
    path: DIRECT_PATH,
    headers: { host: DIRECT_HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  return rawRequest((await signer.sign(req)) as HttpRequest, DIRECT_PATH)
}

function rawRequest(signed: HttpRequest, path: string): string {
  const lines = [`GET ${path} HTTP/1.1`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`), 'connection: keep-alive', '', '']
  return Buffer.from(lines.join('\r\n')).toString('base64')
}

/** A SigV4A (region set `*`) GET, as raw HTTP/1.1 bytes (base64) to send on a tunnel again and again. */
export async function signedGet(host: string, path: string): Promise<string> {
  const signer = new SignatureV4a({ service: 's3', region: '*', credentials: CREDS, sha256: NodeSha256 as never, uriEscapePath: false, applyChecksum: false })
  const req = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: host, path, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
  return rawRequest((await signer.sign(req, { signingRegion: '*' })) as HttpRequest, path)
}

export interface VpcCaseDeps {
  dataDir: string
  frontUrl: string
  pid: number
  rounds: number
  seconds: number
  /** Seconds of load per path before the measured rounds (default 1). */
  warmupSeconds?: number
  connections: number
  /** Runs bench/vpc-load.ts with a spec (pinned to the load core by the caller), returns its JSON. */
  load: (spec: string) => Promise<{ rps: number; requests: number; non2xx: number; p50Ms: number; p99Ms: number }>
  cpuSeconds: (pid: number) => number
  log: (s: string) => void
}

export interface VpcCaseResult {
  lines: string[]
  json: Record<string, unknown>
  ratio: number
}

/** Rounds of internet then VPC, SECONDS each; median rps, CPU µs per request, and the ratio. */
export async function runVpcCase(d: VpcCaseDeps): Promise<VpcCaseResult> {
  const setup = await setupVpcCase(d.dataDir, d.frontUrl)
  const paths = { internet: setup.internet, vpc: setup.vpc, direct: setup.direct } as const
  type Path = keyof typeof paths
  const res: Record<Path, { rps: number; cpuUs: number; p50: number; p99: number; bad: number }[]> = { internet: [], vpc: [], direct: [] }
  for (let r = -1; r < d.rounds; r++) {
    for (const which of ['internet', 'vpc', 'direct'] as const) {
      // Fresh signatures each round (a signature is good for 15 minutes).
      const request = which === 'direct' ? await signedDirectGet() : await signedGet(setup.vpc.host, '/k')
      const spec = { ...paths[which], request, connections: d.connections, seconds: r < 0 ? (d.warmupSeconds ?? 1) : d.seconds }
      const cpu0 = d.cpuSeconds(d.pid)
      const m = await d.load(JSON.stringify(spec))
      const cpu = d.cpuSeconds(d.pid) - cpu0
      if (r < 0) continue // warm-up
      res[which].push({ rps: m.rps, cpuUs: m.requests > 0 ? (cpu / m.requests) * 1e6 : NaN, p50: m.p50Ms, p99: m.p99Ms, bad: m.non2xx })
      d.log(
        `  round ${r + 1} ${which === 'direct' ? 'direct SigV4 GET 1 KiB, TLS ' : 'MRAP GET 1 KiB via'} ${which.padEnd(8)} ${m.rps.toFixed(0).padStart(7)} rps  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  server CPU ${res[which].at(-1)!.cpuUs.toFixed(0)} µs/req${m.non2xx ? `  (${m.non2xx} non-2xx!)` : ''}`,
      )
    }
  }
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    const m = s.length >> 1
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  }
  const sum = (w: Path) => ({
    rps: Math.round(med(res[w].map((x) => x.rps))),
    cpuUsPerReq: Math.round(med(res[w].map((x) => x.cpuUs))),
    p50Ms: med(res[w].map((x) => x.p50)),
    p99Ms: med(res[w].map((x) => x.p99)),
    bad: res[w].reduce((a, x) => a + x.bad, 0),
    rounds: res[w].map((x) => Math.round(x.rps)),
  })
  const internet = sum('internet'),
    vpc = sum('vpc'),
    direct = sum('direct')
  const ratio = Math.round((vpc.rps / internet.rps) * 1000) / 1000
  const cpuRatio = Math.round((internet.cpuUsPerReq / vpc.cpuUsPerReq) * 1000) / 1000
  const lines = [
    `MRAP GetObject 1 KiB (SigV4A, seed MRAP ${setup.alias}, served by DOC-EXAMPLE-BUCKET1), c${d.connections}, TLS through a CONNECT proxy:`,
    `  via the internet proxy        ${String(internet.rps).padStart(7)} rps  p50 ${internet.p50Ms.toFixed(2)} ms  p99 ${internet.p99Ms.toFixed(2)} ms  CPU ${internet.cpuUsPerReq} µs/req  rounds ${internet.rounds.join(' / ')}${internet.bad ? `  ${internet.bad} non-2xx!` : ''}`,
    `  via seed-vpc and its endpoint ${String(vpc.rps).padStart(7)} rps  p50 ${vpc.p50Ms.toFixed(2)} ms  p99 ${vpc.p99Ms.toFixed(2)} ms  CPU ${vpc.cpuUsPerReq} µs/req  rounds ${vpc.rounds.join(' / ')}${vpc.bad ? `  ${vpc.bad} non-2xx!` : ''}`,
    `  VPC / internet: ${ratio} (rps), ${cpuRatio} (server CPU per request)`,
    `  the same object straight from DOC-EXAMPLE-BUCKET1 (SigV4, s3.us-east-1 path style, same proxy and TLS): ${direct.rps} rps, CPU ${direct.cpuUsPerReq} µs/req${direct.bad ? `  ${direct.bad} non-2xx!` : ''}`,
  ]
  return { lines, ratio, json: { alias: setup.alias, internet, vpc, direct, ratio, cpuRatio } }
}

/**
 * Helpers for the VPC tests: an EC2 client for the in-process server, the seed MRAP (the default
 * world's, or made here when the world has none), routes pinned to one bucket, and a VPC's proxy.
 */
import { connect } from 'node:net'
import { EC2Client } from '@aws-sdk/client-ec2'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { MrapRecord } from '../../src/mrap/registry.js'
import { ADMIN, type TestServer } from '../helpers/server.js'

export const OWNER = '123456789012'
export const SEED_ALIAS = 'mfzwi23gnjvgw.mrap'
export const SEED_ARN = `arn:aws:s3::${OWNER}:accesspoint/${SEED_ALIAS}`
export const SEED_VPC = 'vpc-0seed0000000000001'
export const SEED_VPCE = 'vpce-0seed00000000000a1'
export const BUCKET1 = 'DOC-EXAMPLE-BUCKET1'
export const BUCKET2 = 'DOC-EXAMPLE-BUCKET2'

type Creds = { accessKeyId: string; secretAccessKey: string }

export function ec2Client(s: TestServer, creds: Creds = ADMIN, region = 'us-east-1'): EC2Client {
  return new EC2Client({ endpoint: s.endpoint, region, credentials: creds, maxAttempts: 1 })
}

/** The seed MRAP over the seed buckets with the seed's MRAP policy and Block Public Access off. */
export function ensureSeedMrap(s: TestServer): MrapRecord {
  const have = s.services.mraps.byAlias(SEED_ALIAS)
  if (have) return have
  const rec: MrapRecord = {
    name: 'seed-mrap',
    alias: SEED_ALIAS,
    owner: OWNER,
    createdAt: new Date().toISOString(),
    status: 'READY',
    publicAccessBlock: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
    regions: [
      { bucket: BUCKET1, bucketAccountId: OWNER, region: 'us-east-1', trafficDialPercentage: 100 },
      { bucket: BUCKET2, bucketAccountId: OWNER, region: 'eu-west-1', trafficDialPercentage: 100 },
    ],
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Open-read-MRAP-policy', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: `${SEED_ARN}/object/*` }],
    }),
  }
  s.services.mraps.put(rec)
  return rec
}

/** Routes every new request of the MRAP to the bucket in `region` (the other regions passive). */
export function routeTo(s: TestServer, alias: string, region: string | 'both'): void {
  const m = s.services.mraps.byAlias(alias)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: region === 'both' || r.region === region ? 100 : 0 })) })
}

/** Puts `key` into both seed buckets (different bodies, so the serving bucket shows). */
export async function seedObjects(s: TestServer, key: string): Promise<void> {
  await s.client(ADMIN, 'us-east-1').send(new PutObjectCommand({ Bucket: BUCKET1, Key: key, Body: 'from BUCKET1' }))
  await s.client(ADMIN, 'eu-west-1').send(new PutObjectCommand({ Bucket: BUCKET2, Key: key, Body: 'from BUCKET2' }))
}

export async function proxyOf(s: TestServer, vpc: string): Promise<string> {
  await s.vpcProxies.settled()
  const p = s.vpcProxies.proxyOf(vpc)
  if (!p) throw new Error(`no proxy for ${vpc}`)
  return p
}

/** Sends a raw CONNECT to a proxy and returns the status line and body of its answer. */
export function rawConnect(proxy: string, authority: string): Promise<{ status: number; text: string }> {
  const u = new URL(proxy)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`))
    let buf = ''
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      buf += d
      if (/^HTTP\/1\.1 200/.test(buf)) {
        sock.destroy()
        resolve({ status: 200, text: buf })
      }
    })
    sock.on('end', () => resolve({ status: Number(buf.match(/^HTTP\/1\.1 (\d+)/)?.[1] ?? 0), text: buf }))
    sock.on('error', reject)
  })
}

export function errStatus(e: { $metadata?: { httpStatusCode?: number } }): number | undefined {
  return e.$metadata?.httpStatusCode
}

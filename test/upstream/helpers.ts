/**
 * Shared pieces of the end-to-end tests over real engines: the seed world with two of its regions
 * on RGW clusters, a client straight to an engine (to check what it holds, past mrap), and
 * restarting a killed gateway on the cluster's own config (the OSD, and so the data, lives on).
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { DEFAULT_WORLD_FILE, parseWorld } from '../../src/world/load.js'
import { upstreamStorageSchema, type World } from '../../src/world/schema.js'
import { type CephCluster, startCeph } from '../helpers/ceph.js'
import { ROLE_POLICY } from '../replication/helpers.js'

const run = promisify(execFile)

export const OWNER = '123456789012'
export const SEED_ALIAS = 'mfzwi23gnjvgw.mrap'
export const SEED_ARN = `arn:aws:s3::${OWNER}:accesspoint/${SEED_ALIAS}`
export const SEED_VPC = 'vpc-0seed0000000000001'
/** The seed buckets, lower-cased: an engine bucket name cannot hold capitals (S3 naming rules). */
export const B1 = 'doc-example-bucket1'
export const B2 = 'doc-example-bucket2'
export const ROLE_ARN = `arn:aws:iam::${OWNER}:role/s3-replication`

/** The variables the world names for one site's credentials, set here as an operator would. */
function siteStorage(c: CephCluster, site: string): World['regions'][number]['storage'] {
  const keyVar = `MRAP_TEST_${site}_ACCESS_KEY_ID`
  const secretVar = `MRAP_TEST_${site}_SECRET_ACCESS_KEY`
  process.env[keyVar] = c.accessKeyId
  process.env[secretVar] = c.secretAccessKey
  return upstreamStorageSchema.parse({ kind: 's3', endpoint: c.endpoint, accessKeyIdEnv: keyVar, secretAccessKeyEnv: secretVar })
}

/**
 * examples/seed.yaml with us-east-1 on `east` and eu-west-1 on `west` (us-west-2 stays embedded),
 * two-way replication between the two buckets, and PutObject added to the seed endpoint policy
 * (the seed page's policy grants reads only; writes from the VPC are what this test needs).
 */
export function seedWorldOnEngines(east: CephCluster, west: CephCluster): World {
  const text = readFileSync(DEFAULT_WORLD_FILE, 'utf8').replaceAll('DOC-EXAMPLE-BUCKET', 'doc-example-bucket')
  const world = parseWorld(text, 'seed.yaml')
  for (const r of world.regions) {
    if (r.name === 'us-east-1') r.storage = siteStorage(east, 'EAST')
    if (r.name === 'eu-west-1') r.storage = siteStorage(west, 'WEST')
  }
  const seed = world.accounts.find((a) => a.id === OWNER)!
  seed.roles.push({
    name: 's3-replication',
    path: '/',
    managedPolicies: [],
    maxSessionDuration: 3600,
    tags: {},
    trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
    policies: [{ name: 'replicate', document: ROLE_POLICY }],
  })
  for (const [b, to] of [
    [B1, B2],
    [B2, B1],
  ] as const) {
    world.buckets.find((x) => x.name === b)!.replication = {
      role: ROLE_ARN,
      rules: [{ id: `to-${to}`, destination: to, deleteMarkerReplication: true, replicaModifications: true }],
    }
  }
  const policy = world.vpcs[0]!.endpoints[0]!.policy as { Statement: { Action: string[] }[] }
  policy.Statement[0]!.Action.push('s3:PutObject')
  return world
}

/**
 * Starts clusters one after the other. test/helpers/ceph.ts runs the script under `flock` on one
 * install lock, and the daemons the script starts inherit the locked descriptor, so a second
 * start waits for the first cluster to die. The packages are installed once the first cluster
 * answers, so the lock file is unlinked: the next start locks a fresh file.
 */
export async function startClusters(...labels: string[]): Promise<CephCluster[]> {
  const out: CephCluster[] = []
  try {
    for (const label of labels) {
      out.push(await startCeph(label))
      rmSync(join(tmpdir(), 'mrap-ceph-install.lock'), { force: true })
    }
  } catch (e) {
    await Promise.all(out.map((c) => c.down()))
    throw e
  }
  return out
}

/** An SDK client signed with the engine's own credentials, straight to the engine. */
export function engineClient(c: CephCluster): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

/** Every key of an engine bucket (latest versions), all pages. */
export async function engineKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const o of page.Contents ?? []) keys.push(o.Key!)
    token = page.NextContinuationToken
  } while (token)
  return keys.sort()
}

/**
 * The cluster directory test/helpers/ceph.ts made for `c` (it records its endpoint there). The
 * helper does not expose it; its gateway is restarted from that directory's ceph.conf.
 */
export function clusterDir(c: CephCluster): string {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('mrap-ceph-')) continue
    try {
      if (readFileSync(join(tmpdir(), name, 'endpoint'), 'utf8').trim() === c.endpoint) return join(tmpdir(), name)
    } catch {
      /* another cluster still starting, or not a cluster */
    }
  }
  throw new Error(`no cluster directory for ${c.endpoint}`)
}

/** Starts radosgw again on the cluster's config and waits until it answers (the OSD kept the data). */
export async function restartGateway(dir: string, endpoint: string, timeoutMs = 30_000): Promise<void> {
  await run('radosgw', ['-c', join(dir, 'ceph.conf'), '-n', 'client.rgw.a'], { timeout: 30_000 })
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    try {
      if ((await fetch(endpoint, { signal: AbortSignal.timeout(1000) })).status === 200) return
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`radosgw at ${endpoint} did not answer within ${timeoutMs} ms`)
}

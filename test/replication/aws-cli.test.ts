/**
 * Two-way replication between the seed's two buckets (DOC-EXAMPLE-BUCKET1 in us-east-1,
 * DOC-EXAMPLE-BUCKET2 in eu-west-1) behind the seed MRAP, driven with the AWS CLI v2
 * (/usr/bin/aws, SigV4A through awscrt): a write routed to one bucket is readable from the other
 * once replicated, and tag and metadata changes made on the replica come back (replica
 * modification sync).
 *
 * The CLI runs as an async child process with an environment built from scratch. MRAP ARNs make
 * it call the real AWS host names, which reach this server through its internet proxy
 * (HTTPS_PROXY) with its CA trusted (AWS_CA_BUNDLE); bucket-level calls use --endpoint-url.
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { applyWorldMraps } from '../../src/control/world.js'
import { mrapArn } from '../helpers/accounts.js'
import { AWS_CLI, CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js'
import { ROLE_ARN, replicationWorld, waitFor } from './helpers.js'

const B1 = 'DOC-EXAMPLE-BUCKET1'
const B2 = 'DOC-EXAMPLE-BUCKET2'
const ALIAS = 'mfzwi23gnjvgw.mrap'
const ARN = mrapArn(ALIAS)

let s: TestServer
let box: CliSandbox
let work: string

before(async () => {
  assert.ok(existsSync(AWS_CLI), 'the AWS CLI must be installed at /usr/bin/aws (npm test installs it)')
  s = await startTestServer({ world: replicationWorld() })
  // The seed world declares the MRAP; make sure it exists whichever component applies world MRAPs.
  if (!s.services.mraps.byAlias(ALIAS)) applyWorldMraps(s.services, s.services.world.mraps)
  assert.ok(s.services.mraps.byAlias(ALIAS), 'the seed MRAP exists')
  box = new CliSandbox('mrap-repl-cli')
  work = box.dir
})
after(async () => {
  await s?.stop()
  box?.dispose()
})

/** Runs the CLI and parses its JSON output; `mrap` calls go through the proxy, the others to --endpoint-url. */
async function aws(args: string[], opts: { mrap?: boolean; region?: string } = {}): Promise<Record<string, any>> {
  const region = opts.region ?? 'us-east-1'
  const env = opts.mrap ? box.env({ credentials: ADMIN, region, proxy: s.proxy, caBundle: s.caPath }) : box.env({ credentials: ADMIN, region, direct: true })
  const full = opts.mrap ? [...args, '--output', 'json'] : ['--endpoint-url', s.endpoint, ...args, '--output', 'json']
  const t0 = Date.now()
  const r = await runAws(full, { env, cwd: work })
  if (process.env.DEBUG_CLI) console.error(`aws ${args.slice(0, 2).join(' ')}: ${Date.now() - t0} ms`)
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return cliJson(r.stdout)
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const statusIn = async (bucket: string, key: string): Promise<string | undefined> => {
  const st = s.services.stores.get(s.services.state.getBucket(bucket)!.region)!
  try {
    return (await st.getObject(bucket, key)).version.replicationStatus
  } catch {
    return undefined
  }
}

function ruleJson(dest: string, id: string): string {
  return JSON.stringify({
    Role: ROLE_ARN,
    Rules: [
      {
        ID: id,
        Priority: 1,
        Status: 'Enabled',
        Filter: { Prefix: '' },
        DeleteMarkerReplication: { Status: 'Enabled' },
        SourceSelectionCriteria: { ReplicaModifications: { Status: 'Enabled' } },
        Destination: {
          Bucket: `arn:aws:s3:::${dest}`,
          ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
          Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
        },
      },
    ],
  })
}

test('two-way replication between the seed buckets through the MRAP, with replica modification sync', { timeout: 85_000 }, async () => {
  // Replication both ways, with the CLI's own JSON → XML.
  writeFileSync(join(work, 'r1.json'), ruleJson(B2, 'to-eu-west-1'))
  writeFileSync(join(work, 'r2.json'), ruleJson(B1, 'to-us-east-1'))
  // Independent CLI runs go in parallel: each is a Python start-up of a second or more.
  await Promise.all([
    aws(['s3api', 'put-bucket-replication', '--bucket', B1, '--replication-configuration', 'file://r1.json']),
    aws(['s3api', 'put-bucket-replication', '--bucket', B2, '--replication-configuration', 'file://r2.json'], { region: 'eu-west-1' }),
  ])
  assert.match(s.services.state.getBucket(B2)!.replication!, /<ReplicaModifications><Status>Enabled<\/Status>/)

  // A write through the MRAP: the front door is in us-east-1, so it lands in DOC-EXAMPLE-BUCKET1.
  const body = randomBytes(300_000)
  writeFileSync(join(work, 'body.bin'), body)
  const put = await aws(
    [
      's3api',
      'put-object',
      '--bucket',
      ARN,
      '--key',
      'shared/report.bin',
      '--body',
      'body.bin',
      '--metadata',
      'color=blue',
      '--tagging',
      'team=core',
      '--checksum-algorithm',
      'SHA256',
    ],
    { mrap: true },
  )
  assert.ok(put.VersionId)
  await waitFor('COMPLETED in DOC-EXAMPLE-BUCKET1', async () => (await statusIn(B1, 'shared/report.bin')) === 'COMPLETED')
  // Fail over: us-east-1 passive, eu-west-1 active. A read through the MRAP now comes from DOC-EXAMPLE-BUCKET2.
  const m = s.services.mraps.byAlias(ALIAS)!
  s.services.mraps.put({ ...m, regions: m.regions.map((r) => ({ ...r, trafficDialPercentage: r.region === 'eu-west-1' ? 100 : 0 })) })
  // us-east-1's storage is stopped meanwhile, so the copy read can only be the replica.
  const eastStore = s.services.stores.get('us-east-1')!
  eastStore.setAvailable!(false)
  let h2: Record<string, any>
  try {
    ;[h2] = await Promise.all([
      aws(['s3api', 'head-object', '--bucket', B2, '--key', 'shared/report.bin', '--checksum-mode', 'ENABLED'], { region: 'eu-west-1' }),
      aws(['s3api', 'get-object', '--bucket', ARN, '--key', 'shared/report.bin', 'out.bin'], { mrap: true }),
    ])
  } finally {
    eastStore.setAvailable!(true)
  }
  assert.equal(h2.ReplicationStatus, 'REPLICA')
  assert.equal(h2.VersionId, put.VersionId)
  assert.equal(h2.ETag, put.ETag)
  assert.equal(h2.ChecksumSHA256, put.ChecksumSHA256)
  assert.deepEqual(h2.Metadata, { color: 'blue' })

  assert.equal(sha(readFileSync(join(work, 'out.bin'))), sha(body))

  // Replica modification sync: tags changed on the replica (through the MRAP, now routed to eu-west-1) come back.
  await aws(['s3api', 'put-object-tagging', '--bucket', ARN, '--key', 'shared/report.bin', '--tagging', 'TagSet=[{Key=team,Value=edge},{Key=reviewed,Value=yes}]'], { mrap: true })
  await waitFor('tags back in DOC-EXAMPLE-BUCKET1', async () => {
    const st = s.services.stores.get('us-east-1')!
    return (await st.getObject(B1, 'shared/report.bin')).version.tags.some((t) => t.Value === 'edge')
  })
  // A metadata change on the replica side (S3 changes metadata by copying the object onto itself) comes back too.
  const [t1, copy] = await Promise.all([
    aws(['s3api', 'get-object-tagging', '--bucket', B1, '--key', 'shared/report.bin']),
    aws(
      [
        's3api',
        'copy-object',
        '--bucket',
        B2,
        '--key',
        'shared/report.bin',
        '--copy-source',
        `${B2}/shared/report.bin`,
        '--metadata-directive',
        'REPLACE',
        '--metadata',
        'color=green',
      ],
      { region: 'eu-west-1' },
    ),
  ])
  assert.deepEqual(t1.TagSet.map((t: { Key: string; Value: string }) => `${t.Key}=${t.Value}`).sort(), ['reviewed=yes', 'team=edge'])
  await waitFor('the new metadata in DOC-EXAMPLE-BUCKET1', async () => (await statusIn(B2, 'shared/report.bin')) === 'COMPLETED')
  const back = await aws(['s3api', 'head-object', '--bucket', B1, '--key', 'shared/report.bin'])
  assert.deepEqual(back.Metadata, { color: 'green' })
  assert.equal(back.VersionId, copy.VersionId)
  assert.equal(back.ReplicationStatus, 'REPLICA')

  // Both buckets hold the same versions, and nothing is left to replicate.
  await s.replication.idle()
  const ids = async (b: string): Promise<string[]> =>
    (await s.services.stores.get(s.services.state.getBucket(b)!.region)!.listVersions(b, { prefix: 'shared/', maxKeys: 10 })).versions.map((v) => v.versionId)
  assert.deepEqual(await ids(B1), await ids(B2))
  assert.equal((await ids(B1)).length, 2)
  assert.equal(s.replication.snapshot().backlogOperations, 0)
})

/**
 * The seed, end to end, with the AWS CLI (Debian's /usr/bin/aws 2.9.19 with awscrt for SigV4A) and
 * `mrap exec`: starting from examples/seed-setup.yaml (accounts, people, the two legacy buckets),
 * the seed's setup is built through the real APIs (EC2, S3, S3 Control, IAM), the seed's policies
 * are shown refused under Block Public Access and BUCKET1's half refused as malformed, and then,
 * from inside the VPC, GetObject through the MRAP for every caller of docs/aws/authorization.md §The seed page with the
 * routes on each bucket in turn must give that table. Then the policies are fixed as its item 7
 * recommends, and every caller that should read can read, whichever bucket serves.
 *
 * Every command is an async child process (the in-process server keeps serving), with an isolated
 * environment: a temporary HOME, empty AWS config and credentials files, no instance metadata.
 */

import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { type RunningServer, startServer } from '../../src/main.js'
import { loadWorldFile } from '../../src/world/load.js'
import { SEED_ACCOUNT as ACCOUNT, mrapArn as mrapArnOf, PARTNER_ACCOUNT } from '../helpers/accounts.js'
import { AWS_CLI as AWS, CliSandbox, cliJson, cliErrorCode as codeOf, type CliResult as Result, runAws, runCommand } from '../helpers/aws-cli.js'
import { ADMIN, READER } from '../helpers/server.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const B1 = 'DOC-EXAMPLE-BUCKET1'
const B2 = 'DOC-EXAMPLE-BUCKET2'

let s: RunningServer
let dataDir: string
let box: CliSandbox
let work: string
let baseEnv: Record<string, string>

/** `mrap exec [--vpc V] --as P -- aws ARGS`; never throws on a non-zero exit. */
async function mrapExec(opts: { vpc?: string; as?: string }, args: string[]): Promise<Result> {
  const argv = [join(ROOT, 'bin', 'mrap.mjs'), 'exec', '--data-dir', dataDir, ...(opts.vpc ? ['--vpc', opts.vpc] : []), '--as', opts.as ?? 'admin', '--', AWS, ...args]
  return spawnResult(process.execPath, argv, baseEnv)
}

async function spawnResult(cmd: string, argv: string[], env: Record<string, string>): Promise<Result> {
  return runCommand(cmd, argv, { env, cwd: work, timeoutMs: 90_000 })
}

async function ok(opts: { vpc?: string; as?: string }, args: string[]): Promise<any> {
  const r = await mrapExec(opts, [...args, '--output', 'json'])
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
  return cliJson(r.stdout)
}

function file(name: string, content: string | object): string {
  return box.fileArg(name, content)
}

async function waitOp(token: string): Promise<any> {
  for (let i = 0; i < 20; i++) {
    const r = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'describe-multi-region-access-point-operation',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--request-token-arn',
      token,
    ])
    const st = r.AsyncOperation.RequestStatus as string
    if (st === 'SUCCEEDED' || st === 'FAILED') return r.AsyncOperation
  }
  throw new Error(`operation ${token} did not end`)
}

/**
 * GetObject through the MRAP from inside the seed VPC, one `mrap exec` per caller running the CLI
 * once per key (a shell loop: one mrap start per caller, not per request): key → "200 <body>" or
 * the error code the CLI printed.
 */
async function getThroughMrap(as: string, keys: string[]): Promise<Record<string, string>> {
  const script = [
    'for key in "$@"; do',
    '  n=$((n+1)); out="$MRAP_TEST_WORK/out-$$-$n"',
    '  if /usr/bin/aws s3api get-object --bucket "$MRAP_TEST_ARN" --key "$key" "$out" >/dev/null 2>"$out.err"',
    '  then echo "@@ $key 200 $(cat "$out")"',
    '  else echo "@@ $key $(sed -n \'s/.*An error occurred (\\([^)]*\\)).*/\\1/p\' "$out.err" | head -n 1)"; cat "$out.err" >&2',
    '  fi',
    'done',
  ].join('\n')
  writeFileSync(join(work, 'get.sh'), script)
  const argv = [join(ROOT, 'bin', 'mrap.mjs'), 'exec', '--data-dir', dataDir, '--vpc', 'seed-vpc', '--as', as, '--', '/bin/sh', join(work, 'get.sh'), ...keys]
  const r = await spawnResult(process.execPath, argv, { ...baseEnv, MRAP_TEST_ARN: mrapArn, MRAP_TEST_WORK: work })
  const out: Record<string, string> = {}
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^@@ (\S+) (.*)$/)
    if (m) out[m[1]!] = m[2]!
  }
  assert.deepEqual(Object.keys(out), keys, `mrap exec --as ${as} exited ${r.code}: ${r.stderr}`)
  return out
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!)
      }
    }),
  )
  return out
}

let mrapArn = ''
let alias = ''
let vpcId = ''
let vpceId = ''

async function routeTo(bucket: string): Promise<void> {
  await ok({ vpc: 'seed-vpc' }, [
    's3control',
    'submit-multi-region-access-point-routes',
    '--region',
    'us-east-1',
    '--account-id',
    ACCOUNT,
    '--mrap',
    mrapArn,
    '--route-updates',
    `Bucket=${B1},TrafficDialPercentage=${bucket === B1 ? 100 : 0}`,
    `Bucket=${B2},TrafficDialPercentage=${bucket === B2 ? 100 : 0}`,
  ])
}

/** Every caller of the seed page's table (docs/aws/authorization.md), with the routes on each bucket in turn: row → [via BUCKET1, via BUCKET2]. */
async function table(rows: [string, string, string][]): Promise<Record<string, [string, string]>> {
  const out: Record<string, [string, string]> = {}
  const callers = [...new Set(rows.map(([, as]) => as))]
  for (const bucket of [B1, B2]) {
    await routeTo(bucket)
    const got = await pool(callers, 4, (as) =>
      getThroughMrap(
        as,
        rows.filter((r) => r[1] === as).map((r) => r[2]),
      ),
    )
    for (const [label, as, key] of rows) (out[label] ??= ['', ''])[bucket === B1 ? 0 : 1] = got[callers.indexOf(as)]![key]!
  }
  return out
}

describe('the seed, end to end with the AWS CLI', () => {
  before(async () => {
    assert.ok(existsSync(AWS), 'the AWS CLI must be installed at /usr/bin/aws')
    dataDir = mkdtempSync(join(tmpdir(), 'mrap-seed-'))
    box = new CliSandbox('mrap-seed-cli')
    work = box.dir
    s = await startServer({
      dataDir,
      port: 0,
      tlsPort: 0,
      proxyPort: 0,
      logger: pino({ level: process.env.MRAP_TEST_LOG ?? 'silent' }),
      world: loadWorldFile(join(ROOT, 'examples', 'seed-setup.yaml')),
    })
    // No credentials, region or proxy: `mrap exec` supplies them, per caller and per VPC.
    baseEnv = box.env()
  })
  after(async () => {
    await s.close()
    rmSync(dataDir, { recursive: true, force: true })
    box.dispose()
  })

  test('a VPC named seed-vpc (EC2 CreateVpc through the front door) gets its own proxy', async () => {
    const r = await ok({}, [
      'ec2',
      'create-vpc',
      '--cidr-block',
      '10.0.0.0/16',
      '--tag-specifications',
      'ResourceType=vpc,Tags=[{Key=Name,Value=seed-vpc},{Key=mrap:internet,Value=true}]',
    ])
    vpcId = r.Vpc.VpcId
    assert.match(vpcId, /^vpc-[0-9a-f]{17}$/)
    // A new VPC has DNS hostnames off; the endpoint's private DNS needs them on (AmazonDNS-concepts.html).
    await ok({}, ['ec2', 'modify-vpc-attribute', '--vpc-id', vpcId, '--enable-dns-hostnames'])
    await s.vpcProxies.settled()
    const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8'))
    assert.equal(info.vpcProxies[vpcId].name, 'seed-vpc')
    const nope = await mrapExec({ vpc: 'no-such-vpc' }, ['sts', 'get-caller-identity'])
    assert.equal(nope.code, 125)
    assert.match(nope.stderr, /no VPC no-such-vpc/)
  })

  const seedMrapPolicy = () => ({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Open-read-MRAP-policy', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: `${mrapArn}/object/*` }],
  })
  // The seed's bucket policy, split per bucket as AWS requires, otherwise as written (BUCKET1 without "/*").
  const seedBucketPolicy = (_bucket: string, resource: string) => ({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Public-read', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [resource] }],
  })

  test("with Block Public Access at its defaults the seed's public policies are refused (MRAP and bucket)", async () => {
    const created = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'create-multi-region-access-point',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--details',
      file('bpa-mrap.json', { Name: 'seed-bpa-default', Regions: [{ Bucket: B1 }, { Bucket: B2 }] }),
    ])
    assert.equal((await waitOp(created.RequestTokenARN)).RequestStatus, 'SUCCEEDED')
    const m = await ok({ vpc: 'seed-vpc' }, ['s3control', 'get-multi-region-access-point', '--region', 'us-west-2', '--account-id', ACCOUNT, '--name', 'seed-bpa-default'])
    assert.equal(m.AccessPoint.PublicAccessBlock.BlockPublicPolicy, true)
    mrapArn = mrapArnOf(m.AccessPoint.Alias)
    const put = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'put-multi-region-access-point-policy',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--details',
      file('bpa-mrap-policy.json', { Name: 'seed-bpa-default', Policy: JSON.stringify(seedMrapPolicy()) }),
    ])
    const op = await waitOp(put.RequestTokenARN)
    assert.equal(op.RequestStatus, 'FAILED')
    assert.equal(op.ResponseDetails.ErrorDetails.Code, 'AccessDenied')
    const b2 = await mrapExec({ vpc: 'seed-vpc' }, [
      's3api',
      'put-bucket-policy',
      '--region',
      'eu-west-1',
      '--bucket',
      B2,
      '--policy',
      file('b2.json', seedBucketPolicy(B2, `arn:aws:s3:::${B2}/*`)),
    ])
    assert.equal(codeOf(b2), 'AccessDenied', b2.stderr)
  })

  test("with Block Public Access off, BUCKET2 takes its half; BUCKET1's half as written is MalformedPolicy", async () => {
    for (const [b, region] of [
      [B1, 'us-east-1'],
      [B2, 'eu-west-1'],
    ] as const) {
      await ok({ vpc: 'seed-vpc' }, [
        's3api',
        'put-public-access-block',
        '--region',
        region,
        '--bucket',
        b,
        '--public-access-block-configuration',
        'BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=false',
      ])
    }
    const b1 = await mrapExec({ vpc: 'seed-vpc' }, ['s3api', 'put-bucket-policy', '--bucket', B1, '--policy', file('b1.json', seedBucketPolicy(B1, `arn:aws:s3:::${B1}`))])
    assert.equal(codeOf(b1), 'MalformedPolicy', b1.stderr)
    assert.match(b1.stderr, /Action does not apply to any resource\(s\) in statement/)
    await ok({ vpc: 'seed-vpc' }, ['s3api', 'put-bucket-policy', '--region', 'eu-west-1', '--bucket', B2, '--policy', `file://${join(work, 'b2.json')}`])
    // As AWS would leave things: BUCKET1 without a policy.
    const none = await mrapExec({ vpc: 'seed-vpc' }, ['s3api', 'get-bucket-policy', '--bucket', B1])
    assert.equal(codeOf(none), 'NoSuchBucketPolicy')
  })

  test("the seed MRAP (Block Public Access off), its policy, the s3-global endpoint with the seed's policy, objects and a partner grant", async () => {
    const created = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'create-multi-region-access-point',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--details',
      file('mrap.json', {
        Name: 'seed-mrap',
        Regions: [{ Bucket: B1 }, { Bucket: B2 }],
        PublicAccessBlock: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
      }),
    ])
    assert.equal((await waitOp(created.RequestTokenARN)).RequestStatus, 'SUCCEEDED')
    const m = await ok({ vpc: 'seed-vpc' }, ['s3control', 'get-multi-region-access-point', '--region', 'us-west-2', '--account-id', ACCOUNT, '--name', 'seed-mrap'])
    alias = m.AccessPoint.Alias
    assert.match(alias, /^[a-z][a-z0-9]{12}\.mrap$/) // an mfzwi23gnjvgw.mrap-style alias
    mrapArn = mrapArnOf(alias)
    const put = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'put-multi-region-access-point-policy',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--details',
      file('mrap-policy.json', { Name: 'seed-mrap', Policy: JSON.stringify(seedMrapPolicy()) }),
    ])
    assert.equal((await waitOp(put.RequestTokenARN)).RequestStatus, 'SUCCEEDED')

    const vpcePolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Read-buckets-and-MRAP-VPCE-policy',
          Principal: '*',
          Action: ['s3:GetObject'],
          Effect: 'Allow',
          Resource: [`arn:aws:s3:::${B1}/*`, `arn:aws:s3:::${B2}/*`, `${mrapArn}/object/*`],
        },
      ],
    }
    const e = await ok({ vpc: 'seed-vpc' }, [
      'ec2',
      'create-vpc-endpoint',
      '--vpc-id',
      vpcId,
      '--vpc-endpoint-type',
      'Interface',
      '--service-name',
      'com.amazonaws.s3-global.accesspoint',
      '--policy-document',
      file('vpce.json', vpcePolicy),
    ])
    vpceId = e.VpcEndpoint.VpcEndpointId
    assert.equal(e.VpcEndpoint.PrivateDnsEnabled, true)
    const listed = await ok({ vpc: 'seed-vpc' }, ['ec2', 'describe-vpc-endpoints', '--filters', `Name=vpc-id,Values=${vpcId}`])
    assert.deepEqual(
      listed.VpcEndpoints.map((x: { VpcEndpointId: string }) => x.VpcEndpointId),
      [vpceId],
    )

    await ok({ vpc: 'seed-vpc', as: `${PARTNER_ACCOUNT}/partner-admin` }, [
      'iam',
      'put-user-policy',
      '--user-name',
      'partner',
      '--policy-name',
      'ReadThroughSeedMrap',
      '--policy-document',
      file('partner.json', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: [`${mrapArn}/object/*`, `arn:aws:s3:::${B1}/*`, `arn:aws:s3:::${B2}/*`] }],
      }),
    ])
    writeFileSync(join(work, 'k1'), 'k from BUCKET1')
    writeFileSync(join(work, 'k2'), 'k from BUCKET2')
    await ok({ vpc: 'seed-vpc' }, ['s3api', 'put-object', '--bucket', B1, '--key', 'k', '--body', join(work, 'k1')])
    await ok({ vpc: 'seed-vpc' }, ['s3api', 'put-object', '--region', 'eu-west-1', '--bucket', B2, '--key', 'k', '--body', join(work, 'k2')])
  })

  const CALLERS: [string, string, string][] = [
    ['same account, identity grant (admin)', 'admin', 'k'],
    ['same account, no identity grant (reader)', 'reader', 'k'],
    ['other account, identity grant (partner)', `${PARTNER_ACCOUNT}/partner`, 'k'],
    ['other account, no identity grant (outsider)', `${PARTNER_ACCOUNT}/outsider`, 'k'],
    ['key missing (admin)', 'admin', 'missing'],
    ['key missing (reader)', 'reader', 'missing'],
  ]

  test('from inside the VPC, GetObject through the MRAP gives the seed page table (docs/aws/authorization.md), route by route', async () => {
    const got = await table(CALLERS)
    console.log(
      "the seed page's table as observed (routed to BUCKET1 | routed to BUCKET2):\n" +
        Object.entries(got)
          .map(([k, [a, b]]) => `  ${k.padEnd(46)} ${a.padEnd(22)} | ${b}`)
          .join('\n'),
    )
    assert.deepEqual(got, {
      'same account, identity grant (admin)': ['200 k from BUCKET1', '200 k from BUCKET2'],
      'same account, no identity grant (reader)': ['AccessDenied', '200 k from BUCKET2'],
      'other account, identity grant (partner)': ['AccessDenied', '200 k from BUCKET2'],
      'other account, no identity grant (outsider)': ['AccessDenied', 'AccessDenied'],
      'key missing (admin)': ['AccessDenied', 'AccessDenied'],
      'key missing (reader)': ['AccessDenied', 'AccessDenied'],
    })
  })

  test("outside the VPC (the internet path) the endpoint policy does not apply: admin's missing key is a 404", async () => {
    await routeTo(B1)
    const env = box.env({ credentials: ADMIN, region: 'us-east-1', proxy: s.proxy, caBundle: s.caPath })
    const r = await runAws(['s3api', 'get-object', '--bucket', mrapArn, '--key', 'missing', join(work, 'internet-out')], { env, cwd: work, timeoutMs: 90_000 })
    assert.equal(codeOf(r), 'NoSuchKey', r.stderr)
  })

  test("fixed as the seed page review's item 7 recommends, every caller that should read can read, whichever bucket serves", async () => {
    // Bucket policies delegating to the MRAP (non-public), so Block Public Access can go back on.
    for (const [b, region] of [
      [B1, 'us-east-1'],
      [B2, 'eu-west-1'],
    ] as const) {
      await ok({ vpc: 'seed-vpc' }, [
        's3api',
        'put-bucket-policy',
        '--region',
        region,
        '--bucket',
        b,
        '--policy',
        file(`fix-${b}.json`, {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DelegateToMrap',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`],
              Condition: { StringEquals: { 's3:DataAccessPointArn': mrapArn } },
            },
          ],
        }),
      ])
      await ok({ vpc: 'seed-vpc' }, [
        's3api',
        'put-public-access-block',
        '--region',
        region,
        '--bucket',
        b,
        '--public-access-block-configuration',
        'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
      ])
    }
    // The MRAP policy: readers through this endpoint only (non-public); reads, versioned reads and listing.
    const put = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'put-multi-region-access-point-policy',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--details',
      file('fix-mrap.json', {
        Name: 'seed-mrap',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ReadThroughTheSeedVpce',
              Effect: 'Allow',
              Principal: '*',
              Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket'],
              Resource: [mrapArn, `${mrapArn}/object/*`],
              Condition: { StringEquals: { 'aws:SourceVpce': vpceId } },
            },
          ],
        }),
      }),
    ])
    assert.equal((await waitOp(put.RequestTokenARN)).RequestStatus, 'SUCCEEDED')
    const status = await ok({ vpc: 'seed-vpc' }, [
      's3control',
      'get-multi-region-access-point-policy-status',
      '--region',
      'us-west-2',
      '--account-id',
      ACCOUNT,
      '--name',
      'seed-mrap',
    ])
    assert.equal(status.Established.IsPublic, false)
    // The endpoint policy: both the MRAP and every bucket, for every action the readers need.
    await ok({ vpc: 'seed-vpc' }, [
      'ec2',
      'modify-vpc-endpoint',
      '--vpc-endpoint-id',
      vpceId,
      '--policy-document',
      file('fix-vpce.json', {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket'],
            Resource: [`arn:aws:s3:::${B1}`, `arn:aws:s3:::${B1}/*`, `arn:aws:s3:::${B2}`, `arn:aws:s3:::${B2}/*`, mrapArn, `${mrapArn}/object/*`],
          },
        ],
      }),
    ])
    const got = await table(CALLERS)
    console.log(
      'after the fix (routed to BUCKET1 | routed to BUCKET2):\n' +
        Object.entries(got)
          .map(([k, [a, b]]) => `  ${k.padEnd(46)} ${a.padEnd(22)} | ${b}`)
          .join('\n'),
    )
    assert.deepEqual(got, {
      'same account, identity grant (admin)': ['200 k from BUCKET1', '200 k from BUCKET2'],
      'same account, no identity grant (reader)': ['200 k from BUCKET1', '200 k from BUCKET2'],
      'other account, identity grant (partner)': ['200 k from BUCKET1', '200 k from BUCKET2'],
      // Cross-account access needs the caller's own account to grant it: still refused.
      'other account, no identity grant (outsider)': ['AccessDenied', 'AccessDenied'],
      'key missing (admin)': ['NoSuchKey', 'NoSuchKey'],
      'key missing (reader)': ['NoSuchKey', 'NoSuchKey'],
    })
    // The fixed MRAP policy admits this endpoint only: from the internet, reader is refused.
    const env = box.env({ credentials: READER, region: 'us-east-1', proxy: s.proxy, caBundle: s.caPath })
    const r = await runAws(['s3api', 'get-object', '--bucket', mrapArn, '--key', 'k', join(work, 'internet-reader')], { env, cwd: work, timeoutMs: 90_000 })
    assert.equal(codeOf(r), 'AccessDenied', r.stderr)
  })
})

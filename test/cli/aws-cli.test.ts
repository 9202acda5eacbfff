/**
 * The AWS CLI v2 (Debian's /usr/bin/aws) against an in-process mrap server, path-style over plain HTTP.
 *
 * Every CLI run is an async child process (promisified execFile) so the server's event loop keeps
 * serving while the CLI waits on it. The CLI's environment is built from scratch
 * (test/helpers/aws-cli.ts): the admin keys, us-east-1, empty config and credentials files, a
 * temporary HOME, no IMDS, no proxies and no CA bundle.
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { AWS_CLI, type CliResult, CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { ADMIN, bucketName, startTestServer, type TestServer } from '../helpers/server.js'

let server: TestServer
let box: CliSandbox
let work: string
let baseEnv: Record<string, string>

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}
function sha256File(path: string): string {
  return sha256(readFileSync(path))
}

/** Runs the CLI; never throws on a non-zero exit (the result carries the code). */
async function aws(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runAws(['--endpoint-url', server.endpoint, ...args], { env: { ...baseEnv, ...env }, cwd: work, maxBuffer: 64 * 1024 * 1024 })
}

/** Runs the CLI, asserts success, returns stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await aws(args)
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`)
  return r.stdout
}

async function okJson(args: string[]): Promise<Record<string, any>> {
  return cliJson(await ok([...args, '--output', 'json']))
}

before(async () => {
  assert.ok(existsSync(AWS_CLI), 'the AWS CLI must be installed at /usr/bin/aws (npm test installs it)')
  server = await startTestServer()
  box = new CliSandbox('mrap-awscli')
  work = box.dir
  baseEnv = box.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
})

after(async () => {
  await server?.stop()
  box?.dispose()
})

describe('aws s3 (high-level commands)', () => {
  const bucket = bucketName('cli')
  const bigSize = 20 * 1024 * 1024 + 12345 // 3 parts at the CLI's default 8 MiB chunk size

  test('s3 mb creates a bucket that s3 ls lists', async () => {
    const out = await ok(['s3', 'mb', `s3://${bucket}`])
    assert.match(out, new RegExp(`make_bucket: ${bucket}`))
    const ls = await ok(['s3', 'ls'])
    assert.ok(
      ls.split('\n').some((l) => l.trim().endsWith(` ${bucket}`)),
      `s3 ls lists ${bucket}:\n${ls}`,
    )
  })

  test('s3 cp of a 20 MiB file goes up as a parallel multipart upload and comes back identical', async () => {
    const src = join(work, 'big.bin')
    const bytes = randomBytes(bigSize)
    writeFileSync(src, bytes)
    const up = await ok(['s3', 'cp', src, `s3://${bucket}/big/big.bin`])
    assert.match(up, /upload: /)

    const head = await okJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'big/big.bin'])
    assert.equal(head.ContentLength, bigSize)
    const m = /^"[0-9a-f]{32}-(\d+)"$/.exec(String(head.ETag))
    assert.ok(m, `a multipart ETag ("<md5>-N"), got ${head.ETag}`)
    assert.ok(Number(m[1]) >= 2, `at least 2 parts, got ${m[1]}`)

    const dst = join(work, 'big.down')
    const down = await ok(['s3', 'cp', `s3://${bucket}/big/big.bin`, dst])
    assert.match(down, /download: /)
    assert.equal(sha256File(dst), sha256(bytes))
  })

  test('s3 sync uploads a directory tree once; a second sync uploads nothing', async () => {
    const tree = join(work, 'tree')
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha\n'),
      'empty.txt': Buffer.alloc(0),
      'sub/b.json': Buffer.from('{"b":1}\n'),
      'sub/deeper/c.bin': randomBytes(70 * 1024),
      'sub/deeper/space name.txt': Buffer.from('with a space\n'),
      'other/d.txt': Buffer.from('delta\n'),
    }
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(join(tree, rel, '..'), { recursive: true })
      writeFileSync(join(tree, rel), body)
    }
    const first = await ok(['s3', 'sync', tree, `s3://${bucket}/tree/`])
    const uploads = first.split(/[\r\n]+/).filter((l) => l.startsWith('upload: '))
    assert.equal(uploads.length, Object.keys(files).length, `one upload per file:\n${first}`)

    const second = await ok(['s3', 'sync', tree, `s3://${bucket}/tree/`])
    assert.doesNotMatch(second, /upload: /, `the second sync uploads nothing:\n${second}`)

    // What went up is what is there.
    const listed = await okJson(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'tree/'])
    const keys = (listed.Contents as { Key: string; Size: number }[]).map((c) => [c.Key, c.Size] as const).sort()
    assert.deepEqual(
      keys,
      Object.entries(files)
        .map(([rel, b]) => [`tree/${rel}`, b.length] as const)
        .sort(),
    )
  })

  test('s3 ls shows prefixes and objects; --recursive shows every key', async () => {
    const top = await ok(['s3', 'ls', `s3://${bucket}/`])
    assert.match(top, /PRE big\//)
    assert.match(top, /PRE tree\//)
    const inTree = await ok(['s3', 'ls', `s3://${bucket}/tree/`])
    assert.match(inTree, /PRE sub\//)
    assert.match(inTree, /PRE other\//)
    assert.match(inTree, /\s6 a\.txt/)
    assert.match(inTree, /\s0 empty\.txt/)

    const rec = await ok(['s3', 'ls', `s3://${bucket}/`, '--recursive'])
    const keys = rec
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.replace(/^\S+\s+\S+\s+\d+\s/, ''))
      .sort()
    assert.deepEqual(keys, ['big/big.bin', 'tree/a.txt', 'tree/empty.txt', 'tree/other/d.txt', 'tree/sub/b.json', 'tree/sub/deeper/c.bin', 'tree/sub/deeper/space name.txt'])
    assert.match(rec, new RegExp(`\\s${bigSize} big/big\\.bin`))
  })

  test('s3 rm --recursive empties a prefix, then the bucket', async () => {
    const rmTree = await ok(['s3', 'rm', `s3://${bucket}/tree/`, '--recursive'])
    assert.equal(rmTree.split(/[\r\n]+/).filter((l) => l.startsWith('delete: ')).length, 6)
    const after1 = await ok(['s3', 'ls', `s3://${bucket}/`, '--recursive'])
    assert.deepEqual(
      after1
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => l.split(/\s+/).pop()),
      ['big/big.bin'],
    )

    await ok(['s3', 'rm', `s3://${bucket}/`, '--recursive'])
    const after2 = await ok(['s3', 'ls', `s3://${bucket}/`, '--recursive'])
    assert.equal(after2.trim(), '')
  })
})

describe('aws s3api', { concurrency: true }, () => {
  const bucket = bucketName('cliapi')

  before(async () => {
    await okJson(['s3api', 'create-bucket', '--bucket', bucket])
  })

  test('put-bucket-versioning / get-bucket-versioning / list-object-versions / get-object --version-id', async () => {
    const before = await okJson(['s3api', 'get-bucket-versioning', '--bucket', bucket])
    assert.equal(before.Status, undefined, 'a new bucket has never had versioning')

    await ok(['s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled'])
    const got = await okJson(['s3api', 'get-bucket-versioning', '--bucket', bucket])
    assert.equal(got.Status, 'Enabled')

    const v1file = join(work, 'v1.txt')
    const v2file = join(work, 'v2.txt')
    writeFileSync(v1file, 'version one\n')
    writeFileSync(v2file, 'version two, longer\n')
    const p1 = await okJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'doc.txt', '--body', v1file])
    const p2 = await okJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'doc.txt', '--body', v2file])
    assert.ok(typeof p1.VersionId === 'string' && p1.VersionId.length > 0, 'PutObject returns a VersionId')
    assert.ok(typeof p2.VersionId === 'string' && p2.VersionId !== p1.VersionId)

    const versions = await okJson(['s3api', 'list-object-versions', '--bucket', bucket, '--prefix', 'doc.txt'])
    const vs = versions.Versions as { Key: string; VersionId: string; IsLatest: boolean; Size: number }[]
    assert.equal(vs.length, 2)
    const byId = new Map(vs.map((v) => [v.VersionId, v]))
    assert.equal(byId.get(p2.VersionId)?.IsLatest, true)
    assert.equal(byId.get(p1.VersionId)?.IsLatest, false)
    assert.equal(byId.get(p1.VersionId)?.Size, 12)

    const out1 = join(work, 'doc.v1')
    const outLatest = join(work, 'doc.latest')
    const [g1, gl] = await Promise.all([
      okJson(['s3api', 'get-object', '--bucket', bucket, '--key', 'doc.txt', '--version-id', p1.VersionId, out1]),
      okJson(['s3api', 'get-object', '--bucket', bucket, '--key', 'doc.txt', outLatest]),
    ])
    assert.equal(g1.VersionId, p1.VersionId)
    assert.equal(readFileSync(out1, 'utf8'), 'version one\n')
    assert.equal(gl.VersionId, p2.VersionId)
    assert.equal(readFileSync(outLatest, 'utf8'), 'version two, longer\n')
  })

  test('put-object-tagging / get-object-tagging / delete-object-tagging', async () => {
    const f = join(work, 'tagged.txt')
    writeFileSync(f, 'tag me\n')
    await okJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'tagged.txt', '--body', f])
    await okJson([
      's3api',
      'put-object-tagging',
      '--bucket',
      bucket,
      '--key',
      'tagged.txt',
      '--tagging',
      JSON.stringify({
        TagSet: [
          { Key: 'team', Value: 'blue' },
          { Key: 'tier', Value: 'gold' },
        ],
      }),
    ])
    const got = await okJson(['s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'tagged.txt'])
    const tags = (got.TagSet as { Key: string; Value: string }[]).map((t) => `${t.Key}=${t.Value}`).sort()
    assert.deepEqual(tags, ['team=blue', 'tier=gold'])

    await okJson(['s3api', 'delete-object-tagging', '--bucket', bucket, '--key', 'tagged.txt'])
    const gone = await okJson(['s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'tagged.txt'])
    assert.deepEqual(gone.TagSet ?? [], [])
  })

  test('put-object --checksum-algorithm SHA256 and get-object --checksum-mode ENABLED', async () => {
    const f = join(work, 'summed.bin')
    const bytes = randomBytes(100 * 1024 + 7)
    writeFileSync(f, bytes)
    const expected = createHash('sha256').update(bytes).digest('base64')
    const put = await okJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'summed.bin', '--body', f, '--checksum-algorithm', 'SHA256'])
    assert.equal(put.ChecksumSHA256, expected)

    const out = join(work, 'summed.down')
    const got = await okJson(['s3api', 'get-object', '--bucket', bucket, '--key', 'summed.bin', '--checksum-mode', 'ENABLED', out])
    assert.equal(got.ChecksumSHA256, expected)
    assert.equal(sha256File(out), sha256(bytes))
  })

  test('get-object of a missing key exits non-zero with NoSuchKey', async () => {
    const r = await aws(['s3api', 'get-object', '--bucket', bucket, '--key', 'no/such/key', join(work, 'never')])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /NoSuchKey/)
    assert.equal(existsSync(join(work, 'never')), false)
  })

  test('head-bucket of a missing bucket gives 404', async () => {
    const r = await aws(['s3api', 'head-bucket', '--bucket', bucketName('missing')])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /\(404\)|Not Found/)
  })

  test('a wrong secret key gives SignatureDoesNotMatch', async () => {
    const wrong = { AWS_SECRET_ACCESS_KEY: 'wrong/K7MDENG/bPxRfiCYEXAMPLEKEYwrongwrong' }
    const [r, r2] = await Promise.all([aws(['s3api', 'list-objects-v2', '--bucket', bucket], wrong), aws(['s3', 'ls'], wrong)])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /SignatureDoesNotMatch/)
    assert.notEqual(r2.code, 0)
    assert.match(r2.stderr, /SignatureDoesNotMatch/)
  })
})

describe('the CLI environment (test/helpers/aws-cli.ts)', () => {
  test("the runner's proxy, CA bundle and keys never reach the CLI; a proxy and CA are set only when asked", async () => {
    const planted: Record<string, string> = {
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      AWS_CA_BUNDLE: join(work, 'no-such-ca.pem'),
      NODE_EXTRA_CA_CERTS: join(work, 'no-such-ca.pem'),
      SSL_CERT_FILE: join(work, 'no-such-ca.pem'),
      AWS_ACCESS_KEY_ID: 'AKIAPLANTED000000000',
      AWS_PROFILE: 'planted',
    }
    const saved = Object.fromEntries(Object.keys(planted).map((k) => [k, process.env[k]]))
    Object.assign(process.env, planted)
    try {
      const env = box.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      for (const k of ['HTTPS_PROXY', 'HTTP_PROXY', 'AWS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'AWS_PROFILE']) assert.equal(env[k], undefined, k)
      assert.equal(env.AWS_ACCESS_KEY_ID, ADMIN.accessKeyId)
      assert.equal(env.AWS_MAX_ATTEMPTS, '1')
      assert.equal(env.AWS_EC2_METADATA_DISABLED, 'true')
      assert.equal(readFileSync(env.AWS_CONFIG_FILE!, 'utf8'), '')
      assert.equal(readFileSync(env.AWS_SHARED_CREDENTIALS_FILE!, 'utf8'), '')
      // A planted proxy or CA would make this call fail: nothing listens on port 9 and the CA file does not exist.
      const r = await runAws(['--endpoint-url', server.endpoint, 's3api', 'list-buckets', '--output', 'json'], { env, cwd: work })
      assert.equal(r.code, 0, r.stderr)
      assert.ok(Array.isArray(cliJson(r.stdout).Buckets))
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
    const viaProxy = box.env({ proxy: server.proxy, caBundle: server.caPath })
    assert.equal(viaProxy.HTTPS_PROXY, server.proxy)
    assert.equal(viaProxy.AWS_CA_BUNDLE, server.caPath)
    assert.equal(viaProxy.NO_PROXY, undefined)
  })
})

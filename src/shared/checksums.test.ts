import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { test } from 'node:test'
import zlib from 'node:zlib'
import { AwsCrc32 } from '@aws-crypto/crc32'
import { AwsCrc32c } from '@aws-crypto/crc32c'
import fc from 'fast-check'
import {
  type ChecksumAlgorithm,
  ChecksumStream,
  checkContentMd5,
  checksumOf,
  compositeChecksum,
  crcCombine,
  createHasher,
  fullObjectChecksum,
  isValidChecksumValue,
  multipartEtag,
  parseChecksumHeaders,
  parseContentMd5,
} from './checksums.js'
import { isS3Error } from './errors.js'

const hex = (alg: ChecksumAlgorithm, s: string | Buffer): string => Buffer.from(checksumOf(alg, s), 'base64').toString('hex')

async function awsCrypto(impl: 'crc32' | 'crc32c', data: Buffer): Promise<string> {
  const h = impl === 'crc32' ? new AwsCrc32() : new AwsCrc32c()
  h.update(data)
  return Buffer.from(await h.digest()).toString('base64')
}

test('CRC catalogue check values over "123456789"', () => {
  assert.equal(hex('CRC32', '123456789'), 'cbf43926')
  assert.equal(hex('CRC32C', '123456789'), 'e3069283')
  assert.equal(hex('CRC64NVME', '123456789'), 'ae8b14860a799888') // CRC-64/NVME check value
})

test('"hello world" as S3 shows it', async () => {
  assert.equal(checksumOf('CRC32', 'hello world'), 'DUoRhQ==')
  assert.equal(checksumOf('CRC32', 'hello world\n'), 'rwg7LQ==') // captured from the JS SDK (docs/aws/clients.md §Payloads and checksums)
  assert.equal(checksumOf('CRC32', ''), 'AAAAAA==') // the JS presigned PUT's empty-body CRC32
  assert.equal(checksumOf('CRC32C', 'hello world'), await awsCrypto('crc32c', Buffer.from('hello world')))
  assert.equal(checksumOf('SHA1', 'hello world'), crypto.createHash('sha1').update('hello world').digest('base64'))
  assert.equal(checksumOf('SHA256', 'hello world'), 'uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=')
  assert.equal(checksumOf('MD5', 'hello world'), 'XrY7u+Ae7tCTyyK7j1rNww==')
})

test('CRCs agree with @aws-crypto, zlib and the AWS SDK CRC64NVME on random data and split points', async () => {
  // The AWS SDK's own CRC64NVME (a dependency of @aws-sdk/client-s3) as an independent oracle.
  const { Crc64NvmeJs } = (await import('../../node_modules/@aws-sdk/checksums/dist-es/submodules/crc/crc64-nvme/Crc64NvmeJs.js' as string)) as {
    Crc64NvmeJs: new () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> }
  }
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(300), async (arr, cut) => {
      const data = Buffer.from(arr)
      const split = Math.min(cut, data.length)
      for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
        const h = createHasher(alg)
        h.update(data.subarray(0, split))
        h.update(data.subarray(split))
        const got = h.digest().toString('base64')
        let want: string
        if (alg === 'CRC32') {
          want = await awsCrypto('crc32', data)
          const z = Buffer.alloc(4)
          z.writeUInt32BE(zlib.crc32(data))
          assert.equal(z.toString('base64'), want)
        } else if (alg === 'CRC32C') want = await awsCrypto('crc32c', data)
        else {
          const o = new Crc64NvmeJs()
          o.update(data)
          want = Buffer.from(await o.digest()).toString('base64')
        }
        assert.equal(got, want, `${alg} of ${data.length} bytes split at ${split}`)
      }
    }),
    { numRuns: 200 },
  )
})

test('ChecksumStream passes bytes through and reports MD5 + asked checksums', async () => {
  const data = crypto.randomBytes(100_000)
  const s = new ChecksumStream({ algorithms: ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] })
  const out: Buffer[] = []
  await pipeline(Readable.from([data.subarray(0, 777), data.subarray(777)]), s, async (src: AsyncIterable<unknown>) => {
    for await (const c of src) out.push(c as Buffer)
  })
  assert.deepEqual(Buffer.concat(out), data)
  const r = s.result()
  assert.equal(r.size, data.length)
  assert.equal(r.md5Hex, crypto.createHash('md5').update(data).digest('hex'))
  for (const a of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) assert.equal(r.checksums[a], checksumOf(a, data))
})

test('ChecksumStream errors before end on a wrong expected checksum or Content-MD5', async () => {
  for (const expected of [{ checksum: { algorithm: 'CRC32' as const, value: 'AAAAAA==' } }, { contentMd5: Buffer.alloc(16) }]) {
    const s = new ChecksumStream({ expected })
    let ended = false
    s.on('end', () => {
      ended = true
    })
    await assert.rejects(
      pipeline(Readable.from([Buffer.from('hello world')]), s, async (src: AsyncIterable<unknown>) => {
        for await (const _ of src) {
          /* drain */
        }
      }),
      (e) => isS3Error(e) && e.code === 'BadDigest',
    )
    assert.equal(ended, false)
  }
  const ok = new ChecksumStream({ expected: { checksum: { algorithm: 'CRC32', value: 'DUoRhQ==' }, contentMd5: parseContentMd5('XrY7u+Ae7tCTyyK7j1rNww==') } })
  await pipeline(Readable.from([Buffer.from('hello world')]), ok, async (src: AsyncIterable<unknown>) => {
    for await (const _ of src) {
      /* drain */
    }
  })
  assert.equal(ok.result().checksums.CRC32, 'DUoRhQ==')
})

test('parseChecksumHeaders validates as S3 words it', () => {
  assert.deepEqual(parseChecksumHeaders({ 'x-amz-checksum-crc32': 'rwg7LQ==', 'x-amz-sdk-checksum-algorithm': 'CRC32' }), {
    checksum: { algorithm: 'CRC32', value: 'rwg7LQ==' },
    sdkAlgorithm: 'CRC32',
  })
  assert.deepEqual(parseChecksumHeaders({ 'x-amz-trailer': 'x-amz-checksum-crc64nvme', 'x-amz-checksum-type': 'FULL_OBJECT' }), { trailer: 'CRC64NVME', type: 'FULL_OBJECT' })
  const invalid = (h: Record<string, string>, msg: string): void =>
    assert.throws(
      () => parseChecksumHeaders(h),
      (e) => isS3Error(e) && e.code === 'InvalidRequest' && e.message === msg,
    )
  invalid({ 'x-amz-checksum-crc32': 'nope' }, 'Value for x-amz-checksum-crc32 header is invalid.')
  invalid({ 'x-amz-checksum-sha256': 'rwg7LQ==' }, 'Value for x-amz-checksum-sha256 header is invalid.')
  invalid({ 'x-amz-checksum-crc32': 'rwg7LQ==', 'x-amz-checksum-crc32c': 'rwg7LQ==' }, 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.')
  invalid({ 'x-amz-sdk-checksum-algorithm': 'MD4' }, 'Value for x-amz-sdk-checksum-algorithm header is invalid.')
  assert.equal(isValidChecksumValue('CRC64NVME', checksumOf('CRC64NVME', 'x')), true)
})

test('Content-MD5: InvalidDigest when malformed, BadDigest on mismatch', () => {
  const md5 = crypto.createHash('md5').update('hello world').digest()
  checkContentMd5('XrY7u+Ae7tCTyyK7j1rNww==', md5)
  assert.throws(
    () => parseContentMd5('abc'),
    (e) => isS3Error(e) && e.code === 'InvalidDigest',
  )
  assert.throws(
    () => checkContentMd5('1B2M2Y8AsgTpgAmY7PhCfg==', md5),
    (e) => isS3Error(e) && e.code === 'BadDigest',
  )
})

test('multipart ETag and composite checksum', () => {
  const p1 = Buffer.alloc(5 << 20, 1),
    p2 = Buffer.from('tail')
  const m1 = crypto.createHash('md5').update(p1).digest(),
    m2 = crypto.createHash('md5').update(p2).digest()
  const want =
    crypto
      .createHash('md5')
      .update(Buffer.concat([m1, m2]))
      .digest('hex') + '-2'
  assert.equal(multipartEtag([m1, m2]), want)
  assert.equal(multipartEtag([`"${m1.toString('hex')}"`, m2.toString('hex')]), want)
  const c1 = checksumOf('CRC32', p1),
    c2 = checksumOf('CRC32', p2)
  const raw = Buffer.concat([Buffer.from(c1, 'base64'), Buffer.from(c2, 'base64')])
  assert.equal(compositeChecksum('CRC32', [c1, c2]), `${checksumOf('CRC32', raw)}-2`)
})

test('CRC combine: FULL_OBJECT checksum of parts equals the CRC of the whole', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 6 }), (parts) => {
      const bufs = parts.map((p) => Buffer.from(p))
      for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
        const whole = checksumOf(alg, Buffer.concat(bufs))
        assert.equal(
          fullObjectChecksum(
            alg,
            bufs.map((b) => ({ checksum: checksumOf(alg, b), size: b.length })),
          ),
          whole,
        )
      }
    }),
    { numRuns: 100 },
  )
  const a = Buffer.from('hello '),
    b = Buffer.from('world')
  assert.equal(crcCombine('CRC32', Buffer.from(checksumOf('CRC32', a), 'base64'), Buffer.from(checksumOf('CRC32', b), 'base64'), b.length).toString('base64'), 'DUoRhQ==')
})

/**
 * @module Contract cases: ListObjects and ListObjectVersions. Every page sequence is checked
 * against a model listing (filter by prefix, roll up at the delimiter, sort by UTF-8 bytes), so
 * paging boundaries that fall on, inside and after common prefixes are all exercised.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ObjectStore } from '../types.js'
import { byteOrder, freshBucket, put } from './helpers.js'

const KEYS = [
  'a',
  'B',
  'é',
  '😀',
  '\uFFFD',
  '\uE000',
  'a/b',
  'a/c/d',
  'a/c/e',
  'a/c',
  'aa',
  'a.',
  'b/x',
  'b/y/z',
  'c',
  'd/',
  'd//',
  '/',
  '/x',
  'x::y::z',
  'x::w',
  'x:',
  'photos/2024/jan/1.jpg',
  'photos/2024/feb/2.jpg',
  'photos/2025/x.jpg',
  'photos/readme',
]

/** What a listing must return, as 'o:' + key and 'p:' + common prefix entries in order. */
function model(keys: string[], prefix: string, delimiter: string | undefined): string[] {
  const out = new Set<string>()
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue
    const i = delimiter ? k.indexOf(delimiter, prefix.length) : -1
    out.add(i >= 0 ? 'p:' + k.slice(0, i + delimiter!.length) : 'o:' + k)
  }
  return [...out].sort((x, y) => byteOrder(x.slice(2), y.slice(2)))
}

async function pageAll(s: ObjectStore, b: string, prefix: string, delimiter: string | undefined, maxKeys: number): Promise<string[]> {
  const seen: string[] = []
  let after: string | undefined
  for (let guard = 0; guard < 1000; guard++) {
    const r = await s.listObjects(b, { maxKeys, ...(prefix ? { prefix } : {}), ...(delimiter ? { delimiter } : {}), ...(after !== undefined ? { after } : {}) })
    const page = [...r.objects.map((o) => 'o:' + o.key), ...r.commonPrefixes.map((p) => 'p:' + p)].sort((x, y) => byteOrder(x.slice(2), y.slice(2)))
    assert.ok(page.length <= maxKeys, 'page within maxKeys')
    seen.push(...page)
    if (!r.isTruncated) return seen
    assert.equal(page.length, maxKeys, 'a truncated page is full')
    assert.equal(r.nextAfter, page[page.length - 1]!.slice(2), 'nextAfter is the last entry')
    after = r.nextAfter
  }
  throw new Error('listing did not end')
}

export function listingCases(ctx: { store: () => ObjectStore }): void {
  let bucket = ''
  const ready = async (s: ObjectStore): Promise<string> => {
    if (bucket) return bucket
    bucket = freshBucket('list')
    for (const k of KEYS) await put(s, bucket, k, k)
    return bucket
  }

  test('keys list in UTF-8 byte order', async () => {
    const s = ctx.store()
    const b = await ready(s)
    const r = await s.listObjects(b, { maxKeys: 1000 })
    assert.deepEqual(
      r.objects.map((o) => o.key),
      [...KEYS].sort(byteOrder),
    )
    assert.equal(r.isTruncated, false)
    assert.equal(r.nextAfter, undefined)
    assert.ok(r.objects.every((o) => o.isLatest && !o.isDeleteMarker && o.size === Buffer.byteLength(o.key)))
  })

  for (const [prefix, delimiter] of [
    ['', undefined],
    ['', '/'],
    ['a', '/'],
    ['a/', '/'],
    ['photos/', '/'],
    ['photos/20', '/'],
    ['x', '::'],
    ['', 'a'],
    ['zzz', '/'],
    ['/', '/'],
  ] as const) {
    test(`prefix ${JSON.stringify(prefix)} delimiter ${JSON.stringify(delimiter)}: every page size gives the model listing`, async () => {
      const s = ctx.store()
      const b = await ready(s)
      const want = model(KEYS, prefix, delimiter)
      for (const maxKeys of [1, 2, 3, 5, 1000]) {
        assert.deepEqual(await pageAll(s, b, prefix, delimiter, maxKeys), want, `maxKeys ${maxKeys}`)
      }
    })
  }

  test('maxKeys 0 returns nothing and is not truncated', async () => {
    const s = ctx.store()
    const b = await ready(s)
    assert.deepEqual(await s.listObjects(b, { maxKeys: 0 }), { objects: [], commonPrefixes: [], isTruncated: false })
  })

  test('after is exclusive and may be any string', async () => {
    const s = ctx.store()
    const b = await ready(s)
    const sorted = [...KEYS].sort(byteOrder)
    const r = await s.listObjects(b, { after: 'a/c', maxKeys: 1000 })
    assert.deepEqual(
      r.objects.map((o) => o.key),
      sorted.slice(sorted.indexOf('a/c') + 1),
    )
    const r2 = await s.listObjects(b, { after: 'a/bb', maxKeys: 1000 })
    assert.deepEqual(
      r2.objects.map((o) => o.key),
      sorted.filter((k) => byteOrder(k, 'a/bb') > 0),
    )
    assert.deepEqual((await s.listObjects(b, { after: '\u{10FFFF}', maxKeys: 10 })).objects, [])
    const r3 = await s.listObjects(b, { prefix: 'photos/', after: 'a', maxKeys: 1000 })
    assert.equal(r3.objects.length, 4)
  })

  test('a bucket with no objects lists empty', async () => {
    const s = ctx.store()
    assert.deepEqual(await s.listObjects(freshBucket(), { maxKeys: 10, delimiter: '/' }), { objects: [], commonPrefixes: [], isTruncated: false })
    assert.deepEqual(await s.listVersions(freshBucket(), { maxKeys: 10 }), { versions: [], commonPrefixes: [], isTruncated: false })
  })

  test('exactly maxKeys entries is not truncated', async () => {
    const s = ctx.store()
    const b = freshBucket()
    for (const k of ['a', 'b', 'c/1', 'c/2']) await put(s, b, k, 'x')
    const r = await s.listObjects(b, { maxKeys: 3, delimiter: '/' })
    assert.deepEqual([r.objects.map((o) => o.key), r.commonPrefixes, r.isTruncated], [['a', 'b'], ['c/'], false])
  })

  test('versions page with key and version-id markers, delimiter roll-ups included', async () => {
    const s = ctx.store()
    const b = freshBucket('lv')
    for (const [i, k] of ['k1', 'k2', 'dir/a', 'dir/b', 'k3', 'z'].entries()) {
      for (let n = 0; n <= i % 3; n++) await put(s, b, k, `${k}${n}`, { versioning: 'Enabled' })
      if (i % 2) await s.deleteObject(b, k, { versioning: 'Enabled' })
    }
    await put(s, b, 'k2', 'null-one', { versioning: 'Suspended' })
    for (const delimiter of [undefined, '/']) {
      const full = await s.listVersions(b, { maxKeys: 1000, ...(delimiter ? { delimiter } : {}) })
      const want = [...full.versions.map((v) => `${v.key}@${v.versionId}`), ...full.commonPrefixes.map((p) => `p:${p}`)]
      for (const maxKeys of [1, 2, 3, 4, 7]) {
        const got: string[] = []
        let keyMarker: string | undefined
        let versionIdMarker: string | undefined
        for (let guard = 0; ; guard++) {
          assert.ok(guard < 100)
          const r = await s.listVersions(b, {
            maxKeys,
            ...(delimiter ? { delimiter } : {}),
            ...(keyMarker !== undefined ? { keyMarker } : {}),
            ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
          })
          assert.ok(r.versions.length + r.commonPrefixes.length <= maxKeys)
          got.push(...r.versions.map((v) => `${v.key}@${v.versionId}`), ...r.commonPrefixes.map((p) => `p:${p}`))
          if (!r.isTruncated) break
          assert.equal(r.versions.length + r.commonPrefixes.length, maxKeys)
          keyMarker = r.nextKeyMarker
          versionIdMarker = r.nextVersionIdMarker
        }
        const norm = (xs: string[]): string[] => [...xs].sort()
        assert.deepEqual(norm(got), norm(want), `maxKeys ${maxKeys}, delimiter ${String(delimiter)}`)
        assert.equal(new Set(got).size, got.length, 'no entry repeats across pages')
      }
      if (delimiter) assert.deepEqual(full.commonPrefixes, ['dir/'])
    }
    const ks = (await s.listVersions(b, { maxKeys: 1000 })).versions.map((v) => v.key)
    assert.deepEqual(ks, [...ks].sort(byteOrder))
  })

  test('versions listing honours prefix and a key marker alone', async () => {
    const s = ctx.store()
    const b = freshBucket()
    for (const k of ['p/1', 'p/2', 'q/1']) {
      await put(s, b, k, 'a', { versioning: 'Enabled' })
      await put(s, b, k, 'b', { versioning: 'Enabled' })
    }
    const r = await s.listVersions(b, { prefix: 'p/', keyMarker: 'p/1', maxKeys: 100 })
    assert.deepEqual(
      r.versions.map((v) => v.key),
      ['p/2', 'p/2'],
    )
    assert.deepEqual(
      r.versions.map((v) => v.isLatest),
      [true, false],
    )
  })
}

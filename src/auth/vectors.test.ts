/**
 * The AWS signing test vectors (test/fixtures/signing-vectors, see its README.md) against our verifier.
 * The vectors' request lines hold raw, unencoded paths (a space, UTF-8); on the wire a client sends
 * them percent-encoded once, so the harness encodes the path the way an S3 signer does before
 * handing it to the verifier, which then uses it verbatim.
 */

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { isS3Error } from '../shared/errors.js'
import { authenticate, deriveSigV4APublicPoint, describeSignature, type HttpRequestView, type SigningCredential, SigV4AKeyCache, SigV4KeyCache, uriEncodePath } from './index.js'

const ROOT = path.resolve(import.meta.dirname, '../../test/fixtures/signing-vectors')
const C_SUITE = path.join(ROOT, 'aws-c-auth-signing-test-suite')
const BOTO = path.join(ROOT, 'botocore-aws4-testsuite')

export interface ParsedHttp {
  view: HttpRequestView
  body: Buffer
}

/** Parse the suite's request files: request line, `Name:value` headers (with obs-fold continuations), blank line, body. */
export function parseHttp(text: string): ParsedHttp {
  const sep = text.indexOf('\n\n')
  const head = sep < 0 ? text : text.slice(0, sep)
  const body = sep < 0 ? Buffer.alloc(0) : Buffer.from(text.slice(sep + 2), 'utf8')
  const lines = head.split('\n')
  const first = lines.shift()!
  const method = first.slice(0, first.indexOf(' '))
  const target = first.slice(first.indexOf(' ') + 1, first.lastIndexOf(' '))
  const q = target.indexOf('?')
  const rawPathUnencoded = q < 0 ? target : target.slice(0, q)
  const rawQuery = q < 0 ? '' : target.slice(q + 1)
  const headers: Record<string, string[]> = {}
  let last: string[] | undefined
  for (const line of lines) {
    if (/^\s/.test(line) && last) {
      last[last.length - 1] += ' ' + line
      continue
    }
    const c = line.indexOf(':')
    const name = line.slice(0, c).toLowerCase()
    ;(headers[name] ??= []).push(line.slice(c + 1))
    last = headers[name]
  }
  return { view: { method, rawPath: uriEncodePath(rawPathUnencoded), rawQuery, headers }, body }
}

const read = (...p: string[]): string => fs.readFileSync(path.join(...p), 'utf8')
const exists = (...p: string[]): boolean => fs.existsSync(path.join(...p))

interface Context {
  credentials: { access_key_id: string; secret_access_key: string; token?: string }
  region: string
  service: string
  timestamp: string
  omit_session_token?: boolean
}

function credOf(ctx: Context): SigningCredential {
  const c = ctx.credentials
  return { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, ...(c.token ? { sessionToken: c.token } : {}) }
}

function options(cred: SigningCredential, now: Date, service: string, body: Buffer) {
  return {
    now,
    service,
    bufferedBody: body,
    lookup: (id: string) => (id === cred.accessKeyId ? cred : undefined),
    keyCache: new SigV4AKeyCache(4),
    signingKeyCache: new SigV4KeyCache(4),
  }
}

/** S3 does not normalise paths: these `-normalized` cases sign a path S3 would never derive (README). */
const NORMALIZED_ONLY = new Set([
  'get-relative-normalized',
  'get-relative-relative-normalized',
  'get-slash-dot-slash-normalized',
  'get-slash-normalized',
  'get-slash-pointless-dot-normalized',
  'get-slashes-normalized',
])
/** The README: these v4a cases ship only context.json and request.txt, no expected outputs. */
const V4A_NO_OUTPUTS = new Set(['get-vanilla-query-order-key', 'get-vanilla-query-order-value'])

for (const algo of ['v4', 'v4a'] as const) {
  const dir = path.join(C_SUITE, algo)
  for (const name of fs.readdirSync(dir).sort()) {
    const caseDir = path.join(dir, name)
    // Cases that do not apply to S3 get no verification test (not a skipped one): the v4a cases the
    // README says ship no outputs, and the -normalized ones, which get the rejection test below.
    const applies = !(V4A_NO_OUTPUTS.has(name) && algo === 'v4a') && !NORMALIZED_ONLY.has(name)
    for (const mode of applies ? (['header', 'query'] as const) : []) {
      test(`aws-c-auth ${algo}/${name} (${mode})`, () => {
        const ctx = JSON.parse(read(caseDir, 'context.json')) as Context
        const now = new Date(ctx.timestamp)
        const cred = credOf(ctx)
        const { view, body } = parseHttp(read(caseDir, `${mode}-signed-request.txt`))
        const d = describeSignature(view, { service: ctx.service, bufferedBody: body })
        if (mode === 'query' && ctx.omit_session_token) {
          // The token was appended to the URL after signing. S3 puts every query parameter except
          // X-Amz-Signature into the canonical query, so S3 rejects such a URL; so do we.
          assert.throws(
            () => authenticate(view, options(cred, now, ctx.service, body)),
            (e) => isS3Error(e) && e.code === 'SignatureDoesNotMatch',
          )
          return
        }
        assert.equal(d.canonicalRequest, read(caseDir, `${mode}-canonical-request.txt`))
        assert.equal(d.stringToSign, read(caseDir, `${mode}-string-to-sign.txt`))
        const r = authenticate(view, options(cred, now, ctx.service, body))
        assert.equal(r.kind, 'signed')
        if (r.kind !== 'signed') return
        assert.equal(r.authType, mode === 'header' ? 'REST-HEADER' : 'REST-QUERY-STRING')
        if (algo === 'v4') {
          assert.equal(r.signature, read(caseDir, `${mode}-signature.txt`).trim())
          assert.equal(r.region, ctx.region)
        } else {
          assert.deepEqual(r.regionSet, [ctx.region])
          // The separately given signature (a different, equally valid ECDSA signature) verifies too.
          const other = read(caseDir, `${mode}-signature.txt`).trim()
          const swapped = swapSignature(view, r.signature, other)
          assert.equal(authenticate(swapped, options(cred, now, ctx.service, body)).kind, 'signed')
        }
        // Tampering with the method must break the signature.
        assert.throws(
          () => authenticate({ ...view, method: view.method === 'GET' ? 'PUT' : 'GET' }, options(cred, now, ctx.service, body)),
          (e) => isS3Error(e) && e.code === 'SignatureDoesNotMatch',
        )
      })
    }
    if (algo === 'v4a' && !V4A_NO_OUTPUTS.has(name)) {
      test(`aws-c-auth v4a/${name}: derived public key equals public-key.json`, () => {
        const ctx = JSON.parse(read(caseDir, 'context.json')) as Context
        const pk = JSON.parse(read(caseDir, 'public-key.json')) as { X: string; Y: string }
        const point = deriveSigV4APublicPoint(ctx.credentials.access_key_id, ctx.credentials.secret_access_key)
        assert.equal(point.subarray(1, 33).toString('hex'), pk.X.toLowerCase())
        assert.equal(point.subarray(33).toString('hex'), pk.Y.toLowerCase())
        // And the given signatures verify against the given key over the given strings to sign.
        const key = crypto.createPublicKey({
          format: 'jwk',
          key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pk.X, 'hex').toString('base64url'), y: Buffer.from(pk.Y, 'hex').toString('base64url') },
        })
        for (const mode of ['header', 'query']) {
          const sts = read(caseDir, `${mode}-string-to-sign.txt`)
          const sig = Buffer.from(read(caseDir, `${mode}-signature.txt`).trim(), 'hex')
          assert.ok(crypto.verify('sha256', Buffer.from(sts), { key, dsaEncoding: 'der' }, sig))
        }
      })
    }
    if (NORMALIZED_ONLY.has(name)) {
      test(`aws-c-auth ${algo}/${name}: rejected, since S3 does not normalise the path`, () => {
        const ctx = JSON.parse(read(caseDir, 'context.json')) as Context
        const { view, body } = parseHttp(read(caseDir, 'header-signed-request.txt'))
        assert.throws(
          () => authenticate(view, options(credOf(ctx), new Date(ctx.timestamp), ctx.service, body)),
          (e) => isS3Error(e) && e.code === 'SignatureDoesNotMatch',
        )
      })
    }
  }
}

function swapSignature(view: HttpRequestView, from: string, to: string): HttpRequestView {
  if (view.rawQuery.includes(from)) return { ...view, rawQuery: view.rawQuery.replace(from, to) }
  const headers = { ...view.headers }
  headers.authorization = [String(headers.authorization).replace(from, to)]
  return { ...view, headers }
}

// botocore's older suite: header signing only; the expected Authorization is in <case>.authz.
// The token each case sends is the one its credential holds (post-sts-token's readme gives the same value).
const tokenOf = (v: HttpRequestView): string | undefined => (v.headers['x-amz-security-token'] as string[] | undefined)?.[0]
/** Path-normalisation cases: S3 signs the raw path, so they do not apply (normalize-path.txt says so). */
const BOTO_NOT_S3 = new Set([
  'normalize-path/get-relative',
  'normalize-path/get-relative-relative',
  'normalize-path/get-slash',
  'normalize-path/get-slash-dot-slash',
  'normalize-path/get-slash-pointless-dot',
  'normalize-path/get-slashes',
])
const botoCases: string[] = []
for (const entry of fs.readdirSync(BOTO).sort()) {
  if (!fs.statSync(path.join(BOTO, entry)).isDirectory()) continue
  if (exists(BOTO, entry, `${entry}.req`)) botoCases.push(entry)
  else for (const sub of fs.readdirSync(path.join(BOTO, entry)).sort()) if (exists(BOTO, entry, sub, `${sub}.req`)) botoCases.push(`${entry}/${sub}`)
}
for (const rel of botoCases.filter((r) => !BOTO_NOT_S3.has(r))) {
  const name = path.basename(rel)
  test(`botocore ${rel}`, () => {
    const f = (ext: string): string => read(BOTO, rel, `${name}.${ext}`)
    // The signature lives in <case>.authz (README). Take the Authorization header from there: one
    // .sreq (get-vanilla-with-session-token) carries a placeholder signature instead of the real one.
    const { view, body } = parseHttp(f('sreq'))
    view.headers.authorization = [f('authz').trim()]
    const cred: SigningCredential = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      ...(tokenOf(view) ? { sessionToken: tokenOf(view) } : {}),
    }
    const d = describeSignature(view, { service: 'service', bufferedBody: body })
    assert.equal(d.canonicalRequest, f('creq'))
    assert.equal(d.stringToSign, f('sts'))
    const r = authenticate(view, options(cred, new Date('2015-08-30T12:36:00Z'), 'service', body))
    assert.equal(r.kind, 'signed')
    if (r.kind === 'signed') assert.ok(f('authz').trim().endsWith(`Signature=${r.signature}`))
  })
}
assert.ok(botoCases.length === 34, `expected 34 botocore cases, found ${botoCases.length}`)

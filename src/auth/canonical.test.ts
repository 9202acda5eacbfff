/** Header values in the canonical request: the bytes the client sent, read as the UTF-8 it signed. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { canonicalHeaderValue } from './canonical.js'

/** A header value as Node hands it over: one Latin-1 char per wire byte. */
const wire = (utf8: string): string => Buffer.from(utf8, 'utf8').toString('latin1')

test('ASCII values: trimmed, inner whitespace runs collapsed, otherwise untouched', () => {
  assert.equal(canonicalHeaderValue('20130524T000000Z'), '20130524T000000Z')
  assert.equal(canonicalHeaderValue('  a   b\t c  '), 'a b c')
  assert.equal(canonicalHeaderValue(['x ', ' y']), 'x,y')
})

test('non-ASCII values are the UTF-8 text the client signed', () => {
  assert.equal(canonicalHeaderValue(wire('é')), 'é')
  assert.equal(canonicalHeaderValue(wire('日本 語')), '日本 語')
  // 'à' is C3 A0: the A0 byte must not be trimmed as a Latin-1 no-break space.
  assert.equal(canonicalHeaderValue(wire('voilà')), 'voilà')
  assert.equal(canonicalHeaderValue(wire('  café  au   lait ')), 'café au lait')
})

test('bytes that are not UTF-8 can match no signature', () => {
  // 'é' sent as Latin-1 (E9) must not verify against a signature over UTF-8 'é' (C3 A9).
  const v = canonicalHeaderValue('\u00e9')
  assert.notEqual(v, 'é')
  assert.match(v, /\n/)
})

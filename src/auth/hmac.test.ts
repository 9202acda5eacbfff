import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { equalConstantTime, HmacSha256 } from './hmac.js'

test('HmacSha256 equals createHmac for any key and message (short, long, multi-byte, reused)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 600 }), { minLength: 1, maxLength: 4 }), (key, messages) => {
      const mac = new HmacSha256(Buffer.from(key))
      for (const m of messages) assert.deepEqual(mac.digest(m), crypto.createHmac('sha256', Buffer.from(key)).update(m, 'utf8').digest())
    }),
    { numRuns: 300 },
  )
})

test('HmacSha256 matches RFC 4231 test case 2, as bytes and as hex', () => {
  const mac = new HmacSha256(Buffer.from('Jefe'))
  const want = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
  assert.equal(mac.digest('what do ya want for nothing?').toString('hex'), want)
  assert.equal(mac.digest('what do ya want for nothing?', 'hex'), want)
})

test('equalConstantTime is string equality', () => {
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => assert.equal(equalConstantTime(a, b), a === b)))
  assert.equal(equalConstantTime('abc', 'abc'), true)
  assert.equal(equalConstantTime('abc', 'abd'), false)
})

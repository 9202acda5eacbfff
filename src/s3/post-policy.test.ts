/**
 * The POST policy language on its own: S3's InvalidPolicyDocument wording for malformed documents
 * and the matching rules of "Creating a POST Policy"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html); the
 * observed answers are those docs/aws/cors.md §POST Object records.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { S3Error } from '../shared/errors.js'
import { checkPostPolicy, parsePostPolicy } from './post-policy.js'

const b64 = (doc: unknown): string => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)).toString('base64')
const EXP = '2030-01-01T00:00:00.000Z'
const NOW = Date.parse('2029-06-01T00:00:00Z')

function refusal(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof S3Error, String(e))
    return { code: e.code, status: e.status, message: e.message }
  }
  assert.fail('expected a refusal')
}

function form(fields: Record<string, string>, bucket = 'b'): { values: Map<string, string>; names: string[]; bucket: string } {
  return { values: new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v])), names: Object.keys(fields), bucket }
}

describe('parsePostPolicy', () => {
  test("malformed documents are InvalidPolicyDocument with S3's wording", () => {
    const cases: [doc: unknown, message: string][] = [
      ['{"expiration":', 'Invalid Policy: Invalid JSON.'],
      ['[1]', 'Invalid Policy: Invalid JSON.'],
      [{ conditions: [] }, 'Invalid Policy: Policy missing expiration.'],
      [{ expiration: EXP }, 'Invalid Policy: Policy missing conditions.'],
      [{ expiration: EXP, CONDITIONS: [] }, "Invalid Policy: Unexpected: 'conditions'"],
      [{ expiration: '2011-09-13T07:52:58+02:00', conditions: [] }, "Invalid Policy: Invalid 'expiration' value: '2011-09-13T07:52:58+02:00'"],
      [{ expiration: EXP, conditions: {} }, "Invalid Policy: Invalid 'conditions' value: must be a List."],
      [{ expiration: EXP, conditions: [{}] }, 'Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.'],
      [{ expiration: EXP, conditions: [{ bucket: 'b', key: 'k' }] }, 'Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.'],
      [{ expiration: EXP, conditions: [{ 'Content-Length': 6199034 }] }, 'Invalid Policy: Invalid Simple-Condition: value must be a string.'],
      [{ expiration: EXP, conditions: [[]] }, 'Invalid Policy: Invalid Condition: missing operation identifier.'],
      [{ expiration: EXP, conditions: [['ends-with', '$key', 'x']] }, "Invalid Policy: Invalid Condition: unknown operation 'ends-with'."],
      [{ expiration: EXP, conditions: [['eq', '$key']] }, 'Invalid Policy: Invalid eq: wrong number of arguments.'],
      [{ expiration: EXP, conditions: [['content-length-range', 0, 512.5]] }, 'Invalid Policy: Invalid JSON.'],
      [{ expiration: EXP, conditions: [7] }, 'Invalid Policy: Invalid condition test: must be a List or Object.'],
    ]
    for (const [doc, message] of cases)
      assert.deepEqual(
        refusal(() => parsePostPolicy(b64(doc))),
        { code: 'InvalidPolicyDocument', status: 400, message },
        message,
      )
    assert.equal(refusal(() => parsePostPolicy('not base64!')).message, 'Invalid Policy: invalid Base64 encoding.')
  })
})

describe('checkPostPolicy', () => {
  const policy = (conditions: unknown[], expiration = EXP) => parsePostPolicy(b64({ expiration, conditions }))

  test('expired is AccessDenied "Policy expired."', () => {
    assert.deepEqual(
      refusal(() => checkPostPolicy(policy([], '2020-01-01T00:00:00Z'), form({}), NOW)),
      { code: 'AccessDenied', status: 403, message: 'Invalid according to Policy: Policy expired.' },
    )
  })

  test('names and operators are case-insensitive, values are not; the bucket is the one posted to', () => {
    const p = policy([{ bUcKeT: 'b' }, ['StArTs-WiTh', '$KeY', 'user/'], ['eq', '$Content-Type', 'text/plain']])
    assert.deepEqual(checkPostPolicy(p, form({ KEY: 'user/a', 'content-TYPE': 'text/plain' }), NOW), { min: 0, max: Number.MAX_SAFE_INTEGER })
    assert.match(
      refusal(() => checkPostPolicy(p, form({ key: 'USER/a', 'content-type': 'text/plain' }), NOW)).message,
      /Policy Condition failed: \["StArTs-WiTh", "\$KeY", "user\/"\]/,
    )
    assert.match(
      refusal(() => checkPostPolicy(p, form({ key: 'user/a', 'content-type': 'text/plain' }, 'other'), NOW)).message,
      /Policy Condition failed: \["eq", "\$bUcKeT", "b"\]/,
    )
  })

  test('starts-with on Content-Type holds for every value of a comma-separated list', () => {
    const p = policy([
      ['starts-with', '$Content-Type', 'image/'],
      ['starts-with', '$x-amz-meta-tags', 'a'],
    ])
    checkPostPolicy(p, form({ 'Content-Type': 'image/jpg,image/png', 'x-amz-meta-tags': 'a,b' }), NOW)
    assert.equal(refusal(() => checkPostPolicy(p, form({ 'Content-Type': 'image/jpg,text/plain', 'x-amz-meta-tags': 'a' }), NOW)).code, 'AccessDenied')
  })

  test('a condition on an absent field fails, even starts-with ""', () => {
    assert.equal(
      refusal(() => checkPostPolicy(policy([['starts-with', '$Content-Type', '']]), form({}), NOW)).message,
      'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", ""]',
    )
  })

  test('every field but x-amz-signature, file, policy and x-ignore-* must be named', () => {
    const p = policy([{ key: 'k' }])
    checkPostPolicy(p, form({ key: 'k', policy: 'x', 'X-Amz-Signature': 's', 'x-ignore-me': '1', file: '' }), NOW)
    assert.equal(
      refusal(() => checkPostPolicy(p, form({ key: 'k', Filename: 'a', 'x-amz-meta-b': '1' }), NOW)).message,
      'Invalid according to Policy: Extra input fields: Filename, x-amz-meta-b',
    )
  })

  test('content-length-range: integers or their strings, the tightest of several; anything else fails the condition', () => {
    assert.deepEqual(
      checkPostPolicy(
        policy([
          ['content-length-range', '5', 10],
          ['content-length-range', 0, 8],
        ]),
        form({}),
        NOW,
      ),
      { min: 5, max: 8 },
    )
    assert.equal(
      refusal(() => checkPostPolicy(policy([['content-length-range', 'test', '10']]), form({}), NOW)).message,
      'Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"]',
    )
    assert.equal(refusal(() => checkPostPolicy(policy([['content-length-range', -1, 0]]), form({}), NOW)).code, 'AccessDenied')
  })
})

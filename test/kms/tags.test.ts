/**
 * Tags on KMS keys with @aws-sdk/client-kms: CreateKey's Tags, TagResource, UntagResource,
 * ListResourceTags, their authorization and condition keys (`src/kms/tag-ops.ts`,
 * docs/decisions/encryption.md §KMS decision 11).
 *
 * AWS's behaviour: the AWS KMS API Reference, API_TagResource.html, API_UntagResource.html,
 * API_ListResourceTags.html (kms:TagResource, kms:UntagResource, kms:ListResourceTags in the key
 * policy; "Cross-account use: No"; ListResourceTags' Limit 1 to 50), API_CreateKey.html (Tags needs
 * kms:TagResource in an IAM policy), the Tag data type (TagKey 1 to 128 characters, TagValue 0 to
 * 256), TagException; "Tags in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html);
 * "ABAC for AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/abac.html:
 * aws:ResourceTag, aws:RequestTag, aws:TagKeys).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  EncryptCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-kms'
import { type Creds, userWithPolicy } from '../helpers/iam-users.js'
import { kmsClient } from '../helpers/kms-keys.js'
import { ADMIN, failure, PARTNER_ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
let s: TestServer

before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

const kms = (creds: Creds = ADMIN) => kmsClient(s, creds)
const newUser = (name: string, policy: object): Promise<Creds> => userWithPolicy(s, name, policy)

async function tagsOf(keyId: string): Promise<Record<string, string>> {
  const out = await kms().send(new ListResourceTagsCommand({ KeyId: keyId }))
  return Object.fromEntries(out.Tags!.map((t) => [t.TagKey!, t.TagValue!]))
}

async function keyCount(): Promise<number> {
  return (await kms().send(new ListKeysCommand({ Limit: 1000 }))).Keys!.length
}

describe('tags are stored with the key', () => {
  test('CreateKey Tags, TagResource adds and edits, UntagResource removes; ListResourceTags pages by Limit', async () => {
    const k = (
      await kms().send(
        new CreateKeyCommand({
          Tags: [
            { TagKey: 'team', TagValue: 'blue' },
            { TagKey: 'empty', TagValue: '' },
          ],
        }),
      )
    ).KeyMetadata!
    assert.deepEqual(await tagsOf(k.KeyId!), { team: 'blue', empty: '' })
    await kms().send(
      new TagResourceCommand({
        KeyId: k.Arn,
        Tags: [
          { TagKey: 'team', TagValue: 'red' },
          { TagKey: 'app', TagValue: 'x' },
        ],
      }),
    )
    assert.deepEqual(await tagsOf(k.KeyId!), { team: 'red', empty: '', app: 'x' })
    await kms().send(new UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ['empty', 'never-set'] }))
    assert.deepEqual(await tagsOf(k.KeyId!), { team: 'red', app: 'x' })
    const first = await kms().send(new ListResourceTagsCommand({ KeyId: k.KeyId, Limit: 1 }))
    assert.deepEqual(first.Tags, [{ TagKey: 'app', TagValue: 'x' }])
    assert.equal(first.Truncated, true)
    const second = await kms().send(new ListResourceTagsCommand({ KeyId: k.KeyId, Limit: 1, Marker: first.NextMarker! }))
    assert.deepEqual(second.Tags, [{ TagKey: 'team', TagValue: 'red' }])
    assert.equal(second.Truncated, false)
    assert.equal((await failure(() => kms().send(new ListResourceTagsCommand({ KeyId: k.KeyId, Limit: 51 })))).name, 'ValidationException')
  })

  test('aws: prefix is TagException, lengths ValidationException, more than 50 LimitExceededException; nothing is made or changed', async () => {
    const before = await keyCount()
    const reserved = await failure(() => kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 'AWS:team', TagValue: 'a' }] })))
    assert.equal(reserved.name, 'TagException')
    const long = await failure(() => kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'a' }] })))
    assert.equal(long.name, 'ValidationException')
    const longValue = await failure(() => kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] })))
    assert.equal(longValue.name, 'ValidationException')
    assert.equal(await keyCount(), before)
    const k = (await kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 't0', TagValue: 'a' }] }))).KeyMetadata!
    const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `n${i}`, TagValue: 'v' }))
    const tooMany = await failure(() => kms().send(new TagResourceCommand({ KeyId: k.KeyId, Tags: fifty })))
    assert.equal(tooMany.name, 'LimitExceededException')
    const again = await failure(() => kms().send(new TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: 'a' }] })))
    assert.equal(again.name, 'TagException')
    assert.deepEqual(await tagsOf(k.KeyId!), { t0: 'a' })
  })

  test('a key pending deletion keeps its tags but takes no change; another account, or an alias, names no key', async () => {
    const k = (await kms().send(new CreateKeyCommand({ Tags: [{ TagKey: 'a', TagValue: '1' }] }))).KeyMetadata!
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/tagged', TargetKeyId: k.KeyId }))
    const viaAlias = await failure(() => kms().send(new ListResourceTagsCommand({ KeyId: 'alias/tagged' })))
    assert.equal(viaAlias.name, 'InvalidArnException')
    const partner = await failure(() => kms(PARTNER_ADMIN).send(new ListResourceTagsCommand({ KeyId: k.Arn })))
    assert.equal(partner.name, 'NotFoundException')
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }))
    const pending = await failure(() => kms().send(new TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'b', TagValue: '2' }] })))
    assert.equal(pending.name, 'KMSInvalidStateException')
    assert.deepEqual(await tagsOf(k.KeyId!), { a: '1' })
  })
})

describe('tags and authorization', () => {
  test('TagResource, UntagResource, ListResourceTags are decided by the key policy', async () => {
    const k = (
      await kms().send(
        new CreateKeyCommand({
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
              { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:user/reader` }, Action: 'kms:ListResourceTags', Resource: '*' },
            ],
          }),
          Tags: [{ TagKey: 'a', TagValue: '1' }],
        }),
      )
    ).KeyMetadata!
    assert.equal((await kms(READER).send(new ListResourceTagsCommand({ KeyId: k.KeyId }))).Tags!.length, 1)
    const tag = await failure(() => kms(READER).send(new TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'b', TagValue: '2' }] })))
    assert.equal(tag.name, 'AccessDeniedException')
    assert.match(tag.message, /kms:TagResource/)
    const untag = await failure(() => kms(READER).send(new UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ['a'] })))
    assert.equal(untag.name, 'AccessDeniedException')
    assert.match(untag.message, /kms:UntagResource/)
  })

  test('CreateKey with Tags needs kms:TagResource in IAM, judged with aws:RequestTag; no key is made when refused', async () => {
    const maker = await newUser('kms-tagger', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['kms:CreateKey', 'kms:ListResourceTags'], Resource: '*' },
        { Effect: 'Allow', Action: 'kms:TagResource', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/team': 'blue' } } },
      ],
    })
    const before = await keyCount()
    const red = await failure(() => kms(maker).send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'red' }] })))
    assert.equal(red.name, 'AccessDeniedException')
    assert.match(red.message, /kms:TagResource/)
    assert.equal(await keyCount(), before)
    const blue = (await kms(maker).send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'blue' }] }))).KeyMetadata!
    assert.deepEqual(await tagsOf(blue.KeyId!), { team: 'blue' })
    // Without Tags, kms:CreateKey alone is enough.
    assert.ok((await kms(maker).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId)
  })

  test("aws:ResourceTag in a key policy follows the key's tags", async () => {
    const k = (
      await kms().send(
        new CreateKeyCommand({
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${OWNER}:user/reader` },
                Action: 'kms:Encrypt',
                Resource: '*',
                Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } },
              },
            ],
          }),
        }),
      )
    ).KeyMetadata!
    const encrypt = () => kms(READER).send(new EncryptCommand({ KeyId: k.Arn, Plaintext: Buffer.from('x') }))
    assert.equal((await failure(encrypt)).name, 'AccessDeniedException')
    await kms().send(new TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'team', TagValue: 'blue' }] }))
    assert.ok((await encrypt()).CiphertextBlob)
    await kms().send(new UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ['team'] }))
    assert.equal((await failure(encrypt)).name, 'AccessDeniedException')
  })
})

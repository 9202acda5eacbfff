/**
 * @module Tags on KMS keys: CreateKey's Tags, TagResource, UntagResource and ListResourceTags
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html, API_UntagResource.html,
 * API_ListResourceTags.html; "Tags in AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html).
 * The tags live in the key's record; authorize.ts puts them in every decision on the key as
 * aws:ResourceTag/<key> ("ABAC for AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/abac.html),
 * and the calls that set or remove tags carry aws:RequestTag/<key> and aws:TagKeys.
 * Decision: docs/decisions/encryption.md §KMS, decision 11.
 */
import { tagContext } from '../iam/api-auth.js'
import { type KmsCall, keyOf, kmsError, type Op, requireKey, str } from './call.js'
import { pageOf } from './fields.js'
import type { KmsKeyRecord } from './keys.js'

/** The Tag shape: TagKey 1 to 128 characters, TagValue 0 to 256 (API reference, Tag data type). */
const MAX_TAG_KEY = 128
const MAX_TAG_VALUE = 256
/** Tags per KMS key ("Tags in AWS KMS" and the Tag restrictions of the AWS General Reference: 50 per resource). */
export const MAX_TAGS_PER_KEY = 50
/** ListResourceTags: Limit 1 to 50, default 50 (API reference). */
const LIST_TAGS = { default: 50, max: 50 }

function invalid(path: string, constraint: string, value?: string): Error {
  return kmsError(
    'ValidationException',
    `1 validation error detected: Value ${value === undefined ? 'null' : `'${value}'`} at '${path}' failed to satisfy constraint: ${constraint}`,
  )
}

function tagKeyChecked(k: unknown, path: string): string {
  if (k === undefined || k === null) throw invalid(path, 'Member must not be null')
  if (typeof k !== 'string') throw kmsError('SerializationException', 'TagKey must be a string')
  if (k.length < 1 || k.length > MAX_TAG_KEY) throw invalid(path, `Member must have length between 1 and ${MAX_TAG_KEY}`, k)
  // "aws:" is reserved for AWS's own tags (Tag restrictions, AWS General Reference); KMS answers TagException.
  if (k.toLowerCase().startsWith('aws:')) throw kmsError('TagException', `Tag key ${k} is not valid: the aws: prefix is reserved for AWS use.`)
  return k
}

/** The request's `Tags` list as a map (a repeated TagKey keeps its last value, as TagResource edits a tag). */
export function tagsField(c: KmsCall): Record<string, string> {
  const v = c.body.Tags
  if (v === undefined || v === null) return {}
  if (!Array.isArray(v)) throw kmsError('SerializationException', 'Tags must be a list')
  const out: Record<string, string> = {}
  v.forEach((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw kmsError('SerializationException', 'Each tag must be a structure')
    const o = t as Record<string, unknown>
    const key = tagKeyChecked(o.TagKey, `tags.${i + 1}.member.tagKey`)
    const value = o.TagValue
    if (value === undefined || value === null) throw invalid(`tags.${i + 1}.member.tagValue`, 'Member must not be null')
    if (typeof value !== 'string') throw kmsError('SerializationException', 'TagValue must be a string')
    if (value.length > MAX_TAG_VALUE) throw invalid(`tags.${i + 1}.member.tagValue`, `Member must have length less than or equal to ${MAX_TAG_VALUE}`, value)
    out[key] = value
  })
  if (Object.keys(out).length > MAX_TAGS_PER_KEY) throw tooMany()
  return out
}

function tooMany(): Error {
  return kmsError('LimitExceededException', `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`)
}

/**
 * The key of a tag call: a key id or key ARN (the API reference names no alias; mrap answers an alias
 * as it does for grants, InvalidArnException), in the caller's account ("Cross-account use: No":
 * another account's key is NotFoundException, as for CancelKeyDeletion).
 */
function tagKey(c: KmsCall): KmsKeyRecord {
  const id = str(c, 'KeyId')!
  if (id.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(id)) throw kmsError('InvalidArnException', 'Key Aliases are not supported for this operation.')
  const k = keyOf(c, id)
  if (k.account !== c.principal.accountId) throw kmsError('NotFoundException', `Key '${k.arn}' does not exist`)
  return k
}

/** TagResource and UntagResource need a key that is not pending deletion ("Key states of AWS KMS keys"). */
function notPendingDeletion(k: KmsKeyRecord): void {
  if (k.keyState === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${k.arn} is pending deletion.`)
}

export const TAG_OPS: Record<string, Op> = {
  async TagResource(c) {
    const k = tagKey(c)
    if (c.body.Tags === undefined || c.body.Tags === null) throw invalid('tags', 'Member must not be null')
    const tags = tagsField(c)
    requireKey(c, 'kms:TagResource', k, undefined, { context: tagContext(tags) })
    notPendingDeletion(k)
    const next = { ...(k.tags ?? {}), ...tags }
    if (Object.keys(next).length > MAX_TAGS_PER_KEY) throw tooMany()
    await c.keys.save({ ...k, tags: next })
    return {}
  },

  async UntagResource(c) {
    const k = tagKey(c)
    const v = c.body.TagKeys
    if (v === undefined || v === null) throw invalid('tagKeys', 'Member must not be null')
    if (!Array.isArray(v)) throw kmsError('SerializationException', 'TagKeys must be a list')
    const keys = v.map((x, i) => tagKeyChecked(x, `tagKeys.${i + 1}.member`))
    requireKey(c, 'kms:UntagResource', k, undefined, { context: keys.length > 0 ? { 'aws:tagkeys': keys } : {} })
    notPendingDeletion(k)
    const next = { ...(k.tags ?? {}) }
    for (const t of keys) delete next[t]
    await c.keys.save({ ...k, tags: next })
    return {}
  },

  async ListResourceTags(c) {
    const k = tagKey(c)
    requireKey(c, 'kms:ListResourceTags', k)
    const { page, more } = pageOf(c, Object.entries(k.tags ?? {}), ([key]) => key, LIST_TAGS)
    return { Tags: page.map(([TagKey, TagValue]) => ({ TagKey, TagValue })), ...more }
  },
}

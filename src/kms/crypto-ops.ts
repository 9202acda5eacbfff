/**
 * @module The KMS calls that make or move ciphertexts beside Encrypt, Decrypt and GenerateDataKey
 * (handler.ts): GenerateDataKeyWithoutPlaintext, ReEncrypt and GenerateRandom, with the shapes,
 * permissions and exceptions of the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyWithoutPlaintext.html,
 * API_ReEncrypt.html, API_GenerateRandom.html). Decision: docs/decisions/encryption.md §KMS, decision 12.
 */
import { randomBytes } from 'node:crypto'
import {
  algorithm,
  blob,
  checkGrantTokens,
  ciphertextKey,
  dryRun,
  dryRunDone,
  encryptionContext,
  ignoreCiphertext,
  keyOf,
  kmsError,
  newDataKey,
  type Op,
  requireIam,
  requireKey,
  str,
  usable,
} from './call.js'
import type { KmsKeyRecord } from './keys.js'

export const CRYPTO_OPS: Record<string, Op> = {
  /**
   * GenerateDataKey without the plaintext in the answer: kms:GenerateDataKeyWithoutPlaintext (key
   * policy), a grant operation of its own; the same NumberOfBytes/KeySpec, context, GrantTokens and
   * DryRun; the blob decrypts with Decrypt like GenerateDataKey's.
   */
  async GenerateDataKeyWithoutPlaintext(c) {
    const d = newDataKey(c, 'kms:GenerateDataKeyWithoutPlaintext')
    return { CiphertextBlob: d.blob, KeyId: d.key.arn }
  },

  /**
   * Decrypt under the source key and encrypt under the destination key inside KMS: "authorized
   * twice - once as ReEncryptFrom on the source key and once as ReEncryptTo on the destination key"
   * (API_ReEncrypt.html, Required permissions: kms:ReEncryptFrom and kms:ReEncryptTo, key policies),
   * each with its own encryption context (SourceEncryptionContext for ReEncryptFrom, and for the
   * source key's grant constraints; DestinationEncryptionContext for ReEncryptTo) and
   * kms:ReEncryptOnSameKey ("AWS KMS condition keys"). The source key is found in the ciphertext as
   * Decrypt does; a SourceKeyId that is another key is IncorrectKeyException. DryRun and
   * DryRunModifiers IGNORE_CIPHERTEXT as on Decrypt (IGNORE_CIPHERTEXT then needs SourceKeyId).
   */
  async ReEncrypt(c) {
    const srcEc = encryptionContext(c, 'SourceEncryptionContext')
    const dstEc = encryptionContext(c, 'DestinationEncryptionContext')
    const srcAlg = algorithm(c, 'SourceEncryptionAlgorithm')
    const dstAlg = algorithm(c, 'DestinationEncryptionAlgorithm')
    const named = str(c, 'SourceKeyId', false)
    const dest = keyOf(c, str(c, 'DestinationKeyId')!)
    const skipCiphertext = dryRun(c) && ignoreCiphertext(c) && named !== undefined
    let src: KmsKeyRecord
    let ciphertext: Buffer | undefined
    if (skipCiphertext) src = keyOf(c, named)
    else {
      ciphertext = blob(c, 'CiphertextBlob')
      src = ciphertextKey(c, ciphertext, named)
    }
    checkGrantTokens(c)
    const same = { context: { 'kms:reencryptonsamekey': [String(src.keyId === dest.keyId)] } }
    requireKey(c, 'kms:ReEncryptFrom', src, srcEc, same)
    usable(src)
    srcAlg(src)
    requireKey(c, 'kms:ReEncryptTo', dest, dstEc, same)
    usable(dest)
    dstAlg(dest)
    const plain = ciphertext && c.keys.decrypt(src, ciphertext, srcEc)
    if (ciphertext && !plain) throw kmsError('InvalidCiphertextException', '')
    if (dryRun(c) || !plain) throw dryRunDone()
    return {
      CiphertextBlob: c.keys.encrypt(dest, plain, dstEc).toString('base64'),
      SourceKeyId: src.arn,
      KeyId: dest.arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    }
  },

  /**
   * Random bytes: kms:GenerateRandom in an IAM policy (no key); NumberOfBytes 1 to 1024, "This
   * parameter is required" (API_GenerateRandom.html). CustomKeyStoreId and Recipient are refused by
   * fields.ts (no custom key stores, no Nitro attestation here).
   */
  async GenerateRandom(c) {
    requireIam(c, 'kms:GenerateRandom')
    const n = c.body.NumberOfBytes
    if (n === undefined || n === null)
      throw kmsError('ValidationException', "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null")
    if (typeof n !== 'number') throw kmsError('SerializationException', 'NumberOfBytes must be an integer')
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw kmsError('ValidationException', `1 validation error detected: Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`)
    return { Plaintext: randomBytes(n).toString('base64') }
  },
}

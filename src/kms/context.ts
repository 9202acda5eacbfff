/**
 * @module The request context keys of a KMS call, beside the aws:* keys: kms:CallerAccount,
 * kms:EncryptionContext:<key>, kms:EncryptionContextKeys, and kms:ViaService when S3 calls KMS for
 * its caller ("AWS KMS condition keys", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 */

/** kms:CallerAccount, kms:EncryptionContext:<key>, kms:EncryptionContextKeys, beside the aws:* keys. */
export function kmsContext(base: Record<string, string[]>, callerAccount: string, ec?: Record<string, string>, viaService?: string): Record<string, string[]> {
  const out: Record<string, string[]> = { ...base, 'kms:calleraccount': [callerAccount] }
  if (ec) {
    for (const [k, v] of Object.entries(ec)) out[`kms:encryptioncontext:${k.toLowerCase()}`] = [v]
    out['kms:encryptioncontextkeys'] = Object.keys(ec)
  }
  if (viaService) out['kms:viaservice'] = [viaService]
  return out
}

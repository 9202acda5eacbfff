/**
 * @module Secrets at rest: AES-256-GCM under a key file `<data-dir>/secrets.key` (32 random bytes,
 * mode 0600, created on first start).
 *
 * Why encryption and not hashing: a password can be stored as a hash because the server only ever
 * compares it. A SigV4 secret is never sent; the server must recompute the HMAC signing key
 * (and, for SigV4A, derive the ECDSA key) from the secret itself, so it has to be able to recover
 * the plaintext. What we can do is keep it out of the database file, its backups and its WAL:
 * anyone holding control.db alone learns key ids, not secrets. The key file sits beside it with
 * owner-only permissions; whoever can read both is the operator.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const VERSION = 'v1'

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The key of a data directory, created (0600) when missing. */
  static forDataDir(dataDir: string): SecretBox {
    const file = join(dataDir, 'secrets.key')
    let key: Buffer
    try {
      key = readFileSync(file)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      key = randomBytes(32)
      try {
        // 'wx': two processes starting at once must not overwrite each other's key.
        writeFileSync(file, key, { mode: 0o600, flag: 'wx' })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        key = readFileSync(file)
      }
    }
    if (key.length !== 32) throw new Error(`${file} must hold exactly 32 bytes (it holds ${key.length}); restore it or remove it together with the stored access keys`)
    // An operator may have copied the file with looser permissions; tighten them.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
    return new SecretBox(key)
  }

  /** For tests and in-memory state only. */
  static ephemeral(): SecretBox { return new SecretBox(randomBytes(32)) }

  /** `v1:<iv>:<tag>:<ciphertext>`, base64 parts; `context` (e.g. the key id) is bound as AAD. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.key, iv)
    c.setAAD(Buffer.from(context))
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()])
    return `${VERSION}:${iv.toString('base64')}:${c.getAuthTag().toString('base64')}:${ct.toString('base64')}`
  }

  open(sealed: string, context: string): string {
    const [v, iv, tag, ct] = sealed.split(':')
    if (v !== VERSION || iv === undefined || tag === undefined || ct === undefined) throw new Error('unrecognised sealed secret')
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'))
    d.setAAD(Buffer.from(context))
    d.setAuthTag(Buffer.from(tag, 'base64'))
    return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8')
  }
}

/**
 * @module Secrets at rest: AES-256-GCM under a sealing key: `<data-dir>/secrets.key` (32 random
 * bytes, mode 0600, created on first start), or the file `--sealing-key-file` names, which a fleet
 * must use (every node opens the secrets the others sealed, docs/decisions/shared-state.md).
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
import { StartupError } from '../shared/startup-error.js'
import { readLatest } from '../state/fleet.js'
import type { StateStore } from '../state/state-store.js'

const VERSION = 'v1'

/**
 * A key file holds the 32 bytes raw, or as text: 64 hex digits (`openssl rand -hex 32`) or base64
 * (44 characters), surrounding whitespace ignored. Text survives secret managers and copy-paste;
 * raw keeps the data dir's own `secrets.key` valid as a key file. The lengths cannot collide.
 */
export function parseSealingKey(bytes: Buffer): Buffer | undefined {
  if (bytes.length === 32) return bytes
  const text = bytes.toString('latin1').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64')
  return undefined
}

/** `mrap keygen`: a new key file as 64 hex digits, mode 0600, never over an existing file. */
export function writeSealingKeyFile(path: string): void {
  writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  // An operator's umask can only remove bits, but a file system may ignore the mode: say it.
  chmodSync(path, 0o600)
}

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

  /**
   * The key of `--sealing-key-file`. Unlike the data dir's key it is never created or chmod-ed:
   * it is the operator's copy of a fleet-wide secret, so a loose mode is refused, not repaired.
   */
  static fromKeyFile(file: string): SecretBox {
    let raw: Buffer
    let mode: number
    try {
      mode = statSync(file).mode
      raw = readFileSync(file)
    } catch (e) {
      throw new StartupError(
        `sealing key file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (make one with `mrap keygen <file>`)' : (e as Error).message}`,
      )
    }
    if ((mode & 0o077) !== 0) {
      throw new StartupError(`sealing key file ${file} is open to other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); \`chmod 600 ${file}\``)
    }
    const key = parseSealingKey(raw)
    if (!key) throw new StartupError(`sealing key file ${file} must hold 32 bytes: raw, 64 hex digits or base64 (it holds ${raw.length} bytes of neither)`)
    return new SecretBox(key)
  }

  /** For tests and in-memory state only. */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(32))
  }

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

const CHECK_NS = 'seal',
  CHECK_KEY = 'check'

/**
 * The sealing key a node starts with: the key file when one is given, else the data dir's. Shared
 * state requires a key file (a key made in one node's data dir is unknown to the others). Then
 * proves the key is the one the state's secrets were sealed with: the first start stores a sealed
 * check value (guarded, so two first nodes agree on one), every later start must open it. A node
 * with another key would reject every client's signature, so it refuses to start instead.
 */
export async function sealingKeyFor(state: StateStore, opts: { dataDir: string; keyFile?: string | undefined }): Promise<SecretBox> {
  if (state.backend === 'postgres' && !opts.keyFile) {
    throw new StartupError(
      'shared (PostgreSQL) state needs --sealing-key-file (or MRAP_SEALING_KEY_FILE): every node must seal and open secrets with the same key; make one with `mrap keygen <file>` and give each node a copy',
    )
  }
  const box = opts.keyFile ? SecretBox.fromKeyFile(opts.keyFile) : SecretBox.forDataDir(opts.dataDir)
  await checkSealingKey(state, box, opts.keyFile ?? join(opts.dataDir, 'secrets.key'))
  return box
}

async function checkSealingKey(state: StateStore, box: SecretBox, source: string): Promise<void> {
  const context = `${CHECK_NS}/${CHECK_KEY}`
  let stored = state.get(CHECK_NS, CHECK_KEY)
  if (stored === undefined) {
    const mine = box.seal(randomBytes(16).toString('hex'), context)
    // The loser of two first nodes reads the winner's value and is checked against it.
    if (
      await state.write([
        { op: 'expect', ns: CHECK_NS, key: CHECK_KEY, value: undefined },
        { op: 'put', ns: CHECK_NS, key: CHECK_KEY, value: mine },
      ])
    )
      return
    await readLatest(state)
    stored = state.get(CHECK_NS, CHECK_KEY)
    if (stored === undefined) throw new StartupError('the sealing key check value vanished while this node started; start it again')
  }
  try {
    box.open(stored, context)
  } catch {
    throw new StartupError(
      `the sealing key (${source}) differs from the one the ${state.backend === 'postgres' ? "fleet's" : 'stored'} secrets were sealed with: give this node the same key file as the other nodes`,
    )
  }
}

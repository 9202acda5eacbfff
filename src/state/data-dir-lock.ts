/**
 * @module One server per data directory. A second server on a live data dir would run the stores'
 * start-up cleanup (wipe tmp/, sweep unreferenced blobs) under the first one's in-flight writes, so
 * the lock is taken before anything in the directory is touched, and a loser changes nothing.
 *
 * Node has no flock(); SQLite's unix VFS locks with fcntl(), which the kernel drops when the process
 * dies, so `kill -9` never leaves a stale lock. `lock.db` is only ever opened by SQLite: closing any
 * other descriptor of it would silently drop this process's fcntl locks (POSIX semantics). The pid of
 * the holder lives beside it in `lock.pid`, for the loser's message only (never trusted as the lock).
 */

import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

export const LOCK_FILE = 'lock.db'
export const PID_FILE = 'lock.pid'

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(`data dir ${dataDir} is in use by ${pid === undefined ? 'another process' : `pid ${pid}`}`)
  }
}

export interface DataDirLock {
  readonly dataDir: string
  release(): void
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes the data directory (created 0700 if missing) for this process, or throws DataDirInUseError.
 * A second call in the same process is refused too: SQLite shares one lock per file per process.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // timeout 0: a held lock must fail at once, not after better-sqlite3's 5 s busy wait.
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (e) {
    db.close()
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e
    throw new DataDirInUseError(dataDir, holderPid(dataDir))
  }
  const pidPath = join(dataDir, PID_FILE)
  writeFileSync(pidPath + '.tmp', `${process.pid}\n`, { mode: 0o600 })
  renameSync(pidPath + '.tmp', pidPath)
  let held = true
  return {
    dataDir,
    release: () => {
      if (!held) return
      held = false
      // The pid file goes first, while the lock still keeps the next holder from writing its own.
      rmSync(pidPath, { force: true })
      db.close()
    },
  }
}

/** The holder's pid; it may not have written it yet (it writes right after locking), so wait a little. */
function holderPid(dataDir: string): number | undefined {
  const until = Date.now() + 500
  for (;;) {
    const pid = readPid(dataDir)
    if (pid !== undefined || Date.now() >= until) return pid
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
  }
}

/**
 * Makes every file and directory this process creates from now on private to its user (0600/0700).
 * Process-wide on purpose: the stores, SQLite (which gives -wal/-shm the mode of their database), the
 * CA and whatever is added later all inherit it, where per-call modes would each have to remember.
 * Bits an operator's umask already removes stay removed. Worker threads cannot change the umask;
 * there the operator's umask stands.
 */
export function privateUmask(): void {
  try {
    const old = process.umask(0o077)
    if ((old | 0o077) !== 0o077) process.umask(old | 0o077)
  } catch {
    /* a worker thread: ERR_WORKER_UNSUPPORTED_OPERATION */
  }
}

/** Group/other permission bits of an existing data directory (0 when private or missing). */
export function exposedBits(dataDir: string): number {
  try {
    return statSync(dataDir).mode & 0o077
  } catch {
    return 0
  }
}

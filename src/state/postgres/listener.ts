/**
 * @module The LISTEN connection: a dedicated client (LISTEN needs a session, so never a pooled or
 * pgbouncer-transaction connection), never inside a transaction (an idle-in-transaction listener
 * stops the notify queue from being cleaned). A notification is only a hint to catch up from
 * the change log: notifications are lost while disconnected and half-open sockets raise nothing,
 * so the connection is pinged and re-made, and every (re)connect LISTENs first, then catches up.
 */
import pg from 'pg'

export const CHANNEL = 'mrap_state'

export interface ListenerOptions {
  config: pg.ClientConfig
  /** Called on every notification and after every (re)connect. */
  hint: () => void
  pingMs: number
  /** Longest wait before trying to reconnect (the first retry is quicker). */
  maxBackoffMs: number
}

export class ChangeListener {
  private client: pg.Client | undefined
  private closed = false
  private pingTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private backoffMs = 100
  /** Whether the LISTEN is in place now (false while reconnecting). */
  listening = false
  /** Connections made so far (tests and metrics read it). */
  connects = 0

  constructor(private readonly opts: ListenerOptions) {}

  /** Resolves after the first attempt, so a node that opened is listening unless the database is down. */
  async start(): Promise<void> {
    await this.connect()
  }

  /** The backend pid of the listening session, for tests that kill it. */
  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ ...this.opts.config, keepAlive: true })
    this.client = client
    // Without a listener an 'error' event would crash the process; the ping and 'end' handle it.
    client.on('error', () => this.drop(client))
    client.on('end', () => this.drop(client))
    client.on('notification', (n) => {
      if (n.channel === CHANNEL) this.opts.hint()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
    } catch {
      this.drop(client)
      return
    }
    if (this.client !== client || this.closed) {
      void client.end().catch(() => undefined)
      return
    }
    this.listening = true
    this.connects++
    this.backoffMs = 100
    this.opts.hint()
    this.pingTimer = setInterval(() => void this.ping(client), this.opts.pingMs)
    this.pingTimer.unref()
  }

  private async ping(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error('ping timeout')), this.opts.pingMs)
    })
    try {
      await Promise.race([client.query('SELECT 1'), timeout])
    } catch {
      this.drop(client)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Forgets a broken client (once) and schedules the next attempt. */
  private drop(client: pg.Client): void {
    if (this.client !== client) return
    this.client = undefined
    this.listening = false
    clearInterval(this.pingTimer)
    // A half-open socket would never finish end(); destroying it frees the fd now.
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
    stream?.destroy()
    if (this.closed) return
    const wait = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs)
    this.retryTimer = setTimeout(() => void this.connect(), wait)
    this.retryTimer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.pingTimer)
    clearTimeout(this.retryTimer)
    const c = this.client
    this.client = undefined
    this.listening = false
    if (c) await c.end().catch(() => undefined)
  }
}

/**
 * @module The console's listener (`mrap serve --console-port`): static assets, sign-in and sign-out,
 * one-time links, sessions, the CSRF check of every POST, and the routing of everything else to the
 * pages of `pages/index.ts` inside the layout. A page never sees a socket or a cookie (page.ts).
 * See docs/decisions/console.md.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ComponentChildren } from 'preact'
import type { Core } from '../core/core.js'
import { modelFromServices } from '../explain/from-services.js'
import { findPrincipal, ModelLookupError } from '../explain/model.js'
import { dialHost, type FrontDoor, isSdkError, SessionApi, toApiError } from './api.js'
import { serveAsset } from './assets.js'
import { renderDocument, renderFragment } from './layout.js'
import type { ConsoleContext, ConsolePage, ConsoleRequest, PageResult } from './page.js'
import { ConsoleSessions, DEFAULT_LIMITS, type SessionEntry, type SessionLimits, sameSecret } from './sessions.js'
import { ApiErrorView, ErrorView, SignedInLanding, SignInForm } from './views.js'

export const COOKIE = 'mrap_console'
/** Forms are small (a policy is at most 20 KiB); uploads are streamed, not read here. */
const MAX_FORM_BYTES = 1024 * 1024

export interface ConsoleOptions {
  core: Core
  /** Where the console's SDK clients send their requests: this server's plain-HTTP front door. */
  frontDoor: FrontDoor
  host: string
  /** 0 picks a free port. */
  port: number
  /** A path prefix for a reverse proxy ('' or '/console'). */
  base?: string
  limits?: Partial<SessionLimits>
  /** The console's clock for sessions and links (tests move it; the API's signing keeps real time). */
  now?: () => number
  pages?: readonly ConsolePage[]
}

export interface ConsoleServer {
  port: number
  /** `http://host:port<base>` */
  url: string
  sessions: ConsoleSessions
  /** A one-time sign-in link for a principal (user name, `account/name` or ARN, as `mrap explain --as`). */
  signInLink(principal: string): { url: string; arn: string; expiresAt: string }
  close(): Promise<void>
}

export class ConsoleLinkError extends Error {}

/** Normalises `--console-base`: '' or '/a/b' (leading slash, no trailing slash). */
export function normaliseBase(base: string | undefined): string {
  const b = (base ?? '').trim().replace(/\/+$/, '')
  if (b === '') return ''
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(b.startsWith('/') ? b : `/${b}`)) throw new Error(`the console base path ${base} must look like /console`)
  return b.startsWith('/') ? b : `/${b}`
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Whether a POST comes from the console's own pages as far as the browser says: `Sec-Fetch-Site`
 * and `Origin`, when present, must name this origin (a client that sends neither is not a browser
 * a foreign site could drive).
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return false
  const origin = req.headers.origin
  if (origin === undefined) return true
  // Referrer-Policy: no-referrer makes Chromium send `Origin: null` with its own form POSTs; only
  // the browser-set Sec-Fetch-Site can then vouch that the form came from this origin.
  if (origin === 'null') return site === 'same-origin'
  const host = req.headers['x-forwarded-host'] ?? req.headers.host
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | 'too-large'> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > MAX_FORM_BYTES) return 'too-large'
    chunks.push(c)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/** A path to go to after sign-in: only one of ours (no `//host`, no scheme), else the overview. */
function safeNext(next: string | null | undefined): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : '/'
}

export async function startConsole(opts: ConsoleOptions): Promise<ConsoleServer> {
  const { core } = opts
  const base = normaliseBase(opts.base)
  // The pages (and the SDK clients they import) load with the first signed-in request, not at start:
  // `mrap serve` runs the console by default, and most servers' consoles are never opened.
  let pages: readonly ConsolePage[] = opts.pages ?? []
  let pagesLoaded: Promise<void> | undefined = opts.pages ? Promise.resolve() : undefined
  const loadPages = (): Promise<void> =>
    (pagesLoaded ??= import('./pages/index.js').then((m) => {
      pages = [...m.PAGES]
    }))
  const now = opts.now ?? Date.now
  const sessions = new ConsoleSessions(core, { ...DEFAULT_LIMITS, ...opts.limits }, now)
  /** By session id; clients of ended sessions are closed when the next session's are made. */
  const apis = new Map<string, SessionApi>()
  const log = core.log.child({ component: 'console' })

  const cookieHeader = (value: string, maxAgeS?: number): string =>
    `${COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=${base || '/'}${maxAgeS !== undefined ? `; Max-Age=${maxAgeS}` : ''}`

  function send(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...extra })
    res.end(html)
  }

  function page(
    res: ServerResponse,
    status: number,
    title: string,
    path: string,
    body: ComponentChildren,
    session?: SessionEntry,
    extra?: Record<string, string>,
    refreshTo?: string,
  ): void {
    send(res, status, renderDocument({ base, title, path, pages, session: session?.session, refreshTo, children: body }), extra)
  }

  function errorPage(res: ServerResponse, status: number, title: string, message: string, path: string, session?: SessionEntry): void {
    page(res, status, title, path, ErrorView({ title, message, base, signedIn: session !== undefined }), session)
  }

  function redirect(res: ServerResponse, location: string, htmx: boolean, extra: Record<string, string> = {}): void {
    // htmx follows a 3xx inside its XHR and would swap the target page into a fragment slot.
    if (htmx) {
      res.writeHead(200, { 'HX-Redirect': location, 'Cache-Control': 'no-store', ...extra })
      res.end()
      return
    }
    res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', ...extra })
    res.end()
  }

  function apiOf(e: SessionEntry): SessionApi {
    let api = apis.get(e.session.id)
    if (!api) {
      for (const [id, old] of apis)
        if (!sessions.has(id)) {
          old.destroy()
          apis.delete(id)
        }
      api = new SessionApi(opts.frontDoor, { accessKeyId: e.session.accessKeyId, secretAccessKey: e.secretAccessKey, sessionToken: e.sessionToken })
      apis.set(e.session.id, api)
    }
    return api
  }

  function signedIn(req: IncomingMessage, res: ServerResponse, entry: SessionEntry, location: string, landing: boolean): void {
    // A sign-in replaces the browser's session, never adds to it: the old one ends here.
    const previous = cookieOf(req)
    if (previous !== undefined && previous !== entry.session.id) {
      sessions.end(previous)
      apis.get(previous)?.destroy()
      apis.delete(previous)
    }
    log.info({ arn: entry.session.arn, accessKeyId: entry.session.accessKeyId }, 'console sign-in')
    const cookie = { 'Set-Cookie': cookieHeader(entry.session.id) }
    if (landing) page(res, 200, 'Signed in', '/sign-in/once', SignedInLanding({ base }), entry, cookie, location)
    else redirect(res, location, false, cookie)
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    const url = new URL(req.url ?? '/', 'http://console.invalid')
    const htmx = req.headers['hx-request'] === 'true'
    const method = req.method ?? 'GET'
    if (base && url.pathname === base) return redirect(res, `${base}/`, htmx)
    if (base && !url.pathname.startsWith(`${base}/`)) return errorPage(res, 404, 'Not found', 'There is no console page at this address.', url.pathname)
    const path = url.pathname.slice(base.length)
    const entry = sessions.get(cookieOf(req))
    if (entry) await loadPages()

    if (path.startsWith('/assets/') && (method === 'GET' || method === 'HEAD')) {
      if (!serveAsset(path.slice('/assets/'.length), req, res)) errorPage(res, 404, 'Not found', 'No such file.', path, entry)
      return
    }
    if (path === '/sign-in') {
      if (method === 'GET') {
        if (entry) return redirect(res, `${base}/`, htmx)
        const next = url.searchParams.get('next')
        return page(res, 200, 'Sign in', path, SignInForm({ base, next: next ? safeNext(next) : undefined }))
      }
      if (method !== 'POST') return errorPage(res, 405, 'Method not allowed', 'Use the sign-in form.', path)
      // A foreign page must not sign a browser in as the attacker's principal (login CSRF).
      if (!sameOrigin(req)) return errorPage(res, 403, 'Forbidden', 'The sign-in form was sent from another site.', path)
      const form = await readForm(req)
      if (form === 'too-large') return errorPage(res, 413, 'Too large', 'The form is too large.', path)
      const id = (form.get('accessKeyId') ?? '').trim()
      const r = sessions.signIn(id, form.get('secretAccessKey') ?? '', (form.get('sessionToken') ?? '').trim(), req.socket.remoteAddress ?? '')
      if (!r.ok) {
        log.warn({ accessKeyId: id, client: req.socket.remoteAddress, status: r.status }, 'console sign-in refused')
        return page(res, r.status === 429 ? 429 : 401, 'Sign in', path, SignInForm({ base, message: r.message, accessKeyId: id, next: form.get('next') ?? undefined }))
      }
      return signedIn(req, res, r.entry, `${base}${safeNext(form.get('next'))}`, false)
    }
    if (path === '/sign-in/once' && method === 'GET') {
      const r = sessions.redeemLink(url.searchParams.get('token') ?? '')
      if (!r.ok) return page(res, 401, 'Sign in', path, SignInForm({ base, message: r.message }))
      return signedIn(req, res, r.entry, `${base}/`, true)
    }
    if (!entry) {
      if (cookieOf(req) !== undefined) res.setHeader('Set-Cookie', cookieHeader('', 0))
      const next = method === 'GET' && path !== '/' ? `?next=${encodeURIComponent(path + url.search)}` : ''
      return redirect(res, `${base}/sign-in${next}`, htmx)
    }
    if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') return errorPage(res, 405, 'Method not allowed', 'The console answers GET and POST.', path, entry)
    let form = new URLSearchParams()
    let body: NodeJS.ReadableStream | undefined
    if (method === 'POST') {
      const isForm = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
      if (isForm) {
        const f = await readForm(req)
        if (f === 'too-large') return errorPage(res, 413, 'Too large', 'The form is too large.', path, entry)
        form = f
      } else body = req
      const header = req.headers['x-csrf-token']
      const sent = typeof header === 'string' ? header : (form.get('_csrf') ?? '')
      if (!sameOrigin(req) || !sameSecret(sent, entry.session.csrf)) {
        log.warn({ arn: entry.session.arn, path, origin: req.headers.origin, site: req.headers['sec-fetch-site'] }, 'console POST refused: CSRF check')
        req.resume()
        return errorPage(
          res,
          403,
          'Forbidden',
          'This form was not sent by a page of this console session (its security token is missing or wrong, or it came from another site). Reload the page and try again.',
          path,
          entry,
        )
      }
    }
    if (path === '/sign-out' && method === 'POST') {
      sessions.end(entry.session.id)
      apis.get(entry.session.id)?.destroy()
      apis.delete(entry.session.id)
      log.info({ arn: entry.session.arn }, 'console sign-out')
      return redirect(res, `${base}/sign-in`, htmx, { 'Set-Cookie': cookieHeader('', 0) })
    }
    const target = pages.find((p) => (p.mount === '/' ? path === '/' : path === p.mount || path.startsWith(`${p.mount}/`)))
    if (!target) return errorPage(res, 404, 'Not found', 'There is no console page at this address.', path, entry)
    const ctx: ConsoleContext = { core, session: entry.session, api: apiOf(entry), base }
    const creq: ConsoleRequest = {
      method: method === 'POST' ? 'POST' : 'GET',
      path: target.mount === '/' ? '' : path.slice(target.mount.length),
      query: url.searchParams,
      form,
      body,
      htmx,
      host: req.headers.host,
    }
    let result: PageResult
    try {
      result = await target.handle(ctx, creq)
    } catch (e) {
      if (isSdkError(e)) {
        const error = toApiError(e)
        return page(res, error.status >= 400 && error.status < 600 ? error.status : 502, 'Refused', path, ApiErrorView({ base, session: entry.session, error }), entry)
      }
      const ref = randomUUID()
      log.error({ err: e, ref, path, arn: entry.session.arn }, 'console page failed')
      return errorPage(res, 500, 'Something went wrong', `This page failed on the server. The server's log has the details under reference ${ref}.`, path, entry)
    }
    switch (result.kind) {
      case 'page':
        return page(res, result.status ?? 200, result.title, path, result.body, entry)
      case 'fragment':
        return send(res, result.status ?? 200, renderFragment(result.body))
      case 'redirect':
        return redirect(res, result.location, htmx)
      case 'file': {
        const headers: Record<string, string> = { 'Content-Type': result.contentType, 'Cache-Control': 'no-store' }
        if (result.filename !== undefined) headers['Content-Disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(result.filename)}`
        res.writeHead(200, headers)
        if (Buffer.isBuffer(result.body)) res.end(result.body)
        else result.body.pipe(res)
        return
      }
    }
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      log.error({ err: e, url: req.url }, 'console request failed')
      if (!res.headersSent)
        send(
          res,
          500,
          renderDocument({
            base,
            title: 'Error',
            path: '',
            pages,
            children: ErrorView({ title: 'Something went wrong', message: 'The console failed to answer.', base, signedIn: false }),
          }),
        )
      else res.destroy()
    })
  })
  // Idle keep-alive sockets must not hold close() open.
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const dial = dialHost(opts.host)
  const url = `http://${dial.includes(':') ? `[${dial}]` : dial}:${port}${base}`

  return {
    port,
    url,
    sessions,
    signInLink(name: string) {
      let ref: { ref: string; arn: string }
      try {
        const hit = findPrincipal(modelFromServices(core, 'the running server'), name)
        ref = { ref: hit.ref, arn: hit.principal.arn }
      } catch (e) {
        if (e instanceof ModelLookupError) throw new ConsoleLinkError(e.message)
        throw e
      }
      const p = core.identities.findPrincipal(ref.ref)
      const key = p ? core.identities.keyOf(p) : undefined
      if (!key) throw new ConsoleLinkError(`${ref.arn} has no active access key to sign in with (a role signs in with its temporary credentials on the sign-in page)`)
      const link = sessions.issueLink(key.accessKeyId)
      return { url: `${url}/sign-in/once?token=${link.token}`, arn: ref.arn, expiresAt: new Date(link.expiresAt).toISOString() }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
        for (const a of apis.values()) a.destroy()
        apis.clear()
      }),
  }
}

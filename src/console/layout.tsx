/**
 * @module The console's page frame: head (styles, htmx, the small client script), a skip link, the
 * header with the product name, the signed-in principal and sign-out, the navigation built from the
 * page list, main and footer. Signed-out pages (sign-in, errors before sign-in) use the same frame
 * without the navigation.
 */
import { type ComponentChildren, Fragment, h } from 'preact'
import { render } from 'preact-render-to-string'
import type { ConsolePage, ConsoleSession } from './page.js'

/** htmx must not inject its indicator styles (CSP) nor evaluate strings as code. */
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false })

export interface LayoutProps {
  base: string
  title: string
  /** The request path below base, for `aria-current` in the navigation. */
  path: string
  pages: readonly ConsolePage[]
  session?: ConsoleSession | undefined
  /** Go on to this URL at once (a same-site step after a one-time link). */
  refreshTo?: string | undefined
  children: ComponentChildren
}

function isCurrent(mount: string, path: string): boolean {
  if (mount === '/') return path === '/' || path === ''
  return path === mount || path.startsWith(`${mount}/`)
}

export function Layout({ base, title, path, pages, session, refreshTo, children }: LayoutProps) {
  const nav = [...pages].sort((a, b) => a.nav.order - b.nav.order)
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        {session ? <meta name="csrf-token" content={session.csrf} /> : null}
        {refreshTo ? <meta http-equiv="refresh" content={`0;url=${refreshTo}`} /> : null}
        <title>{`${title} · mrap console`}</title>
        <link rel="icon" href={`${base}/assets/favicon.svg`} type="image/svg+xml" />
        <link rel="stylesheet" href={`${base}/assets/pico.min.css`} />
        <link rel="stylesheet" href={`${base}/assets/tokens.css`} />
        <script src={`${base}/assets/htmx.min.js`} defer />
        <script src={`${base}/assets/console.js`} defer />
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <nav class="container-fluid" aria-label="Account">
            <ul>
              <li>
                <a class="brand" href={`${base}/`}>
                  <strong>mrap</strong> console
                </a>
              </li>
            </ul>
            {session ? (
              <ul>
                <li>
                  <span class="principal" title={session.arn}>
                    Signed in as <strong>{session.name}</strong> <small>({session.accountId})</small>
                  </span>
                </li>
                <li>
                  <form method="post" action={`${base}/sign-out`} class="inline-form">
                    <input type="hidden" name="_csrf" value={session.csrf} />
                    <button type="submit" class="secondary outline">
                      Sign out
                    </button>
                  </form>
                </li>
              </ul>
            ) : null}
          </nav>
          {session && nav.length > 0 ? (
            <nav class="container-fluid main-nav" aria-label="Main">
              <ul>
                {nav.map((p) => (
                  <li>
                    <a href={`${base}${p.mount === '/' ? '/' : p.mount}`} aria-current={isCurrent(p.mount, path) ? 'page' : undefined}>
                      {p.nav.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
        </header>
        <main id="main" class="container" tabIndex={-1}>
          {children}
        </main>
        <footer class="container site-footer">
          <small>mrap: S3 with Multi-Region Access Points over private interface endpoints. Every action here runs as the signed-in principal, through the API.</small>
        </footer>
      </body>
    </html>
  )
}

export function renderDocument(props: LayoutProps): string {
  return `<!doctype html>${render(<Layout {...props} />)}`
}

export function renderFragment(body: ComponentChildren): string {
  // A fragment: `body` may be a list or text, which render() takes only inside a node.
  return render(h(Fragment, null, body))
}

/**
 * @module The console server's own screens: the sign-in form, the one-time link's landing, and the
 * error pages (403, 404, 413, 500, an API error a page let escape). Pages' bodies live in pages/.
 */
import type { ApiError } from './api.js'
import { ApiErrorBox, StatusBadge } from './components.js'
import type { ConsoleSession } from './page.js'

export function SignInForm({ base, message, accessKeyId, next }: { base: string; message?: string | undefined; accessKeyId?: string | undefined; next?: string | undefined }) {
  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p>Use the access key of any principal of this world. Everything you do here runs as that principal, through the same authorization as the API.</p>
      {message ? (
        <p class="notice" role="alert" id="sign-in-error">
          <StatusBadge status="deny">{message}</StatusBadge>
        </p>
      ) : null}
      <form method="post" action={`${base}/sign-in`}>
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <label for="accessKeyId">Access key ID</label>
        <input
          id="accessKeyId"
          name="accessKeyId"
          autocomplete="username"
          required
          spellcheck={false}
          value={accessKeyId ?? ''}
          aria-invalid={message ? 'true' : undefined}
          aria-describedby={message ? 'sign-in-error' : undefined}
        />
        <label for="secretAccessKey">Secret access key</label>
        <input
          id="secretAccessKey"
          name="secretAccessKey"
          type="password"
          autocomplete="current-password"
          required
          aria-invalid={message ? 'true' : undefined}
          aria-describedby={message ? 'sign-in-error' : undefined}
        />
        <details>
          <summary>Temporary credentials (STS)</summary>
          <label for="sessionToken">Session token</label>
          <input id="sessionToken" name="sessionToken" type="password" autocomplete="off" />
        </details>
        <button type="submit">Sign in</button>
      </form>
      <p>
        <small>
          From the machine running the server, <code>mrap console-url --as NAME</code> prints a one-time sign-in link for a principal.
        </small>
      </p>
    </section>
  )
}

export function ErrorView({ title, message, base, signedIn }: { title: string; message: string; base: string; signedIn: boolean }) {
  return (
    <section>
      <h1>{title}</h1>
      <p>{message}</p>
      <p>
        <a href={`${base}/`}>{signedIn ? 'Back to the overview' : 'Sign in'}</a>
      </p>
    </section>
  )
}

/** An SDK error a page did not catch: still AWS's code and message, never a stack. */
export function ApiErrorView({ base, session, error }: { base: string; session: ConsoleSession; error: ApiError }) {
  return (
    <section>
      <h1>The request was refused</h1>
      <ApiErrorBox ctx={{ base, session }} error={error} />
    </section>
  )
}

/**
 * After a one-time link: a same-site step before the console, because a SameSite=Strict cookie is
 * not sent on a redirect that a cross-site navigation (a link in a chat or mail) started.
 */
export function SignedInLanding({ base }: { base: string }) {
  return (
    <section>
      <h1>Signed in</h1>
      <p>
        <a href={`${base}/`} id="continue">
          Continue to the console
        </a>
      </p>
    </section>
  )
}

/**
 * The console server without a browser (fetch): its security headers and cached assets, a base path
 * for reverse proxies, the sign-in throttle, temporary (STS) credentials, safe redirects, htmx
 * sign-in redirects, and what a failing page shows (no stack; AWS's error for an escaped SDK error).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { HeadBucketCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import type { ConsolePage } from '../../src/console/page.js'
import { type ConsoleServer, startConsole } from '../../src/console/server.js'
import { ConsoleSessions, DEFAULT_LIMITS } from '../../src/console/sessions.js'
import { ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

let s: TestServer
let proxied: TestServer

before(async () => {
  s = await startTestServer({ console: { sessions: { maxFailures: 3 } } })
  proxied = await startTestServer({ console: { base: '/console' } })
})
after(async () => {
  await s?.stop()
  await proxied?.stop()
})

const url = (path: string, srv = s): string => `${srv.console!.url}${path}`

async function signIn(creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, srv = s): Promise<Response> {
  return fetch(url('/sign-in', srv), {
    method: 'POST',
    body: new URLSearchParams({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken ?? '' }),
    redirect: 'manual',
  })
}

const cookieOf = (r: Response): string => (r.headers.get('set-cookie') ?? '').split(';')[0]!

describe('headers and assets', () => {
  test('every answer carries the CSP, frame and referrer headers; assets revalidate with their ETag', async () => {
    const page = await fetch(url('/sign-in'))
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'self'/)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer')
    assert.equal(page.headers.get('cache-control'), 'no-store')
    const html = await page.text()
    assert.match(html, /<meta name="htmx-config" content="\{&quot;includeIndicatorStyles&quot;:false,&quot;allowEval&quot;:false\}"/)
    for (const asset of ['htmx.min.js', 'pico.min.css', 'tokens.css', 'console.js', 'favicon.svg']) {
      const a = await fetch(url(`/assets/${asset}`))
      assert.equal(a.status, 200, asset)
      const etag = a.headers.get('etag')
      assert.ok(etag, asset)
      await a.arrayBuffer()
      const again = await fetch(url(`/assets/${asset}`), { headers: { 'if-none-match': etag } })
      assert.equal(again.status, 304, asset)
    }
    // No way out of the assets folder (the URL parser resolves `..` itself; encoded, it is no name).
    assert.doesNotMatch(await (await fetch(url('/assets/../package.json'))).text(), /"devDependencies"/)
    assert.equal((await fetch(url('/assets/%2e%2e%2fpackage.json'))).status, 404)
  })

  test('under --console-base every link, the cookie path and the assets carry the base', async () => {
    assert.ok(proxied.console!.url.endsWith('/console'))
    const root = await fetch(proxied.console!.url.replace(/\/console$/, '/'), { redirect: 'manual' })
    assert.equal(root.status, 404)
    const r = await signIn(ADMIN, proxied)
    assert.equal(r.status, 303)
    assert.equal(r.headers.get('location'), '/console/')
    assert.match(r.headers.get('set-cookie') ?? '', /Path=\/console(;|$)/)
    const home = await fetch(url('/', proxied), { headers: { cookie: cookieOf(r) } })
    const html = await home.text()
    assert.match(html, /href="\/console\/assets\/pico\.min\.css"/)
    assert.match(html, /action="\/console\/sign-out"/)
    assert.equal((await fetch(url('/assets/tokens.css', proxied))).status, 200)
  })
})

describe('sign-in', () => {
  test('after 3 failures for a key, even its right secret is refused for a while (429); other keys still sign in', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await signIn({ accessKeyId: READER.accessKeyId, secretAccessKey: `wrong-${i}` })).status, 401)
    const r = await signIn(READER)
    assert.equal(r.status, 429)
    assert.match(await r.text(), /Too many failed sign-ins/)
    assert.equal(r.headers.get('set-cookie'), null)
    assert.equal((await signIn(ADMIN)).status, 303)
  })

  test('the secret never reaches a page', async () => {
    const r = await signIn(ADMIN)
    const html = await (await fetch(url('/'), { headers: { cookie: cookieOf(r) } })).text()
    assert.match(html, /Signed in as <strong>admin<\/strong>/)
    assert.ok(!html.includes(ADMIN.secretAccessKey))
    assert.ok(!cookieOf(r).includes(ADMIN.secretAccessKey))
  })

  test('temporary credentials sign in with their session token, and not without it', async () => {
    const iam = new IAMClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'console-viewer',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'console-viewer',
        PolicyName: 'list',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] }),
      }),
    )
    const sts = new STSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 })
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/console-viewer', RoleSessionName: 'web' }))).Credentials!
    const without = await signIn({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey! })
    assert.equal(without.status, 401)
    assert.match(await without.text(), /session token/)
    const r = await signIn({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! })
    assert.equal(r.status, 303)
    const html = await (await fetch(url('/'), { headers: { cookie: cookieOf(r) } })).text()
    assert.match(html, /Signed in as <strong>console-viewer\/web<\/strong>/)
    // The role may list buckets, not MRAPs: the overview shows S3 Control's refusal, not a 500.
    assert.match(html, /DOC-EXAMPLE-BUCKET1/)
    assert.match(html, /Multi-Region Access Points could not be listed/)
    assert.match(html, /AccessDenied/)
    // A one-time link needs a long-term key: the role has none, and says how it signs in instead.
    assert.throws(() => s.console!.signInLink('123456789012/role/console-viewer'), /has no active access key.*temporary credentials/)
    iam.destroy()
    sts.destroy()
  })

  test('a one-time link names its principal as mrap explain --as does: name, account/name or ARN', () => {
    for (const name of ['reader', '123456789012/reader', 'arn:aws:iam::123456789012:user/reader'])
      assert.equal(s.console!.signInLink(name).arn, 'arn:aws:iam::123456789012:user/reader', name)
    assert.equal(s.console!.signInLink('444455556666/partner').arn, 'arn:aws:iam::444455556666:user/partner')
  })

  test('signing in again (a one-time link in the same browser) ends the session it replaces', async () => {
    const first = cookieOf(await signIn(ADMIN))
    assert.equal((await fetch(url('/'), { headers: { cookie: first }, redirect: 'manual' })).status, 200)
    const link = s.console!.signInLink('reader').url
    const second = await fetch(link, { headers: { cookie: first }, redirect: 'manual' })
    assert.equal(second.status, 200)
    assert.notEqual(cookieOf(second), first)
    const old = await fetch(url('/'), { headers: { cookie: first }, redirect: 'manual' })
    assert.equal(old.status, 303)
    assert.equal(old.headers.get('location'), '/sign-in')
  })

  test('after sign-in, `next` goes only to a console path, never to another site', async () => {
    for (const [next, want] of [
      ['/buckets?prefix=a', '/buckets?prefix=a'],
      ['//evil.example/x', '/'],
      ['https://evil.example/', '/'],
      ['/\\evil.example', '/'],
    ] as const) {
      const r = await fetch(url('/sign-in'), {
        method: 'POST',
        body: new URLSearchParams({ accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretAccessKey, next }),
        redirect: 'manual',
      })
      assert.equal(r.headers.get('location'), want, next)
    }
  })

  test('signed out, a page sends to sign-in (with where it was); an htmx request gets HX-Redirect', async () => {
    const r = await fetch(url('/buckets?x=1'), { redirect: 'manual' })
    assert.equal(r.status, 303)
    assert.equal(r.headers.get('location'), `/sign-in?next=${encodeURIComponent('/buckets?x=1')}`)
    const hx = await fetch(url('/'), { headers: { 'HX-Request': 'true' }, redirect: 'manual' })
    assert.equal(hx.status, 200)
    assert.equal(hx.headers.get('hx-redirect'), '/sign-in')
  })
})

describe('session lifetime', () => {
  test('a session used every 50 minutes still ends 12 hours after sign-in', () => {
    let t = 0
    const sessions = new ConsoleSessions(s.services, DEFAULT_LIMITS, () => t)
    const r = sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
    assert.ok(r.ok)
    const id = r.entry.session.id
    for (t = 50 * 60_000; t < 12 * 3600_000; t += 50 * 60_000) assert.ok(sessions.get(id), `ended early at ${t / 60_000} min`)
    t = 12 * 3600_000
    assert.equal(sessions.get(id), undefined)
  })
})

describe('a failing page', () => {
  let c: ConsoleServer
  before(async () => {
    const pages: ConsolePage[] = [
      {
        mount: '/',
        nav: { label: 'Home', order: 0 },
        handle: async () => {
          throw new Error('secret internals at /srv/app.ts:12')
        },
      },
      {
        mount: '/sdk',
        nav: { label: 'SDK', order: 1 },
        handle: async (ctx) => {
          await (await ctx.api.s3('us-east-1')).send(new HeadBucketCommand({ Bucket: 'DOC-EXAMPLE-BUCKET2' }))
          return { kind: 'page', title: 'x', body: 'not reached' }
        },
      },
    ]
    c = await startConsole({ core: s.services, frontDoor: { host: '127.0.0.1', port: s.port }, host: '127.0.0.1', port: 0, pages })
  })
  after(async () => {
    await c?.close()
  })

  test("an exception is a 500 page in the layout with a reference and no stack; an SDK error shows AWS's answer", async () => {
    const r = c.sessions.signIn(ADMIN.accessKeyId, ADMIN.secretAccessKey, '', 'test')
    assert.ok(r.ok)
    const cookie = `mrap_console=${r.entry.session.id}`
    const boom = await fetch(`${c.url}/`, { headers: { cookie } })
    assert.equal(boom.status, 500)
    const text = await boom.text()
    assert.match(text, /Something went wrong/)
    assert.match(text, /reference [0-9a-f-]{36}/)
    assert.ok(!text.includes('secret internals'))
    assert.ok(!text.includes('app.ts'))
    // A bucket in eu-west-1 asked in us-east-1: S3's answer, as the SDK saw it.
    const sdk = await fetch(`${c.url}/sdk`, { headers: { cookie } })
    assert.ok(sdk.status >= 300 && sdk.status < 500, String(sdk.status))
    assert.match(await sdk.text(), /HTTP \d{3}/)
  })
})

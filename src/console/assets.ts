/**
 * @module The console's static files: Pico and htmx from node_modules, and our own files from the
 * package's top-level `assets/console/` (found from this module's place, which is the same depth in
 * `src/` under tsx and in `dist/` after the build). Read on first request and kept (they are small),
 * each with an ETag so browsers revalidate with a 304 instead of downloading again.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const OWN_DIR = fileURLToPath(new URL('../../assets/console/', import.meta.url))

const TYPES: Record<string, string> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
}

/** Files from packages, by the name the layout links. */
const FROM_PACKAGES: Record<string, string> = {
  'pico.min.css': '@picocss/pico/css/pico.min.css',
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
}

interface Asset {
  body: Buffer
  etag: string
  type: string
}

const cache = new Map<string, Asset | null>()

/** A plain file name: no path separators, no dot files, a known type. */
const NAME = /^[a-z0-9][a-z0-9._-]*\.(css|js|svg|png|ico)$/

function load(name: string): Asset | undefined {
  if (cache.has(name)) return cache.get(name) ?? undefined
  let asset: Asset | null = null
  if (NAME.test(name) && !name.includes('..')) {
    const path = FROM_PACKAGES[name] ? require.resolve(FROM_PACKAGES[name]) : OWN_DIR + name
    try {
      const body = readFileSync(path)
      asset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, type: TYPES[name.slice(name.lastIndexOf('.') + 1)]! }
    } catch {
      asset = null
    }
  }
  cache.set(name, asset)
  return asset ?? undefined
}

/** Answers a GET/HEAD for `/assets/<name>`; false when no such asset (the caller sends its 404). */
export function serveAsset(name: string, req: IncomingMessage, res: ServerResponse): boolean {
  const a = load(name)
  if (!a) return false
  res.setHeader('ETag', a.etag)
  // Revalidate every time: a new version of the package must show at once, and the 304 is cheap.
  res.setHeader('Cache-Control', 'no-cache')
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304)
    res.end()
    return true
  }
  res.writeHead(200, { 'Content-Type': a.type, 'Content-Length': a.body.length })
  res.end(req.method === 'HEAD' ? undefined : a.body)
  return true
}

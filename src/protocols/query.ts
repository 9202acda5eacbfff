/**
 * @module The AWS Query protocol that IAM, STS and EC2 share: the call is a form body (or the URL
 * query) of `Action`, `Version` and parameters; responses are XML elements. Each service adds its
 * own list encoding (IAM `Name.member.N`, EC2 `Name.N`) and error wording on top of these pieces.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
 */
import type { IncomingMessage } from 'node:http'
import { expectLength } from '../auth/body.js'
import { esc } from '../s3/xml.js'
import { s3Error } from '../shared/errors.js'

/** IAM's largest request (a 10 KB role policy, URL-encoded three times over) stays far below this. */
const MAX_FORM_BYTES = 256 * 1024

export async function readForm(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  // Through expectLength: a stalled form body gets RequestTimeout like any other request body.
  for await (const chunk of expectLength(req, undefined)) {
    size += (chunk as Buffer).length
    if (size > MAX_FORM_BYTES) throw s3Error('ValidationError', { message: 'Request body is too large.' })
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * A Query-protocol call's parameters: the form body (POST) merged after the URL query, as IAM, STS
 * and EC2 accept both. The raw body is returned too: SigV4 signs its hash. It is read for every
 * method, so the hash the signature is checked against is that of the bytes actually received.
 */
export async function readQueryCall(req: IncomingMessage, method: string, rawQuery: string): Promise<{ body: Buffer; form: URLSearchParams }> {
  const body = await readForm(req)
  const form = new URLSearchParams(rawQuery)
  if (method === 'POST') for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.append(k, v)
  return { body, form }
}

/** The parameters of a call, read-only; the services' classes add their list and error rules. */
export class QueryParams {
  constructor(protected readonly p: URLSearchParams) {}

  get action(): string | undefined {
    return this.p.get('Action') ?? undefined
  }
  has(name: string): boolean {
    return this.p.has(name)
  }
  opt(name: string): string | undefined {
    return this.p.get(name) ?? undefined
  }

  /** Values whose name matches `re` (its first group the index N), in N order. */
  protected numbered(re: RegExp): string[] {
    const out: [number, string][] = []
    for (const [k, v] of this.p) {
      const m = re.exec(k)
      if (m) out.push([Number(m[1]), v])
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
  }
}

/** `<tag>text</tag>` (text escaped), or nothing when the value is undefined. */
export function el(tag: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${tag}>${esc(String(value))}</${tag}>`
}

/**
 * @module Share links: a presigned GET for one object (or version), valid at most 7 days (SigV4's
 * limit), signed with the session's own key by the SDK's signer, on the host the user reaches the
 * machine at. MinIO's links carried an internal host or outlived what SigV4 allows (design §1.5).
 */
import type { S3Client } from '@aws-sdk/client-s3'
import { CsrfField, Notice } from '../components.js'
import type { ConsoleContext, ConsoleRequest } from '../page.js'
import { bucketHref, MAX_SHARE_SECONDS, Time } from './buckets-common.js'

const SHARE_CHOICES: [number, string][] = [
  [3600, '1 hour'],
  [43200, '12 hours'],
  [86400, '1 day'],
  [MAX_SHARE_SECONDS, '7 days (the most SigV4 allows)'],
]

export function ShareForm({
  ctx,
  bucket,
  objectKey,
  versionId,
  share,
}: {
  ctx: ConsoleContext
  bucket: string
  objectKey: string
  versionId?: string | undefined
  share?: { url: string; expires: Date } | undefined
}) {
  return (
    <section aria-labelledby="share-heading">
      <h3 id="share-heading">Share</h3>
      <form method="post" action={bucketHref(ctx, bucket, '/share')}>
        <CsrfField ctx={ctx} />
        <input type="hidden" name="key" value={objectKey} />
        {versionId ? <input type="hidden" name="versionId" value={versionId} /> : null}
        <label for="share-expires">Link valid for</label>
        <div class="field-group">
          <select id="share-expires" name="expires">
            {SHARE_CHOICES.map(([s, label]) => (
              <option value={String(s)} selected={s === 86400}>
                {label}
              </option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Create link
          </button>
        </div>
      </form>
      {share ? (
        <>
          <Notice status="ok">
            Link created; it works until <Time at={share.expires} /> for anyone who has it, with your permissions.
          </Notice>
          <label for="share-url">Presigned link</label>
          <input id="share-url" readOnly value={share.url} />
        </>
      ) : null}
    </section>
  )
}

/** S3's path encoding: every byte but the unreserved ones and the key's own slashes. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')
}

/**
 * A presigned GET signed by the SDK's own signer with the session's key. The link names the API on
 * the host the browser reached the console at (MinIO's links carried an internal host: design
 * §1.5), at the API's port.
 */
export async function presignGet(s3: S3Client, req: ConsoleRequest, bucket: string, key: string, versionId: string | undefined, expiresIn: number): Promise<string> {
  const config = s3.config as unknown as {
    endpoint: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>
    signer: () => Promise<{ presign(r: unknown, o: { expiresIn: number }): Promise<{ query: Record<string, string> }> }>
  }
  const ep = await config.endpoint()
  const hostname = requestHostname(req) ?? ep.hostname
  const host = ep.port ? `${hostname}:${ep.port}` : hostname
  const path = `${ep.path.replace(/\/$/, '')}/${bucket}/${encodeKey(key)}`
  const signer = await config.signer()
  const signed = await signer.presign(
    // UNSIGNED-PAYLOAD, as S3's presigner signs: the signer hoists the header into the query.
    {
      method: 'GET',
      protocol: ep.protocol,
      hostname,
      ...(ep.port ? { port: ep.port } : {}),
      path,
      query: versionId ? { versionId } : {},
      headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn },
  )
  const query = Object.entries(signed.query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&')
  return `${ep.protocol}//${host}${path}?${query}`
}

/** The host name (without port) the browser used for the console, when the server passes it on. */
function requestHostname(req: ConsoleRequest): string | undefined {
  const h = req.host
  if (!h) return undefined
  try {
    return new URL(`http://${h}`).hostname
  } catch {
    return undefined
  }
}

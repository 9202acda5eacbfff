/**
 * @module The contract between the console's server (`server.ts`: listener, sign-in, sessions,
 * CSRF, layout) and its pages (`pages/*.tsx`). A page never sees a socket or a cookie: it gets the
 * signed-in principal's context and the parsed request, and returns what to show.
 *
 * Every change a page makes goes through `ctx.api`: AWS SDK clients signed with the signed-in
 * principal's own key and sent to this server's own front door, so the console can do exactly what
 * that principal could do with the CLI — the same authentication, authorization, errors and logs.
 * Pages read through `ctx.core` only what the API would show that principal as well (or what the
 * console shows every signed-in user: region health, the world's shape), and `mrap explain`/`lint`.
 */
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { IAMClient } from '@aws-sdk/client-iam'
import type { S3Client } from '@aws-sdk/client-s3'
import type { S3ControlClient } from '@aws-sdk/client-s3-control'
import type { ComponentChildren } from 'preact'
import type { Core } from '../core/core.js'

/** A signed-in principal. The secret stays in the server's memory, never in a cookie or a page. */
export interface ConsoleSession {
  id: string
  /** The principal's ARN (`arn:aws:iam::111122223333:user/reader`), its account and a short name. */
  arn: string
  accountId: string
  name: string
  accessKeyId: string
  /** Sent back in every form (`_csrf`) and htmx request (`X-CSRF-Token`); checked by the server. */
  csrf: string
  expiresAt: number
}

/** SDK clients acting as the session's principal against this server (created lazily, reused). */
export interface ConsoleApi {
  s3(region?: string): Promise<S3Client>
  s3control(): Promise<S3ControlClient>
  iam(): Promise<IAMClient>
  ec2(region: string): Promise<EC2Client>
}

export interface ConsoleContext {
  core: Core
  session: ConsoleSession
  api: ConsoleApi
  /** The console's base path ('' or '/console' behind a proxy): prefix every link and form action. */
  base: string
}

export interface ConsoleRequest {
  method: 'GET' | 'POST'
  /** The path below the page's mount, '' or starting with '/' (`/mraps/abc` on mount `/mraps` → `/abc`). */
  path: string
  query: URLSearchParams
  /** A POST's `application/x-www-form-urlencoded` fields (already CSRF-checked by the server). */
  form: URLSearchParams
  /** The body of a POST that is not a form (an upload streamed by the browser), unread. */
  body?: NodeJS.ReadableStream | undefined
  /** `HX-Request: true`: answer a fragment (the server skips the layout). */
  htmx: boolean
  /**
   * The Host the browser reached the console at: its name is where this user reaches the machine,
   * so links to the API (a presigned share link) use it rather than the address the server dials.
   */
  host?: string | undefined
}

export type PageResult =
  | { kind: 'page'; title: string; body: ComponentChildren; status?: number }
  | { kind: 'fragment'; body: ComponentChildren; status?: number }
  | { kind: 'redirect'; location: string }
  | { kind: 'file'; contentType: string; body: Buffer | NodeJS.ReadableStream; filename?: string }

export interface ConsolePage {
  /** Where it hangs: '/buckets', '/mraps', … ('/' is the overview). */
  mount: string
  /** Its entry in the navigation, in this order. */
  nav: { label: string; order: number }
  handle(ctx: ConsoleContext, req: ConsoleRequest): Promise<PageResult>
}

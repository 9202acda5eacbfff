/**
 * @module Pieces every console page shares, so tables, states and errors look and read the same on
 * each page. Status is never shown by colour alone: each badge has an icon and a word.
 */
import type { ComponentChildren } from 'preact'
import type { ApiError } from './api.js'
import type { ConsoleContext } from './page.js'

/** A link or form action under the console's base path, with an optional query. */
export function href(ctx: Pick<ConsoleContext, 'base'>, path: string, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, v)
  const s = q.toString()
  return `${ctx.base}${path}${s ? `?${s}` : ''}`
}

/** The hidden field every form POST carries (the server checks it before the page runs). */
export function CsrfField({ ctx }: { ctx: Pick<ConsoleContext, 'session'> }) {
  return <input type="hidden" name="_csrf" value={ctx.session.csrf} />
}

export type Status = 'ok' | 'allow' | 'deny' | 'na' | 'warn' | 'pending' | 'info' | 'down'

const ICONS: Record<Status, string> = {
  ok: '✓',
  allow: '✓',
  deny: '✕',
  // Not U+20E0 (a combining mark): Debian's Chromium draws it as an empty box.
  na: '∅',
  warn: '▲',
  pending: '…',
  info: 'ℹ',
  down: '✕',
}

/** A status as an icon and a word (`<StatusBadge status="deny">Denied</StatusBadge>`). */
export function StatusBadge({ status, children, title }: { status: Status; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${status}`} title={title}>
      <span class="badge-icon" aria-hidden="true">
        {ICONS[status]}
      </span>{' '}
      {children}
    </span>
  )
}

/** What a list shows when it has nothing, with what to do about it. */
export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty-state">
      <p>
        <strong>{title}</strong>
      </p>
      {children ? <div>{children}</div> : null}
    </div>
  )
}

export interface Column {
  label: string
  /** Right-aligned numbers. */
  numeric?: boolean
}

/**
 * A table with a caption and scoped headers; the first cell of each row is its row header.
 * `empty` replaces the table when there are no rows.
 */
export function DataTable({
  caption,
  columns,
  rows,
  empty,
  id,
  captionHidden,
}: {
  caption: string
  columns: (string | Column)[]
  rows: ComponentChildren[][]
  empty?: ComponentChildren
  id?: string
  /** Keep the caption for screen readers only (when a heading right above says the same). */
  captionHidden?: boolean
}) {
  if (rows.length === 0 && empty !== undefined) return <>{empty}</>
  const cols = columns.map((c) => (typeof c === 'string' ? { label: c } : c))
  return (
    <div class="table-wrap">
      <table class="data-table" id={id}>
        <caption class={captionHidden ? 'visually-hidden' : undefined}>{caption}</caption>
        <thead>
          <tr>
            {cols.map((c) => (
              <th scope="col" class={c.numeric ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>{r.map((cell, i) => (i === 0 ? <th scope="row">{cell}</th> : <td class={cols[i]?.numeric ? 'num' : undefined}>{cell}</td>))}</tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/**
 * AWS's answer to a refused or failed call: code, message, status and request id, and for an
 * AccessDenied a link to the Access page that explains the decision for this principal.
 */
export function ApiErrorBox({ ctx, error, title }: { ctx: Pick<ConsoleContext, 'base' | 'session'>; error: ApiError; title?: string }) {
  const explain = error.explain ? href(ctx, '/access', { principal: ctx.session.arn, action: error.explain.action, resource: error.explain.resource }) : undefined
  return (
    <div class="api-error" role="alert">
      <p class="api-error-title">
        <StatusBadge status="deny">{title ?? 'The request failed'}</StatusBadge>
      </p>
      <dl>
        <dt>Error code</dt>
        <dd>
          <code>{error.code}</code>
          {error.status ? ` (HTTP ${error.status})` : ''}
        </dd>
        <dt>Message</dt>
        <dd>{error.message}</dd>
        {error.requestId ? (
          <>
            <dt>Request id</dt>
            <dd>
              <code>{error.requestId}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {explain ? (
        <p>
          <a href={explain}>Explain this decision</a>
        </p>
      ) : null}
    </div>
  )
}

/** A short notice (a change applied, a value saved). */
export function Notice({ status = 'info', children }: { status?: Status; children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      <StatusBadge status={status}>{children}</StatusBadge>
    </p>
  )
}

/**
 * Props of the box a wide table scrolls in (`<div {...SCROLL_BOX}>`): keyboard users must be able
 * to reach and scroll it (axe's scrollable-region-focusable, WCAG 2.1.1), hence tabindex 0 on a
 * non-interactive element, which Biome's a11y rule otherwise refuses.
 */
export const SCROLL_BOX = { class: 'overflow-auto', tabIndex: 0 } as const
